/**
 * Real brokers for tests and the bench: NATS (`nats-server`), MQTT (`mosquitto`) and RabbitMQ
 * (`rabbitmq-server`), Debian's packages, each started as a child process on a free 127.0.0.1 port with its
 * own temp folder for config and data — never the system's services or default ports. RabbitMQ also gets
 * its own Erlang port mapper (epmd) on a free port, a unique node name and distribution port, and both are
 * stopped with it. `restart()` stops and starts a broker on the same port with the same data.
 *
 * Where a broker's program is missing, `missing()` says so: tests skip with that message, except in CI
 * (`CI` set), where a missing broker is a failure (`.ci/run` installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export { freePort };

export interface Broker {
  /** Client URL, e.g. nats://127.0.0.1:41234. */
  url: string;
  port: number;
  /** The broker's data folder. */
  dir: string;
  /** Stops and starts it again on the same port with the same data (graceful stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const PROGRAMS = {
  nats: '/usr/sbin/nats-server',
  mosquitto: '/usr/sbin/mosquitto',
  rabbitmq: '/usr/lib/rabbitmq/bin/rabbitmq-server',
} as const;

/** Why a broker cannot run here (its program is not installed), or undefined. */
export function missing(broker: keyof typeof PROGRAMS): string | undefined {
  if (existsSync(PROGRAMS[broker])) return undefined;
  return `${PROGRAMS[broker]} is not installed (apt-get install -y nats-server mosquitto rabbitmq-server)`;
}

/** For describe(): skip with the reason where the broker is missing, but never in CI. */
export function skipUnlessInstalled(broker: keyof typeof PROGRAMS): string | false {
  const why = missing(broker);
  if (!why) return false;
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0')
    throw new Error(`CI needs ${broker}: ${why}`);
  return why;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A port that was free a moment ago (the broker binds it right after). */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `probe` resolves true, polling, up to `timeoutMs`; the error names `what` and the output so far. */
async function until(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`${what} did not come up within ${timeoutMs} ms. Output:\n${output().slice(-3000)}`);
    await sleep(100);
  }
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** Spawns a program in its own process group, its output kept for error messages. */
function launch(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('exit', () => live.delete(child));
  return { child, output: () => out };
}

/** Stops a process group: SIGTERM, then SIGKILL after `graceMs`. */
async function terminate(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' });

/** nats-server on a free port, with its monitoring endpoint (connections, subscriptions) on another. */
export async function startNats(opts: { port?: number } = {}): Promise<Broker & { monitorUrl: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-nats-'));
  const port = opts.port ?? (await freePort());
  const monitor = await freePort();
  let proc: ReturnType<typeof launch>;
  const start = async () => {
    proc = launch(
      PROGRAMS.nats,
      ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-n', `protium-test-${port}`],
      baseEnv(),
      dir,
    );
    await until(
      `nats-server on port ${port}`,
      async () => (await fetch(`http://127.0.0.1:${monitor}/healthz`)).ok && tcpOpen(port),
      30_000,
      proc.output,
    );
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    monitorUrl: `http://127.0.0.1:${monitor}`,
    restart: async () => {
      await terminate(proc.child);
      await start();
    },
    stop: async () => {
      await terminate(proc.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** mosquitto on a free port: anonymous clients, persistence in its folder, $SYS every second. */
export async function startMosquitto(): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'sys_interval 1',
      // As root, mosquitto switches to the `mosquitto` user unless told to stay: its data folder is ours.
      `user ${userInfo().username}`,
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  let proc: ReturnType<typeof launch>;
  const start = async () => {
    proc = launch(PROGRAMS.mosquitto, ['-c', conf], baseEnv(), dir);
    await until(`mosquitto on port ${port}`, () => tcpOpen(port), 30_000, proc.output);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    restart: async () => {
      await terminate(proc.child);
      await start();
    },
    stop: async () => {
      await terminate(proc.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * rabbitmq-server on a free port, run directly (not through Debian's wrapper, which switches to the
 * rabbitmq user), with its own node name, data, logs, config, epmd and distribution port. It takes a few
 * seconds to start: start it once per test file.
 */
export async function startRabbit(opts: { port?: number } = {}): Promise<Broker & { ctl(args: string[]): string }> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-rabbit-'));
  const port = opts.port ?? (await freePort());
  const epmdPort = await freePort();
  const distPort = await freePort();
  const node = `protium${port}@localhost`;
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\nloopback_users = none\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_USE_LONGNAME: 'false',
    // Our own epmd runs beside it (below): erl must not start a daemon of its own that would outlive us.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-start_epmd false',
    RABBITMQ_CTL_ERL_ARGS: '-start_epmd false',
  };
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const epmd = launch('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], env, dir);
  await until(`epmd on port ${epmdPort}`, () => tcpOpen(epmdPort), 10_000, epmd.output);
  let proc: ReturnType<typeof launch>;
  const amqp = (await import('amqplib')).default;
  const start = async () => {
    proc = launch(PROGRAMS.rabbitmq, [], env, dir);
    await until(
      `rabbitmq-server on port ${port}`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`rabbitmq-server exited (${proc.child.exitCode})`);
        const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
        await c.close();
        return true;
      },
      120_000,
      proc.output,
    );
  };
  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    dir,
    ctl: (args) => {
      const r = spawnSync('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-n', node, ...args], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (r.status !== 0) throw new Error(`rabbitmqctl ${args.join(' ')}: ${r.stderr || r.stdout}`);
      return r.stdout;
    },
    restart: async () => {
      await terminate(proc.child, 30_000);
      await start();
    },
    stop: async () => {
      await terminate(proc.child, 30_000);
      await terminate(epmd.child, 5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
