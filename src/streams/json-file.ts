/**
 * A small JSON file written durably: to a temporary file, fsync'd, renamed over the old one, and the folder
 * fsync'd, so a crash leaves either the old content or the new, never a torn file. Saves that arrive while
 * a write is in progress are coalesced into the next write; each save resolves once a write holding its
 * state is on disk.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Reads a JSON file; undefined when it does not exist. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text);
}

/** Writes a JSON file durably, synchronously (rare writes: stream creation). */
export function writeJsonFileSync(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

/** fsyncs a folder, so that a rename or a new file in it survives a crash. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A JSON file that many callers save to; see the module comment. */
export class DurableJsonFile {
  private writing?: Promise<void>;
  private next?: { value: unknown; done: Promise<void>; resolve: () => void; reject: (e: unknown) => void };

  constructor(private readonly path: string) {}

  /** Saves `value` (the latest state); resolves when it, or a later state, is on disk. */
  save(value: unknown): Promise<void> {
    if (this.next) {
      this.next.value = value;
      return this.next.done;
    }
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.next = { value, done, resolve, reject };
    if (!this.writing) this.pump();
    return done;
  }

  /** Resolves when no write is pending. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing.catch(() => {});
  }

  private pump(): void {
    const job = this.next;
    if (!job) return;
    this.next = undefined;
    this.writing = this.write(job.value)
      .then(job.resolve, job.reject)
      .finally(() => {
        this.writing = undefined;
        this.pump();
      });
  }

  private async write(value: unknown): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(value)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    syncDir(dirname(this.path));
  }
}
