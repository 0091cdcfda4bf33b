/**
 * Safe extraction of function archives (.zip, .tar, .tar.gz/.tgz) into an artifact folder: entries with
 * absolute paths or `..`, symbolic and hard links, and device files are refused, so an archive can never
 * write outside the folder it is extracted into; and what it expands to is bounded (bytes and entries,
 * source-limits.ts), counted while it streams, so a bomb stops at the limit.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { BuildError } from './builder.js';
import { filesLimitMessage, SourceBudget, sizeLimitMessage, type SourceLimits } from './source-limits.js';

export type ArchiveKind = 'zip' | 'tar' | 'tgz';

/** The archive kind a file name implies, if any. */
export function archiveKindOf(name: string): ArchiveKind | undefined {
  const n = name.toLowerCase().split('?')[0];
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
  if (norm === '..' || norm.startsWith(`..${sep}`) || norm.split(sep).includes('..'))
    return { refused: `path ${JSON.stringify(name)} leaves the archive` };
  return norm === '.' ? '' : norm.replace(/\/$/, '');
}

/** Extracts `file` into `dest`, within `limits`; rejects with a BuildError saying what was refused. */
export async function extractArchive(
  file: string,
  kind: ArchiveKind,
  dest: string,
  limits: SourceLimits,
): Promise<void> {
  const budget = new SourceBudget(limits, 'The archive (expanded)');
  if (kind === 'zip') return extractZip(file, dest, budget);
  let refused: string | undefined;
  const source = createReadStream(file);
  const counter = budget.counter();
  const unpack = new tar.Unpack({
    cwd: dest,
    preservePaths: false,
    filter: (path, entry) => {
      const type = (entry as tar.ReadEntry).type;
      if (type === 'SymbolicLink' || type === 'Link') {
        refused ??= `link ${JSON.stringify(path)} (links are not allowed in function archives)`;
        return false;
      }
      if (type !== 'File' && type !== 'OldFile' && type !== 'Directory' && type !== 'ContiguousFile') {
        refused ??= `entry ${JSON.stringify(path)} of type ${type}`;
        return false;
      }
      const safe = safeEntryPath(path);
      if (typeof safe !== 'string') {
        refused ??= safe.refused;
        return false;
      }
      try {
        budget.addEntry();
      } catch (e) {
        // Stop reading: the rest of the archive is never decompressed.
        counter.destroy(e as Error);
        return false;
      }
      return true;
    },
  });
  // The tar stream is counted after decompression (headers included), so a gzip bomb stops at the limit.
  const done = new Promise<void>((resolve, reject) => {
    unpack.on('close', () => resolve());
    unpack.on('error', reject);
  });
  const feed = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      if (!unpack.write(chunk)) await new Promise((r) => unpack.once('drain', r));
    }
    unpack.end();
  };
  try {
    await Promise.all([
      kind === 'tgz' ? pipeline(source, createGunzip(), counter, feed) : pipeline(source, counter, feed),
      done,
    ]);
  } catch (e) {
    unpack.abort(e as Error);
    if (e instanceof BuildError) throw e;
    throw new BuildError(`Failed to extract the archive: ${(e as Error).message}`);
  }
  if (refused) throw new BuildError(`The archive was refused: ${refused}`);
}

function extractZip(file: string, dest: string, budget: SourceBudget): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, strictFileNames: false, decodeStrings: true }, (err, zip) => {
      if (err || !zip)
        return reject(new BuildError(`Failed to open the zip archive: ${err?.message ?? 'unknown error'}`));
      const fail = (e: Error) => {
        zip.close();
        reject(e instanceof BuildError ? e : new BuildError(`Failed to extract the zip archive: ${e.message}`));
      };
      // The central directory's counts and sizes only refuse early; the limits hold on what is written.
      if (zip.entryCount > budget.limits.maxFiles)
        return fail(new BuildError(filesLimitMessage('The archive', budget.limits)));
      zip.on('error', fail);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const safe = safeEntryPath(entry.fileName);
        if (typeof safe !== 'string') return fail(new BuildError(`The archive was refused: ${safe.refused}`));
        // Unix mode bits live in the high 16 bits of the external attributes; 0o120000 is a symlink.
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (mode === 0o120000)
          return fail(
            new BuildError(
              `The archive was refused: link ${JSON.stringify(entry.fileName)} (links are not allowed in ` +
                `function archives)`,
            ),
          );
        try {
          budget.addEntry();
        } catch (e) {
          return fail(e as Error);
        }
        const target = join(dest, safe);
        if (entry.fileName.endsWith('/')) {
          mkdir(target, { recursive: true }).then(() => zip.readEntry(), fail);
          return;
        }
        if (entry.uncompressedSize > budget.remaining())
          return fail(new BuildError(sizeLimitMessage('The archive (expanded)', budget.limits)));
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return fail(e ?? new Error('no stream'));
          mkdir(dirname(target), { recursive: true })
            .then(() =>
              pipeline(
                stream,
                budget.counter(),
                createWriteStream(target, { mode: (entry.externalFileAttributes >>> 16) & 0o111 ? 0o755 : 0o644 }),
              ),
            )
            .then(() => zip.readEntry(), fail);
        });
      });
      zip.readEntry();
    });
  });
}
