/**
 * Promises README.md and ARCHITECTURE.md make that no other test exercised, each on a real dashboard:
 * leftover replicas of a dashboard killed with -9 are killed by the next start; a connection a replica
 * never acknowledged goes to the next replica; python's memory limit; the dashboard's own log never prints
 * env values; the store and replica configs are owner-only; the sandbox's /tmp is private.
 * Each test states the promise, not the mechanism (pid files, RLIMIT_DATA...), so it survives a rework.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  functionBody,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type ReplicaNames,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const at = (fn: FunctionRecord, path = '/') => `http://127.0.0.1:${fn.status.httpPort}${path}`;

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A process's start time (clock ticks since boot, /proc/<pid>/stat field 22): tells a pid's reuse apart. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}
/** True while the process `pid` that started at `started` runs (a zombie has ended). */
const alive = (pid: number, started: string) => startTime(pid) === started;

interface ChildDashboard {
  url: string;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** A dashboard as users run it (its own process, its log on stdout, captured), on ephemeral ports. */
async function childDashboard(dataDir: string, extra: string[] = []): Promise<ChildDashboard> {
  const proc = spawn(
    process.execPath,
    [MAIN, '--listen-addr', '127.0.0.1:0', '--gateway-listen-addr', '127.0.0.1:0', '--data-dir', dataDir, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  proc.stderr.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // The "listening" line is logged at info: the level must be info or lower.
  const url = await until(
    'the dashboard says where it listens',
    () => {
      if (proc.exitCode !== null) throw new Error(`the dashboard exited: ${out}`);
      for (const line of out.split('\n')) {
        try {
          const o = JSON.parse(line) as { url?: unknown; msg?: string };
          if (typeof o.url === 'string' && /listening/.test(o.msg ?? '')) return o.url;
        } catch {
          /* not a whole line yet */
        }
      }
      return undefined;
    },
    30_000,
  ).catch(async (e) => {
    proc.kill('SIGKILL');
    await exited;
    throw e;
  });
  return {
    url,
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The API of a dashboard at `url`, as the test helper's `d.api`. */
const apiOf =
  (url: string) =>
  <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    request<T>(`${url}${path}`, method, { body, headers });
const asTest = (url: string, dataDir: string) =>
  ({
    url,
    dataDir,
    api: <T>(m: string, p: string, o?: { body?: unknown; headers?: Record<string, string> }) =>
      request<T>(`${url}${p}`, m, o),
  }) as unknown as TestDashboard;

describe('promises of the README and ARCHITECTURE', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
  });

  it('a replica left running by a dashboard killed with -9 is killed by the next start on that data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-leftover-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let dash = await childDashboard(dir, ['--log-level', 'info']);
    cleanups.push(() => dash.stop());
    // After answering /stick, the replica spins: it cannot see the dashboard go, so it outlives it.
    // The replica's pid as this machine sees it (replicas have PID namespaces of their own; /proc is the host's).
    const src =
      "const hostPid = () => require('fs').readFileSync('/proc/self/status', " +
      "'utf8').match(/NSpid:\\s+(\\d+)/)[1]; exports.handler = (c, e) => { c.callback(hostPid()); " +
      "if (e.path === '/stick') setTimeout(() => { const end = Date.now() + 120000; " +
      'while (Date.now() < end); }, 50); };';
    const fn = await deploy(asTest(dash.url, dir), functionBody('stuck', 'nodejs', src));
    const pid = Number((await request(at(fn, '/stick'), 'GET')).text);
    const started = startTime(pid)!;
    assert.ok(started, `replica ${pid} runs`);
    cleanups.push(() => {
      if (alive(pid, started)) process.kill(pid, 'SIGKILL');
    });
    await sleep(200);
    dash.proc.kill('SIGKILL');
    await new Promise((r) => dash.proc.once('exit', r));
    await sleep(1_000);
    const leftOver = alive(pid, started);
    dash = await childDashboard(dir, ['--log-level', 'info']);
    await until(
      `replica ${pid} (left over: ${leftOver}) killed by the next start`,
      () => (alive(pid, started) ? undefined : true),
      10_000,
    );
    // And the function is back, served by a new replica.
    const back = await waitFor(asTest(dash.url, dir), 'stuck', (f) => f.status.state === 'ready', 30_000);
    const now = Number((await request(at(back), 'GET')).text);
    assert.ok(now > 0 && now !== pid, `answered by ${now}`);
    await dash.stop();
  });

  describe('on one dashboard', () => {
    let d: TestDashboard;
    const work = mkdtempSync(join(tmpdir(), 'protium-promises-'));
    after(async () => {
      await d?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('a connection handed to a replica that dies before acknowledging it is served by the next replica', async () => {
      d = await startTestDashboard();
      const mark = join(work, 'blocked');
      // /block marks the replica and spins: the connections it is handed from then on are never
      // acknowledged (its event loop never reads the IPC channel again).
      const src = [
        'exports.handler = (c, e) => {',
        // Its pid as this machine sees it (replicas have PID namespaces of their own; /proc is the host's).
        "  const hostPid = require('fs').readFileSync('/proc/self/status', 'utf8').match(/NSpid:\\s+(\\d+)/)[1];",
        "  if (e.path === '/block') { require('fs').writeFileSync(process.env.MARK, `${hostPid} " +
          '${process.env.HOSTNAME}`); const end = Date.now() + 120000; while (Date.now() < end); }',
        '  c.callback(process.env.HOSTNAME);',
        '};',
      ].join('\n');
      const fn = await deploy(
        d,
        functionBody('handover', 'nodejs', src, {
          spec: { minReplicas: 2, maxReplicas: 2, env: [{ name: 'MARK', value: mark }] },
        }),
      );
      // A fresh connection per request: each is a new hand-over, round-robin over the two replicas.
      const get = (path: string, timeoutMs = 30_000) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = http.get(
            at(fn, path),
            { agent: false, headers: { connection: 'close' }, timeout: timeoutMs },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => {
                text += c.toString();
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
        });
      const pids = new Set<string>();
      for (let i = 0; i < 10 && pids.size < 2; i++) pids.add((await get('/')).text);
      assert.equal(pids.size, 2, 'two replicas answer');
      void get('/block', 120_000).catch(() => undefined);
      const [blockedPid, blockedName] = (
        await until('a replica blocked', () => (existsSync(mark) ? readFileSync(mark, 'utf8') || undefined : undefined))
      ).split(' ');
      const blocked = Number(blockedPid);
      cleanups.push(() => {
        try {
          process.kill(blocked, 'SIGKILL');
        } catch {
          /* gone */
        }
      });
      let answered = 0;
      const calls = Array.from({ length: 8 }, () =>
        get('/', 20_000).then(
          (r) => {
            answered++;
            return r;
          },
          (e: Error) => ({ status: 0, text: e.message }),
        ),
      );
      // The other replica answers its share at once; the blocked one holds the rest, unacknowledged.
      await until('the free replica answered its share', () => (answered >= 3 ? true : undefined), 10_000);
      await sleep(300);
      assert.ok(answered < 8, 'some connections are waiting on the blocked replica');
      process.kill(blocked, 'SIGKILL');
      const results = await Promise.all(calls);
      assert.deepEqual(
        results.filter((r) => r.status !== 200),
        [],
        'every connection is answered',
      );
      assert.ok(
        results.every((r) => r.text !== blockedName),
        'none by the replica that died',
      );
    });

    it('python: a handler allocating past spec.resources.limits.memory gets a 500, its worker restarts, and the log says so', async () => {
      const src = [
        'import os',
        'leak = []',
        'def handler(context, event):',
        "    if event.path == '/leak':",
        '        leak.append(bytearray(16 * 1024 * 1024))',
        "    return '%d %d' % (os.getpid(), len(leak))",
        '',
      ].join('\n');
      const fn = await deploy(
        d,
        functionBody('py-limit', 'python', src, { spec: { resources: { limits: { memory: '64Mi' } } } }),
      );
      const first = (await request(at(fn), 'GET')).text.split(' ');
      let held = 0;
      let refused: { status: number; text: string } | undefined;
      for (let i = 0; i < 10 && !refused; i++) {
        const r = await request(at(fn, '/leak'), 'POST', { body: 'x' });
        if (r.status === 200) held = Number(r.text.split(' ')[1]);
        else refused = r;
      }
      // 64 MiB holds the interpreter and at most three 16 MiB blocks.
      assert.ok(refused, 'the limit was never reached');
      assert.ok(held >= 1 && held <= 3, `held ${held} blocks of 16 MiB under a 64 MiB limit`);
      assert.equal(refused.status, 500);
      assert.match(refused.text, /ran out of memory \(spec\.resources\.limits\.memory\)/);
      // A fresh worker, without the leak, serves the next events.
      const fresh = await until(
        'a fresh worker',
        async () => {
          const r = await request(at(fn), 'GET');
          const [pid, count] = r.text.split(' ');
          return r.status === 200 && pid !== first[0] ? { pid, count } : undefined;
        },
        10_000,
      );
      assert.equal(fresh.count, '0');
      const replica = (await d.api<ReplicaNames>('GET', '/api/functions/py-limit/replicas')).json.names[0];
      const log = (await d.api('GET', `/api/functions/py-limit/logs/${replica}?follow=false`)).text;
      assert.match(log, /ran out of memory/);
      assert.match(log, /python worker 0 exited .*starting a new one/);
    });

    it("the store and the replica configs (which hold env values) are readable by the dashboard's user only", async () => {
      await deploy(
        d,
        functionBody('owner-only', 'nodejs', 'exports.handler = (c) => c.callback("x");', {
          spec: { env: [{ name: 'API_TOKEN', value: 'owner-only-value' }] },
        }),
      );
      const configsDir = join(d.dataDir, 'run', 'configs');
      const configs = readdirSync(configsDir).map((f) => join(configsDir, f));
      assert.ok(
        configs.some((f) => readFileSync(f, 'utf8').includes('owner-only-value')),
        'a replica config holds the env value',
      );
      const files = [
        ...configs,
        ...['store.db', 'store.db-wal', 'store.db-shm'].map((f) => join(d.dataDir, f)).filter(existsSync),
      ];
      assert.ok(files.some((f) => f.endsWith('store.db')));
      const open = files
        .filter((f) => (statSync(f).mode & 0o077) !== 0)
        .map((f) => `${f} ${(statSync(f).mode & 0o777).toString(8)}`);
      assert.deepEqual(open, [], 'files readable by group or others');
    });
  });

  it("the dashboard's own log never prints env values, at any log level, through deploys, updates, crashes and errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-quiet-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dash = await childDashboard(dir, ['--log-level', 'trace']);
    cleanups.push(() => dash.stop());
    const api = apiOf(dash.url);
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    const plain = `plain-${process.pid}-${Date.now()}`;
    const env = (n: number) => [
      { name: 'DB_PASSWORD', value: `${secret}-${n}` },
      { name: 'GREETING', value: `${plain}-${n}` },
    ];
    // The handler prints its env and can crash: its output is the replica's log, never the dashboard's.
    const src =
      'exports.handler = (c, e) => { console.log(process.env.DB_PASSWORD, process.env.GREETING); if (e.path === ' +
      "'/crash') process.exit(3); c.callback(process.env.GREETING); };";
    const t = asTest(dash.url, dir);
    const fn = await deploy(
      t,
      functionBody('quiet', 'nodejs', src, {
        spec: {
          env: env(1),
          build: { functionSourceCode: Buffer.from(src).toString('base64'), commands: ['echo building'] },
        },
      }),
    );
    assert.equal((await request(at(fn), 'GET')).text, `${plain}-1`);
    assert.equal(
      (
        await api('POST', '/api/function_invocations', 'x', {
          'x-nuclio-function-name': 'quiet',
          'x-nuclio-log-level': 'debug',
        })
      ).text,
      `${plain}-1`,
    );
    await request(at(fn, '/crash'), 'GET').catch(() => undefined);
    await waitFor(t, 'quiet', (f) => f.status.state === 'ready', 20_000);
    // An update with new values, a failed deploy, a refused one, an export, a delete.
    const cur = (await api<FunctionRecord>('GET', '/api/functions/quiet')).json;
    assert.equal(
      (
        await api(
          'PUT',
          '/api/functions/quiet',
          { metadata: cur.metadata, spec: { ...cur.spec, env: env(2) } },
          { 'x-nuclio-wait-function-action': 'true' },
        )
      ).status,
      202,
    );
    assert.equal((await request(at(fn), 'GET')).text, `${plain}-2`);
    await api(
      'POST',
      '/api/functions',
      functionBody('broken', 'nodejs', src, {
        spec: { env: env(3), build: { functionSourceCode: Buffer.from(src).toString('base64'), commands: ['exit 7'] } },
      }),
    );
    await waitFor(t, 'broken', (f) => f.status.state === 'error');
    const refused = await api(
      'POST',
      '/api/functions',
      functionBody('refused', 'nodejs', src, { spec: { env: env(4), minReplicas: -1 } }),
    );
    assert.equal(refused.status, 400);
    assert.equal((await api('GET', '/api/projects/default?export=true')).status, 200);
    assert.equal((await api('DELETE', '/api/functions', { metadata: { name: 'quiet' } })).status, 204);
    await dash.stop();
    const log = dash.output();
    assert.match(log, /"msg":"function deployed"/, 'the log was captured');
    for (const value of [secret, plain])
      assert.ok(
        !log.includes(value),
        `the dashboard's log printed an env value: ${log.split('\n').find((l) => l.includes(value))}`,
      );
  });

  it("--sandbox bwrap: a replica's /tmp is its own, unseen by the host and by other functions", async (t) => {
    const { findBwrap } = await import('../../src/platform/local/sandbox.js');
    if (!findBwrap()) {
      t.skip('bubblewrap is not installed (apt-get install bubblewrap)');
      return;
    }
    const d = await startTestDashboard({ sandbox: 'bwrap' });
    cleanups.push(() => d.close());
    const tag = `protium-tmp-${process.pid}-${Date.now()}`;
    const hostFile = join('/tmp', `${tag}-host`);
    writeFileSync(hostFile, 'host');
    cleanups.push(() => rmSync(hostFile, { force: true }));
    cleanups.push(() => rmSync(join('/tmp', `${tag}-a`), { force: true }));
    // POST writes /tmp/<body>; GET /<name> reads /tmp/<name> (or answers the error code).
    const src = [
      "const fs = require('fs');",
      'exports.handler = (c, e) => {',
      "  const name = '/tmp/' + (e.method === 'POST' ? e.body.toString() : e.path.slice(1));",
      "  if (e.method === 'POST') { fs.writeFileSync(name, process.env.NUCLIO_FUNCTION_NAME); return " +
        "c.callback('written'); }",
      "  try { c.callback(fs.readFileSync(name, 'utf8')); } catch (err) { c.callback(err.code); }",
      '};',
    ].join('\n');
    // Distinct sources: concurrent builds of one source share an artifact folder, and a later build can
    // replace it while the first one's replica starts from it (a builder race, outside this test).
    const [a, b] = await Promise.all(
      ['tmp-a', 'tmp-b'].map((n) => deploy(d, functionBody(n, 'nodejs', `${src}\n// ${n}\n`))),
    );
    assert.equal((await request(at(a), 'POST', { body: `${tag}-a` })).text, 'written');
    assert.equal((await request(at(a, `/${tag}-a`), 'GET')).text, 'tmp-a', 'the replica reads back what it wrote');
    assert.ok(!existsSync(join('/tmp', `${tag}-a`)), 'the host does not see it');
    assert.equal((await request(at(b, `/${tag}-a`), 'GET')).text, 'ENOENT', 'another function does not see it');
    assert.equal(
      (await request(at(a, `/${tag}-host`), 'GET')).text,
      'ENOENT',
      "the replica does not see the host's /tmp",
    );
  });
});
