/**
 * Pre-started processors (processor-pool.ts) with the real processor program: what a replica started
 * from one runs and sees, what happens when one is lost while it specialises, and that none outlives
 * its pool.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NODEJS_WARM_UP_HANDLER, PROCESSOR_MAIN, PYTHON_RUNTIME_DIR } from '../../paths.js';
import type { ProcessorConfig } from '../../processor/config.js';
import type { ReplicaStats } from '../../processor/stats.js';
import { apiError } from '../../errors.js';
import { ConnectionBroker } from './connection-broker.js';
import { ProcessorPool } from './processor-pool.js';
import { Replica } from './replica.js';
import { alive, processesInGroup } from '../../../test/helpers/proc.js';

const HANDLER = `exports.handler = (context, event) => context.callback(JSON.stringify({
  secret: process.env.SECRET ?? null,
  pool: process.env.PROTIUM_PROCESSOR_POOL ?? null,
  cwd: process.cwd(),
  modules: Object.keys(require.cache),
}));
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PYTHON = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim();

describe('pre-started processors', () => {
  const root = mkdtempSync(join(tmpdir(), 'protium-pool-'));
  const pidDir = join(root, 'pids');
  mkdirSync(pidDir);
  const log = pino({ level: 'silent' });
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    rmSync(root, { recursive: true, force: true });
  });

  function newPool(size = 1): ProcessorPool {
    const pool = new ProcessorPool({
      size,
      program: PROCESSOR_MAIN,
      wrap: [],
      baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      ...(PYTHON ? { python: { path: PYTHON, runtimeDir: PYTHON_RUNTIME_DIR } } : {}),
      warmUpHandler: NODEJS_WARM_UP_HANDLER,
      pidDir,
      log,
    });
    cleanups.push(() => pool.close());
    pool.fill();
    return pool;
  }

  async function ready(pool: ProcessorPool, n = 1): Promise<void> {
    for (let i = 0; i < 600 && pool.readyCount < n; i++) await sleep(50);
    assert.ok(pool.readyCount >= n, `the pool has ${n} processor(s) ready`);
  }

  /** A function's folder and a replica of it; `handler` is its handler.js. */
  function replica(name: string, pooled: () => ReturnType<ProcessorPool['take']>, handler = HANDLER): Replica {
    const dir = join(root, name);
    mkdirSync(dir);
    if (handler) writeFileSync(join(dir, 'handler.js'), handler);
    const config: ProcessorConfig = {
      replica: name,
      namespace: 'nuclio',
      functionName: name,
      family: 'nodejs',
      runtime: 'nodejs',
      handler: 'handler:handler',
      artifactDir: dir,
      triggers: { http: { kind: 'http', attributes: {} } as ProcessorConfig['triggers'][string] },
      env: [],
      eventTimeoutMs: 0,
      runtimeAttributes: {},
      logLevel: 'info',
    };
    const configPath = join(root, `${name}.json`);
    writeFileSync(configPath, JSON.stringify(config));
    const r = new Replica({
      name,
      program: PROCESSOR_MAIN,
      configPath,
      config,
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SECRET: name },
      logPath: join(root, `${name}.log`),
      pidDir,
      readinessTimeoutMs: 60_000,
      pooled,
    });
    cleanups.push(() => r.stop(1000));
    return r;
  }

  /** One request handed to the replica the way the function's port does (a paused socket over IPC). */
  async function ask(r: Replica): Promise<{ status: number; text: string }> {
    const server = net.createServer({ pauseOnConnect: true }, (s) => {
      if (!r.send(s)) s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, {
        headers: { connection: 'close' },
      });
      return { status: res.status, text: await res.text() };
    } finally {
      server.close();
    }
  }

  it("a replica from the pool runs the function's handler with its env and folder, and nothing of the warm-up", async () => {
    const pool = newPool();
    await ready(pool);
    const pooledPid = pool.readyPids()[0];
    const r = replica('from-pool', () => pool.take());
    const stats: ReplicaStats[] = [];
    r.on('stats', (s: ReplicaStats) => stats.push(s));
    await r.start();
    assert.equal(r.pid, pooledPid, 'the replica is the pooled process');
    const { status, text } = await ask(r);
    assert.equal(status, 200, text);
    const answer = JSON.parse(text) as { secret: string; pool: string | null; cwd: string; modules: string[] };
    assert.equal(answer.secret, 'from-pool');
    assert.equal(answer.pool, null, "the pool's environment is gone");
    assert.equal(answer.cwd, join(root, 'from-pool'));
    assert.deepEqual(answer.modules, [join(root, 'from-pool', 'handler.js')], 'require has loaded its handler only');
    // Its counters are its own: the warm-up's requests are not among them.
    const counted = () => stats.at(-1)?.triggers.find((t) => t.kind === 'http');
    for (let i = 0; i < 100 && !counted()?.success; i++) await sleep(50);
    assert.equal(counted()?.success, 1, `one event counted (${JSON.stringify(counted())})`);
    assert.equal(counted()?.allocation.immediate, 1);
    assert.deepEqual(pool.stats(), { size: 1, ready: pool.readyCount, taken: 1, missed: 0 });
  });

  it('a replica whose pre-started processor dies before it specialises starts cold and serves', async () => {
    const pool = newPool();
    await ready(pool);
    let lost = 0;
    const r = replica('lost', () => {
      const child = pool.take()!;
      lost = child.pid!;
      process.kill(-lost, 'SIGKILL');
      return child;
    });
    await r.start();
    assert.ok(r.pid && r.pid !== lost, `a process of its own (${r.pid}), not the dead one (${lost})`);
    const { status, text } = await ask(r);
    assert.equal(status, 200, text);
    assert.equal((JSON.parse(text) as { secret: string }).secret, 'lost');
    assert.match(readFileSync(join(root, 'lost.log'), 'utf8'), /pre-started processor was lost .*starting one cold/);
  });

  it('a connection handed over while the replica starts is served, even when its pre-started processor dies first', async () => {
    // Killed just before `specialise` (its channel may still take the messages), or already dead (a
    // zombie: writing to its channel fails, and the replica learns it from that error before the exit).
    for (const lose of ['kept', 'dying', 'dead'] as const) {
      const pool = newPool();
      await ready(pool);
      const name = `early-${lose}`;
      let live = false;
      const r = replica(name, () => {
        const child = pool.take()!;
        if (lose !== 'kept') process.kill(-child.pid!, 'SIGKILL');
        // Synchronously: the event loop must not learn of the exit before the hand-over.
        if (lose === 'dead') while (alive(child.pid!));
        return child;
      });
      // The function's port as the platform runs it: it holds the connection while no replica is ready.
      const broker = new ConnectionBroker({
        name,
        maxConnections: 16,
        holdTimeoutMs: 60_000,
        replicas: () => (live ? [r] : []),
        refusal: () => undefined,
        onHeld: () => {},
        log,
      });
      r.on('orphans', (sockets: net.Socket[]) => sockets.forEach((s) => broker.dispatch(s)));
      await new Promise<void>((resolve) => broker.server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => broker.close(apiError('FUNCTION_REMOVED', name)));
      const answer = fetch(`http://127.0.0.1:${(broker.server.address() as net.AddressInfo).port}/`, {
        headers: { connection: 'close' },
        signal: AbortSignal.timeout(30_000),
      }).then(async (res) => ({ status: res.status, text: await res.text() }));
      for (let i = 0; i < 200 && broker.heldCount === 0; i++) await sleep(10);
      assert.equal(broker.heldCount, 1, 'the connection is held');
      const started = r.start();
      broker.handOverEarly([r]);
      assert.equal(broker.heldCount, 0, 'the starting replica took it at once');
      await started;
      live = true;
      broker.flush();
      const { status, text } = await answer;
      assert.equal(status, 200, text);
      assert.equal((JSON.parse(text) as { secret: string }).secret, name);
    }
  });

  it("a pre-started processor that reports the function's own failure fails the start, without a cold retry", async () => {
    const pool = newPool();
    await ready(pool);
    const r = replica('broken', () => pool.take(), '');
    await assert.rejects(r.start(), /Handler file handler\.js does not exist/);
    assert.doesNotMatch(readFileSync(join(root, 'broken.log'), 'utf8'), /starting one cold/);
  });

  it('leaves no process behind once closed, python workers and pending replacements included', async () => {
    const pool = newPool(2);
    await ready(pool, 2);
    // A taken process that becomes ready schedules a replacement: closing first must cancel it.
    const r = replica('taken', () => pool.take());
    await r.start();
    const groups = pool.readyPids();
    assert.equal(groups.length, 1);
    const members = groups.flatMap(processesInGroup);
    if (PYTHON) assert.ok(members.length >= 2, `the processor and its python worker (${members.join(', ')})`);
    pool.close();
    for (let i = 0; i < 100 && members.some(alive); i++) await sleep(50);
    assert.deepEqual(members.filter(alive), [], 'every process of the pool is gone');
    await sleep(300);
    assert.deepEqual(
      readdirSync(pidDir).filter((f) => f.startsWith('pool-')),
      [],
      'no replacement started after close',
    );
    assert.equal(pool.readyCount, 0);
  });
});
