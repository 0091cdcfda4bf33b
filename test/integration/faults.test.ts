/**
 * Faults: a dashboard killed with -9 in the middle of builds and traffic, replicas killed or crashing in a
 * loop, a handler that leaks memory past its limit, a data dir that is not writable or fills up. After
 * each, the platform must come back to the desired state with nothing lost, duplicated or left running.
 * (`npm run test:faults` runs this file alone.)
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startDashboard, StartupError } from '../../src/dashboard.js';
import { silentLogger } from '../../src/log.js';
import { deploy, functionBody, request, sleep, startTestDashboard, waitFor, type TestDashboard } from '../helpers/start-dashboard.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const at = (fn: any, path = '/') => `http://127.0.0.1:${fn.status.httpPort}${path}`;

/** Processor processes whose config lives in `dataDir` (found through /proc, as an operator would). */
function replicaPids(dataDir: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('processor/main.js')) continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`PROTIUM_PROCESSOR_CONFIG=${dataDir}`)) out.push(Number(pid));
    } catch { /* gone */ }
  }
  return out;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A dashboard in its own process, so that it can be killed with -9. */
async function dashboardProcess(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, '--listen-addr', `127.0.0.1:${port}`, '--gateway-listen-addr', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn'], { stdio: 'ignore' });
  await until('dashboard up', async () => (await request(`http://127.0.0.1:${port}/api/versions`, 'GET').then((r) => r.status, () => 0)) === 200 ? true : undefined);
  return child;
}

describe('faults', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });

  it('kill -9 of the dashboard during builds and traffic: replicas go with it, and a restart brings every function back, none lost or doubled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-fault-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = 18_600 + Math.floor(Math.random() * 300);
    const base = `http://127.0.0.1:${port}`;
    const api = (method: string, path: string, body?: unknown) => request(`${base}${path}`, method, { body });
    let dash = await dashboardProcess(dir, port);
    cleanups.push(() => { dash.kill('SIGKILL'); });
    const fnReady = async (name: string) => until(`${name} ready`, async () => {
      const f = (await api('GET', `/api/functions/${name}`)).json;
      if (f?.status?.state === 'error') throw new Error(`${name}: ${f.status.message}`);
      return f?.status?.state === 'ready' ? f : undefined;
    }, 30_000);
    await api('POST', '/api/functions', functionBody('steady-node', 'nodejs', 'exports.handler = (c) => c.callback("steady");'));
    await api('POST', '/api/functions', functionBody('steady-py', 'python', 'def handler(c, e):\n    return "py steady"\n'));
    await api('POST', '/api/functions', functionBody('parked', 'nodejs', 'exports.handler = (c) => c.callback("parked");', { spec: { minReplicas: 0, maxReplicas: 1 } }));
    const steady = await fnReady('steady-node');
    await fnReady('steady-py');
    await fnReady('parked');
    await request(`${base}/api/functions/parked`, 'PATCH', { body: { desiredState: 'scaledToZero' }, headers: { 'x-nuclio-wait-function-action': 'true' } });
    // One function is still building when the dashboard dies.
    const slowSrc = 'exports.handler = (c) => c.callback("built slowly");';
    await api('POST', '/api/functions', { ...functionBody('building', 'nodejs', slowSrc), spec: { ...functionBody('building', 'nodejs', slowSrc).spec, build: { functionSourceCode: Buffer.from(slowSrc).toString('base64'), commands: ['sleep 1'] } } });
    const traffic = Promise.all(Array.from({ length: 20 }, () => request(at(steady), 'GET').catch(() => undefined)));
    assert.ok(replicaPids(dir).length >= 2, 'replicas are running');
    dash.kill('SIGKILL');
    await traffic;
    await until('replicas gone after the dashboard died', () => (replicaPids(dir).length === 0 ? true : undefined), 10_000);

    dash = await dashboardProcess(dir, port);
    for (const name of ['steady-node', 'steady-py', 'building']) await fnReady(name);
    const list = (await api('GET', '/api/functions')).json;
    assert.deepEqual(Object.keys(list).sort(), ['building', 'parked', 'steady-node', 'steady-py']);
    assert.equal(list.parked.status.state, 'scaledToZero');
    const back = (await api('GET', '/api/functions/steady-node')).json;
    assert.equal(back.status.httpPort, steady.status.httpPort);
    assert.equal((await request(at(back), 'GET')).text, 'steady');
    assert.equal((await request(at(list.building), 'GET')).text, 'built slowly');
    assert.equal((await request(at(list.parked), 'GET')).text, 'parked');
    const projects = (await request(`${base}/api/projects`, 'GET')).json;
    assert.deepEqual(Object.keys(projects), ['default']);
    dash.kill('SIGTERM');
    await new Promise((r) => dash.once('exit', r));
    await until('replicas gone after a clean stop', () => (replicaPids(dir).length === 0 ? true : undefined), 10_000);
  });

  describe('replicas', () => {
    let d: TestDashboard;
    it('a replica killed with -9 is serving again within two seconds', async () => {
      d = await startTestDashboard();
      cleanups.push(() => d.close());
      const fn = await deploy(d, functionBody('victim', 'nodejs', 'exports.handler = (c) => c.callback("alive");'));
      const [pid] = replicaPids(d.dataDir);
      assert.ok(pid);
      process.kill(pid!, 'SIGKILL');
      const t0 = Date.now();
      await until('serving again', async () => ((await request(at(fn), 'GET', { timeoutMs: 3_000 }).catch(() => undefined))?.text === 'alive' ? true : undefined), 5_000);
      assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms`);
      await waitFor(d, 'victim', (f) => f.status.state === 'ready', 5_000);
    });

    it('a replica that keeps crashing is restarted with growing back-off, and the state says so', async () => {
      const src = "if (require('fs').existsSync(__dirname + '/armed')) process.exit(9);\nexports.handler = (c) => c.callback('ok');";
      const fn = await deploy(d, functionBody('crashloop', 'nodejs', src));
      writeFileSync(join(d.dataDir, 'artifacts', fn.spec.image.split(':')[1], 'armed'), '1');
      process.kill(replicaPids(d.dataDir).find((p) => readFileSync(`/proc/${p}/environ`, 'utf8').includes('crashloop'))!, 'SIGKILL');
      const delays: number[] = [];
      await until('three restarts', async () => {
        const f = (await d.api('GET', '/api/functions/crashloop')).json;
        const m = /restarting in (\d+) ms/.exec(f.status.message ?? '');
        if (f.status.state === 'unhealthy' && m && !delays.includes(Number(m[1]))) delays.push(Number(m[1]));
        return delays.length >= 3 ? true : undefined;
      }, 15_000);
      assert.ok(delays[1]! > delays[0]! && delays[2]! > delays[1]!, `delays ${delays.join(', ')}`);
      assert.match((await d.api('GET', '/api/functions/crashloop')).json.status.message, /exit code 9/);
      // Fixed: it comes back by itself.
      rmSync(join(d.dataDir, 'artifacts', fn.spec.image.split(':')[1], 'armed'));
      await waitFor(d, 'crashloop', (f) => f.status.state === 'ready', 20_000);
      assert.equal((await request(at(fn), 'GET')).text, 'ok');
    });

    it('a handler that leaks memory past spec.resources.limits.memory dies, is restarted, and serves again', async () => {
      const src = "const leak = [];\nexports.handler = (c, e) => { if (e.path === '/leak') { for (let i = 0; i < 40; i++) leak.push(new Array(100000).fill(i + Math.random())); } c.callback('held ' + leak.length); };";
      const fn = await deploy(d, functionBody('leaker', 'nodejs', src, { spec: { resources: { limits: { memory: '64Mi' } } } }));
      let died = false;
      for (let i = 0; i < 40 && !died; i++) {
        const r = await request(at(fn, '/leak'), 'POST', { body: 'x', timeoutMs: 10_000 }).catch(() => undefined);
        if (!r || r.status >= 500) died = true;
      }
      assert.ok(died, 'the leaking replica never died');
      await until('serving again', async () => ((await request(at(fn), 'GET', { timeoutMs: 3_000 }).catch(() => undefined))?.text === 'held 0' ? true : undefined), 10_000);
    });
  });

  describe('the data dir', () => {
    it('a data dir that cannot be written stops the start with a clear error', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'protium-file-')), 'not-a-dir');
      writeFileSync(file, 'x');
      cleanups.push(() => rmSync(join(file, '..'), { recursive: true, force: true }));
      const config = loadConfig({ listenAddr: '127.0.0.1:0', gatewayListenAddr: '127.0.0.1:0', dataDir: join(file, 'data') }, {});
      await assert.rejects(startDashboard(config, silentLogger()), (e: Error) => e instanceof StartupError && /is not writable/.test(e.message) && e.message.includes(join(file, 'data')));
      const out = (() => {
        try {
          execFileSync(process.execPath, [MAIN, '--listen-addr', '127.0.0.1:0', '--data-dir', join(file, 'data')], { stdio: 'pipe', timeout: 20_000 });
          return '';
        } catch (e) {
          return String((e as { stderr?: Buffer }).stderr);
        }
      })();
      assert.match(out, /^protium: The data directory .* is not writable/);
      assert.doesNotMatch(out, /at .*\.js:\d+/);
    });

    it('a port that is taken stops the start with a clear error', async () => {
      const blocker = (await import('node:net')).createServer().listen(0, '127.0.0.1');
      await new Promise((r) => blocker.once('listening', r));
      const port = (blocker.address() as { port: number }).port;
      const dir = mkdtempSync(join(tmpdir(), 'protium-port-'));
      try {
        const config = loadConfig({ listenAddr: `127.0.0.1:${port}`, gatewayListenAddr: '127.0.0.1:0', dataDir: dir }, {});
        await assert.rejects(startDashboard(config, silentLogger()), (e: Error) => e instanceof StartupError && e.message.includes(`Port ${port}`) && /already in use \(--listen-addr\)/.test(e.message));
        const gwConfig = loadConfig({ listenAddr: '127.0.0.1:0', gatewayListenAddr: `127.0.0.1:${port}`, dataDir: dir }, {});
        await assert.rejects(startDashboard(gwConfig, silentLogger()), (e: Error) => e instanceof StartupError && /--gateway-listen-addr/.test(e.message));
      } finally {
        blocker.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a data dir that fills up during a build: the build fails with a clear error and the store stays intact', async (t) => {
      const mnt = mkdtempSync(join(tmpdir(), 'protium-small-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mnt], { stdio: 'ignore' });
      } catch {
        rmSync(mnt, { recursive: true, force: true });
        t.skip('mounting a small tmpfs needs root');
        return;
      }
      cleanups.push(() => { try { execFileSync('umount', ['-l', mnt]); } catch { /* gone */ } rmSync(mnt, { recursive: true, force: true }); });
      mkdirSync(join(mnt, 'data'));
      const d = await startTestDashboard({}, join(mnt, 'data'));
      cleanups.push(() => d.close());
      const ok = await deploy(d, functionBody('small', 'nodejs', 'exports.handler = (c) => c.callback("small");'));
      const src = 'exports.handler = (c) => c.callback("big");';
      const res = await d.api('POST', '/api/functions', { body: { ...functionBody('big', 'nodejs', src), spec: { ...functionBody('big', 'nodejs', src).spec, build: { functionSourceCode: Buffer.from(src).toString('base64'), commands: ['dd if=/dev/zero of=filler bs=1M count=40'] } } } });
      assert.equal(res.status, 202);
      const big = await waitFor(d, 'big', (f) => f.status.state === 'error' || f.status.state === 'ready');
      assert.equal(big.status.state, 'error');
      assert.match(big.status.message, /No space left on device/);
      // The failed build's files are gone, so the store and the other function work on.
      assert.equal((await request(at(ok), 'GET')).text, 'small');
      assert.equal((await d.api('GET', '/api/functions')).status, 200);
      const later = await deploy(d, functionBody('after', 'nodejs', 'exports.handler = (c) => c.callback("after");'));
      // Builds run in artifacts/.staging-*: the failed one left no folder behind, only the good artifacts.
      const artifacts = readdirSync(join(mnt, 'data', 'artifacts')).sort();
      assert.deepEqual(artifacts, [ok, later].map((f) => f.spec.image.split(':')[1]).sort(), `artifacts left: ${artifacts.join(', ')}`);
      // The store is intact: SQLite's own check, and every function with its state.
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(mnt, 'data', 'store.db'), { readonly: true });
      try { assert.equal(db.pragma('integrity_check', { simple: true }), 'ok'); } finally { db.close(); }
      const states = Object.fromEntries(Object.entries((await d.api('GET', '/api/functions')).json).map(([k, f]: [string, any]) => [k, f.status.state]));
      assert.deepEqual(states, { after: 'ready', big: 'error', small: 'ready' });
    });
  });
});
