/**
 * The artifact store on disk (its layout: artifact-layout.ts): `artifacts/<id>` folders, the staging
 * folders builds write into, and collection of artifacts nothing keeps any more.
 *
 * Races: a build that reuses (or publishes) an artifact pins its id under the store's lock, and a
 * collection decides and moves its victims out of the way (a rename to `.trash-…`, atomic) under the same
 * lock. So a build either pinned the id first (and the collection keeps it) or finds it gone and builds it
 * again; it never gets a folder that is being deleted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Artifact } from './builder.js';
import { artifactsToCollect } from './artifact-gc.js';
import { ARTIFACT_META_FILE, artifactDir, STAGING_PREFIX, TRASH_PREFIX } from './artifact-layout.js';

export class ArtifactStore {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  /** Runs `fn` alone with respect to reuse and collection. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /** The folder of artifact `id` (whether or not it exists). */
  dirOf(id: string): string {
    return artifactDir(this.dir, id);
  }

  /** The artifact with this id, if it is complete (published with its artifact.json). */
  async read(id: string): Promise<Artifact | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(this.dirOf(id), ARTIFACT_META_FILE), 'utf8')) as Artifact & {
        createdAt?: string;
      };
      return { id: meta.id, image: meta.image, runtime: meta.runtime, family: meta.family, handler: meta.handler };
    } catch {
      return undefined;
    }
  }

  /**
   * Pins `id` (through the caller's `pin`, which keeps it from collection until the caller lets go), then
   * reads it: the artifact to reuse, or undefined when it must be built.
   */
  reuse(id: string, pin?: (id: string) => void): Promise<Artifact | undefined> {
    return this.locked(async () => {
      pin?.(id);
      return this.read(id);
    });
  }

  /** A fresh staging folder for a build (its name is never collected while the dashboard runs). */
  async staging(): Promise<string> {
    const dir = join(this.dir, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Removes every artifact not in `keep()` (evaluated under the lock, after builds that pinned before it).
   * Returns the ids removed.
   */
  async collect(keep: () => Promise<ReadonlySet<string>> | ReadonlySet<string>): Promise<string[]> {
    const moved = await this.locked(async () => {
      let names: string[];
      try {
        names = await readdir(this.dir);
      } catch {
        return [];
      }
      const victims = artifactsToCollect(names, await keep());
      const out: [string, string][] = [];
      for (const id of victims) {
        const trash = join(this.dir, `${TRASH_PREFIX}${id}-${randomBytes(4).toString('hex')}`);
        try {
          await rename(this.dirOf(id), trash);
          out.push([id, trash]);
        } catch {
          /* gone already */
        }
      }
      return out;
    });
    // Deleting can take a while (node_modules); nothing refers to the trash folders, so it runs unlocked.
    await Promise.all(moved.map(([, trash]) => rm(trash, { recursive: true, force: true })));
    return moved.map(([id]) => id);
  }

  /** Removes what a previous run left half done (staging and trash folders). Only before builds start. */
  async removeLeftovers(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const leftovers = names.filter((n) => n.startsWith(STAGING_PREFIX) || n.startsWith(TRASH_PREFIX));
    await Promise.all(leftovers.map((n) => rm(join(this.dir, n), { recursive: true, force: true })));
    return leftovers;
  }
}
