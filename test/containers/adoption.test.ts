/**
 * A dashboard with --platform docker killed with -9 and started again on the same data dir adopts the
 * replica containers its earlier run left: the same containers serve (no duplicate, no orphan), on the same
 * ports. It never touches a container it did not make, even one labelled with the same function.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../src/platform/docker/labels.js';
import type { FunctionRecord } from '../../src/resources/types.js';
import { b64, request, sleep } from '../helpers/start-dashboard.js';
import { startDockerDashboard } from './dashboard-process.js';
import { BASE_IMAGE, engine, engineMissing, leftovers, removeAll } from './engine.js';
import { freePort } from '../helpers/free-port.js';

const missing = await engineMissing();

describe('kill -9 of a dashboard with --platform docker, then a start', { skip: missing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-adopt-'));
  let child: ChildProcess | undefined;
  let url = '';
  let dashboardId = '';
  const foreign: string[] = [];

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dashboardId) await removeAll(dashboardId);
    await Promise.all(
      foreign.map((id) =>
        engine()
          .getContainer(id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(ports: { api: number; gateway: number }): Promise<void> {
    url = `http://127.0.0.1:${ports.api}`;
    child = await startDockerDashboard({ dir, api: ports.api, gateway: ports.gateway, timeoutMs: 60_000 });
  }

  const state = async (name: string) =>
    (await request<FunctionRecord | undefined>(`${url}/api/functions/${name}`, 'GET')).json?.status;
  async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }
  const replicaContainers = async () =>
    (await leftovers(dashboardId)).containers.filter((c) => c.Labels[LABELS.role] === 'replica');

  it(
    "adopts its replica containers: the same containers, no duplicate, no orphan, the same ports; leaves others' alone",
    { timeout: 420_000 },
    async () => {
      const ports = { api: await freePort(), gateway: await freePort() };
      await start(ports);
      dashboardId = readFileSync(join(dir, 'dashboard-id'), 'utf8').trim();
      const code = 'exports.handler = (c, e) => c.callback("up " + process.env.HOSTNAME);';
      const fns = { 'a-one': {}, 'a-two': { minReplicas: 2, maxReplicas: 2 }, 'a-parked': {} } as Record<
        string,
        Record<string, unknown>
      >;
      for (const [name, spec] of Object.entries(fns)) {
        const res = await request(`${url}/api/functions`, 'POST', {
          body: {
            metadata: { name },
            spec: { runtime: 'nodejs', handler: 'handler:handler', build: { functionSourceCode: b64(code) }, ...spec },
          },
        });
        assert.equal(res.status, 202, res.text);
      }
      for (const name of Object.keys(fns))
        await until(`${name} ready`, async () => (await state(name))?.state === 'ready');
      assert.equal(
        (await request(`${url}/api/functions/a-parked`, 'PATCH', { body: { desiredState: 'scaledToZero' } })).status,
        204,
      );
      await until('a-parked scaled to zero', async () => (await state('a-parked'))?.state === 'scaledToZero');
      await until("a-parked's container gone", async () => (await replicaContainers()).length === 3);
      const portsBefore = Object.fromEntries(
        await Promise.all(
          Object.keys(fns).map(async (n): Promise<[string, number | undefined]> => [n, (await state(n))?.httpPort]),
        ),
      );
      const before = (await replicaContainers()).map((c) => c.Id).sort();
      assert.equal(before.length, 3);

      // Containers this dashboard did not make: one labelled as a replica of a-one by another dashboard, one
      // unlabelled.
      const labelSets: Record<string, string>[] = [
        {
          [LABELS.dashboard]: 'someoneelse0',
          [LABELS.role]: 'replica',
          [LABELS.namespace]: 'nuclio',
          [LABELS.function]: 'a-one',
        },
        {},
      ];
      for (const labels of labelSets) {
        const c = await engine().createContainer({
          Image: BASE_IMAGE,
          Cmd: ['sleep', '600'],
          Labels: labels,
          HostConfig: { CapDrop: ['ALL'] },
        });
        await c.start();
        foreign.push(c.id);
      }

      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      const during = await replicaContainers();
      assert.deepEqual(during.map((c) => c.Id).sort(), before, 'the replicas outlive a dashboard killed with -9');
      assert.ok(during.every((c) => c.State === 'running'));

      await start(ports);
      for (const name of ['a-one', 'a-two'])
        await until(`${name} ready again`, async () => (await state(name))?.state === 'ready');
      await until('a-parked back, scaled to zero', async () => (await state('a-parked'))?.state === 'scaledToZero');
      const after = await replicaContainers();
      assert.deepEqual(after.map((c) => c.Id).sort(), before, 'the same containers: none added, none left over');
      for (const name of Object.keys(fns))
        assert.equal((await state(name))?.httpPort, portsBefore[name], `${name} keeps its port`);
      const names = (await request<{ names: string[] }>(`${url}/api/functions/a-two/replicas`, 'GET')).json.names;
      assert.deepEqual(
        names.sort(),
        after
          .filter((c) => c.Labels[LABELS.function] === 'a-two')
          .map((c) => c.Names[0].replace(/^\//, ''))
          .sort(),
      );
      for (const name of ['a-one', 'a-two']) {
        const res = await request(`http://127.0.0.1:${portsBefore[name]}/`, 'GET');
        assert.equal(res.status, 200);
        assert.match(res.text, /^up nuclio-nuclio-a-/);
      }
      // The parked one wakes on its old port.
      const woke = await request(`http://127.0.0.1:${portsBefore['a-parked']}/`, 'GET');
      assert.match(woke.text, /^up nuclio-nuclio-a-parked-/);

      // A graceful stop removes its replicas; the others' containers are untouched through all of it.
      child!.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
      assert.deepEqual(await replicaContainers(), []);
      for (const id of foreign)
        assert.equal(
          (await engine().getContainer(id).inspect()).State.Running,
          true,
          'a container it did not make is untouched',
        );
    },
  );
});
