/**
 * Local sources (`spec.build.path` inside a --source-root): where a path really leads once every symbolic
 * link is followed, and the copy of a local folder into a build, which refuses links that lead out of the
 * source roots. The API checks a path when it is given (a 400); the build checks it again when it reads
 * it, since the files may have changed in between — the build's check is the one that counts.
 *
 * Links inside a copied folder: one leading somewhere inside the folder is kept as a relative link (so
 * `node_modules/.bin` works); one leading elsewhere inside a source root is copied as what it points to;
 * one leading outside every root, into the data dir, or nowhere refuses the build. Refusing (rather than
 * skipping with a warning) keeps a function from deploying without files it expects.
 */
import { constants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, realpath, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { insideRoots } from '../resources/function-source.js';
import { BuildError } from './builder.js';
import type { SourceBudget } from './source-limits.js';

/** Where local sources may come from, and where they may never. */
export interface SourceRoots {
  /** --source-root folders. */
  roots: string[];
  /** Folders never read as sources even inside a root (the data dir: the store holds every secret). */
  forbidden: string[];
}

/**
 * The real path of `path`: every link followed, in order, as the kernel does (`root/link/..` is the
 * parent of the link's target, not `root`). Parts at the end that do not exist are appended as written.
 */
export async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    const parent = dirname(path);
    if (parent === path) return path;
    return join(await realPathOf(parent), basename(path));
  }
}

/** The real paths of the roots (a root that does not exist stays as given: nothing can be inside it). */
async function realRoots(roots: SourceRoots): Promise<SourceRoots> {
  const real = (ps: string[]) => Promise.all(ps.map((p) => realPathOf(resolve(p)).catch(() => resolve(p))));
  return { roots: await real(roots.roots), forbidden: await real(roots.forbidden) };
}

/** Why a real path may not be read, or undefined when it may. */
function refusal(real: string, roots: SourceRoots): string | undefined {
  const bad = roots.forbidden.find((f) => insideRoots(real, [f]));
  if (bad) return `leads into the dashboard's data directory ${bad}, which is never a source`;
  if (!insideRoots(real, roots.roots))
    return `leads to ${JSON.stringify(real)}, outside the source roots (${roots.roots.join(', ')}; --source-root)`;
  return undefined;
}

/**
 * Resolves a local `spec.build.path` for reading: its real path, or why it is refused (the reason names
 * the field and quotes the path).
 */
export async function resolveLocalSource(
  path: string,
  roots: SourceRoots,
): Promise<{ real: string } | { refused: string }> {
  let real: string;
  try {
    real = await realPathOf(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ELOOP' ? 'a loop of symbolic links' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    return { refused: `spec.build.path ${JSON.stringify(path)} cannot be resolved: ${why}` };
  }
  const r = await realRoots(roots);
  const why = refusal(real, r);
  if (why)
    return {
      refused:
        `spec.build.path ${JSON.stringify(path)} ` +
        `${why}${real !== resolve(path) ? ' (through a symbolic link)' : ''}`,
    };
  return { real };
}

export interface CopyFolderOptions {
  roots: SourceRoots;
  budget: SourceBudget;
  /** Names (of files and folders at any depth) left out. */
  skip: (name: string) => boolean;
  onWarn: (message: string) => void;
  /** How the folder is named in errors, e.g. `spec.build.path "/src/fn"`. */
  subject: string;
}

/** Copies the folder at real path `from` into the existing folder `into`, following the link rules above. */
export async function copySourceFolder(from: string, into: string, opts: CopyFolderOptions): Promise<void> {
  const roots = await realRoots(opts.roots);
  const top = from;
  const refuse = (message: string) => new BuildError(`${opts.subject} was refused: ${message}`);
  const shown = (p: string) => JSON.stringify(relative(top, p) || '.');

  const copyFile = (src: string, dest: string) =>
    copySourceFile(src, dest, opts.budget).catch((e: NodeJS.ErrnoException) => {
      // ELOOP: the file became a link after it was listed.
      if (e.code === 'ELOOP') throw refuse(`the file ${shown(src)} changed while it was copied`);
      throw e;
    });

  const copyDir = async (dir: string, dest: string, ancestors: Set<string>): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    // The folder must still be the one checked: one swapped for a link meanwhile is refused.
    if ((await realpath(dir)) !== dir) throw refuse(`the folder ${shown(dir)} changed while it was copied`);
    for (const e of entries) {
      if (opts.skip(e.name)) continue;
      const src = join(dir, e.name);
      const out = join(dest, e.name);
      if (e.isSymbolicLink()) await copyLink(src, out, ancestors);
      else if (e.isDirectory()) {
        opts.budget.addEntry();
        await mkdir(out);
        await copyDir(src, out, new Set([...ancestors, src]));
      } else if (e.isFile()) await copyFile(src, out);
      else opts.onWarn(`Skipping ${shown(src)}: not a file, folder or link`);
    }
  };

  const copyLink = async (src: string, out: string, ancestors: Set<string>): Promise<void> => {
    let target: string;
    try {
      target = await realpath(src);
    } catch {
      const to = await readlink(src).catch(() => '?');
      throw refuse(
        `the symbolic link ${shown(src)} leads to ${JSON.stringify(to)}, which does not resolve (missing, or a ` +
          `loop of links)`,
      );
    }
    const why = refusal(target, roots);
    if (why) throw refuse(`the symbolic link ${shown(src)} ${why}`);
    if (insideRoots(target, [top])) {
      // Inside the folder: the same link, relative, inside the artifact.
      opts.budget.addEntry();
      await symlink(relative(dirname(out), join(into, relative(top, target))), out);
      return;
    }
    const st = await stat(target);
    if (st.isDirectory()) {
      if ([...ancestors].some((a) => insideRoots(a, [target])))
        throw refuse(`the symbolic link ${shown(src)} leads back to a folder it is in (${JSON.stringify(target)})`);
      opts.budget.addEntry();
      await mkdir(out);
      await copyDir(target, out, new Set([...ancestors, target]));
    } else if (st.isFile()) {
      await copyFile(target, out);
    } else {
      opts.onWarn(`Skipping ${shown(src)}: it leads to something that is not a file or folder`);
    }
  };

  const st = await lstat(from);
  if (!st.isDirectory()) throw refuse('it is not a folder');
  await copyDir(from, into, new Set([from]));
}

/**
 * Copies the file at real path `from` to `dest`, with its mode, within the budget. O_NOFOLLOW: a file
 * swapped for a link since it was checked is not followed (the open fails with ELOOP).
 */
export async function copySourceFile(from: string, dest: string, budget: SourceBudget): Promise<void> {
  budget.addEntry();
  const fh = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new BuildError(`${JSON.stringify(from)} is not a file`);
    await pipeline(fh.createReadStream(), budget.counter(), createWriteStream(dest, { mode: st.mode & 0o777 }));
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}
