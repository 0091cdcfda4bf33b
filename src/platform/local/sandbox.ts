/**
 * The optional sandbox (--sandbox bwrap) for replicas and build commands. bubblewrap gives each one:
 *
 * - a read-only view of the machine with a private /tmp, and its own PID, user, IPC and UTS namespaces, no
 *   capabilities, no further user namespaces, a new session, and death with its parent. Its own PID
 *   namespace hides every other process (so `/proc/<dashboard pid>/root` and `environ` lead nowhere) and
 *   ends every process it starts when it ends;
 * - hidden: the whole data dir (store, WAL, logs, other functions' artifacts, configs and homes), the
 *   dashboard's token and access-keys files, and the dashboard user's home folder — except the folders in
 *   it that hold programs (PATH entries, the node and python installs), shown read-only;
 * - shown back: only what this process needs (a replica: its artifact and config read-only, its home
 *   writable; a build command: its staging folder writable, the package managers' configuration
 *   read-only).
 *
 * The network stays shared: functions call out, builds install packages, and the dashboard hands replicas
 * their connections over IPC.
 */
import { execFileSync } from 'node:child_process';
import { isAbsolute, relative, sep } from 'node:path';

/** The path of bwrap, or undefined when it is not installed. */
export function findBwrap(): string | undefined {
  try {
    const path = execFileSync('sh', ['-c', 'command -v bwrap'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 })
      .toString()
      .trim();
    return path || undefined;
  } catch {
    return undefined;
  }
}

/** What every sandbox of one dashboard hides and shows. */
export interface SandboxView {
  /** The package (the processor program, the python wrapper): shown read-only even under /tmp. */
  packageRoot: string;
  dataDir: string;
  /** Files to hide wherever they are (the token and access-keys files). */
  hiddenFiles: string[];
  /** The dashboard user's home folder: hidden but for `homeKeep`. Undefined: nothing to hide. */
  home?: string;
  /** Folders inside `home` shown read-only (see homeFoldersToKeep). */
  homeKeep: string[];
}

/** What one sandboxed process gets on top of the view. */
export interface SandboxOwn {
  readOnly: string[];
  writable: string[];
}

/** Namespaces and limits every sandbox gets (the network is deliberately not among them). */
export const ISOLATION_ARGS = [
  '--unshare-user',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
  '--disable-userns',
  '--cap-drop',
  'ALL',
  '--new-session',
  '--die-with-parent',
];

const inside = (dir: string, path: string) => {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
};

/**
 * The top-level folders of `home` that hold any of `paths` (PATH entries, runtime installs): hiding the
 * home folder must not hide the programs a function runs (pyenv's pythons, nvm's nodes, ~/.local/bin). Pure.
 */
export function homeFoldersToKeep(home: string, paths: string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    if (!isAbsolute(p) || !inside(home, p)) continue;
    out.add(`${home}${sep}${relative(home, p).split(sep)[0]}`);
  }
  return [...out].sort();
}

/** bwrap's arguments (before the command) for one process. Later mounts cover earlier ones. Pure. */
export function bwrapArgs(view: SandboxView, own: SandboxOwn): string[] {
  const home = view.home && view.home !== '/' && isAbsolute(view.home) ? view.home : undefined;
  return [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    ...(home ? ['--tmpfs', home, ...view.homeKeep.flatMap((k) => ['--ro-bind', k, k])] : []),
    // A checkout under /tmp or the home folder must stay visible (read-only): the processor runs from it.
    '--ro-bind',
    view.packageRoot,
    view.packageRoot,
    // Hide the whole data dir (even one inside the checkout or a kept folder), and the secret files.
    '--tmpfs',
    view.dataDir,
    ...view.hiddenFiles.flatMap((f) => ['--ro-bind', '/dev/null', f]),
    // Then show back only what this process needs.
    ...own.readOnly.flatMap((p) => ['--ro-bind', p, p]),
    ...own.writable.flatMap((p) => ['--bind', p, p]),
    // The empty folders that hide things are read-only too (their mount points are made by now): a
    // write there fails instead of vanishing with the sandbox.
    '--remount-ro',
    view.dataDir,
    ...(home ? ['--remount-ro', home] : []),
    // TMPDIR may name a folder that is read-only in here.
    '--setenv',
    'TMPDIR',
    '/tmp',
    ...ISOLATION_ARGS,
    '--',
  ];
}
