/**
 * Fuzz: 10,000 malformed and random requests over every endpoint of the dashboard, the stream service
 * (/v3io/…) and the API gateway listener (bad JSON, bodies nested thousands of levels deep, wrong types,
 * huge strings, odd Unicode, hostile spellings of paths, bad headers and durations), from a seeded
 * generator so a failure replays. Asserts: no answer ≥ 500, no crash, every 4xx is JSON {"error"} with
 * exactly application/json, and afterwards the store is consistent (every list parses, keys match names,
 * every function's project exists, every function event's function exists, the stream service answers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  b64,
  deploy,
  functionBody,
  startTestDashboard,
  type Answer,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { ApiGateway, FunctionEvent, FunctionRecord, Meta, Project } from '../../src/resources/types.js';

const SEED = Number(process.env.PROTIUM_FUZZ_SEED ?? 20261127);
const COUNT = Number(process.env.PROTIUM_FUZZ_COUNT ?? 10_000);

/** mulberry32: a small seeded PRNG. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const FIELDS = [
  'metadata',
  'spec',
  'status',
  'name',
  'namespace',
  'labels',
  'annotations',
  'resourceVersion',
  'runtime',
  'handler',
  'build',
  'functionSourceCode',
  'path',
  'commands',
  'env',
  'triggers',
  'kind',
  'attributes',
  'minReplicas',
  'maxReplicas',
  'eventTimeout',
  'host',
  'upstreams',
  'nucliofunction',
  'percentage',
  'authenticationMode',
  'authentication',
  'basicAuth',
  'username',
  'password',
  'desiredState',
  'description',
  'displayName',
  'body',
  'triggerKind',
  'template',
  'values',
  'consumerGroup',
  'containerName',
  'streamPath',
  'nuclio.io/project-name',
  'nuclio.io/function-name',
  '__proto__',
  'constructor',
  'project',
  'functions',
  'functionEvents',
  'apiGateways',
  'scaleToZero',
  'resources',
  'limits',
  'memory',
  'codeEntryType',
  'noCache',
  'readinessTimeoutSeconds',
];
const STRINGS = [
  '',
  'a',
  'fz-fn',
  'default',
  'nodejs',
  'python:3.9',
  'shell',
  'golang',
  'main:handler',
  'handler:handler',
  'ready',
  'scaledToZero',
  'unhealthy',
  'http',
  'cron',
  'none',
  'basicAuth',
  'accessKey',
  '1s',
  '-1s',
  'soon',
  '10000h',
  '/',
  '../..',
  '/etc/passwd',
  'http://127.0.0.1:1/x',
  'file:///etc',
  'ÿ\u0000\u202e',
  '😀'.repeat(20),
  '\ud800',
  '%2e%2e%2f',
  'Bad_Name!',
  'x'.repeat(300),
  'ZXhwb3J0cy5oYW5kbGVyPShjKT0+Yy5jYWxsYmFjaygxKQ==',
  '@every 1s',
  '* * * *',
  '128Mi',
];

function value(r: Rng, depth: number): unknown {
  switch (r.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1, 2.5, 1e308, -1e308, 2 ** 53, 100001, 65536]);
    case 3:
    case 4:
      return r.pick(STRINGS);
    case 5:
      return r.chance(0.02) ? 'Z'.repeat(200_000 + r.int(100_000)) : r.pick(STRINGS) + r.pick(STRINGS);
    case 6:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(FIELDS)] = value(r, depth + 1);
      return o;
    }
  }
}

/** A body that looks like a real resource with some fields broken. */
function resourceBody(r: Rng): unknown {
  const spec: Record<string, unknown> = {
    runtime: r.pick(['nodejs', 'python', 'shell', value(r, 2)]),
    handler: r.pick(['handler:handler', 'main:handler', value(r, 2)]),
    build: r.chance(0.7) ? { functionSourceCode: r.pick(STRINGS) } : value(r, 2),
  };
  if (r.chance(0.5)) spec[r.pick(FIELDS)] = value(r, 1);
  return {
    metadata: r.chance(0.8)
      ? {
          name: r.chance(0.7) ? `fz-${r.int(50)}` : value(r, 2),
          namespace: r.chance(0.8) ? 'nuclio' : value(r, 2),
          labels: r.chance(0.5)
            ? { 'nuclio.io/project-name': r.pick(['default', 'fz-proj', 'nope']), 'nuclio.io/function-name': 'fz-fn' }
            : value(r, 2),
        }
      : value(r, 1),
    spec: r.chance(0.8) ? spec : value(r, 1),
  };
}

/** Deeply nested JSON text: arrays, objects, or both, from a little past the limit to thousands of levels. */
function deepJson(r: Rng): string {
  const depth = r.pick([129, 200, 1000, 5000, 50_000]);
  switch (r.int(4)) {
    case 0:
      return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    case 1:
      return `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`;
    case 2:
      return `{"metadata":{"name":"fz-deep"},"spec":${'[{"x":'.repeat(depth)}1${'}]'.repeat(depth)}}`;
    default:
      return '['.repeat(depth);
  }
}

/** A hostile spelling of a path: what a client would try to slip past a prefix check. */
function spell(r: Rng, path: string): string {
  const first = path.split('/')[1] ?? '';
  const rest = path.slice(first.length + 1);
  switch (r.int(12)) {
    case 0:
      return `/${path}`;
    case 1:
      return path.replace(/\//g, '//');
    case 2:
      return `/%${first.charCodeAt(0).toString(16)}${first.slice(1)}${rest}`;
    case 3:
      return `/${first}${rest.replace(/\//g, '%2F')}`;
    case 4:
      return `/.${path}`;
    case 5:
      return `/x/..${path}`;
    case 6:
      return path.toUpperCase();
    case 7:
      return `http://fz.example${path}`;
    case 8:
      return `${path}/./`;
    case 9:
      return `/%25${first.charCodeAt(0).toString(16)}${first.slice(1)}${rest}`;
    case 10:
      return `${path}#${r.pick(STRINGS).replace(/[^\x21-\x7e]/g, '')}`;
    default:
      return `/${first};x${rest}`;
  }
}

const ENDPOINTS: [string[], string][] = [
  [['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], '/api/functions'],
  [['GET', 'PUT', 'PATCH', 'DELETE', 'POST'], '/api/functions/{name}'],
  [['GET'], '/api/functions/{name}/replicas'],
  [['GET'], '/api/functions/{name}/logs/{replica}'],
  [['GET', 'POST', 'PUT', 'DELETE'], '/api/projects'],
  [['GET', 'PUT', 'DELETE'], '/api/projects/{name}'],
  [['GET', 'POST', 'PUT', 'DELETE'], '/api/function_events'],
  [['GET', 'PUT'], '/api/function_events/{name}'],
  [['GET', 'POST'], '/api/function_templates'],
  [['POST'], '/api/function_templates/render'],
  [['GET', 'POST', 'DELETE'], '/api/api_gateways'],
  [['GET', 'PUT'], '/api/api_gateways/{name}'],
  [['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'], '/api/function_invocations'],
  [['GET', 'POST'], '/api/v3io_streams'],
  [['POST'], '/api/v3io_streams/get_shard_lags'],
  [['GET', 'DELETE'], '/api/versions'],
  [['GET'], '/api/external_ip_addresses'],
  [['GET'], '/api/namespaces'],
  [['GET'], '/api/frontend_spec'],
  [['POST', 'PUT', 'DELETE', 'GET'], '/v3io/{container}/{stream}/'],
  [['POST', 'PUT'], '/v3io/{container}/{stream}/{shard}'],
];
const V3IO_FUNCTIONS = [
  'CreateStream',
  'DescribeStream',
  'DeleteStream',
  'PutRecords',
  'Seek',
  'GetRecords',
  'Heartbeat',
  'LeaveGroup',
  'CommitOffset',
  'GetOffsets',
  'createstream',
  'Nope',
  '',
];
const CONTAINERS = ['fz', 'fz', 'fz', 'other', '..', '%2e%2e', 'a b', 'ÿ', 'x'.repeat(300), ''];
const STREAMS = ['s', 's', 'new', 'deep/er/path', '..', '.', '%2F', 'Z'.repeat(300)];

/** A body for the stream service: mostly the right fields, some broken. */
function streamBody(r: Rng): unknown {
  const o: Record<string, unknown> = {};
  if (r.chance(0.5)) o.ShardCount = r.pick([1, 2, 0, -1, 257, 2.5, '2', null]);
  if (r.chance(0.4))
    o.Records = r.chance(0.8)
      ? Array.from({ length: r.int(4) }, () => ({
          Data: r.pick([b64('x'), b64('hello'), 'not base64!', '', 5, null]),
          ...(r.chance(0.3) ? { ShardId: r.pick([0, 1, 9, -1, 'x']) } : {}),
          ...(r.chance(0.2) ? { PartitionKey: r.pick(STRINGS) } : {}),
        }))
      : value(r, 1);
  if (r.chance(0.3)) o.Type = r.pick(['EARLIEST', 'LATEST', 'SEQUENCE', 'TIME', 'earliest', 'NONE', 5]);
  if (r.chance(0.2)) o.StartingSequenceNumber = r.pick([1, 0, 99, -1, 'x']);
  if (r.chance(0.2)) o.TimestampSec = r.pick([0, 1_700_000_000, -1, 1e20]);
  if (r.chance(0.3)) o.Location = r.pick(['', 'AAAA', 'bm9wZQ==', value(r, 2)]);
  if (r.chance(0.2)) o.Limit = r.pick([1, 0, 10_001, 'x']);
  if (r.chance(0.4)) o.ConsumerGroup = r.pick(['g', '', 'x'.repeat(300), 5, 'a/b']);
  if (r.chance(0.3)) o.MemberId = r.pick(['m1', '', 5, 'x'.repeat(600)]);
  if (r.chance(0.2)) o.ShardId = r.pick([0, 1, 5, -1]);
  if (r.chance(0.2)) o.SequenceNumber = r.pick([0, 1, 2, -5, 1e18]);
  if (r.chance(0.1)) o.Release = r.pick([[0], ['x'], 5]);
  if (r.chance(0.1)) o[r.pick(FIELDS)] = value(r, 1);
  return o;
}
const HEADERS = [
  'x-nuclio-function-namespace',
  'x-nuclio-project-namespace',
  'x-nuclio-function-event-namespace',
  'x-nuclio-api-gateway-namespace',
  'x-nuclio-project-name',
  'x-nuclio-function-name',
  'x-nuclio-wait-function-action',
  'x-nuclio-creation-state-updated-timeout',
  'x-nuclio-invoke-timeout',
  'x-nuclio-invoke-url',
  'x-nuclio-path',
  'x-nuclio-delete-project-strategy',
  'x-nuclio-delete-function-ignore-state-validation',
  'x-nuclio-filter-contains',
  'x-nuclio-log-level',
  'x-igz-nuclio-function-name',
  'x-nuclio-function-enrich-apigateways',
  'x-nuclio-agw-validate-functions-existence',
];
const NAMES = [
  'fz-fn',
  'default',
  'fz-proj',
  'missing',
  '..',
  '.',
  '%2e%2e',
  'a%00b',
  'é',
  '😀',
  'x'.repeat(600),
  'Bad_Name!',
  '%ZZ',
  'x.y%2Fz',
  'nuclio-nuclio-fz-fn-build',
  'nuclio-nuclio-fz-fn-..%2f..%2fx',
];

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  gateway?: boolean;
}

/** A request to the API gateway listener: hosts routed or not, auth right or wrong, hostile paths. */
function gatewayRequest(r: Rng): Req {
  const host = r.pick([
    'fz.local',
    'FZ.LOCAL:80',
    'fz.local:8071',
    'fz-auth.local',
    'unknown.local',
    '',
    'fz.local.',
    '[::1]',
    'a'.repeat(300),
  ]);
  const base = r.pick(['/', '/echo', '/echo/deeper', '/other', '/private', '/private/x']);
  const path = r.chance(0.4) ? spell(r, base) : `${base}${r.pick(['', '?q=1', '?x=%ZZ', '/..', '/%2e%2e/x', '//'])}`;
  const headers: Record<string, string> = { host };
  if (r.chance(0.3))
    headers.authorization = r.pick([
      `Basic ${b64('fz:secret')}`,
      `Basic ${b64('fz:wrong')}`,
      'Basic !!!',
      'Bearer x',
      `Basic ${b64('no-colon')}`,
    ]);
  if (r.chance(0.2)) headers['x-v3io-session-key'] = r.pick(['', 'k', 'x'.repeat(500)]);
  const method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);
  let body: string | Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && r.chance(0.7))
    body = r.chance(0.2)
      ? deepJson(r)
      : r.chance(0.5)
        ? JSON.stringify(value(r, 0))
        : Buffer.from(Array.from({ length: r.int(3000) }, () => r.int(256)));
  return { method, path, headers, body, gateway: true };
}

function request(r: Rng): Req {
  if (r.chance(0.1)) return gatewayRequest(r);
  const [methods, template] = r.pick(ENDPOINTS);
  const method = r.chance(0.05) ? r.pick(['OPTIONS', 'TRACE', 'PROPFIND', 'GET']) : r.pick(methods);
  let path = template
    .replace('{name}', () => r.pick(NAMES))
    .replace('{replica}', () => r.pick(NAMES))
    .replace('{container}', () => r.pick(CONTAINERS))
    .replace('{stream}', () => r.pick(STREAMS))
    .replace('{shard}', () => r.pick(['0', '1', '7', '-1', 'x', '99999999999']));
  if (r.chance(0.1))
    path += r.pick([
      '/',
      '//',
      '/..',
      '?export=true',
      '?export=1&x=%ZZ',
      '?follow=false&since=' + r.pick(STRINGS) + '&tailLines=' + r.pick(['-1', 'x', '5', '99999999999']),
      '?import=true',
      '/extra/segments',
    ]);
  if (path.includes('/logs/') && !path.includes('?')) path += '?follow=false';
  if (r.chance(0.15)) path = spell(r, path);
  const v3io = template.startsWith('/v3io');
  const headers: Record<string, string> = {};
  for (let i = r.int(4); i > 0; i--) {
    const v = String(r.pick(STRINGS));
    // Node refuses to send some header values at all (control characters); those are not a server test.
    if (/^[\t\x20-\x7e\x80-\xff]*$/.test(v)) headers[r.pick(HEADERS)] = v;
  }
  if (r.chance(0.3))
    headers['content-type'] = r.pick([
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
    ]);
  if (v3io || r.chance(0.02)) headers['x-v3io-function'] = r.pick(V3IO_FUNCTIONS);
  if (path.includes('function_invocations') && r.chance(0.5))
    headers['x-nuclio-function-name'] = r.pick(['fz-echo', 'fz-echo', 'fz-fn', 'missing', 'x.y/z']);
  let body: string | Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && r.chance(0.9)) {
    const kind = r.int(11);
    if (v3io && kind < 7) body = JSON.stringify(streamBody(r));
    else if (kind === 10) body = deepJson(r);
    else if (kind < 5) body = JSON.stringify(resourceBody(r));
    else if (kind < 7) body = JSON.stringify(value(r, 0));
    else if (kind < 8)
      body = r.pick([
        '{',
        '{"metadata":',
        '[]',
        'null',
        '""',
        'tru',
        '{"a":1}}',
        '\u0000',
        '{"metadata":{"name":"x"}} trailing',
      ]);
    else if (kind < 9) body = Buffer.from(Array.from({ length: r.int(2000) }, () => r.int(256)));
    else
      body = JSON.stringify({
        metadata: { name: 'fz-big' },
        spec: { build: { functionSourceCode: 'A'.repeat(r.chance(0.5) ? 11 * 1024 * 1024 : 1024) } },
      });
  }
  return { method, path, headers, body };
}

/** A request with the target exactly as given (no URL parsing, so hostile spellings arrive as written). */
function send(port: string, q: Req): Promise<Answer<Partial<ErrorBody> | undefined>> {
  return new Promise((resolve, reject) => {
    const headers = { ...q.headers };
    if (q.body !== undefined) headers['content-length'] = String(Buffer.byteLength(q.body));
    // Bytes a request line cannot carry raw (spaces, non-ASCII) go percent-encoded, as a client sends them.
    const path = q.path.replace(/[^\x21-\x7e]/gu, (c) =>
      [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    );
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: q.method,
        path,
        headers,
        agent: false,
        timeout: 30_000,
        setHost: !('host' in headers),
      },
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
          resolve({ status: res.statusCode ?? 0, headers: h, text, json: json as Partial<ErrorBody> | undefined });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    // A server may answer (413) and close while a big body is still going out: that write error is expected.
    req.on('socket', (s) => s.on('error', () => {}));
    req.end(q.body);
  });
}

const ECHO =
  'exports.handler = (c, e) => c.callback(JSON.stringify({ path: e.path, method: e.method, size: e.body.length }));';

describe('fuzz', () => {
  let d: TestDashboard;
  before(async () => {
    d = await startTestDashboard();
    await d.api('POST', '/api/projects', { body: { metadata: { name: 'fz-proj' }, spec: {} } });
    await d.api('POST', '/api/functions', {
      body: {
        metadata: { name: 'fz-fn', labels: { 'nuclio.io/project-name': 'fz-proj' } },
        spec: { runtime: 'golang', handler: 'main:Handler', build: { functionSourceCode: 'eA==' } },
      },
    });
    // A real function behind the invocation endpoint and two gateways, and a stream, so that forwarding
    // and the stream service get random input too.
    await deploy(d, functionBody('fz-echo', 'nodejs', ECHO, { project: 'fz-proj' }));
    const gw = (name: string, host: string, extra: Record<string, unknown> = {}) =>
      d.api('POST', '/api/api_gateways', {
        body: {
          metadata: { name, labels: { 'nuclio.io/project-name': 'fz-proj' } },
          spec: {
            host,
            path: '/',
            upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'fz-echo' } }],
            ...extra,
          },
        },
      });
    assert.equal((await gw('fz-gw', 'fz.local')).status, 202);
    assert.equal(
      (
        await gw('fz-gw-auth', 'fz-auth.local', {
          authenticationMode: 'basicAuth',
          authentication: { basicAuth: { username: 'fz', password: 'secret' } },
        })
      ).status,
      202,
    );
    assert.equal(
      (await d.api('POST', '/v3io/fz/s/', { headers: { 'x-v3io-function': 'CreateStream' }, body: { ShardCount: 2 } }))
        .status,
      204,
    );
  });
  after(async () => {
    await d.close();
  });

  it(`${COUNT} random requests (seed ${SEED}): no 5xx, no crash, every 4xx a JSON error`, async () => {
    const r = rng(SEED);
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    /** Successes per part (api, v3io, gateway): each part must have been reached, not only refused. */
    const reached = { api: 0, v3io: 0, gateway: 0, deep: 0 };
    const port = new URL(d.url).port;
    const gatewayPort = new URL(d.gatewayUrl).port;
    let sent = 0;
    let notReady = 0;
    while (sent < COUNT) {
      const batch = Array.from({ length: Math.min(16, COUNT - sent) }, () => request(r));
      sent += batch.length;
      const answers = await Promise.all(
        batch.map((q) =>
          send(q.gateway ? gatewayPort : port, q).catch((e: Error) => ({
            status: -1,
            text: e.message,
            headers: new Headers(),
            json: undefined,
          })),
        ),
      );
      answers.forEach((a, i) => {
        const q = batch[i];
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        if (a.status >= 200 && a.status < 300)
          reached[q.gateway ? 'gateway' : q.path.includes('v3io/') ? 'v3io' : 'api']++;
        if (a.status === 400 && /levels deep/.test(a.text)) reached.deep++;
        const what =
          `${q.gateway ? 'gateway ' : ''}${q.method} ${q.path.slice(0, 80)} ` +
          `${JSON.stringify(q.headers).slice(0, 120)} body ${String(q.body ?? '').slice(0, 120)}`;
        // A target the HTTP parser cannot read is refused before any route (Fastify's 400 has a body even
        // for HEAD, which the client then fails to parse).
        if (a.status < 0 && q.method === 'HEAD' && /Parse Error/.test(a.text)) return;
        if (a.status < 0) problems.push(`no answer (${a.text}): ${what}`);
        // Invoking a function that is in state error answers 503 by design (it is the function's state, not a
        // failure of the dashboard); anything else ≥ 500 is a bug.
        else if (
          a.status === 503 &&
          !q.gateway &&
          /function_invocations/i.test(q.path) &&
          (q.method === 'HEAD' || /not ready to be invoked/.test(a.text))
        )
          notReady++;
        else if (a.status >= 500) problems.push(`${a.status} ${a.text.slice(0, 200)}: ${what}`);
        else if (a.status >= 400 && q.method !== 'HEAD') {
          if (
            a.headers.get('content-type') !== 'application/json' ||
            typeof a.json?.error !== 'string' ||
            !a.json.error
          )
            problems.push(
              `${a.status} without a JSON error (${a.headers.get('content-type')}: ${a.text.slice(0, 100)}): ${what}`,
            );
        }
      });
      if (problems.length > 20) break;
    }
    assert.deepEqual(
      problems.slice(0, 20),
      [],
      `statuses ${JSON.stringify([...statuses])}, ${notReady} of them a function not ready yet`,
    );
    assert.ok(
      (statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 400 && s < 500),
      `a fuzz run that never succeeds or never fails tests nothing: ${JSON.stringify([...statuses])}`,
    );
    assert.ok(
      Object.values(reached).every((n) => n > 0),
      `every part must be reached: ${JSON.stringify(reached)}`,
    );
    assert.equal((await d.api('GET', '/api/versions')).status, 200);
  });

  it('afterwards the store is consistent: every list parses, keys match names, events and functions belong to existing parents', async () => {
    const ns = 'nuclio';
    const [projects, functions, events, gateways] = await Promise.all([
      d.api<Record<string, Project>>('GET', '/api/projects'),
      d.api<Record<string, FunctionRecord>>('GET', '/api/functions'),
      d.api<Record<string, FunctionEvent>>('GET', '/api/function_events'),
      d.api<Record<string, ApiGateway>>('GET', '/api/api_gateways'),
    ]);
    for (const list of [projects, functions, events, gateways]) {
      assert.equal(list.status, 200);
      for (const [k, v] of Object.entries<{ metadata: Meta }>(list.json)) {
        assert.equal(v.metadata.name, k);
        assert.equal(v.metadata.namespace, ns);
      }
    }
    for (const fn of Object.values(functions.json)) {
      assert.ok(
        projects.json[fn.metadata.labels?.['nuclio.io/project-name'] ?? ''],
        `function ${fn.metadata.name} of a missing project`,
      );
      assert.match(
        fn.metadata.name ?? '',
        /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
        'every stored function name is a DNS-1123 label',
      );
    }
    // An event belongs to the function its label names, in its namespace: that function must exist.
    for (const ev of Object.values(events.json)) {
      const parent = ev.metadata.labels?.['nuclio.io/function-name'];
      assert.ok(
        functions.json[parent ?? ''],
        `function event ${ev.metadata.name} names function ${JSON.stringify(parent)}, which does not exist`,
      );
    }
    // The stream service still answers for the stream the fuzz was given (or says it was deleted).
    const described = await d.api('POST', '/v3io/fz/s/', { headers: { 'x-v3io-function': 'DescribeStream' } });
    assert.ok(described.status === 200 || described.status === 404, described.text);
    // And the gateway listener still routes.
    const viaGateway = await send(new URL(d.gatewayUrl).port, {
      method: 'POST',
      path: '/echo',
      headers: { host: 'fz.local' },
      body: 'x',
    });
    assert.equal(viaGateway.status, 200, viaGateway.text);
    assert.deepEqual(viaGateway.json, { path: '/echo', method: 'POST', size: 1 });
  });

  it("an event is written only while its function exists: never for a missing function, even with a project label, nor racing the function's deletion", async () => {
    const orphan = await d.api<ErrorBody>('POST', '/api/function_events', {
      body: {
        metadata: {
          name: 'fz-orphan',
          labels: { 'nuclio.io/function-name': 'no-such-fn', 'nuclio.io/project-name': 'fz-proj' },
        },
        spec: {},
      },
    });
    assert.equal(orphan.status, 400, orphan.text);
    assert.equal(orphan.json.field, 'metadata.labels.nuclio.io/function-name');
    const imported = await d.api<Record<string, { failedAmount: number }>>('POST', '/api/projects?import=true', {
      body: {
        project: { metadata: { name: 'fz-proj' }, spec: {} },
        functionEvents: { e: { metadata: { labels: { 'nuclio.io/function-name': 'no-such-fn' } }, spec: {} } },
      },
    });
    assert.equal(imported.json.functionEventImportResult.failedAmount, 1, imported.text);
    // Events created while their function is being deleted: each either lands before the deletion (and
    // goes with the function) or is refused after it.
    for (let round = 0; round < 20; round++) {
      const name = `fz-race-${round}`;
      const created = await d.api('POST', '/api/functions', {
        body: {
          metadata: { name, labels: { 'nuclio.io/project-name': 'fz-proj' }, annotations: { 'skip-deploy': 'true' } },
          spec: { runtime: 'nodejs', handler: 'h:h', build: { functionSourceCode: 'eA==' } },
        },
      });
      assert.equal(created.status, 202, created.text);
      const events = Array.from({ length: 8 }, (_, i) =>
        d.api('POST', '/api/function_events', {
          body: {
            metadata: {
              name: `${name}-ev-${i}`,
              labels: { 'nuclio.io/function-name': name, 'nuclio.io/project-name': 'fz-proj' },
            },
            spec: {},
          },
        }),
      );
      const deleted = d.api('DELETE', '/api/functions', {
        body: { metadata: { name } },
        headers: { 'x-nuclio-delete-function-ignore-state-validation': 'true' },
      });
      for (const res of await Promise.all(events)) assert.ok(res.status === 201 || res.status === 400, res.text);
      assert.equal((await deleted).status, 204);
      const left = await d.api<Record<string, FunctionEvent>>('GET', '/api/function_events', {
        headers: { 'x-nuclio-function-name': name },
      });
      assert.deepEqual(Object.keys(left.json), [], `events of deleted function ${name} were left behind`);
    }
  });
});
