/**
 * How the processes the platform starts (replicas, build commands) are confined, so that everything they
 * start — however it detaches: `setsid`, a double fork, `nohup` — ends with them, and a dashboard killed
 * with -9 takes them along. One of, best first:
 *
 * - `bwrap` (--sandbox bwrap): the sandbox (sandbox.ts), which has its own PID namespace;
 * - `pid-namespace` (the default when the kernel allows it): `setpriv --pdeathsig KILL unshare --pid --fork
 *   --kill-child` (util-linux). The process runs as PID 1 of a namespace of its own (a replica under a
 *   small `sh` that reaps orphans), and when PID 1 ends the kernel kills every process in it. The
 *   parent-death signal ends the namespace when the dashboard dies, even if the process never notices. A
 *   dashboard running as root needs nothing more; another user needs unprivileged user namespaces (the
 *   process keeps its uid: `--map-current-user`);
 * - `process-group`: neither works here (no util-linux, or namespaces are not allowed): the process gets
 *   its own process group, which a stop kills, but what a handler moves to another session escapes. The
 *   dashboard says so when it starts.
 *
 * Whatever wraps the process passes every file descriptor through, so the IPC channel (and the sockets the
 * dashboard hands over it) works the same in each.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { bwrapArgs, type SandboxView } from './sandbox.js';

/** Paths a replica needs. */
export interface ReplicaPaths {
  artifactDir: string;
  configPath: string;
  homeDir: string;
}

/** Paths a build command needs. */
export interface BuildPaths {
  stagingDir: string;
  /** Kept folders the build writes into (npm's debug logs). */
  writable: string[];
  /** Configuration files it reads (the user's .npmrc, pip.conf, CA bundles). */
  readable: string[];
}

export type ConfinementKind = 'bwrap' | 'pid-namespace' | 'process-group';

export interface Confinement {
  readonly kind: ConfinementKind;
  /** One sentence for the start-up log: what is in use and what it guarantees. */
  readonly description: string;
  /** The command prefix (program first) that confines a replica; empty for none. */
  replicaPrefix(p: ReplicaPaths): string[];
  /** The command prefix that confines a build command. */
  buildPrefix(p: BuildPaths): string[];
  /** The wrapper reports a child killed by signal N as exit code 128 + N (as a shell does). */
  readonly signalsAsExitCodes: boolean;
}

/** Reaps orphans (PID 1's duty) while the processor runs, and exits with the processor's status. */
const REAPER = ['/bin/sh', '-c', '"$@" & wait $!', 'protium-init'];

/** The tools a PID namespace needs, as found on this machine. */
export interface PidNamespaceTools {
  unshare: string;
  /** setpriv with --pdeathsig support; undefined: the namespace ends only when its PID 1 does. */
  setpriv?: string;
  /** How the user namespace is made: none (root), --map-current-user, or --map-root-user. */
  userArgs: string[];
}

/** The prefix that runs a command as PID 1 of a new PID namespace. Pure. */
export function pidNamespacePrefix(t: PidNamespaceTools): string[] {
  return [
    ...(t.setpriv ? [t.setpriv, '--pdeathsig', 'KILL', '--'] : []),
    t.unshare,
    ...t.userArgs,
    '--pid',
    '--fork',
    '--kill-child',
    '--',
  ];
}

export const PROCESS_GROUP_ONLY = (why: string): Confinement => ({
  kind: 'process-group',
  description:
    `No PID namespaces here (${why}): replicas and build commands get their own process group only, ` +
    `so a process a handler moves to another session (setsid) can outlive its replica. Install util-linux or allow ` +
    `user namespaces (sysctl kernel.unprivileged_userns_clone=1)`,
  replicaPrefix: () => [],
  buildPrefix: () => [],
  signalsAsExitCodes: false,
});

function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .concat(['/usr/bin', '/bin', '/usr/sbin', '/sbin'])) {
    if (dir && existsSync(`${dir}/${program}`)) return `${dir}/${program}`;
  }
  return undefined;
}

/** Runs `argv`; its trimmed output, or undefined when it fails. */
function probe(argv: string[]): string | undefined {
  try {
    return execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** Finds how to give processes a PID namespace here, by trying it (a few milliseconds). */
export function detectPidNamespace(): Confinement {
  const unshare = which('unshare');
  if (!unshare) return PROCESS_GROUP_ONLY('unshare from util-linux is not installed');
  const setpriv = which('setpriv');
  const withDeathSignal =
    setpriv && probe([setpriv, '--pdeathsig', 'KILL', '--', '/bin/true']) !== undefined ? setpriv : undefined;
  for (const userArgs of [[], ['--map-current-user'], ['--map-root-user']]) {
    const tools: PidNamespaceTools = { unshare, userArgs, ...(withDeathSignal ? { setpriv: withDeathSignal } : {}) };
    const prefix = pidNamespacePrefix(tools);
    // PID 1 inside is the proof that the namespace is real.
    if (probe([...prefix, '/bin/sh', '-c', 'echo $$']) !== '1') continue;
    return {
      kind: 'pid-namespace',
      description:
        `Replicas and build commands run in PID namespaces of their own (unshare ` +
        `--pid${userArgs.length ? ` ${userArgs.join(' ')}` : ''}${withDeathSignal ? ', setpriv --pdeathsig' : ''}): ` +
        `whatever they start ends with them${withDeathSignal ? ', and with the dashboard' : ''}`,
      replicaPrefix: () => [...prefix, ...REAPER],
      buildPrefix: () => prefix,
      signalsAsExitCodes: true,
    };
  }
  return PROCESS_GROUP_ONLY('unshare --pid failed: the kernel refuses new namespaces to this user');
}

/** Files to hide: each path and, when it is a link, what it points to. */
function withRealPaths(files: string[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    out.add(f);
    try {
      out.add(realpathSync(f));
    } catch {
      /* gone */
    }
  }
  return [...out];
}

/** The bwrap sandbox; throws when bubblewrap cannot create its namespaces here. */
export function bwrapConfinement(bwrap: string, view: SandboxView): Confinement {
  // Only files that exist can be covered (bwrap cannot create a mount point on the read-only root).
  const current = (): SandboxView => ({
    ...view,
    hiddenFiles: withRealPaths(view.hiddenFiles).filter((f) => existsSync(f)),
  });
  const test = [bwrap, ...bwrapArgs(current(), { readOnly: [], writable: [] }), '/bin/sh', '-c', 'echo $$'];
  let failure = '';
  try {
    const out = execFileSync(test[0], test.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
      .toString()
      .trim();
    if (out !== '2') failure = `expected to run as PID 2 of a new namespace, got ${JSON.stringify(out)}`;
  } catch (e) {
    failure = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim();
  }
  if (failure)
    throw new Error(
      `--sandbox bwrap: bubblewrap cannot create its sandbox here (${failure}); user namespaces must be allowed`,
    );
  return {
    kind: 'bwrap',
    description:
      'Replicas and build commands run in the bubblewrap sandbox: own PID, user, IPC and UTS namespaces, no ' +
      'capabilities, a read-only view without the data dir, the token files and the home folder',
    replicaPrefix: (p) => [
      bwrap,
      ...bwrapArgs(current(), { readOnly: [p.artifactDir, p.configPath], writable: [p.homeDir] }),
    ],
    buildPrefix: (p) => [
      bwrap,
      ...bwrapArgs(current(), { readOnly: p.readable, writable: [p.stagingDir, ...p.writable] }),
    ],
    signalsAsExitCodes: true,
  };
}
