/**
 * --prewarm on the docker platform across a kill -9 of the dashboard: pool containers, idle or taken,
 * keep their `pool` labels (an engine cannot change labels), so the next start removes them all rather
 * than adopt them — the function serves again from a new container — and a graceful stop then leaves no
 * pool container of this dashboard.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS, ROLES } from '../../src/platform/docker/labels.js';
import type { FunctionRecord } from '../../src/resources/types.js';
import { b64, request, sleep } from '../helpers/start-dashboard.js';
import { startDockerDashboard } from './dashboard-process.js';
import { engineMissing, leftovers, removeAll } from './engine.js';
import { freePort } from '../helpers/free-port.js';

const missing = await engineMissing();

describe('--prewarm on the docker platform, kill -9 of the dashboard, then a start', { skip: missing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-pool-restart-'));
  let child: ChildProcess | undefined;
  let url = '';
  let dashboardId = '';

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dashboardId) await removeAll(dashboardId);
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(api: number): Promise<void> {
    url = `http://127.0.0.1:${api}`;
    child = await startDockerDashboard({ dir, api, gateway: await freePort(), args: ['--prewarm', '1'] });
    dashboardId = readFileSync(join(dir, 'dashboard-id'), 'utf8').trim();
  }

  async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (child && child.exitCode !== null) throw new Error(`the dashboard exited (${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }
  const pool = async () =>
    (await leftovers(dashboardId)).containers.filter((c) => c.Labels[LABELS.role] === ROLES.pool);
  const replicaIds = async (name: string): Promise<string[]> => {
    const names = (await request<{ names: string[] }>(`${url}/api/functions/${name}/replicas`, 'GET')).json.names;
    const all = (await leftovers(dashboardId)).containers;
    return all.filter((c) => c.Names.some((n) => names.includes(n.replace(/^\//, '')))).map((c) => c.Id);
  };

  it(
    'removes the pool containers an earlier run left, the one that became a replica included, and serves anew',
    { timeout: 420_000 },
    async () => {
      const api = await freePort();
      await start(api);
      // Ready to be specialised, as the dashboard counts it: a deploy before that starts its replica cold.
      await until('a pool container ready', async () =>
        request(`${url}/metrics`, 'GET').then(
          (r) => /^protium_prewarm_processors_ready 1$/m.test(r.text),
          () => false,
        ),
      );
      const res = await request(`${url}/api/functions`, 'POST', {
        body: {
          metadata: { name: 'p-one' },
          spec: {
            runtime: 'nodejs',
            handler: 'handler:handler',
            build: { functionSourceCode: b64('exports.handler = (c, e) => c.callback("up");') },
            minReplicas: 1,
            maxReplicas: 1,
          },
        },
      });
      assert.equal(res.status, 202, res.text);
      const state = async () =>
        (await request<FunctionRecord | undefined>(`${url}/api/functions/p-one`, 'GET')).json?.status;
      await until('p-one ready', async () => (await state())?.state === 'ready', 240_000);
      const port = (await state())!.httpPort!;
      assert.equal((await request(`http://127.0.0.1:${port}/`, 'GET')).text, 'up');
      // Its replica and the pool's replacement: both pool containers, both outlive a kill -9.
      await until('the pool refilled', async () => (await pool()).length === 2);
      const before = (await pool()).map((c) => c.Id).sort();
      const [replica] = await replicaIds('p-one');
      assert.ok(before.includes(replica), 'the replica was a pool container');

      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      assert.deepEqual((await pool()).map((c) => c.Id).sort(), before, 'pool containers outlive a kill -9');

      await start(api);
      await until('p-one ready again', async () => (await state())?.state === 'ready', 240_000);
      await until('the pool refilled', async () => (await pool()).some((c) => c.State === 'running'));
      const now = (await leftovers(dashboardId)).containers.map((c) => c.Id);
      assert.deepEqual(
        before.filter((id) => now.includes(id)),
        [],
        "the earlier run's pool containers are gone, taken or not",
      );
      assert.equal((await request(`http://127.0.0.1:${port}/`, 'GET')).text, 'up');
      assert.ok(!before.includes((await replicaIds('p-one'))[0]));

      child!.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
      assert.deepEqual(
        (await leftovers(dashboardId)).containers.map((c) => `${c.Names.join(',')} (${c.Labels[LABELS.role]})`),
        [],
        'a graceful stop leaves no container',
      );
    },
  );
});
