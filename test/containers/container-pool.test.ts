/**
 * --prewarm on the docker platform (container-pool.ts): a function woken from zero is served by a
 * pre-started container, made that function's replica with its own environment, handler and artifact
 * (and no other's); the pool refills; a specialise request without the container's token is refused and
 * changes nothing; a replica made from the pool that dies is made the same replica again; a pool
 * container that cannot be specialised leaves the wake to a container started cold; a function with
 * resource limits gets them either way; a dashboard that stops leaves no pool container.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { CONTAINER_HEALTH_PORT } from '../../src/processor/config.js';
import type { DockerPlatform } from '../../src/platform/docker/docker-platform.js';
import { LABELS, ROLES } from '../../src/platform/docker/labels.js';
import type { FunctionRecord } from '../../src/resources/types.js';
import {
  functionBody,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import { BASE_IMAGE, DOCKER_HOST, engine, engineMissing, leftovers, removeAll } from './engine.js';

const missing = await engineMissing();

/** Reports its own environment variable, its working folder and the artifact folders it can see. */
const SOURCE =
  'const fs = require("fs");\n' +
  'exports.handler = (c, e) => c.callback(JSON.stringify({ who: process.env.WHO, ' +
  'cwd: process.cwd(), artifacts: fs.readdirSync("/var/lib/protium/artifacts") }));\n';

interface Answer {
  who: string;
  cwd: string;
  artifacts: string[];
}

describe('--prewarm on the docker platform', { skip: missing }, () => {
  let d: TestDashboard;
  let dashboardId = '';
  const docker = engine();

  before(async () => {
    d = await startTestDashboard({
      platform: 'docker',
      dockerHost: DOCKER_HOST,
      baseImage: BASE_IMAGE,
      prewarm: '1',
      deployToZero: true,
    });
    dashboardId = d.dashboard.containers!.dashboardId;
  });
  after(async () => {
    await d?.close();
    if (dashboardId) {
      const left = await leftovers(dashboardId);
      await removeAll(dashboardId);
      assert.deepEqual(
        left.containers.map((c) => `${c.Names.join(',')} (${c.Labels[LABELS.role]})`),
        [],
        'a dashboard that stopped leaves no container: no pool container, idle or taken',
      );
    }
  });

  async function until<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }
  const addressOf = async (id: string) => {
    const info = await docker.getContainer(id).inspect();
    return Object.values(info.NetworkSettings.Networks).find((n) => n.IPAddress)?.IPAddress;
  };
  const pooledAt = async (address: string) =>
    fetch(`http://${address}:${CONTAINER_HEALTH_PORT}/pooled`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  /** The pool's containers (by this dashboard's labels) that wait to be specialised. */
  async function waitingPool(): Promise<{ id: string; address: string }[]> {
    const list = await docker.listContainers({
      filters: { label: [`${LABELS.dashboard}=${dashboardId}`, `${LABELS.role}=${ROLES.pool}`] },
    });
    const out: { id: string; address: string }[] = [];
    for (const c of list) {
      const address = await addressOf(c.Id);
      if (address && (await pooledAt(address))) out.push({ id: c.Id, address });
    }
    return out;
  }
  /** The one pool container, once it waits to be specialised and the pool counts it as ready. */
  const onePooled = () =>
    until('a pool container waiting', async () => {
      const w = await waitingPool();
      return w.length === 1 && (d.dashboard.platform as DockerPlatform).pool?.readyCount === 1 ? w[0] : undefined;
    });

  async function deployedAtZero(
    name: string,
    who: string,
    spec: Record<string, unknown> = {},
    source = SOURCE,
    runtime = 'nodejs',
  ): Promise<number> {
    const body = functionBody(name, runtime, source, {
      spec: { env: [{ name: 'WHO', value: who }], minReplicas: 0, maxReplicas: 1, ...spec },
    });
    const res = await d.api('POST', '/api/functions', { body });
    assert.equal(res.status, 202, res.text);
    const fn = await waitFor(d, name, (f) => ['ready', 'error'].includes(f.status?.state ?? ''), 240_000);
    assert.equal(fn.status.state, 'ready', fn.status.message);
    assert.deepEqual(await replicaContainers(name), [], `${name} deployed to zero`);
    return fn.status.httpPort!;
  }
  const invoke = async (port: number) => {
    const r = await request<Answer>(`http://127.0.0.1:${port}/`, 'POST', { body: 'x', timeoutMs: 120_000 });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  /**
   * The containers serving a function now, by the replica names the API lists (a container from the pool
   * is renamed just after it became the replica).
   */
  async function replicaContainers(name: string): Promise<Docker.ContainerInspectInfo[]> {
    const names = (await d.api<{ names: string[] }>('GET', `/api/functions/${name}/replicas`)).json.names;
    return Promise.all(
      names.map((n) =>
        until(
          `a container named ${n}`,
          () =>
            docker
              .getContainer(n)
              .inspect()
              .catch(() => undefined),
          10_000,
        ),
      ),
    );
  }

  it(
    'wakes a function in a pool container with its own env, handler and artifact only, renamed as its replica; the ' +
      'pool refills',
    { timeout: 420_000 },
    async () => {
      const portA = await deployedAtZero('pool-a', 'alpha');
      // Another source: another artifact, which pool-a's container must not see, nor pool-b's pool-a's.
      const portB = await deployedAtZero('pool-b', 'beta', {}, `${SOURCE}// b\n`);
      const first = await onePooled();

      const a = await invoke(portA);
      assert.equal(a.who, 'alpha');
      const [servingA] = await replicaContainers('pool-a');
      assert.equal(servingA.Id, first.id, 'the woken replica is the container the pool had started');
      assert.match(servingA.Name, /^\/?nuclio-nuclio-pool-a-/, 'renamed after its replica');
      assert.deepEqual(a.artifacts, [a.cwd.split('/').pop()], 'it holds its own artifact and no other');

      const second = await onePooled();
      assert.notEqual(second.id, first.id, 'the pool started another container');
      const b = await invoke(portB);
      assert.equal(b.who, 'beta');
      assert.equal((await replicaContainers('pool-b'))[0].Id, second.id);
      assert.deepEqual(b.artifacts, [b.cwd.split('/').pop()]);
      assert.notEqual(b.cwd, a.cwd);
      await onePooled();
    },
  );

  it(
    'makes a replica from the pool the same replica again when its container dies and restarts',
    { timeout: 240_000 },
    async () => {
      const [before] = await replicaContainers('pool-a');
      await docker.getContainer(before.Id).kill({ signal: 'SIGKILL' });
      await until('pool-a restarted', async () => {
        const [r] = await replicaContainers('pool-a');
        return r?.State.Running && r.State.StartedAt !== before.State.StartedAt ? r : undefined;
      });
      const port = (await d.api<FunctionRecord>('GET', '/api/functions/pool-a')).json.status.httpPort!;
      const a = await until('pool-a answering again', () => invoke(port).catch(() => undefined));
      assert.equal(a.who, 'alpha');
      assert.equal((await replicaContainers('pool-a'))[0].Id, before.Id, 'restarted in place');
    },
  );

  it(
    'refuses a specialise request without the pool token, and the container stays in the pool',
    { timeout: 240_000 },
    async () => {
      const p = await onePooled();
      const url = `http://${p.address}:${CONTAINER_HEALTH_PORT}/specialise`;
      const body = JSON.stringify({
        env: { PROTIUM_PROCESSOR_CONFIG_JSON: '{}' },
        cwd: '/var/lib/protium/artifacts/x',
        artifact: {
          url: 'http://192.0.2.1/',
          token: 't',
          digest: `sha256:${'0'.repeat(64)}`,
          cache: '/var/lib/protium/artifacts',
        },
      });
      for (const authorization of [undefined, 'Bearer wrong', 'Basic abc', 'Bearer ', `Bearer ${'x'.repeat(43)}`]) {
        const r = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body,
        });
        assert.equal(r.status, 401, `${authorization}: ${await r.text()}`);
      }
      // The token is checked before the body is read: a huge body without it is refused as quickly.
      const big = await fetch(url, { method: 'POST', body: 'x'.repeat(4 << 20) }).then(
        (r) => r.status,
        () => 'closed',
      );
      assert.ok(big === 401 || big === 'closed', `a huge body without the token: ${big}`);
      assert.ok(await pooledAt(p.address), 'still waiting to be specialised');
      // And the dashboard, which knows the token, still makes it a replica.
      const port = await deployedAtZero('pool-c', 'gamma');
      assert.equal((await invoke(port)).who, 'gamma');
      assert.equal((await replicaContainers('pool-c'))[0].Id, p.id);
    },
  );

  it(
    'starts a container cold when the pool container cannot be specialised (it hangs)',
    { timeout: 240_000 },
    async () => {
      const port = await deployedAtZero('pool-d', 'delta', { readinessTimeoutSeconds: 10 });
      const p = await onePooled();
      // Frozen: it takes the specialise request's connection and never answers, until the readiness timeout.
      await docker.getContainer(p.id).pause();
      assert.equal((await invoke(port)).who, 'delta');
      const [serving] = await replicaContainers('pool-d');
      assert.notEqual(serving.Id, p.id);
      assert.equal(serving.Config.Labels[LABELS.role], ROLES.replica, 'a container made cold');
      await until('the frozen pool container removed', async () =>
        (await docker.listContainers({ all: true, filters: { id: [p.id] } })).length === 0 ? true : undefined,
      );
    },
  );

  it('wakes a python function in a pool container, with its own env', { timeout: 240_000 }, async () => {
    const p = await onePooled();
    const source =
      'import json, os\n\ndef handler(context, event):\n' +
      '    return json.dumps({"who": os.environ.get("WHO"), "cwd": os.getcwd(), ' +
      '"artifacts": os.listdir("/var/lib/protium/artifacts")})\n';
    const port = await deployedAtZero('pool-py', 'python', {}, source, 'python:3.9');
    const a = await invoke(port);
    assert.equal(a.who, 'python');
    assert.deepEqual(a.artifacts, [a.cwd.split('/').pop()]);
    assert.equal((await replicaContainers('pool-py'))[0].Id, p.id);
  });

  it('gives a function with a memory limit its limit, from the pool or cold', { timeout: 240_000 }, async () => {
    await onePooled();
    const limit = 256 * 2 ** 20;
    const port = await deployedAtZero('pool-e', 'epsilon', { resources: { limits: { memory: '256Mi' } } });
    assert.equal((await invoke(port)).who, 'epsilon');
    const [serving] = await replicaContainers('pool-e');
    assert.equal(serving.HostConfig.Memory, limit);
  });
});
