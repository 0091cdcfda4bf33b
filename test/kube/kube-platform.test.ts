/**
 * The kube platform against the fake API server (fake-apiserver.ts): real HTTP between the platform's
 * client (@kubernetes/client-node) and the server, real processes for pods (the fake kubelet), a real
 * proxy for Services — and the dashboard's Role from deploy/kubernetes/ enforced on every request.
 *
 * Functions here run a user's image (spec.image), which the platform runs as given: what the processor
 * image adds (the artifact fetched and checked by an init container, the health port) is the platform
 * contract's to run (kube-platform.contract.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Artifact } from '../../src/builder/builder.js';
import { silentLogger } from '../../src/log.js';
import { KubePlatform } from '../../src/platform/kube/kube-platform.js';
import type { PlatformEvent } from '../../src/platform/platform.js';
import { enrichFunction } from '../../src/resources/function-enrich.js';
import type { FunctionConfig, FunctionRecord, FunctionSpec } from '../../src/resources/types.js';
import { FakeApiServer, type Rule } from './fake-apiserver.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ECHO = join(ROOT, 'test/fixtures/kube/echo-server.mjs');
const NS = 'protium';
const IMAGE = 'registry.example.com/echo:1';
const ARTIFACT: Artifact = { id: 'e'.repeat(32), image: IMAGE, runtime: 'nodejs', family: 'nodejs', handler: 'x:y' };

/** The Role and ClusterRole rules of deploy/kubernetes/rbac.yaml. */
function installRules(): Rule[] {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/rbac.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; rules?: Rule[] },
  );
  return docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole').flatMap((d) => d.rules ?? []);
}

function record(name: string, spec: Partial<FunctionSpec> = {}): FunctionRecord {
  const config = enrichFunction({
    metadata: { name, namespace: 'nuclio' },
    spec: {
      runtime: 'nodejs',
      handler: 'x:y',
      image: IMAGE,
      minReplicas: 1,
      maxReplicas: 1,
      readinessTimeoutSeconds: 30,
      env: [{ name: 'VERSION', value: 'v1' }],
      ...spec,
    },
  } as FunctionConfig);
  return { ...config, status: {} };
}

function get(route: string, path = '/'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${route}${path}`, { agent: false, timeout: 20_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('KubePlatform over the fake API server (user images)', { timeout: 240_000 }, () => {
  let api: FakeApiServer;
  let platform: KubePlatform;
  const events: PlatformEvent[] = [];
  const ref = (name: string) => ({ namespace: 'nuclio', name });

  before(async () => {
    api = new FakeApiServer({
      rules: installRules(),
      kubelet: {
        timeScale: 0.2,
        baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        images: { [IMAGE]: { command: () => [process.execPath, ECHO], bindEnv: 'BIND_HOST' } },
      },
    });
    const url = await api.listen();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
      users: [{ name: 'dashboard', token: 'sa-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'dashboard', namespace: NS }],
      currentContext: 'fake',
    });
    platform = await KubePlatform.start({
      kubeConfig: kc,
      namespace: NS,
      processorImage: 'protium-processor:test',
      dashboard: { url: () => 'http://dashboard.invalid:8070' },
      artifacts: { digest: () => Promise.resolve(undefined), token: () => '' },
      connectionLimits: { maxConnections: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000 },
      log: silentLogger(),
      scaleIntervalMs: 200,
    });
    platform.subscribe((e) => events.push(e));
  });
  after(async () => {
    await platform?.close();
    await api?.close();
  });

  it('apply() resolves once a pod is ready; route() answers through the Service; replicas() lists the pod', async () => {
    const endpoint = await platform.apply(record('hello'), ARTIFACT);
    assert.ok(endpoint.internalInvocationUrls[0].startsWith('nuclio-nuclio-hello.protium.svc:'));
    const route = await platform.route(ref('hello'));
    const res = await get(route);
    assert.equal(res.status, 200);
    assert.match(res.text, /^v1 nuclio-nuclio-hello-/);
    const replicas = await platform.replicas(ref('hello'));
    assert.equal(replicas.length, 1);
    assert.equal(replicas[0].state, 'ready');
  });

  it('an update rolls over: the same route answers the new version, and routeChanged names it', async () => {
    const route = await platform.route(ref('hello'));
    events.length = 0;
    await platform.apply(record('hello', { env: [{ name: 'VERSION', value: 'v2' }] }), ARTIFACT);
    assert.match((await get(route)).text, /^v2 /);
    assert.ok(events.some((e) => e.type === 'routeChanged' && e.targets.includes(route)));
  });

  it('an update to an image that cannot be pulled fails with ImagePullBackOff and leaves v2 serving', async () => {
    await assert.rejects(
      platform.apply(record('hello', { image: 'registry.example.com/missing:0' }), ARTIFACT),
      /ErrImagePull|ImagePullBackOff/,
    );
    assert.match((await get(await platform.route(ref('hello')))).text, /^v2 /);
  });

  it('scaleToZero() leaves no pod; a request through route() wakes it and is answered, not refused', async () => {
    await platform.scaleToZero(ref('hello'));
    await until('no pod left', async () => (await platform.replicas(ref('hello'))).length === 0);
    const res = await get(await platform.route(ref('hello')));
    assert.equal(res.status, 200);
    assert.match(res.text, /^v2 /);
  });

  it('a crash is an unhealthy status naming it; the pod restarts and a ready status follows', async () => {
    events.length = 0;
    const route = await platform.route(ref('hello'));
    assert.equal((await get(route, '/crash')).text, 'crashing');
    await until('unhealthy', () =>
      events.some(
        (e) => e.type === 'status' && e.status.state === 'unhealthy' && /hello/.test(String(e.status.message)),
      ),
    );
    await until('ready again', () => events.some((e) => e.type === 'status' && e.status.state === 'ready'));
    const [r] = await platform.replicas(ref('hello'));
    assert.ok(r && r.restarts >= 1);
  });

  it('logs(): tailLines, and follow until aborted', async () => {
    const route = await platform.route(ref('hello'));
    const [r] = await platform.replicas(ref('hello'));
    await get(route, '/log/one');
    const read = async (q: { tailLines?: number }) => {
      let text = '';
      for await (const c of await platform.logs(ref('hello'), r.name, {
        follow: false,
        signal: AbortSignal.timeout(10_000),
        ...q,
      }))
        text += String(c);
      return text;
    };
    await until('the line in the log', async () => (await read({})).includes('echo-log one'));
    assert.equal((await read({ tailLines: 1 })).trim(), 'echo-log one');
    const ac = new AbortController();
    let text = '';
    const stream = await platform.logs(ref('hello'), r.name, { follow: true, tailLines: 0, signal: ac.signal });
    const reading = (async () => {
      for await (const c of stream) text += String(c);
    })();
    await get(route, '/log/two');
    await until('follow delivers the new line', () => text.includes('echo-log two'));
    ac.abort();
    await reading;
    await assert.rejects(
      platform.logs(ref('hello'), 'nuclio-nuclio-other-1', { follow: false, signal: AbortSignal.timeout(5_000) }),
      (e) => (e as { status?: number }).status === 400,
    );
  });

  it('remove(): the route goes (503), the pods go, and the Role never refused a request', async () => {
    await platform.remove(ref('hello'));
    await assert.rejects(platform.route(ref('hello')), (e) => (e as { status?: number }).status === 503);
    assert.deepEqual(await platform.replicas(ref('hello')), []);
    await until('the pods are deleted', () => api.pods().length === 0, 60_000);
    assert.deepEqual(api.forbidden, [], 'every request allowed by deploy/kubernetes/rbac.yaml');
  });
});
