/**
 * A whole dashboard with --platform docker, in-process on ephemeral ports, against the engine of
 * scripts/container-host.sh: functions of each runtime in containers, what the containers are made of,
 * the memory limit, what a handler can see, build commands in the processor image, a user's own image.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import type { StoreChange } from '../../src/store/store.js';
import { LABELS } from '../../src/platform/docker/labels.js';
import { functionBody, request, startTestDashboard, waitFor, type TestDashboard } from '../helpers/start-dashboard.js';
import { BASE_IMAGE, DOCKER_HOST, engine, engineMissing, leftovers, removeAll } from './engine.js';

const missing = await engineMissing();
const TOKEN = `test-token-${Math.random().toString(36).slice(2)}`;

describe('the dashboard with --platform docker', { skip: missing }, () => {
  let d: TestDashboard;
  let dashboardId: string;
  const tokenDir = mkdtempSync(join(tmpdir(), 'protium-token-'));
  const tokenFile = join(tokenDir, 'token');
  const auth = { authorization: `Bearer ${TOKEN}` };
  const api = <T = unknown>(method: string, path: string, body?: unknown) =>
    d.api<T>(method, path, { headers: auth, ...(body !== undefined ? { body } : {}) });
  const changes: StoreChange[] = [];

  before(async () => {
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    d = await startTestDashboard({
      platform: 'docker',
      dockerHost: DOCKER_HOST,
      baseImage: BASE_IMAGE,
      authTokenFile: tokenFile,
    });
    dashboardId = d.dashboard.containers!.dashboardId;
    d.dashboard.store.watch((c) => changes.push(c));
  });
  after(async () => {
    await d?.close();
    // A dashboard that stopped left no container; its artifact caches stay for the next start (removed here).
    if (dashboardId) {
      const left = await leftovers(dashboardId);
      await removeAll(dashboardId);
      assert.deepEqual(
        left.containers.map((c) => c.Names),
        [],
        'no container outlives a dashboard that stopped',
      );
    }
    rmSync(tokenDir, { recursive: true, force: true });
  });

  const deployed = async (body: ReturnType<typeof functionBody>) => {
    const res = await api('POST', '/api/functions', body);
    assert.equal(res.status, 202, res.text);
    const fn = await waitFor(
      { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) },
      body.metadata.name,
      (f) => ['ready', 'error'].includes(f.status?.state ?? ''),
      120_000,
    );
    assert.equal(fn.status.state, 'ready', fn.status.message);
    return fn;
  };

  it(
    'runs each runtime in containers named as its replicas, labelled with the function, project, namespace and this ' +
      'dashboard',
    { timeout: 240_000 },
    async () => {
      const sources = {
        nodejs:
          'exports.handler = (context, event) => { context.logger.info("node-log " + event.body.toString()); ' +
          'context.callback("node:" + event.body.toString()); };',
        'python:3.9':
          'def handler(context, event):\n    context.logger.info("py-log " + event.body.decode())\n    return "py:" ' +
          '+ event.body.decode()\n',
        shell: 'read x; echo "sh:$x"\n',
      } as const;
      const names = { nodejs: 'c-node', 'python:3.9': 'c-py', shell: 'c-sh' } as const;
      await Promise.all(
        Object.entries(sources).map(async ([runtime, code]) => {
          const name = names[runtime as keyof typeof names];
          const fn = await deployed(functionBody(name, runtime, code));
          const port = fn.status.httpPort as number;
          const res = await request(`http://127.0.0.1:${port}/`, 'POST', { body: 'hi' });
          assert.equal(res.status, 200, res.text);
          assert.equal(res.text.trim(), `${runtime === 'nodejs' ? 'node' : runtime === 'shell' ? 'sh' : 'py'}:hi`);
          const viaApi = await d.api('POST', '/api/function_invocations', {
            headers: { ...auth, 'x-nuclio-function-name': name },
            body: 'hey',
          });
          assert.equal(viaApi.status, 200, viaApi.text);
          const replicas = (await api<{ names: string[] }>('GET', `/api/functions/${name}/replicas`)).json.names;
          assert.equal(replicas.length, 1);
          const info = await engine().getContainer(replicas[0]).inspect();
          assert.equal(info.State.Running, true);
          assert.deepEqual(
            [LABELS.dashboard, LABELS.function, LABELS.project, LABELS.namespace, LABELS.role].map(
              (l) => info.Config.Labels[l],
            ),
            [dashboardId, name, 'default', 'nuclio', 'replica'],
          );
          assert.equal(info.HostConfig.ReadonlyRootfs, true);
          assert.equal(info.HostConfig.Privileged, false);
          assert.deepEqual(
            (info.Mounts ?? []).map((m) => `${m.Type} ${m.Destination} ${m.RW ? 'rw' : 'ro'}`),
            ['volume /var/lib/protium/artifacts ro'],
            'its artifact cache, read-only, and no bind mount of this machine',
          );
          if (runtime !== 'shell') {
            const word = runtime === 'nodejs' ? 'node-log hi' : 'py-log hi';
            await waitForLog(replicas[0], name, word);
          }
        }),
      );
    },
  );

  async function waitForLog(replica: string, fn: string, word: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await api('GET', `/api/functions/${fn}/logs/${replica}?follow=false&tailLines=50`);
      if (res.status === 200 && res.text.includes(word)) return;
      if (Date.now() > deadline)
        assert.fail(`the log of ${replica} has no "${word}": ${res.status} ${res.text.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it(
    'enforces spec.resources.limits.memory: a handler over it is OOM-killed, the state says so, and it is restarted',
    { timeout: 180_000 },
    async () => {
      const code =
        'exports.handler = async (context, event) => { if (event.path === "/hog") { const a = []; for (let i = 0; i ' +
        '< 512; i++) a.push(Buffer.alloc(1 << 20, 1)); return "survived " + a.length; } return "fine"; };';
      const fn = await deployed(
        functionBody('c-hog', 'nodejs', code, { spec: { resources: { limits: { memory: '64Mi' } } } }),
      );
      const port = fn.status.httpPort as number;
      const replica = (await api<{ names: string[] }>('GET', '/api/functions/c-hog/replicas')).json.names[0];
      assert.equal((await engine().getContainer(replica).inspect()).HostConfig.Memory, 64 * 2 ** 20);
      const hog = await request(`http://127.0.0.1:${port}/hog`, 'GET').catch((e: Error) => ({
        status: -1,
        text: e.message,
      }));
      assert.ok(
        !(hog.status === 200 && hog.text.startsWith('survived')),
        `the handler got 512 MiB under a 64 MiB limit: ${hog.text}`,
      );
      const oom = () =>
        changes.find(
          (c) =>
            c.kind === 'function' &&
            c.name === 'c-hog' &&
            (c.object as { status?: { state?: string } }).status?.state === 'unhealthy',
        );
      await waitFor(
        { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: auth }) },
        'c-hog',
        () => oom() !== undefined,
        60_000,
      );
      assert.match(
        (oom()!.object as unknown as { status: { message: string } }).status.message,
        /out of memory.*memory limit of 64 MiB \(spec\.resources\.limits\.memory\)/,
      );
      await waitFor(
        { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: auth }) },
        'c-hog',
        (f) => f.status.state === 'ready',
        60_000,
      );
      const again = await request(`http://127.0.0.1:${port}/`, 'GET');
      assert.equal(again.text, 'fine');
      assert.deepEqual(
        (await api<{ names: string[] }>('GET', '/api/functions/c-hog/replicas')).json.names,
        [replica],
        'restarted in place: the same replica',
      );
    },
  );

  it(
    "a handler sees neither the data dir, nor the token, nor another function's artifact, nor the API",
    { timeout: 180_000 },
    async () => {
      const other = await deployed(
        functionBody('c-other', 'nodejs', 'exports.handler = (c, e) => c.callback("other");'),
      );
      const otherArtifact = /:([0-9a-f]{32})$/.exec(other.spec.image as string)![1];
      const replicaUrl = d.dashboard.containers!.replicaUrl()!;
      assert.ok(replicaUrl, 'the replica listener is up after a deploy');
      const apiPort = new URL(d.url).port;
      const gateway = new URL(replicaUrl).hostname;
      const probe = `
const fs = require('fs');
const found = {};
const read = (p) => {
  try { const s = fs.statSync(p); return s.isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p, 'utf8'); }
  catch (e) { return e.code; }
};
exports.handler = async (context, event) => {
  const paths = [
    ${JSON.stringify(d.dataDir)},
    ${JSON.stringify(join(d.dataDir, 'store.db'))},
    ${JSON.stringify(tokenFile)},
    ${JSON.stringify(join(d.dataDir, 'artifacts', otherArtifact))},
  ];
  for (const p of paths) found[p] = read(p);
  found.cache = read('/var/lib/protium/artifacts');
  let environs = '';
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\\d+$/.test(x))) {
    environs += read('/proc/' + pid + '/environ') + read('/proc/' + pid + '/cmdline');
  }
  found.tokenInProcesses = environs.includes(${JSON.stringify(TOKEN)});
  const get = (url, headers) =>
    fetch(url, { headers, signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      (e) => (e.cause && e.cause.code) || e.message,
    );
  const otherUrl = ${JSON.stringify(`${replicaUrl}/api/artifacts/${otherArtifact}`)};
  found.otherArtifactNoToken = await get(otherUrl, {});
  found.otherArtifactForgedToken = await get(otherUrl, { authorization: 'Bearer 9999999999999.' + 'A'.repeat(43) });
  found.apiThroughReplicaListener = await get(${JSON.stringify(`${replicaUrl}/api/functions`)}, {
    authorization: 'Bearer ${TOKEN}',
  });
  found.apiOnGateway = await get(${JSON.stringify(`http://${gateway}:${apiPort}/api/functions`)}, {});
  found.root = process.getuid();
  const status = read('/proc/self/status');
  found.capEff = /CapEff:\\s*(\\w+)/.exec(status)[1];
  found.noNewPrivs = /NoNewPrivs:\\s*(\\d)/.exec(status)[1];
  try { fs.writeFileSync('/opt/protium/x', '1'); found.writeRoot = 'ok'; } catch (e) { found.writeRoot = e.code; }
  try { fs.writeFileSync('/var/lib/protium/artifacts/x', '1'); found.writeArtifact = 'ok'; }
  catch (e) { found.writeArtifact = e.code; }
  try { fs.writeFileSync('/tmp/x', '1'); found.writeTmp = 'ok'; } catch (e) { found.writeTmp = e.code; }
  return JSON.stringify(found);
};`;
      const fn = await deployed(functionBody('c-probe', 'nodejs', probe));
      const res = await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET');
      assert.equal(res.status, 200, res.text);
      const found = JSON.parse(res.text) as { [p: string]: unknown; cache: string[] };
      for (const p of [d.dataDir, join(d.dataDir, 'store.db'), tokenFile, join(d.dataDir, 'artifacts', otherArtifact)])
        assert.equal(found[p], 'ENOENT', `${p}: ${JSON.stringify(found[p]).slice(0, 100)}`);
      assert.equal(found.cache.length, 1, `only its own artifact is in its cache: ${String(found.cache)}`);
      assert.equal(found.tokenInProcesses, false, 'the dashboard token is in no process it can see');
      assert.equal(found.otherArtifactNoToken, 401);
      assert.equal(found.otherArtifactForgedToken, 401);
      assert.equal(found.apiThroughReplicaListener, 404);
      assert.notEqual(found.apiOnGateway, 200, 'the API does not listen where containers reach this machine');
      assert.notEqual(found.root, 0, 'not root');
      assert.equal(found.capEff, '0000000000000000', 'no capabilities');
      assert.equal(found.noNewPrivs, '1', 'no new privileges');
      assert.equal(found.writeRoot, 'EROFS');
      assert.equal(found.writeArtifact, 'EROFS');
      assert.equal(found.writeTmp, 'ok', 'a private /tmp');
    },
  );

  it(
    'runs build commands inside the processor image (npm from the registry included), and the function finds what ' +
      'they made',
    { timeout: 240_000 },
    async () => {
      const code = [
        'const made = require("fs").readFileSync(__dirname + "/made.txt", "utf8");',
        'const isNumber = require("is-number");',
        'exports.handler = (c, e) => c.callback(made + " is-number:" + isNumber(7));',
      ].join('\n');
      const fn = await deployed(
        functionBody('c-built', 'nodejs', code, {
          spec: {
            build: {
              functionSourceCode: Buffer.from(code).toString('base64'),
              commands: ['cat /opt/protium/package.json > made.txt', 'npm install --no-package-lock is-number@7'],
            },
          },
        }),
      );
      const res = await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET');
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, /"name":"protium-processor"/, "the build ran where the processor image's files are");
      assert.match(res.text, /is-number:true$/, 'what npm installed in the build is there for the replica');
      const build = await api('GET', '/api/functions/c-built/logs/nuclio-nuclio-c-built-build?follow=false');
      assert.match(build.text, /Running build command: cat \/opt\/protium\/package.json/);
      assert.match(build.text, /Running build command: npm install/);
    },
  );

  it("runs a function whose spec.image is the user's own image as given", { timeout: 180_000 }, async () => {
    const ctx = mkdtempSync(join(tmpdir(), 'protium-user-image-'));
    const tag = `protium-test-user-image:${dashboardId}`;
    try {
      writeFileSync(
        join(ctx, 'Dockerfile'),
        `FROM ${BASE_IMAGE}\nCOPY server.js /srv/server.js\nUSER 65534\nCMD ["node", "/srv/server.js"]\n`,
      );
      writeFileSync(
        join(ctx, 'server.js'),
        'require("http").createServer((q, r) => r.end("own image " + process.env.GREETING)).listen(8080);\n',
      );
      const docker = engine();
      const stream = await docker.buildImage(
        tar.c({ cwd: ctx }, ['Dockerfile', 'server.js']) as unknown as NodeJS.ReadableStream,
        { t: tag },
      );
      await new Promise((resolve, reject) =>
        docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve(undefined))),
      );
      const body = {
        metadata: { name: 'c-own', namespace: 'nuclio' },
        spec: { runtime: 'nodejs', image: tag, env: [{ name: 'GREETING', value: 'hello' }] },
      };
      const fn = await deployed(body as unknown as ReturnType<typeof functionBody>);
      const res = await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET');
      assert.equal(res.text, 'own image hello');
      const replica = (await api<{ names: string[] }>('GET', '/api/functions/c-own/replicas')).json.names[0];
      assert.match(
        (await engine().getContainer(replica).inspect()).Config.Image,
        new RegExp(`(^|/)${tag.replace(/[.:]/g, '\\$&')}$`),
      );
      assert.equal((await api('DELETE', '/api/functions', { metadata: { name: 'c-own' } })).status, 204);
      // Its containers go with it.
      const deadline = Date.now() + 30_000;
      while ((await leftovers(dashboardId)).containers.some((c) => c.Labels[LABELS.function] === 'c-own')) {
        assert.ok(Date.now() < deadline, "the function's containers went with it");
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      rmSync(ctx, { recursive: true, force: true });
      await engine()
        .getImage(tag)
        .remove({ force: true })
        .catch(() => {});
    }
  });
});
