/**
 * Content addressing of build inputs: the same runtime, handler, build commands and source files give the
 * same artifact id, whatever the order files were written in.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file under `dir` (relative paths, sorted). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Every symbolic link under `dir` (relative paths, sorted): a local folder's links inside it stay links. */
async function listLinks(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isSymbolicLink()) out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Hex id (32 characters) of the build inputs: `inputs` (JSON) plus each file's path and bytes, and each link's target.
 */
export async function contentHash(inputs: unknown, dir: string): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify(inputs) ?? 'null');
  // Length-prefixed names and contents: no two different file sets hash alike.
  for (const f of await listFiles(dir)) {
    const data = await readFile(join(dir, f));
    h.update(`\n${Buffer.byteLength(f)}:${f}:${data.length}:`);
    h.update(data);
  }
  // Links after files, with their own marker: a source without links hashes as it always did.
  for (const l of await listLinks(dir)) {
    const target = await readlink(join(dir, l));
    h.update(`\nlink ${Buffer.byteLength(l)}:${l}:${Buffer.byteLength(target)}:${target}`);
  }
  return h.digest('hex').slice(0, 32);
}
