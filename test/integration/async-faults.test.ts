/**
 * The guarantees of asynchronous invocations under a crash (issue 20, item 5): a dashboard in its own
 * process is killed with -9 while thousands of invocations are queued and some run. After a restart on
 * the same data dir every queued invocation runs, no invocation acknowledged as succeeded before the kill
 * runs again, and those that were running run again (at-least-once). A real function writes a line per
 * attempt to a sink file outside the data dir: that file, not the dashboard, says what ran.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { functionBody, request, sleep } from '../helpers/start-dashboard.js';
import type { InvocationList } from '../../src/async/async-invocations.js';
import type { InvocationView } from '../../src/async/invocation.js';
import type { FunctionRecord } from '../../src/resources/types.js';
import { until, WORKER, type Queued } from '../helpers/async-invocations.js';
import { freePort } from '../helpers/free-port.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
/** Invocations queued before the kill. */
const N = 3000;

/** A dashboard in its own process (so that it can be killed with -9), up once /api/versions answers. */
async function dashboardProcess(dataDir: string, port: number, range: [number, number]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--gateway-listen-addr',
      '127.0.0.1:0',
      '--data-dir',
      dataDir,
      '--port-range',
      `${range[0]}-${range[1]}`,
      '--async-retry-delay',
      '100ms',
      '--async-queue-size',
      String(2 * N),
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  await until(
    'dashboard up',
    async () => {
      if (child.exitCode !== null) throw new Error(`the dashboard exited (${child.exitCode})`);
      const status = await request(`http://127.0.0.1:${port}/api/versions`, 'GET').then(
        (r) => r.status,
        () => 0,
      );
      return status === 200 ? true : undefined;
    },
    30_000,
  );
  return child;
}

/** Live processes whose environment or working directory is inside `dataDir` (replicas and their children). */
function processesOf(dataDir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`=${dataDir}/`)) out.push(Number(entry));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return out;
}

describe('async invocations: kill -9 of the dashboard', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-async-faults-'));
  const dataDir = join(dir, 'data');
  const sink = join(dir, 'sink');
  let dash: ChildProcess | undefined;

  after(async () => {
    if (dash && dash.exitCode === null) {
      dash.kill('SIGTERM');
      await new Promise((r) => dash!.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every queued invocation after a restart, never a succeeded one again, and the running ones again', async () => {
    const port = await freePort();
    const lo = 20_000 + Math.floor(Math.random() * 9_000);
    const range: [number, number] = [lo, lo + 19];
    const url = `http://127.0.0.1:${port}`;
    const api = <T = unknown>(method: string, path: string, body?: unknown) =>
      request<T>(`${url}${path}`, method, { body });
    dash = await dashboardProcess(dataDir, port, range);

    const fn = functionBody('sink', 'nodejs', WORKER, {
      spec: {
        env: [{ name: 'SINK', value: sink }],
        triggers: { http: { kind: 'http', numWorkers: 8 } },
        maxReplicas: 1,
      },
    });
    assert.equal((await api('POST', '/api/functions', fn)).status, 202);
    await until(
      'function ready',
      async () =>
        (await api<FunctionRecord | undefined>('GET', '/api/functions/sink')).json?.status?.state === 'ready'
          ? true
          : undefined,
      60_000,
    );

    // Thousands queued: 64 callers at once, each invocation 40 ms in the function, 8 at a time.
    const idOf = new Map<number, string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < N) {
          const n = next++;
          const r = await request<Queued>(`${url}/api/function_invocations`, 'POST', {
            headers: { 'x-nuclio-function-name': 'sink', 'x-protium-invoke-mode': 'async' },
            body: JSON.stringify({ n, sleep: 40 }),
          });
          assert.equal(r.status, 202, r.text);
          idOf.set(n, r.json.id);
        }
      }),
    );
    const list = async (query: string) =>
      (await api<InvocationList>('GET', `/api/functions/sink/invocations?limit=10000&${query}`)).json;
    await until('some succeeded', async () =>
      (await list('state=succeeded')).counts.succeeded >= 100 ? true : undefined,
    );
    const acked = new Set((await list('state=succeeded')).invocations.map((x) => x.id));
    const running = (await list('state=running')).invocations.map((x) => x.id);
    const before = (await list('state=queued')).counts;
    dash.kill('SIGKILL');
    await new Promise((r) => dash!.once('exit', r));
    assert.ok(before.queued >= 1000, `${before.queued} queued at the kill`);
    assert.ok(running.length > 0, 'some were running at the kill');
    // The replicas die with the dashboard (their parent-death signal).
    await until('replicas gone', () => (processesOf(dataDir).length === 0 ? true : undefined), 15_000);

    dash = await dashboardProcess(dataDir, port, range);
    const all = await until(
      'every invocation succeeded',
      async () => {
        const l = await list('');
        return l.counts.succeeded === N ? l : undefined;
      },
      180_000,
    );
    assert.equal(all.invocations.length, N);
    assert.deepEqual(
      new Set(all.invocations.map((x) => x.id)),
      new Set(idOf.values()),
      'the same invocations, none lost, none added',
    );

    const lines = readFileSync(sink, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { n: number; id: string; attempt: number });
    const runs = new Map<string, number[]>();
    for (const l of lines) runs.set(l.id, [...(runs.get(l.id) ?? []), l.attempt]);
    for (const [n, id] of idOf) assert.ok(runs.has(id), `invocation ${n} (${id}) never ran`);
    for (const id of acked)
      assert.deepEqual(runs.get(id), [1], `succeeded before the kill, yet ran ${JSON.stringify(runs.get(id))}`);
    // An attempt's start is written without waiting (async-invocations.ts): one cut off by the kill before
    // its start was on disk runs again under the same number. Numbers never go back, and repeat at most once.
    for (const [id, attempts] of runs) {
      assert.ok(
        attempts.every((a, i) => i === 0 || a >= attempts[i - 1]),
        `${id}: attempt numbers went back (${attempts.join(',')})`,
      );
      assert.ok(
        attempts.length - new Set(attempts).size <= 1,
        `${id}: attempt numbers repeated more than the kill explains (${attempts.join(',')})`,
      );
    }

    // Those running at the kill ran again: an interrupted attempt, then one that succeeded.
    let interrupted = 0;
    for (const id of running) {
      const inv = (await api<InvocationView>('GET', `/api/function_invocations/${id}`)).json;
      assert.equal(inv.state, 'succeeded', id);
      const history = inv.attemptHistory;
      if (!history.some((a) => a.interrupted)) continue; // it ended (and was recorded) before the kill
      interrupted++;
      const last = history.at(-1)!;
      assert.equal(last.status, 200);
      assert.ok(runs.get(id)!.includes(last.attempt), `${id}: its attempt ${last.attempt} ran again after the restart`);
    }
    assert.ok(interrupted > 0, 'at least one attempt was cut by the kill and run again');

    dash.kill('SIGTERM');
    await new Promise((r) => dash!.once('exit', r));
    await sleep(200);
    assert.deepEqual(processesOf(dataDir), [], 'nothing of the data dir runs after a clean stop');
    assert.ok(existsSync(join(dataDir, 'async')), 'the journal lives in the data dir');
  });
});
