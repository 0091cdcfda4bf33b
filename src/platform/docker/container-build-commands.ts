/**
 * spec.build.commands on the docker platform: run inside a container of the processor image, so what they
 * install (native modules above all) is built against the Node.js, python and C library the replicas
 * run with, not the dashboard machine's.
 *
 * One container per build (its command `sleep infinity`), each command an exec in it, so the commands
 * share what they leave and each reports its own exit code. The container sees the build's staging
 * folder (read-write) and the package managers' configuration files (read-only: CA bundles, npmrc) at
 * their paths on this machine — the environment is the local builds' (build-commands.ts), installs land
 * in the staging folder as they do there — and npm's log folder; nothing else of the data dir. It runs
 * as the dashboard's user (the staging folder stays the dashboard's), without capabilities or new
 * privileges, with a read-only root and a private /tmp, on the engine's default network (installs need
 * the registry). A timeout or a cancel removes the container, and everything it ran with it; a dashboard
 * killed with -9 leaves it to the next start, which removes it (labelled role=build).
 */
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { BuildCommands, type BuildCommandRunner, type RunOptions } from '../../builder/build-commands.js';
import { BuildError } from '../../builder/builder.js';
import type { PackageManagerConfig } from '../../builder/package-manager-config.js';
import { PIDS_LIMIT } from './container-spec.js';
import { engineMessage } from './engine.js';
import { LABELS, ROLES } from './labels.js';
import type { ProcessorImage } from './processor-image.js';

const TAIL_LINES = 20;
const IMAGE_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface ContainerBuildOptions {
  dashboardId: string;
  image: ProcessorImage;
  packageManagers: PackageManagerConfig;
}

/** Splits a stream into lines for `onLine` (a partial last line when it ends). */
function lines(onLine: (line: string) => void): PassThrough {
  const pass = new PassThrough();
  let partial = '';
  pass.on('data', (c: Buffer) => {
    const parts = (partial + c.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) onLine(p);
  });
  pass.on('end', () => {
    if (partial.trim()) onLine(partial);
  });
  return pass;
}

export class ContainerBuildCommands implements BuildCommandRunner {
  /** The environment of the local builds, with the image's programs. */
  private readonly envs: BuildCommands;

  constructor(
    private readonly docker: Docker,
    private readonly opts: ContainerBuildOptions,
  ) {
    this.envs = new BuildCommands({
      baseEnv: { PATH: IMAGE_PATH, LANG: 'C.UTF-8' },
      packageManagers: opts.packageManagers,
      jail: { buildPrefix: () => [], signalsAsExitCodes: false },
      pidDir: '',
    });
  }

  async run(commands: string[], o: RunOptions): Promise<void> {
    const image = await this.opts.image.ensure((level, message) => o.log(level, message));
    const npmLogs = o.logDir ? `${o.logDir}/npm` : undefined;
    const env = this.envs.env(o.dir, o.family, npmLogs);
    await mkdir(env.HOME, { recursive: true });
    if (npmLogs) await mkdir(npmLogs, { recursive: true });
    const mounts: Docker.MountConfig = [{ Type: 'bind', Source: o.dir, Target: o.dir, ReadOnly: false }];
    if (npmLogs) mounts.push({ Type: 'bind', Source: npmLogs, Target: npmLogs, ReadOnly: false });
    for (const f of this.opts.packageManagers.files)
      mounts.push({ Type: 'bind', Source: f, Target: f, ReadOnly: true });
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        Image: image,
        Entrypoint: ['sleep'],
        Cmd: ['infinity'],
        WorkingDir: o.dir,
        User: `${uid}:${gid}`,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: { [LABELS.dashboard]: this.opts.dashboardId, [LABELS.role]: ROLES.build },
        HostConfig: {
          Init: true,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': 'rw,nosuid,nodev,mode=1777' },
          PidsLimit: PIDS_LIMIT,
          Mounts: mounts,
        },
      });
      await container.start();
    } catch (e) {
      throw new BuildError(`Failed to start the build container (image ${image}): ${engineMessage(e)}`);
    }
    const deadline = Date.now() + o.timeoutS * 1000;
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      void container.remove({ force: true }).catch(() => {});
    };
    const timer = setTimeout(
      () => stop(`timed out after ${o.timeoutS} s (spec.build.buildTimeoutSeconds)`),
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = () => stop('cancelled');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (const cmd of commands) {
        if (stopped) break;
        o.log('info', `Running build command: ${cmd}`);
        const tail: string[] = [];
        const onLine = (level: 'info' | 'warn') => (line: string) => {
          tail.push(line);
          if (tail.length > TAIL_LINES) tail.shift();
          o.log(level, line);
        };
        let code: number | string;
        try {
          const exec = await container.exec({
            Cmd: ['/bin/sh', '-c', cmd],
            AttachStdout: true,
            AttachStderr: true,
            WorkingDir: o.dir,
          });
          const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
          const out = lines(onLine('info'));
          const err = lines(onLine('warn'));
          this.docker.modem.demuxStream(stream, out, err);
          await Promise.race([once(stream, 'end'), once(stream, 'close')]);
          out.end();
          err.end();
          const info = await exec.inspect();
          code = info.ExitCode === 0 ? 0 : `exit code ${info.ExitCode}`;
        } catch (e) {
          code = stopped ?? `the build container failed: ${engineMessage(e)}`;
        }
        if (stopped) code = stopped;
        if (code !== 0)
          throw new BuildError(`Build command failed (${code}): ${cmd}${tail.length ? `\n${tail.join('\n')}` : ''}`);
      }
      if (stopped) throw new BuildError(`Build commands ${stopped}`);
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      await container.remove({ force: true }).catch(() => {});
    }
  }
}
