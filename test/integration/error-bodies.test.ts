/**
 * One renderer, every listener (issue 14, part 2): the API, the invocation fast path and its routed
 * spellings, the API gateway listener and a function's own port answer errors in one shape —
 * `{"error", "field"?, "code"}`, `Content-Type: application/json` exactly, `X-Protium-Internal: true` — with
 * the code of the catalogue. A real dashboard with a token, real functions, real HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import {
  deploy,
  functionBody,
  rawRequest,
  request,
  startTestDashboard,
  type Answer,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const TOKEN = 'error-bodies-token';

function assertError(res: Answer, code: ErrorCode, where: string, field?: string): void {
  const what = `${where}: ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, ERRORS[code].status, what);
  assert.equal(res.headers.get('content-type'), 'application/json', what);
  assert.equal(res.headers.get('x-protium-internal'), 'true', what);
  assert.ok(res.text.endsWith('\n'), `${what}: the body ends with a newline`);
  const body = res.json as Record<string, unknown>;
  assert.equal(body.code, code, what);
  assert.ok(typeof body.error === 'string' && body.error.length > 0, what);
  assert.deepEqual(Object.keys(body).sort(), field ? ['code', 'error', 'field'] : ['code', 'error'], what);
  if (field) assert.equal(body.field, field, what);
}

describe('error bodies: one shape and a catalogue code on every listener', () => {
  let d: TestDashboard;
  let dir: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const api = <T = unknown>(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: unknown } = {},
  ) => d.api<T>(method, path, { ...opts, headers: { ...auth, ...(opts.headers ?? {}) } });
  /** The dashboard as the helpers see it, with the token on every request. */
  const withToken = (): TestDashboard => ({ ...d, api });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-error-bodies-'));
    writeFileSync(join(dir, 'token'), TOKEN);
    d = await startTestDashboard({ authTokenFile: join(dir, 'token') });
  });
  after(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the API: auth, routing, body parsing, validation, resources, the store', async () => {
    const noToken = await d.api('GET', '/api/functions');
    assertError(noToken, 'UNAUTHORIZED', 'no token');
    assert.match(noToken.headers.get('www-authenticate') ?? '', /^Bearer /);
    assertError(await api('GET', '/api/nothing-here'), 'NO_ROUTE', 'unknown route');
    assertError(await api('POST', '/api/functions', { body: '{"metadata":' }), 'INVALID_JSON', 'broken JSON');
    assertError(
      await api('POST', '/api/functions', { body: `${'['.repeat(200)}${']'.repeat(200)}` }),
      'BODY_TOO_DEEP',
      'deep JSON',
    );
    assertError(
      await api('POST', '/api/functions', { body: { metadata: { name: 'Bad_Name' } } }),
      'INVALID_FIELD',
      'bad name',
      'metadata.name',
    );
    assertError(
      await api('POST', '/api/functions', { body: { metadata: { name: 'x', labels: 7 } } }),
      'FIELD_MUST_BE',
      'labels not an object',
      'metadata.labels',
    );
    assertError(await api('GET', '/api/functions/missing'), 'FUNCTION_NOT_FOUND', 'missing function');
    assertError(
      await api('PATCH', '/api/functions/missing', { body: { desiredState: 'unhealthy' } }),
      'DESIRED_STATE_UNSUPPORTED',
      'PATCH unhealthy',
    );
    assertError(await api('GET', '/api/projects/missing'), 'PROJECT_NOT_FOUND', 'missing project');
    assertError(
      await api('POST', '/api/projects', { body: { metadata: { name: 'default' } } }),
      'PROJECT_EXISTS',
      'project exists (the store refused)',
    );
    const stale = await api<ErrorBody>('PUT', '/api/projects/default', {
      body: { metadata: { name: 'default', resourceVersion: '999999' }, spec: {} },
    });
    assertError(stale, 'RESOURCE_VERSION_STALE', 'stale project version (the store refused)');
    assert.match(stale.json.error, /^Project resource version is stale \(given 999999, stored \d+\)$/);
    assertError(
      await api('POST', '/api/function_events', {
        body: { metadata: { labels: { 'nuclio.io/function-name': 'ghost' } }, spec: {} },
      }),
      'FUNCTION_EVENT_PARENT_MISSING',
      'event of a missing function',
      'metadata.labels.nuclio.io/function-name',
    );
    assertError(
      await api('GET', '/api/functions/missing/logs/x?follow=maybe'),
      'FUNCTION_NOT_FOUND',
      'logs of a missing function',
    );
  });

  it('the invocation fast path and a routed spelling of it', async () => {
    assertError(
      await d.api('POST', '/api/function_invocations', { headers: { 'x-nuclio-function-name': 'x' } }),
      'UNAUTHORIZED',
      'invocation without token',
    );
    assertError(await api('POST', '/api/function_invocations'), 'FUNCTION_NAME_REQUIRED', 'invocation without a name');
    assertError(
      await api('POST', '/api/function_invocations', { headers: { 'x-nuclio-function-name': 'ghost' } }),
      'FUNCTION_NOT_FOUND',
      'invocation of a missing function',
    );
    assertError(
      await api('POST', '//api/function_invocations', { headers: { 'x-nuclio-function-name': 'ghost' } }),
      'FUNCTION_NOT_FOUND',
      'routed spelling',
    );
    assertError(
      await api('GET', '/api/function_invocations', {
        headers: { 'x-nuclio-function-name': 'ghost', 'x-nuclio-invoke-timeout': 'soon' },
      }),
      'INVALID_INVOKE_TIMEOUT',
      'bad timeout',
    );
  });

  it('the API gateway listener', async () => {
    assertError(
      await rawRequest(`${d.gatewayUrl}/nowhere`, 'GET', { headers: { host: 'no-such-host.local' } }),
      'GATEWAY_NO_ROUTE',
      'gateway without a route',
    );
    await deploy(withToken(), functionBody('eb-fn', 'nodejs', 'exports.handler = (c) => c.callback("ok")'));
    const gw = await api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'eb-gw' },
        spec: {
          host: 'eb.local',
          path: '/',
          authenticationMode: 'basicAuth',
          authentication: { basicAuth: { username: 'u', password: 'p' } },
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'eb-fn' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
    let refused: Answer | undefined;
    for (let i = 0; i < 100; i++) {
      refused = await rawRequest(`${d.gatewayUrl}/`, 'GET', { headers: { host: 'eb.local' } });
      if (refused.status !== 404) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assertError(refused!, 'GATEWAY_BASIC_AUTH_REQUIRED', 'gateway without credentials');
    assert.match(refused!.headers.get('www-authenticate') ?? '', /^Basic realm="eb-gw"/);
  });

  it("a function's own port, refusing a connection it holds (spec.disable)", async () => {
    const fn = await deploy(
      withToken(),
      functionBody('eb-off', 'nodejs', 'exports.handler = (c) => c.callback("ok")', { spec: { disable: true } }),
    );
    assert.ok(fn.status.httpPort, JSON.stringify(fn.status));
    assertError(
      await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET'),
      'FUNCTION_DISABLED',
      'disabled function port',
    );
  });
});
