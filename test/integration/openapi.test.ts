/**
 * The API document (issue 18, part 4): `GET /api/openapi.json` is a valid OpenAPI 3.1 document, generated
 * from the routes' schemas, that lists every operation of the seed and every route the dashboard has
 * (a route registered without a schema fails here), every X-Nuclio-* header the routes read, and answers
 * that the dashboard really gives: real answers of a real dashboard (with a token) are checked against
 * the document's response schemas. `/api/docs` shows it, from files the dashboard serves itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { installApiDocs } from '../../src/api/api-docs.js';
import { installAuth } from '../../src/api/auth.js';
import { AJV_OPTIONS, installRequestValidation } from '../../src/api/request-validation.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import {
  AnswerValidator,
  openApiPath,
  pathShape,
  readSeed,
  seedOperations,
  undocumentedRoutes,
  type OpenApiDocument,
} from '../helpers/api-document.js';
import { deploy, functionBody, request, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';

const TOKEN = 'openapi-test-token';

describe('the API document (/api/openapi.json, /api/docs)', () => {
  let d: TestDashboard;
  let dir: string;
  let doc: OpenApiDocument;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const api = <T = unknown>(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: unknown } = {},
  ) => d.api<T>(method, path, { ...opts, headers: { ...auth, ...(opts.headers ?? {}) } });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-openapi-'));
    writeFileSync(join(dir, 'token'), TOKEN);
    d = await startTestDashboard({ authTokenFile: join(dir, 'token') });
    // Public: no token.
    const res = await d.api('GET', '/api/openapi.json');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'application/json');
    doc = res.json as OpenApiDocument;
  });
  after(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid OpenAPI 3.1 document (an OpenAPI schema validator says so)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.deepEqual(result, { valid: true });
    assert.equal(validator.version, '3.1');
    assert.equal(doc.openapi, '3.1.0');
  });

  it('lists every operation of the seed', () => {
    const ops = seedOperations(readSeed());
    assert.ok(ops.length >= 29, `only ${ops.length} operations were read from the seed`);
    const documented = new Map(Object.entries(doc.paths).map(([p, item]) => [pathShape(p), item]));
    const missing = ops.filter(({ method, path }) => {
      const item = documented.get(pathShape(path));
      if (!item) return true;
      // `<Method> /api/function_invocations`: any method goes to the function.
      const methods = method === '<Method>' ? ['get', 'post', 'put', 'patch', 'delete'] : [method.toLowerCase()];
      return methods.some((m) => !item[m]);
    });
    assert.deepEqual(missing, []);
  });

  it('documents every route the dashboard registered, each with its success and error answers', () => {
    const routes = d.dashboard.api.routeAccess;
    assert.ok(routes.length > 40);
    assert.deepEqual(undocumentedRoutes(routes, doc), []);
  });

  it('the check above fails for a route registered without a schema', async () => {
    const app = Fastify({ ajv: AJV_OPTIONS });
    installRequestValidation(app);
    installApiDocs(app);
    installAuth(app, undefined);
    app.get('/api/undocumented', async () => ({}));
    app.get('/api/hidden', { schema: { hide: true } }, async () => ({}));
    await app.ready();
    try {
      const problems = undocumentedRoutes(app.routeAccess, app.swagger() as unknown as OpenApiDocument);
      assert.deepEqual(
        problems.map((p) => p.split(' is not')[0]),
        ['GET /api/undocumented', 'GET /api/hidden'],
      );
    } finally {
      await app.close();
    }
  });

  it('documents every X-Nuclio header the routes read', () => {
    const read = new Set<string>();
    const files = [
      ...readdirSync(join(PACKAGE_ROOT, 'src/api/routes')).map((f) => join('src/api/routes', f)),
      'src/streams/v3io-routes.ts',
    ];
    for (const f of files)
      for (const m of readFileSync(join(PACKAGE_ROOT, f), 'utf8').matchAll(/'(x-(?:nuclio|v3io)-[a-z0-9-]*[a-z0-9])'/g))
        read.add(m[1]);
    // Headers of answers and of the request to the function, not of requests to the dashboard.
    for (const h of ['x-nuclio-logs', 'x-nuclio-target']) read.delete(h);
    assert.ok(read.size >= 20, `only ${read.size} headers were found in the routes' sources`);
    const documented = new Set<string>();
    for (const item of Object.values(doc.paths))
      for (const op of Object.values(item))
        for (const p of op.parameters ?? []) if (p.in === 'header') documented.add(p.name);
    assert.deepEqual([...read].filter((h) => !documented.has(h)).sort(), []);
  });

  it('real answers of the dashboard fit the document', async () => {
    const check = new AnswerValidator(doc);
    const problems: string[] = [];
    const expect = async (
      method: string,
      url: string,
      docPath: string,
      opts: { headers?: Record<string, string>; body?: unknown; status?: number; token?: boolean } = {},
    ) => {
      const res = await (opts.token === false ? d.api(method, url, opts) : api(method, url, opts));
      if (opts.status !== undefined && res.status !== opts.status)
        problems.push(`${method} ${url}: expected ${opts.status}, got ${res.status} ${res.text.slice(0, 200)}`);
      problems.push(...check.check(method, docPath, res.status, res.text ? res.json : undefined));
      return res;
    };
    await expect('POST', '/api/projects', '/api/projects', {
      body: { metadata: { name: 'oa-proj' }, spec: { description: 'd' } },
      status: 201,
    });
    const fn = await deploy(
      { ...d, api },
      functionBody('oa-fn', 'nodejs', 'exports.handler = (c) => c.callback("ok")', {
        project: 'oa-proj',
        spec: {
          env: [{ name: 'A', value: 'b' }],
          triggers: { tick: { kind: 'cron', attributes: { interval: '1h' } } },
          minReplicas: 1,
          maxReplicas: 1,
        },
      }),
    );
    assert.equal(fn.status.state, 'ready');
    await expect('POST', '/api/function_events', '/api/function_events', {
      body: { metadata: { name: 'oa-ev', labels: { 'nuclio.io/function-name': 'oa-fn' } }, spec: { body: 'hi' } },
      status: 201,
    });
    await expect('POST', '/api/api_gateways', '/api/api_gateways', {
      body: {
        metadata: { name: 'oa-gw', labels: { 'nuclio.io/project-name': 'oa-proj' } },
        spec: { host: 'oa.local', upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'oa-fn' } }] },
      },
      status: 202,
    });
    const replicas = await expect('GET', '/api/functions/oa-fn/replicas', '/api/functions/{name}/replicas', {
      status: 200,
    });
    for (const [url, path] of [
      ['/api/functions', '/api/functions'],
      ['/api/functions?export=true', '/api/functions'],
      ['/api/functions/oa-fn', '/api/functions/{name}'],
      ['/api/functions/oa-fn?export=true', '/api/functions/{name}'],
      ['/api/projects', '/api/projects'],
      ['/api/projects?export=true', '/api/projects'],
      ['/api/projects/oa-proj', '/api/projects/{name}'],
      ['/api/projects/oa-proj?export=true', '/api/projects/{name}'],
      ['/api/function_events', '/api/function_events'],
      ['/api/function_events/oa-ev', '/api/function_events/{name}'],
      ['/api/api_gateways', '/api/api_gateways'],
      ['/api/api_gateways/oa-gw', '/api/api_gateways/{name}'],
      ['/api/function_templates', '/api/function_templates'],
      ['/api/versions', '/api/versions'],
      ['/api/external_ip_addresses', '/api/external_ip_addresses'],
      ['/api/namespaces', '/api/namespaces'],
      ['/api/frontend_spec', '/api/frontend_spec'],
      ['/api/openapi.json', '/api/openapi.json'],
    ])
      await expect('GET', url, path, { status: 200 });
    await expect('GET', '/api/functions/oa-fn', '/api/functions/{name}', {
      headers: { 'x-nuclio-function-enrich-apigateways': 'true' },
      status: 200,
    });
    await expect('GET', '/api/v3io_streams', '/api/v3io_streams', {
      headers: { 'x-nuclio-project-name': 'oa-proj' },
      status: 200,
    });
    await expect('POST', '/api/function_templates/render', '/api/function_templates/render', {
      body: { template: 'metadata: {name: "{{ .name }}"}\nspec: {runtime: python}', values: { name: 'x' } },
      status: 200,
    });
    const log = await api(
      'GET',
      `/api/functions/oa-fn/logs/${(replicas.json as { names: string[] }).names[0]}?follow=false`,
    );
    assert.equal(log.status, 200, log.text);
    assert.equal(
      log.headers.get('content-type'),
      doc.paths['/api/functions/{name}/logs/{replica}'].get.responses['200'].content?.['text/plain']
        ? 'text/plain'
        : 'missing',
    );
    // Writes and their empty answers.
    await expect('PUT', '/api/function_events', '/api/function_events', {
      body: { metadata: { name: 'oa-ev', labels: { 'nuclio.io/function-name': 'oa-fn' } }, spec: { body: 'again' } },
      status: 204,
    });
    await expect('PATCH', '/api/functions/oa-fn', '/api/functions/{name}', { body: {}, status: 204 });
    // Errors: each as the document says, for the operation that answered it.
    await expect('GET', '/api/functions', '/api/functions', { token: false, status: 401 });
    await expect('GET', '/api/functions/oa-missing', '/api/functions/{name}', { status: 404 });
    await expect('GET', '/api/projects/oa-missing', '/api/projects/{name}', { status: 404 });
    await expect('POST', '/api/functions', '/api/functions', {
      body: { metadata: { name: 'oa-fn' }, spec: {} },
      status: 409,
    });
    await expect('POST', '/api/functions', '/api/functions', {
      body: { metadata: { name: 'x' }, spec: { runtime: 5 } },
      status: 400,
    });
    await expect('POST', '/api/functions', '/api/functions', { body: '[]', status: 400 });
    await expect('GET', '/api/functions/oa-fn/logs/x?follow=a&follow=b', '/api/functions/{name}/logs/{replica}', {
      status: 400,
    });
    await expect('DELETE', '/api/functions', '/api/functions', { body: { metadata: { name: 'oa-fn' } }, status: 412 });
    await expect('DELETE', '/api/projects', '/api/projects', { body: { metadata: { name: 'oa-proj' } }, status: 412 });
    await expect('GET', '/api/v3io_streams', '/api/v3io_streams', { status: 400 });
    await expect('POST', '/api/function_invocations', '/api/function_invocations', { status: 400 });
    await expect('POST', '/api/function_invocations', '/api/function_invocations', {
      headers: { 'x-nuclio-function-name': 'oa-missing' },
      status: 404,
    });
    await expect('POST', '/v3io/c/nope/', '/v3io/{path}', {
      headers: { 'x-v3io-function': 'DescribeStream' },
      status: 404,
    });
    assert.deepEqual(problems, []);
  });

  it('/api/docs shows the document from files the dashboard serves itself, without a token', async () => {
    const page = await d.api('GET', '/api/docs');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.length >= 4, page.text);
    for (const r of refs) {
      assert.ok(!/^[a-z]+:|^\/\//i.test(r), `${r} is not on the dashboard`);
      const asset = await request(new URL(r, `${d.url}/api/docs`).href, 'GET');
      assert.equal(asset.status, 200, `${r}: ${asset.status}`);
    }
    const initializer = await request(`${d.url}/api/docs/static/swagger-initializer.js`, 'GET');
    assert.equal(initializer.status, 200);
    assert.match(initializer.text, /resolveUrl\('\.\/json'\)/);
    const json = await d.api('GET', '/api/docs/json');
    assert.deepEqual(json.json, doc);
    // The viewer's file server stays in its folder.
    for (const target of [
      '/api/docs/static/../../../package.json',
      '/api/docs/static/%2e%2e/%2e%2e/package.json',
      '/api/docs/static/..%2f..%2fpackage.json',
    ]) {
      const res = await request(`${d.url}${target}`, 'GET');
      assert.ok(!res.text.includes('"name": "protium"'), `${target} answered the package file`);
    }
  });

  it('documents the auth: the token scheme, public routes marked public, /v3io with the stream credential', () => {
    assert.equal(doc.components.securitySchemes.dashboardToken.scheme, 'bearer');
    for (const [path, method] of [
      ['/api/versions', 'get'],
      ['/api/openapi.json', 'get'],
    ] as const)
      assert.deepEqual(doc.paths[path][method].security, []);
    assert.ok(JSON.stringify(doc.paths[openApiPath('/v3io/*')].post.security).includes('streamCredential'));
    assert.ok(doc.paths['/api/functions'].get.responses['401']);
    assert.equal(doc.paths['/api/versions'].get.responses['401'], undefined);
  });
});
