/**
 * Safe extraction of function archives (.zip, .tar, .tar.gz/.tgz) into an artifact folder: entries with
 * absolute paths or `..`, symbolic and hard links, and device files are refused, so an archive can never
 * write outside the folder it is extracted into.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { BuildError } from './builder.js';

export type ArchiveKind = 'zip' | 'tar' | 'tgz';

/** The archive kind a file name implies, if any. */
export function archiveKindOf(name: string): ArchiveKind | undefined {
  const n = name.toLowerCase().split('?')[0]!;
  if (n.endsWith('.zip')) return 'zip';
  if (n.endsWith('.tar.gz') || n.endsWith('.tgz')) return 'tgz';
  if (n.endsWith('.tar')) return 'tar';
  return undefined;
}

/** The archive kind from the first bytes (zip "PK", gzip 1f 8b, ustar at 257). */
export function sniffArchive(head: Buffer): ArchiveKind | undefined {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tgz';
  if (head.length >= 262 && head.toString('ascii', 257, 262) === 'ustar') return 'tar';
  return undefined;
}

/** Entry name → a safe relative path, or a reason it is refused. */
export function safeEntryPath(name: string): string | { refused: string } {
  const cleaned = name.replace(/\\/g, '/');
  if (isAbsolute(cleaned) || /^[A-Za-z]:/.test(cleaned)) return { refused: `absolute path ${JSON.stringify(name)}` };
  const norm = normalize(cleaned);
  if (norm === '..' || norm.startsWith(`..${sep}`) || norm.split(sep).includes('..')) return { refused: `path ${JSON.stringify(name)} leaves the archive` };
  return norm === '.' ? '' : norm.replace(/\/$/, '');
}

export async function extractArchive(file: string, kind: ArchiveKind, dest: string): Promise<void> {
  if (kind === 'zip') return extractZip(file, dest);
  let refused: string | undefined;
  await tar.x({
    file,
    cwd: dest,
    gzip: kind === 'tgz' ? true : undefined,
    preservePaths: false,
    noChmod: false,
    filter: (path, entry) => {
      const type = (entry as tar.ReadEntry).type;
      if (type === 'SymbolicLink' || type === 'Link') { refused ??= `link ${JSON.stringify(path)} (links are not allowed in function archives)`; return false; }
      if (type !== 'File' && type !== 'OldFile' && type !== 'Directory' && type !== 'ContiguousFile') { refused ??= `entry ${JSON.stringify(path)} of type ${type}`; return false; }
      const safe = safeEntryPath(path);
      if (typeof safe !== 'string') { refused ??= safe.refused; return false; }
      return true;
    },
  }).catch((e: Error) => { throw new BuildError(`Failed to extract the archive: ${e.message}`); });
  if (refused) throw new BuildError(`The archive was refused: ${refused}`);
}

function extractZip(file: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, strictFileNames: false, decodeStrings: true }, (err, zip) => {
      if (err || !zip) return reject(new BuildError(`Failed to open the zip archive: ${err?.message ?? 'unknown error'}`));
      const fail = (e: Error) => { zip.close(); reject(e instanceof BuildError ? e : new BuildError(`Failed to extract the zip archive: ${e.message}`)); };
      zip.on('error', fail);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const safe = safeEntryPath(entry.fileName);
        if (typeof safe !== 'string') return fail(new BuildError(`The archive was refused: ${safe.refused}`));
        // Unix mode bits live in the high 16 bits of the external attributes; 0o120000 is a symlink.
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (mode === 0o120000) return fail(new BuildError(`The archive was refused: link ${JSON.stringify(entry.fileName)} (links are not allowed in function archives)`));
        const target = join(dest, safe);
        if (entry.fileName.endsWith('/')) {
          mkdir(target, { recursive: true }).then(() => zip.readEntry(), fail);
          return;
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return fail(e ?? new Error('no stream'));
          mkdir(dirname(target), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(target, { mode: (entry.externalFileAttributes >>> 16) & 0o111 ? 0o755 : 0o644 })))
            .then(() => zip.readEntry(), fail);
        });
      });
      zip.readEntry();
    });
  });
}
