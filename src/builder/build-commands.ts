/**
 * Runs spec.build.commands in a staging folder, as the platform runs replicas: confined (a PID namespace
 * of their own, or the sandbox with only the staging folder writable and the network kept), tracked by a
 * pid file while they run (so a dashboard killed with -9 ends them on its next start: build-leftovers.ts),
 * with installs kept inside the staging folder, and with the package managers' own configuration
 * (package-manager-config.ts). npm's debug logs go to a folder that outlives the staging folder, so the
 * "A complete log of this run can be found in: …" line of a failed build points at a file that exists.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RuntimeFamily } from '../resources/runtimes.js';
import { exitReason } from '../util/exit-reason.js';
import { removePidFile, writePidFile } from '../util/pid-files.js';
import { BUILD_HOME_DIR, NPM_CACHE_DIR, NPM_PREFIX_DIR, PIP_TARGET_DIR } from './artifact-layout.js';
import { BuildError, type BuildLogLine } from './builder.js';
import type { PackageManagerConfig } from './package-manager-config.js';

/** What a confined build command may touch (see platform/local/confinement.ts). */
export interface BuildJail {
  /** The command prefix (program first) that confines a command; empty for none. */
  buildPrefix(p: { stagingDir: string; writable: string[]; readable: string[] }): string[];
  /** The prefix reports a command killed by signal N as exit code 128 + N. */
  readonly signalsAsExitCodes: boolean;
}

export interface BuildCommandsOptions {
  /** PATH and the like (never the dashboard's secrets). */
  baseEnv: Record<string, string>;
  /** The user's npm and pip configuration, CA bundles and proxies. */
  packageManagers: PackageManagerConfig;
  jail: BuildJail;
  /** Pid files of running build commands (run/builds). */
  pidDir: string;
}

export interface RunOptions {
  /** The staging folder: the commands' working directory and the only place they may write. */
  dir: string;
  family: RuntimeFamily;
  /** Bound of all commands together (spec.build.buildTimeoutSeconds). */
  timeoutS: number;
  log: (level: BuildLogLine['level'], message: string) => void;
  signal?: AbortSignal;
  /** A folder kept after the build for the logs tools write (the function's log folder). */
  logDir?: string;
}

const TAIL_LINES = 20;

/**
 * What runs spec.build.commands: this class on this machine, or a container of the processor image
 * (platform/docker).
 */
export interface BuildCommandRunner {
  /** Runs `commands` one after the other in `o.dir`; throws a BuildError quoting the failing one and its last lines. */
  run(commands: string[], o: RunOptions): Promise<void>;
}

export class BuildCommands implements BuildCommandRunner {
  constructor(private readonly opts: BuildCommandsOptions) {}

  /** The environment of a build command in `dir`. */
  env(dir: string, family: RuntimeFamily, npmLogs?: string): Record<string, string> {
    return {
      ...this.opts.baseEnv,
      ...this.opts.packageManagers.env,
      HOME: join(dir, BUILD_HOME_DIR),
      npm_config_prefix: join(dir, NPM_PREFIX_DIR),
      npm_config_cache: join(dir, NPM_CACHE_DIR),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...(npmLogs ? { npm_config_logs_dir: npmLogs } : {}),
      PIP_TARGET: join(dir, PIP_TARGET_DIR),
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_CACHE_DIR: '1',
      PATH: `${join(dir, NPM_PREFIX_DIR, 'bin')}:${this.opts.baseEnv.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
      NUCLIO_RUNTIME: family,
    };
  }

  /** Runs `commands` one after the other; throws a BuildError quoting the failing one and its last lines. */
  async run(commands: string[], o: RunOptions): Promise<void> {
    const npmLogs = o.logDir ? join(o.logDir, 'npm') : undefined;
    const env = this.env(o.dir, o.family, npmLogs);
    await mkdir(env.HOME, { recursive: true });
    if (npmLogs) await mkdir(npmLogs, { recursive: true });
    const prefix = this.opts.jail.buildPrefix({
      stagingDir: o.dir,
      writable: npmLogs ? [npmLogs] : [],
      readable: this.opts.packageManagers.files,
    });
    const deadline = Date.now() + o.timeoutS * 1000;
    for (const [i, cmd] of commands.entries()) {
      o.log('info', `Running build command: ${cmd}`);
      const tail: string[] = [];
      const code = await new Promise<number | string>((resolve) => {
        const argv = [...prefix, '/bin/sh', '-c', cmd];
        // Its own process group: a timeout or a cancel kills the group (and with it the namespace).
        const child = spawn(argv[0], argv.slice(1), {
          cwd: o.dir,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        const pidFile = child.pid ? writePidFile(this.opts.pidDir, `${basename(o.dir)}-${i}`, child.pid) : undefined;
        const onLine = (level: 'info' | 'warn') => (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n')) {
            if (!line.trim()) continue;
            tail.push(line);
            if (tail.length > TAIL_LINES) tail.shift();
            o.log(level, line);
          }
        };
        child.stdout.on('data', onLine('info'));
        child.stderr.on('data', onLine('warn'));
        const kill = () => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
        };
        const timer = setTimeout(
          () => {
            kill();
            resolve(`timed out after ${o.timeoutS} s (spec.build.buildTimeoutSeconds)`);
          },
          Math.max(0, deadline - Date.now()),
        );
        const onAbort = () => {
          kill();
          resolve('cancelled');
        };
        o.signal?.addEventListener('abort', onAbort, { once: true });
        child.once('error', (e) => resolve(e.message));
        child.once('close', (c, sig) => {
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          if (pidFile) removePidFile(pidFile);
          // Whatever the command left running in its group goes with it.
          kill();
          resolve(c === 0 && !sig ? 0 : exitReason(c, sig, this.opts.jail.signalsAsExitCodes));
        });
      });
      if (code !== 0) {
        throw new BuildError(`Build command failed (${code}): ${cmd}${tail.length ? `\n${tail.join('\n')}` : ''}`);
      }
    }
  }
}
