/**
 * Artifacts as archives, for platforms whose replicas do not share the dashboard's disk (containers,
 * pods): each artifact folder packed once into an uncompressed tar, its SHA-256 digest recorded beside it.
 * The dashboard serves the archive (api/routes/artifacts.ts) and tells the fetcher (processor/
 * fetch-artifact.ts) which digest to expect, so what a replica runs is exactly what was packed here.
 *
 *     archives/<id>.tar          the archive of artifacts/<id>
 *     archives/<id>.sha256       its digest, `sha256:<hex>` (written after the archive, so its presence
 *                                means the archive is complete)
 *     archives/.tmp-<random>     an archive being written
 *
 * Build-time folders (npm's cache, the build's HOME) are left out: replicas never read them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';

/** Folders inside an artifact that only builds use (relative, '/'-separated). */
export const BUILD_ONLY_PATHS = ['.protium/npm-cache', '.protium/home'];

export interface ArchiveInfo {
  /** The archive file. */
  path: string;
  /** `sha256:<hex>` of the archive's bytes. */
  digest: string;
  size: number;
}

/** True when `rel` (relative to the artifact, '/'-separated) is kept in the archive. Pure. */
export function keptInArchive(rel: string): boolean {
  return !BUILD_ONLY_PATHS.some((p) => rel === p || rel.startsWith(`${p}/`));
}

export class ArtifactArchives {
  private readonly making = new Map<string, Promise<ArchiveInfo | undefined>>();

  /** `artifactDir(id)`: the artifact's folder; `dir`: where archives are kept. */
  constructor(
    private readonly artifactDir: (id: string) => string,
    readonly dir: string,
  ) {}

  /** The archive of artifact `id`, packed now if it is not yet; undefined when the artifact does not exist. */
  archive(id: string): Promise<ArchiveInfo | undefined> {
    const pending = this.making.get(id);
    if (pending) return pending;
    const run = this.make(id).finally(() => this.making.delete(id));
    this.making.set(id, run);
    return run;
  }

  /** The archive of `id` if it was packed already (never packs). */
  async existing(id: string): Promise<ArchiveInfo | undefined> {
    const path = join(this.dir, `${id}.tar`);
    try {
      const digest = (await readFile(join(this.dir, `${id}.sha256`), 'utf8')).trim();
      const { size } = await stat(path);
      return { path, digest, size };
    } catch {
      return undefined;
    }
  }

  private async make(id: string): Promise<ArchiveInfo | undefined> {
    const found = await this.existing(id);
    if (found) return found;
    const source = this.artifactDir(id);
    if (!existsSync(join(source, '.protium', 'artifact.json'))) return undefined;
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      const entries = (await readdir(source)).sort();
      // portable: no user or group names, no atime/ctime; links stay links (npm's bin/ has relative ones).
      const packer = tar.c(
        { cwd: source, portable: true, filter: (path) => keptInArchive(path.replace(/^\.\//, '')) },
        entries,
      );
      await pipeline(packer, tap, createWriteStream(tmp, { mode: 0o600 }));
      const digest = `sha256:${hash.digest('hex')}`;
      const path = join(this.dir, `${id}.tar`);
      await rename(tmp, path);
      await writeFile(join(this.dir, `${id}.sha256`), `${digest}\n`, { mode: 0o600 });
      return { path, digest, size };
    } finally {
      await rm(tmp, { force: true }).catch(() => {});
    }
  }

  /** Removes the archives of artifacts that were collected (their folder is gone). Returns the ids removed. */
  async pruneCollected(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const keep = new Set<string>();
    for (const name of names) {
      const id = /^([0-9a-f]+)\.(tar|sha256)$/.exec(name)?.[1];
      if (id && existsSync(join(this.artifactDir(id), '.protium', 'artifact.json'))) keep.add(id);
    }
    return this.prune(keep);
  }

  /**
   * Removes the archives (and leftovers of interrupted packing) of artifacts not in `keep`. Returns the ids
   * removed.
   */
  async prune(keep: ReadonlySet<string>): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const removed = new Set<string>();
    for (const name of names) {
      if (name.startsWith('.tmp-') && !this.making.size) await rm(join(this.dir, name), { force: true });
      const id = /^([0-9a-f]+)\.(tar|sha256)$/.exec(name)?.[1];
      if (!id || keep.has(id) || this.making.has(id) || removed.has(id)) continue;
      // The digest first: without it the archive counts as incomplete, whatever happens next.
      await rm(join(this.dir, `${id}.sha256`), { force: true });
      await rm(join(this.dir, `${id}.tar`), { force: true });
      removed.add(id);
    }
    return [...removed];
  }
}
