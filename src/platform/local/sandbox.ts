/**
 * The optional replica sandbox (--sandbox bwrap): bubblewrap gives each replica a read-only view of the
 * machine, a private /tmp, and hides the dashboard's data dir (store, logs, other functions' artifacts)
 * except the replica's own artifact (read-only), its config file and its home folder. The network stays
 * shared: functions call out, and the dashboard hands them connections over IPC.
 */
import { execFileSync } from 'node:child_process';

/** The path of bwrap, or undefined when it is not installed. */
export function findBwrap(): string | undefined {
  try {
    const path = execFileSync('sh', ['-c', 'command -v bwrap'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).toString().trim();
    return path || undefined;
  } catch {
    return undefined;
  }
}

export interface SandboxPaths {
  /** The package (the processor program, the python wrapper): shown read-only even under /tmp. */
  packageRoot: string;
  dataDir: string;
  artifactDir: string;
  configPath: string;
  homeDir: string;
}

/** bwrap's arguments (before the command) for one replica. Pure. */
export function bwrapArgs(p: SandboxPaths): string[] {
  return [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    // A checkout under /tmp must stay visible (read-only): the processor runs from it.
    '--ro-bind', p.packageRoot, p.packageRoot,
    // Hide the whole data dir (even one inside the checkout), then show back what this replica needs.
    '--tmpfs', p.dataDir,
    '--ro-bind', p.artifactDir, p.artifactDir,
    '--ro-bind', p.configPath, p.configPath,
    '--bind', p.homeDir, p.homeDir,
    '--die-with-parent',
    '--',
  ];
}
