/**
 * `--platform kube` end to end, without a cluster: a real dashboard started in-process with
 * `--platform kube --kubeconfig <a file naming the fake API server>`, functions deployed and invoked
 * through its API, its invocation endpoint and its API gateway listener, their pods running the real
 * fetcher and processor (kube-subject.ts). Then the dashboard restarts on the same data dir and port: the
 * functions' objects are not rewritten (their credentials last: the artifact token's key is derived from
 * a secret in the data dir), running pods keep running, and a pod started after the restart fetches its
 * artifact with the credential the first run wrote.
 */
import type { FunctionRecord } from '../../src/resources/types.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import { FakeApiServer, typeOf } from './fake-apiserver.js';
import { installRules, PROCESSOR_IMAGE, processorImage } from './kube-subject.js';
import { freePort } from '../helpers/free-port.js';

const HANDLER =
  'exports.handler = async (context, event) => ' +
  "'hello ' + event.body.toString() + ' from ' + process.env.HOSTNAME;\n";

async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('the dashboard with --platform kube (fake API server)', { timeout: 300_000 }, () => {
  let api: FakeApiServer;
  let work: string;
  let dataDir: string;
  let d: TestDashboard | undefined;
  let options: Record<string, string>;

  before(async () => {
    api = new FakeApiServer({
      rules: installRules(),
      kubelet: {
        timeScale: 0.2,
        baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        images: { [PROCESSOR_IMAGE]: processorImage() },
      },
    });
    const url = await api.listen();
    work = mkdtempSync(join(tmpdir(), 'protium-kube-dashboard-'));
    dataDir = join(work, 'data');
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'dashboard', user: { token: 'sa-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'dashboard', namespace: 'protium' } }],
        'current-context': 'fake',
      }),
    );
    options = {
      platform: 'kube',
      kubeconfig,
      kubeProcessorImage: PROCESSOR_IMAGE,
      // The same port after the restart: pods reach the dashboard at the URL the first run wrote.
      listenAddr: `127.0.0.1:${await freePort()}`,
    };
    d = await startTestDashboard(options, dataDir);
  });
  after(async () => {
    await d?.close();
    await api?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const invoke = (dash: TestDashboard, name: string, body: string) =>
    dash.api('POST', '/api/function_invocations', {
      headers: { 'x-nuclio-function-name': name, 'content-type': 'text/plain' },
      body,
      timeoutMs: 60_000,
    });

  it('deploys a function as pods; the invocation endpoint and an API gateway reach it; replicas are the pods', async () => {
    const fn = await deploy(d!, functionBody('hello', 'nodejs', HANDLER), 120_000);
    assert.equal(fn.status.httpPort, 8080);
    assert.deepEqual(fn.status.internalInvocationUrls, ['nuclio-nuclio-hello.protium.svc:8080']);
    const res = await invoke(d!, 'hello', 'cluster');
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /^hello cluster from nuclio-nuclio-hello-/);
    const replicas = (await d!.api<{ names: string[] }>('GET', '/api/functions/hello/replicas')).json.names;
    assert.deepEqual(
      replicas,
      api.pods().map((p) => p.metadata.name),
    );
    // The node's ExternalIP (the fake node's is 127.0.0.1).
    assert.deepEqual(
      (await d!.api<{ externalIPAddresses: { addresses: string[] } }>('GET', '/api/external_ip_addresses')).json
        .externalIPAddresses.addresses,
      ['127.0.0.1'],
    );

    const gw = await d!.api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'hello-gw', namespace: 'nuclio' },
        spec: {
          host: 'hello.local',
          path: '/hello',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'hello' } }],
        },
      },
    });
    assert.ok(gw.status < 300, gw.text);
    const through = await until('the gateway routes to the function', async () => {
      const r = await rawRequest(`${d!.gatewayUrl}/hello`, 'POST', {
        headers: { host: 'hello.local' },
        body: 'gateway',
      });
      return r.status === 200 ? r : undefined;
    });
    assert.match(through.text, /^hello gateway from nuclio-nuclio-hello-/);
  });

  it("a restart rewrites none of its objects and keeps its pods; a pod started afterwards fetches its artifact with the first run's credential", async () => {
    const deployment = () => api.find(typeOf('deployments', 'apps')!, 'protium', 'nuclio-nuclio-hello')!;
    const before = deployment();
    const pods = api
      .pods()
      .map((p) => p.metadata.name as string)
      .sort();
    await d!.close();
    d = await startTestDashboard(options, dataDir);
    await waitFor(d, 'hello', (f) => f.status?.state === 'ready', 120_000);
    const res = await invoke(d, 'hello', 'again');
    assert.equal(res.status, 200, res.text);
    assert.equal(deployment().metadata.generation, before.metadata.generation, 'the Deployment was not rewritten');
    assert.deepEqual(
      api
        .pods()
        .map((p) => p.metadata.name as string)
        .sort(),
      pods,
      'the same pods serve',
    );

    await d.dashboard.platform.scaleToZero({ namespace: 'nuclio', name: 'hello' });
    await until('no pod left', async () => api.pods().length === 0 || undefined);
    const woken = await invoke(d, 'hello', 'awake');
    assert.equal(woken.status, 200, woken.text);
    assert.match(woken.text, /^hello awake from nuclio-nuclio-hello-/);
    assert.ok(!pods.includes(woken.text.split(' from ')[1]), 'a new pod answered');
  });

  it("deleting the function deletes its objects (the Service's cascade) and, once collected, its artifact's archive", async () => {
    const fn = (await d!.api<FunctionRecord>('GET', '/api/functions/hello')).json;
    const id = /:([0-9a-f]{32})$/.exec(String(fn.spec.image))?.[1];
    assert.ok(id, `the artifact id in spec.image ${fn.spec.image}`);
    const archive = join(d!.dashboard.layout.archives, `${id}.tar`);
    assert.ok(existsSync(archive), 'pods fetched this archive');
    assert.equal(
      (await d!.api('DELETE', '/api/api_gateways', { body: { metadata: { name: 'hello-gw' } } })).status,
      204,
    );
    assert.equal((await d!.api('DELETE', '/api/functions', { body: { metadata: { name: 'hello' } } })).status, 204);
    await until(
      'the objects are gone',
      async () => (api.services().length === 0 && api.pods().length === 0) || undefined,
    );
    await until('the archive is gone', async () => !existsSync(archive) || undefined);
  });
});
