/**
 * Security: the optional dashboard token — on every route the dashboard has, whatever the spelling of the
 * path, the invocation endpoint, /v3io and the web UI's catch-all —, the stream credential replicas get,
 * deeply nested bodies, function names that are not DNS-1123 labels, local source paths only inside
 * allowed roots, secrets kept out of exports, and what a replica can see of the dashboard (its
 * environment, the store file).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  artifactOf,
  b64,
  deploy,
  functionBody,
  request,
  startTestDashboard,
  waitFor,
  type Answer,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

/** A request with the request target exactly as given (no URL parsing: dots, escapes and absolute form stay). */
function send<T = unknown>(
  base: string,
  method: string,
  target: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer<T>> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(
      { host: hostname, port, method, path: target, headers, agent: false, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers: h, text, json: json as T });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Every spelling of `path` a client might try to slip past a prefix check. */
function spellingsOf(path: string): string[] {
  const segs = path.split('/').slice(1);
  const first = segs[0];
  const rest = segs.slice(1).join('/');
  const tail = rest ? `/${rest}` : '';
  const enc = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
  const out = [
    path,
    `/${path}`,
    `//${path}`,
    path.replace(/\//g, '//'),
    `${path}/`,
    `${path}//`,
    `${path}?x=1`,
    `${path}/?x=%2F`,
    `${path}#frag`,
    `/%${first.charCodeAt(0).toString(16)}${first.slice(1)}${tail}`,
    `/${enc(first)}${tail}`,
    `/${first}${tail.replace(/\//g, '%2F')}`,
    `/${first}${tail.replace(/\//g, '%2f')}`,
    `/%25${first.charCodeAt(0).toString(16)}${first.slice(1)}${tail}`,
    `/.${path}`,
    `/./${first}/.${tail}`,
    `/x/..${path}`,
    `/%2e%2e${path}`,
    `/x/%2e%2e${path}`,
    `/${first}/x/..${tail}`,
    path.toUpperCase(),
    `/${first[0].toUpperCase()}${first.slice(1)}${tail}`,
    `/${first};p=1${tail}`,
    `http://127.0.0.1${path}`,
    `http://evil.example${path}`,
    `HTTP://x${path}?q`,
    path.replace(/\//g, '\\'),
  ];
  return [...new Set(out)];
}

describe('security', () => {
  let d: TestDashboard;
  let dir: string;
  const token = 'open-sesame-0123456789';
  const auth = { authorization: `Bearer ${token}` };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-sec-'));
    writeFileSync(join(dir, 'token'), `${token}\n`);
    mkdirSync(join(dir, 'sources', 'fn'), { recursive: true });
    writeFileSync(
      join(dir, 'sources', 'fn', 'handler.js'),
      'exports.handler = (c) => c.callback(JSON.stringify(Object.keys(process.env).sort()));',
    );
    process.env.PROTIUM_TEST_DASHBOARD_SECRET = 'must-not-leak';
    d = await startTestDashboard({ authTokenFile: join(dir, 'token'), sourceRoot: [join(dir, 'sources')] });
    // Counts its calls in its home folder: a spelling that slipped past auth would leave a trace.
    const counted =
      "const fs = require('fs'); exports.handler = (c, e) => { fs.appendFileSync(process.env.HOME + '/calls', " +
      "'x'); c.callback('counted ' + e.body.toString()); };";
    await deploy(authed(), functionBody('counted', 'nodejs', counted));
  });
  /** The test dashboard with the token on every request. */
  const authed = (): TestDashboard => ({
    ...d,
    api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }),
  });
  after(async () => {
    delete process.env.PROTIUM_TEST_DASHBOARD_SECRET;
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A concrete path for a route pattern (parameters filled in). */
  const concrete = (url: string) =>
    url.replace(/:([A-Za-z]+)/g, 'fz-x').replace(/\*$/, url.startsWith('/v3io') ? 'c/s/' : 'x/y');

  it('every route the dashboard has needs the token unless it is public (/api/versions, the API document and its viewer, the web UI), in every spelling and with every method', async () => {
    const routes = d.dashboard.api.routeAccess;
    const publicRoutes = routes
      .filter((r) => r.access === 'public')
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    // The API document and its viewer describe the API and hold no data (api-docs.ts).
    const docs = [
      '/api/docs',
      '/api/docs/json',
      '/api/docs/static/*',
      '/api/docs/static/index.html',
      '/api/docs/static/swagger-initializer.js',
      '/api/docs/yaml',
      '/api/openapi.json',
    ];
    assert.deepEqual(publicRoutes, [...docs, '/api/versions'].flatMap((u) => [`GET ${u}`, `HEAD ${u}`]).sort());
    const perRequest = routes
      .filter((r) => r.access === 'per-request')
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    assert.deepEqual(perRequest, ['GET /', 'GET /*', 'HEAD /', 'HEAD /*']);
    // The routes to try: every guarded one, the invocation endpoint among them, /v3io/*, and unknown paths.
    const guarded = routes.filter((r) => r.access !== 'public' && r.access !== 'per-request' && r.url !== '*');
    assert.ok(
      guarded.some((r) => r.url.startsWith('/v3io')) &&
        guarded.some((r) => r.url.startsWith('/api/function_invocations')),
    );
    assert.ok(guarded.length >= 40, `only ${guarded.length} guarded routes were found`);
    const targets = new Map<string, Set<string>>();
    const add = (method: string, path: string) => targets.set(path, (targets.get(path) ?? new Set()).add(method));
    for (const r of guarded) {
      add(r.method, concrete(r.url));
      if (r.method === 'GET') add('OPTIONS', concrete(r.url));
    }
    for (const m of ['GET', 'POST', 'DELETE']) add(m, '/api/no-such-route');
    add('GET', '/api');
    const failures: string[] = [];
    let sent = 0;
    const jobs: (() => Promise<void>)[] = [];
    for (const [path, methods] of targets) {
      for (const target of spellingsOf(path)) {
        for (const method of methods) {
          jobs.push(async () => {
            const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
              ? '{"metadata":{"name":"fz-x"}}'
              : undefined;
            const res = await send<ErrorBody>(d.url, method, target, {
              body,
              headers: { 'x-nuclio-function-name': 'counted', 'x-v3io-function': 'DescribeStream' },
            }).catch((e: Error) => ({ status: -1, text: e.message, json: undefined, headers: new Headers() }));
            sent++;
            // 400 "Bad Request" is the HTTP parser refusing a target it cannot read (a backslash): no route.
            // (Fastify's answer to that carries a body even for HEAD, which a client then fails to parse.)
            const parserRefusal =
              (res.status === 400 && res.json?.error === 'Bad Request') ||
              (res.status === -1 && target.includes('\\') && method === 'HEAD');
            // The CORS hook answers every OPTIONS that reaches Fastify itself, with headers only.
            const corsOnly = method === 'OPTIONS' && res.status === 204 && res.text === '';
            if (!(res.status === 401 || parserRefusal || corsOnly))
              failures.push(`${method} ${target} (route ${path}) answered ${res.status}: ${res.text.slice(0, 80)}`);
            else if (res.status === 401 && method !== 'HEAD' && !/token/.test(res.json?.error ?? ''))
              failures.push(`${method} ${target}: 401 without the JSON error`);
          });
        }
      }
    }
    for (let i = 0; i < jobs.length; i += 32) await Promise.all(jobs.slice(i, i + 32).map((j) => j()));
    assert.deepEqual(failures.slice(0, 30), [], `${failures.length} of ${sent} requests got through`);
    assert.ok(sent > 1000, `only ${sent} requests`);
    // The function behind the invocation endpoint was never reached.
    assert.equal(
      existsSync(join(d.dataDir, 'run', 'home', 'nuclio', 'counted', 'calls')),
      false,
      'a spelling reached the function without the token',
    );
  });

  it('the public routes stay public, and a CORS preflight is answered with headers only', async () => {
    // The spellings the router takes for /api/versions answer it; the others reach no public route and need
    // the token like any unknown path (never the web UI's page).
    const routed = [
      '/api/versions',
      '//api/versions',
      '/%61pi/versions',
      '/api/versions/',
      '/api/versions?x=1',
      'http://evil.example/api/versions',
    ];
    for (const target of new Set([...routed, ...spellingsOf('/api/versions')])) {
      const res = await send<{ dashboard?: unknown }>(d.url, 'GET', target).catch((e: Error) => ({
        status: -1,
        text: e.message,
        json: undefined,
      }));
      if (routed.includes(target))
        assert.ok(res.status === 200 && res.json?.dashboard, `GET ${target}: ${res.status} ${res.text.slice(0, 80)}`);
      else
        assert.ok(
          [200, 401, 400].includes(res.status) && !/<html/i.test(res.text),
          `GET ${target}: ${res.status} ${res.text.slice(0, 80)}`,
        );
    }
    for (const target of [
      '/',
      '/projects/default/functions',
      `/assets/${readdirSync(join(process.cwd(), 'web', 'dist', 'assets'))[0]}`,
    ]) {
      const res = await send(d.url, 'GET', target);
      assert.equal(res.status, 200, `GET ${target}`);
      assert.ok(!/"metadata"/.test(res.text));
    }
    const pre = await send(d.url, 'OPTIONS', '/api/projects', {
      headers: { origin: 'http://ui.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.text, '');
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://ui.example');
  });

  it('with the token every spelling the router accepts reaches the same route, the invocation endpoint included', async () => {
    for (const target of [
      '//api/projects',
      '/%61pi/projects',
      'http://127.0.0.1/api/projects',
      '/api/projects/',
      '/api/projects?x=1',
    ]) {
      const res = await send<Record<string, unknown>>(d.url, 'GET', target, { headers: auth });
      assert.equal(res.status, 200, `GET ${target}`);
      assert.ok(res.json?.default, target);
    }
    for (const target of [
      '/api/function_invocations',
      '//api/function_invocations',
      '/%61pi/function_invocations',
      '/api/function_invocations/',
      'http://127.0.0.1/api/function_invocations?x',
    ]) {
      const res = await send(d.url, 'POST', target, {
        headers: { ...auth, 'x-nuclio-function-name': 'counted' },
        body: 'hello',
      });
      assert.equal(res.status, 200, `POST ${target}: ${res.text}`);
      assert.equal(res.text, 'counted hello');
    }
    assert.equal(readFileSync(join(d.dataDir, 'run', 'home', 'nuclio', 'counted', 'calls'), 'utf8').length, 5);
  });

  it('/v3io needs the token or the stream credential, which only replicas that read streams get and which opens nothing else', async () => {
    const v3io = (path: string, fn: string, body: unknown, headers: Record<string, string>) =>
      send(d.url, 'POST', `/v3io/${path}`, {
        headers: { 'x-v3io-function': fn, ...headers },
        body: JSON.stringify(body),
      });
    assert.equal((await v3io('sec/orders/', 'CreateStream', { ShardCount: 1 }, {})).status, 401);
    assert.equal(
      (await v3io('sec/orders/', 'CreateStream', { ShardCount: 1 }, { 'x-v3io-session-key': token })).status,
      204,
    );
    assert.equal(
      (await v3io('sec/orders/', 'PutRecords', { Records: [{ Data: b64('one') }, { Data: b64('two') }] }, auth)).status,
      200,
    );
    const consumer = [
      "const fs = require('fs');",
      "exports.handler = (c, e) => { fs.appendFileSync(process.env.HOME + '/consumed', e.body.toString() + " +
        "'\\n'); c.callback(''); };",
    ].join('\n');
    await deploy(
      authed(),
      functionBody('sec-consumer', 'nodejs', consumer, {
        spec: {
          minReplicas: 1,
          maxReplicas: 1,
          triggers: {
            s: {
              kind: 'v3ioStream',
              attributes: {
                containerName: 'sec',
                streamPath: '/orders',
                consumerGroup: 'g',
                seekTo: 'earliest',
                pollingIntervalMs: 50,
                sequenceNumberCommitInterval: '100ms',
              },
            },
          },
        },
      }),
    );
    const consumed = join(d.dataDir, 'run', 'home', 'nuclio', 'sec-consumer', 'consumed');
    const deadline = Date.now() + 20_000;
    while (
      !(existsSync(consumed) && readFileSync(consumed, 'utf8').split('\n').filter(Boolean).length >= 2) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      readFileSync(consumed, 'utf8').split('\n').filter(Boolean).sort(),
      ['one', 'two'],
      'the replica consumed the stream with its credential',
    );
    // The credential is in the stream consumer's config only (owner-readable), and is not the token.
    const configs = readdirSync(join(d.dataDir, 'run', 'configs')).map((f) => ({
      f,
      path: join(d.dataDir, 'run', 'configs', f),
    }));
    const streamTokenOf = (path: string) =>
      (JSON.parse(readFileSync(path, 'utf8')) as { streamToken?: string }).streamToken;
    const withCredential = configs.filter((c) => streamTokenOf(c.path));
    assert.deepEqual(
      withCredential.map((c) => c.f.replace(/-[a-z0-9]+\.json$/, '')),
      ['nuclio-nuclio-sec-consumer'],
    );
    const streamToken = streamTokenOf(withCredential[0].path);
    assert.notEqual(streamToken, token);
    assert.equal(statSync(withCredential[0].path).mode & 0o077, 0);
    for (const headers of [{ authorization: `Bearer ${streamToken}` }, { 'x-v3io-session-key': streamToken }] as Record<
      string,
      string
    >[]) {
      assert.equal((await v3io('sec/orders/', 'DescribeStream', {}, headers)).status, 200);
      for (const [method, path] of [
        ['GET', '/api/projects'],
        ['GET', '/api/functions'],
        ['POST', '/api/function_invocations'],
        ['GET', '//api/projects'],
      ] as const) {
        assert.equal(
          (await send(d.url, method, path, { headers: { ...headers, 'x-nuclio-function-name': 'counted' } })).status,
          401,
          `${method} ${path} with the stream credential`,
        );
      }
    }
  });

  it('a body nested deeper than 128 levels is a 400 that says so, on every route that reads a body', async () => {
    const bodies = {
      arrays: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      objects: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
      'inside a resource': JSON.stringify({
        metadata: { name: 'deep', labels: { x: 'y' } },
        spec: { runtime: 'nodejs' },
      }).replace('"spec":', `"spec":${'{"s":'.repeat(200)}{}${'}'.repeat(200)},"x":`),
      unclosed: '['.repeat(1_000_000),
    };
    const withBody = d.dashboard.api.routeAccess.filter(
      (r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && !r.url.startsWith('/api/function_invocations'),
    );
    assert.ok(withBody.length >= 15);
    for (const r of withBody) {
      for (const [what, body] of Object.entries(bodies)) {
        const res = await send<ErrorBody>(d.url, r.method, concrete(r.url), {
          headers: { ...auth, 'x-v3io-function': 'PutRecords' },
          body,
        });
        assert.equal(res.status, 400, `${r.method} ${r.url} with ${what}: ${res.text.slice(0, 100)}`);
        assert.match(
          res.json?.error ?? '',
          /nests objects and arrays more than 128 levels deep/,
          `${r.method} ${r.url} with ${what}`,
        );
      }
    }
    // 128 levels are still read (and then judged on their content, not their depth).
    const atLimit = await d.api('POST', '/api/projects', {
      headers: auth,
      body: JSON.parse(
        `{"metadata":{"name":"deep-ok"},"spec":{"description":"d"},"x":${'['.repeat(126)}${']'.repeat(126)}}`,
      ),
    });
    assert.equal(atLimit.status, 201, atLimit.text);
    // A template whose YAML nests too deeply is refused the same way.
    const yaml = `metadata:\n  name: t\nspec:\n  x: ${'['.repeat(500)}${']'.repeat(500)}\n`;
    const render = await d.api<ErrorBody>('POST', '/api/function_templates/render', {
      headers: auth,
      body: { template: yaml },
    });
    assert.equal(render.status, 400);
    assert.match(render.json.error, /more than 128 levels deep/);
    assert.equal((await d.api('GET', '/api/versions')).status, 200, 'the dashboard is still up');
  });

  it('a function name that is not a DNS-1123 label is refused (400, naming the field) wherever a name is written, and not found wherever one is looked up', async () => {
    const spec = {
      runtime: 'nodejs',
      handler: 'handler:handler',
      build: { functionSourceCode: b64('exports.handler = (c) => c.callback("x");') },
    };
    for (const name of ['x.y/z', 'a/b', '..', 'Upper', 'under_score', 'dots.dots', `${'a'.repeat(64)}`]) {
      const created = await d.api<ErrorBody>('POST', '/api/functions', {
        headers: auth,
        body: { metadata: { name }, spec },
      });
      assert.equal(created.status, 400, `POST ${name}: ${created.text}`);
      assert.equal(created.json.field, 'metadata.name');
      assert.match(created.json.error, /Function name doesn't conform to k8s naming convention/);
      const put = await send<ErrorBody>(d.url, 'PUT', `/api/functions/${encodeURIComponent(name)}`, {
        headers: auth,
        body: JSON.stringify({ metadata: { name }, spec }),
      });
      assert.equal(put.status, 400, `PUT ${name}: ${put.text}`);
      assert.equal(put.json.field, 'metadata.name');
      const event = await d.api<ErrorBody>('POST', '/api/function_events', {
        headers: auth,
        body: {
          metadata: { labels: { 'nuclio.io/function-name': name, 'nuclio.io/project-name': 'default' } },
          spec: {},
        },
      });
      assert.equal(event.status, 400, `event for ${name}: ${event.text}`);
      assert.match(event.json.field ?? '', /^metadata\.labels/);
      const gw = await d.api<ErrorBody>('POST', '/api/api_gateways', {
        headers: auth,
        body: {
          metadata: { name: 'gw-bad-name' },
          spec: { host: 'h.local', upstreams: [{ kind: 'nucliofunction', nucliofunction: { name } }] },
        },
      });
      assert.equal(gw.status, 400, `gateway to ${name}: ${gw.text}`);
      assert.equal(gw.json.field, 'spec.upstreams[0].nucliofunction.name');
      // Looked up, such a name is simply not there.
      for (const path of [
        `/api/functions/${encodeURIComponent(name)}`,
        `/api/functions/${encodeURIComponent(name)}/replicas`,
      ]) {
        assert.equal((await send(d.url, 'GET', path, { headers: auth })).status, 404, `GET ${path}`);
      }
      assert.equal(
        (
          await send(d.url, 'PATCH', `/api/functions/${encodeURIComponent(name)}`, {
            headers: auth,
            body: '{"desiredState":"scaledToZero"}',
          })
        ).status,
        404,
      );
      assert.equal(
        (await d.api('POST', '/api/function_invocations', { headers: { ...auth, 'x-nuclio-function-name': name } }))
          .status,
        404,
      );
      assert.equal(
        (await d.api('DELETE', '/api/functions', { headers: auth, body: { metadata: { name } } })).status,
        204,
      );
    }
    const imported = await d.api<Record<string, { failedAmount: number; failedFunctions: ErrorBody[] }>>(
      'POST',
      '/api/projects?import=true',
      {
        headers: auth,
        body: {
          project: { metadata: { name: 'imp-names' }, spec: {} },
          functions: { 'x.y/z': { metadata: { name: 'x.y/z' }, spec } },
        },
      },
    );
    assert.equal(imported.status, 201, imported.text);
    assert.equal(imported.json.functionImportResult.failedAmount, 1);
    assert.match(imported.json.functionImportResult.failedFunctions[0].error, /k8s naming convention/);
    const names = Object.keys(
      (await d.api<Record<string, FunctionRecord>>('GET', '/api/functions', { headers: auth })).json,
    );
    assert.ok(
      names.every((n) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)),
      names.join(', '),
    );
  });

  it('with --auth-token-file every /api route but versions needs the bearer token (401 JSON otherwise)', async () => {
    assert.equal((await d.api('GET', '/api/versions')).status, 200);
    for (const [method, path] of [
      ['GET', '/api/functions'],
      ['GET', '/api/projects'],
      ['POST', '/api/projects'],
      ['GET', '/api/function_invocations'],
      ['GET', '/api/function_templates'],
    ] as const) {
      for (const headers of [
        {},
        { authorization: 'Bearer wrong' },
        { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` },
      ] as Record<string, string>[]) {
        const res = await d.api<ErrorBody>(method, path, { headers, body: method === 'POST' ? {} : undefined });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('content-type'), 'application/json');
        assert.match(res.json.error, /token/);
      }
    }
    assert.equal((await d.api('GET', '/api/projects', { headers: auth })).status, 200);
  });

  it('a local spec.build.path deploys from inside --source-root, and is refused outside it', async () => {
    const res = await d.api('POST', '/api/functions', {
      headers: auth,
      body: {
        metadata: { name: 'from-folder' },
        spec: { runtime: 'nodejs', handler: 'handler:handler', build: { path: join(dir, 'sources', 'fn') } },
      },
    });
    assert.equal(res.status, 202, res.text);
    const outside = await d.api<ErrorBody>('POST', '/api/functions', {
      headers: auth,
      body: {
        metadata: { name: 'outside' },
        spec: { runtime: 'nodejs', handler: 'handler:handler', build: { path: join(dir, 'sources', '..', 'token') } },
      },
    });
    assert.equal(outside.status, 400);
    assert.match(outside.json.error, /must be an absolute path inside/);
  });

  it("a replica sees only its curated environment: none of the dashboard's variables", async () => {
    const fn = await waitFor(
      { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) },
      'from-folder',
      (f) => f.status.state === 'ready' || f.status.state === 'error',
    );
    assert.equal(fn.status.state, 'ready', fn.status.message);
    const keys = (await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).json as string[];
    assert.ok(!keys.includes('PROTIUM_TEST_DASHBOARD_SECRET'));
    assert.ok(!keys.includes('NODE_OPTIONS') && !keys.includes('NODE_EXTRA_CA_CERTS'));
    assert.ok(keys.includes('PATH') && keys.includes('NUCLIO_FUNCTION_NAME'));
    assert.equal(statSync(join(d.dataDir, 'store.db')).mode & 0o077, 0, 'the store is readable by its owner only');
  });

  it('exports blank trigger passwords and secret-looking env values', async () => {
    const body = functionBody('with-secrets', 'nodejs', 'exports.handler = (c) => c.callback("x");', {
      spec: {
        env: [
          { name: 'DB_PASSWORD', value: 'hunter2' },
          { name: 'MODE', value: 'fast' },
        ],
        triggers: { q: { kind: 'cron', password: 'p4ss', attributes: { interval: '1h' } } },
      },
    });
    assert.equal((await d.api('POST', '/api/functions', { headers: auth, body })).status, 202);
    await waitFor(
      { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) },
      'with-secrets',
      (f) => f.status.state === 'ready',
    );
    const exported = (await d.api('GET', '/api/functions/with-secrets?export=true', { headers: auth })).text;
    assert.doesNotMatch(exported, /hunter2|p4ss/);
    assert.match(exported, /"MODE","value":"fast"/);
    const bundle = (await d.api('GET', '/api/projects/default?export=true', { headers: auth })).text;
    assert.doesNotMatch(bundle, /hunter2|p4ss/);
    // The dashboard's own log and the build log never print env values (the replica logs are the handler's).
    const buildLog = readFileSync(join(d.dataDir, 'builds', 'nuclio', 'with-secrets', 'build.log'), 'utf8');
    assert.doesNotMatch(buildLog, /hunter2|p4ss/);
  });

  it('deploying with the token works end to end', async () => {
    const fn = await deploy(
      { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) },
      functionBody('authed', 'nodejs', 'exports.handler = (c) => c.callback("authed");'),
    );
    const via = await d.api('GET', '/api/function_invocations', {
      headers: { ...auth, 'x-nuclio-function-name': 'authed' },
    });
    assert.equal(via.text, 'authed');
    assert.equal((await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).text, 'authed');
  });
});

describe('the bwrap sandbox (--sandbox bwrap)', () => {
  it('a sandboxed replica cannot see the store or other artifacts, cannot write outside its home, and still serves', async (t) => {
    const { findBwrap } = await import('../../src/platform/local/sandbox.js');
    if (!findBwrap()) {
      t.skip('bubblewrap is not installed');
      return;
    }
    const d = await startTestDashboard({ sandbox: 'bwrap' });
    try {
      const src = [
        "const fs = require('fs');",
        'exports.handler = (c) => {',
        '  const tryIt = (f) => { try { f(); return "allowed"; } catch (e) { return e.code; } };',
        '  c.callback({',
        `    store: tryIt(() => fs.readFileSync(${JSON.stringify(join('DATA', 'store.db'))}.replace('DATA', ` +
          `process.env.PROTIUM_TEST_DATA_DIR))),`,
        "    artifacts: fs.readdirSync(process.env.PROTIUM_TEST_DATA_DIR + '/artifacts'),",
        "    etc: tryIt(() => fs.writeFileSync('/etc/protium-test', 'x')),",
        "    home: tryIt(() => fs.writeFileSync(process.env.HOME + '/note', 'x')),",
        "    own: tryIt(() => fs.readFileSync(__dirname + '/handler.js')),",
        '  });',
        '};',
      ].join('\n');
      const fn = await deploy(
        d,
        functionBody('boxed', 'nodejs', src, { spec: { env: [{ name: 'PROTIUM_TEST_DATA_DIR', value: d.dataDir }] } }),
      );
      const res = (await request<Record<string, unknown>>(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).json;
      assert.equal(res.store, 'ENOENT');
      assert.equal(res.etc, 'EROFS');
      assert.equal(res.home, 'allowed');
      assert.equal(res.own, 'allowed');
      assert.deepEqual(res.artifacts, [artifactOf(fn)], 'only its own artifact is visible');
    } finally {
      await d.close();
    }
  });
});
