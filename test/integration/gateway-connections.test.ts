/**
 * The API gateway listener on keep-alive connections, black-box: several requests over ONE client
 * connection, alternating hosts, prefixes and gateways; the gateway's 404, 401 and 202 answers between
 * routed ones; a gateway updated or deleted, a function redeployed or scaled to zero while the
 * connection is open; X-Forwarded-*, X-Request-Id and traceparent per request; pipelined and slow
 * clients; the canary split; the per-gateway counters of GET /metrics. Every case checks what the
 * function saw (the handler echoes method, path, query, headers and body) and what the client got.
 *
 * Each client talks to the gateway through a `Wire`, a TCP relay of its own: one gateway connection per
 * client connection, counted, so a test can assert that all its requests went over one connection; the
 * relay can also hold what the client sends until several requests are in (pipelining in one write) or
 * pace it (a head in 3 pieces, a body in 2). Answers are read by undici's HTTP parser.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import {
  deploy,
  functionBody,
  sleep,
  startTestDashboard,
  waitFor,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import { ended, until, type Queued } from '../helpers/async-invocations.js';
import { gatewayBody } from '../helpers/gateways.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus-text.js';
import { isValidTraceparent } from '../../src/util/trace-context.js';
import type { ApiGateway, FunctionRecord } from '../../src/resources/types.js';

/** How long the dashboard lets a client take to send a request's headers (also idle keep-alive time). */
const HEADERS_TIMEOUT = '4s';

/**
 * The echo handler: answers what it saw as JSON, and appends `{fn, requestId}` to the file named by env
 * SINK, so a test can tell which requests ever reached the function.
 */
const echo = (version: number) => `
const fs = require('fs');
exports.handler = (context, event) => {
  const headers = {};
  for (const k of Object.keys(event.headers)) headers[k.toLowerCase()] = event.headers[k];
  const line = JSON.stringify({ fn: process.env.TAG, requestId: headers['x-request-id'] });
  fs.appendFileSync(process.env.SINK, line + '\\n');
  const seen = {
    fn: process.env.TAG,
    version: ${version},
    method: event.method,
    path: event.path,
    fields: event.fields,
    headers,
    body: event.body.toString('utf8'),
  };
  context.callback(new context.Response(JSON.stringify(seen), {}, 'application/json', 200));
};
`;

/** What the echo handler answers. */
interface Seen {
  fn: string;
  version: number;
  method: string;
  path: string;
  fields: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/** An answer as the client got it. */
interface Reply<T = unknown> {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: T;
}

/**
 * A TCP relay on 127.0.0.1 in front of the gateway: each client connection gets one connection to the
 * gateway (counted in `connections`). What the client sends is forwarded as it comes ('pass'), held until
 * `hold` says the buffered bytes are complete and then written in one write ('hold'), or written slowly
 * ('paced': a request head in 3 pieces and the bytes after it in 2, 50 ms apart). What the gateway sends
 * back is forwarded as it comes; either side closing closes the other.
 */
class Wire {
  private readonly server = net.createServer((client) => this.relay(client));
  private readonly sockets = new Set<net.Socket>();
  /** Connections opened to the gateway. */
  connections = 0;
  mode: 'pass' | 'paced' | { hold: (buffered: string) => boolean } = 'pass';
  /** In 'hold' mode, the bytes of each write to the gateway. */
  readonly heldWrites: string[] = [];
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private relay(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    upstream.pipe(client);
    upstream.on('close', () => client.destroySoon());
    client.on('close', () => upstream.destroy());
    let queue = Promise.resolve();
    let held: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      const mode = this.mode;
      if (mode === 'pass') queue = queue.then(() => void upstream.write(chunk));
      else if (mode === 'paced') queue = queue.then(() => this.paced(upstream, chunk));
      else {
        held.push(chunk);
        const all = Buffer.concat(held);
        if (!mode.hold(all.toString('latin1'))) return;
        held = [];
        this.heldWrites.push(all.toString('latin1'));
        queue = queue.then(() => void upstream.write(all));
      }
    });
    client.on('end', () => void queue.then(() => upstream.end()));
  }

  private async paced(upstream: net.Socket, chunk: Buffer): Promise<void> {
    const end = chunk.indexOf('\r\n\r\n');
    const isHead = /^[A-Z]+ \S+ HTTP\/1\.1\r\n/.test(chunk.subarray(0, 200).toString('latin1'));
    const cut = (b: Buffer, n: number, i: number) => Math.floor((i * b.length) / n);
    const split = (b: Buffer, n: number) =>
      Array.from({ length: n }, (_, i) => b.subarray(cut(b, n, i), cut(b, n, i + 1)));
    const pieces =
      isHead && end >= 0
        ? [...split(chunk.subarray(0, end + 4), 3), ...split(chunk.subarray(end + 4), 2)]
        : split(chunk, 2);
    for (const [i, piece] of pieces.filter((p) => p.length).entries()) {
      if (i > 0) await sleep(50);
      if (upstream.destroyed) return;
      upstream.write(piece);
    }
  }
}

/**
 * One client of the gateway: an undici Client (keep-alive, `pipelining` requests in flight) through a
 * Wire of its own, so `wire.connections` is the number of connections the gateway got from it.
 */
class Conn {
  readonly client: Client;

  private constructor(
    readonly wire: Wire,
    pipelining: number,
  ) {
    // The server decides when an idle connection closes, not the client (undici would close it early).
    this.client = new Client(`http://127.0.0.1:${wire.port}`, {
      pipelining,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 60_000,
      keepAliveTimeoutThreshold: 0,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  }

  static async open(gatewayPort: number, pipelining = 1): Promise<Conn> {
    const wire = new Wire(gatewayPort);
    await wire.start();
    return new Conn(wire, pipelining);
  }

  async send<T = Seen>(
    method: string,
    path: string,
    host: string,
    opts: { headers?: Record<string, string>; body?: string; pipelined?: boolean } = {},
  ): Promise<Reply<T>> {
    const res = await this.client.request({
      method: method,
      path,
      headers: { host, ...(opts.headers ?? {}) },
      body: opts.body,
      // undici pipelines a request only when told it neither blocks nor may fail the ones behind it.
      ...(opts.pipelined ? { idempotent: true, blocking: false } : {}),
    });
    const text = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers, text, json: json as T };
  }

  /**
   * A GET that a real client would retry once when the server had closed the idle connection (an error
   * before any answer); answers are never retried.
   */
  async sendOrRetry<T = Seen>(path: string, host: string, headers: Record<string, string> = {}): Promise<Reply<T>> {
    try {
      return await this.send<T>('GET', path, host, { headers });
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (!/^(UND_ERR_SOCKET|UND_ERR_CLOSED|ECONNRESET|EPIPE)$/.test(code)) throw e;
      return this.send<T>('GET', path, host, { headers });
    }
  }

  async close(): Promise<void> {
    await this.client.destroy();
    await this.wire.close();
  }
}

const basic = (username: string, password: string) => ({
  authenticationMode: 'basicAuth',
  authentication: { basicAuth: { username, password } },
});
const creds = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

describe('api gateway on keep-alive connections', { timeout: 180_000 }, () => {
  let d: TestDashboard;
  let gatewayPort: number;
  const sinkDir = mkdtempSync(join(tmpdir(), 'protium-gwconn-'));
  const sinkOf = (fn: string) => join(sinkDir, `${fn}.jsonl`);
  /** The request ids that reached a function so far. */
  const reached = (fn: string): string[] =>
    existsSync(sinkOf(fn))
      ? readFileSync(sinkOf(fn), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { requestId: string }).requestId)
      : [];
  const conns: Conn[] = [];
  const open = async (pipelining = 1) => {
    const c = await Conn.open(gatewayPort, pipelining);
    conns.push(c);
    return c;
  };

  const fnBody = (name: string, tag: string, version = 1, spec: Record<string, unknown> = {}) =>
    functionBody(name, 'nodejs', echo(version), {
      spec: {
        env: [
          { name: 'TAG', value: tag },
          { name: 'SINK', value: sinkOf(name) },
        ],
        triggers: { http: { kind: 'http', numWorkers: 2 } },
        ...spec,
      },
    });

  /** Waits until the API says the gateway is `ready` (or `want`). */
  const settled = async (name: string, want = 'ready') =>
    until(
      `gateway ${name} ${want}`,
      async () => {
        const g = await d.api<ApiGateway>('GET', `/api/api_gateways/${name}`);
        return g.json?.status?.state === want ? g.json : undefined;
      },
      10_000,
    );
  const create = async (body: ReturnType<typeof gatewayBody>) => {
    const res = await d.api('POST', '/api/api_gateways', { body });
    assert.equal(res.status, 202, res.text);
    return settled(body.metadata.name);
  };
  const update = async (body: ReturnType<typeof gatewayBody>) => {
    const res = await d.api('PUT', `/api/api_gateways/${body.metadata.name}`, { body });
    assert.equal(res.status, 204, res.text);
    return settled(body.metadata.name);
  };
  const scrape = async () => {
    const res = await d.api('GET', '/metrics');
    assert.equal(res.status, 200, res.text);
    return parsePrometheus(res.text);
  };
  const gatewayCount = async (gateway: string, fn: string, code: string) =>
    valueOf(await scrape(), 'protium_gateway_requests_total', { namespace: 'nuclio', gateway, function: fn, code }) ??
    0;

  /** Asserts the 404 the gateway answers for a host and path it does not route. */
  const assertNoRoute = (r: Reply<ErrorBody>, host: string, path: string) => {
    assert.equal(r.status, 404, r.text);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-protium-internal'], 'true');
    assert.deepEqual(r.json, {
      error: `No API gateway routes host ${JSON.stringify(host)} and path ${JSON.stringify(path)}`,
      code: 'GATEWAY_NO_ROUTE',
    });
  };
  /** Asserts the 401 of a basic-auth gateway. */
  const assertBasicRefused = (r: Reply<ErrorBody>, gateway: string) => {
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['www-authenticate'], `Basic realm="${gateway}", charset="UTF-8"`);
    assert.deepEqual(r.json, {
      error: "Authentication required: send the gateway's basic credentials",
      code: 'GATEWAY_BASIC_AUTH_REQUIRED',
    });
  };

  before(async () => {
    d = await startTestDashboard({ headersTimeout: HEADERS_TIMEOUT });
    gatewayPort = Number(new URL(d.gatewayUrl).port);
    await Promise.all([
      deploy(d, fnBody('conn-a', 'a')),
      deploy(d, fnBody('conn-b', 'b')),
      deploy(d, fnBody('conn-v', 'v', 1, { minReplicas: 0, maxReplicas: 1 })),
    ]);
    await Promise.all([
      create(gatewayBody('c-a', 'a.test', '/a', [['conn-a', undefined, '/ra']])),
      create(gatewayBody('c-b', 'b.test', '/b', [['conn-b']])),
      create(gatewayBody('c-root', 'same.test', '/', [['conn-b']])),
      create(gatewayBody('c-v1', 'same.test', '/v1', [['conn-a']])),
      create(gatewayBody('c-basic', 'basic.test', '/', [['conn-a']], basic('ann', 's3cret'))),
      create(gatewayBody('c-canary', 'canary.test', '/', [['conn-a'], ['conn-b', 50]])),
      create(gatewayBody('c-metered', 'metered.test', '/m', [['conn-b']], basic('meg', 'pw'))),
      create(gatewayBody('c-async', 'async.test', '/q', [['conn-a']])),
      create(gatewayBody('c-v', 'v.test', '/', [['conn-v']])),
    ]);
  });
  after(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await d?.close();
    rmSync(sinkDir, { recursive: true, force: true });
  });

  it('two hosts on one connection, alternated: each request reaches its own function with its own rewrite and X-Forwarded-*', async () => {
    const c = await open();
    const plan = [
      { host: 'a.test', method: 'GET', path: '/a/items/7?x=1&y=two', fn: 'a', sees: '/ra/items/7', prefix: '/a' },
      { host: 'b.test', method: 'POST', path: '/b/orders?id=9', fn: 'b', sees: '/orders', prefix: '/b' },
      { host: 'a.test', method: 'POST', path: '/a', fn: 'a', sees: '/ra', prefix: '/a' },
      { host: 'b.test', method: 'GET', path: '/b/', fn: 'b', sees: '/', prefix: '/b' },
      // Host matches case-insensitively, its port ignored; X-Forwarded-Host is the Host as sent.
      { host: 'A.Test:8071', method: 'GET', path: '/a/x', fn: 'a', sees: '/ra/x', prefix: '/a' },
      { host: 'b.test', method: 'PUT', path: '/b/z', fn: 'b', sees: '/z', prefix: '/b' },
    ];
    for (const [i, p] of plan.entries()) {
      const body = p.method === 'GET' ? undefined : `body ${i} for ${p.fn}`;
      const r = await c.send(p.method, p.path, p.host, { headers: { 'x-custom': `n${i}` }, body });
      assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      const seen = r.json;
      assert.equal(seen.fn, p.fn, `request ${i} reached ${seen.fn}`);
      assert.equal(seen.method, p.method);
      assert.equal(seen.path, p.sees);
      assert.deepEqual(seen.fields, Object.fromEntries(new URLSearchParams(p.path.split('?')[1] ?? '')));
      assert.equal(seen.body, body ?? '');
      assert.equal(seen.headers['x-custom'], `n${i}`);
      assert.equal(seen.headers['x-forwarded-host'], p.host);
      assert.equal(seen.headers['x-forwarded-prefix'], p.prefix);
      assert.equal(seen.headers['x-nuclio-target'], `conn-${p.fn}`);
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    }
    assert.equal(c.wire.connections, 1, 'every request went over one connection');
  });

  it('one host, gateways at / and /v1 on one connection: the longest prefix on a segment boundary wins', async () => {
    const c = await open();
    const plan: [string, string, string, string][] = [
      ['/v1/x', 'a', '/x', '/v1'],
      ['/v10', 'b', '/v10', '/'],
      ['/x', 'b', '/x', '/'],
      ['/v1', 'a', '/', '/v1'],
      ['/v1/', 'a', '/', '/v1'],
      ['/v1x/v1', 'b', '/v1x/v1', '/'],
      ['/v1/x?q=1', 'a', '/x', '/v1'],
    ];
    for (const [path, fn, sees, prefix] of plan) {
      const r = await c.send('GET', path, 'same.test');
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.equal(r.json.fn, fn, `${path} reached ${r.json.fn}`);
      assert.equal(r.json.path, sees, path);
      assert.equal(r.json.headers['x-forwarded-prefix'], prefix, path);
      assert.equal(r.json.headers['x-nuclio-target'], `conn-${fn}`, path);
    }
    assert.equal(c.wire.connections, 1);
  });

  it('a host or a path without a gateway on a connection that served a routed request: the 404 as today, and the connection still serves', async () => {
    const c = await open();
    assert.equal((await c.send('GET', '/a/1', 'a.test')).json.fn, 'a');
    const ran0 = reached('conn-a').length + reached('conn-b').length;
    const unknownHost = await c.send<ErrorBody>('GET', '/a/1', 'nobody.test', {
      headers: { 'x-request-id': 'lost-1' },
    });
    assertNoRoute(unknownHost, 'nobody.test', '/a/1');
    assert.equal(unknownHost.headers['x-request-id'], 'lost-1');
    assert.ok(isValidTraceparent(unknownHost.headers.traceparent));
    // A path of another host's gateway, and a path next to the host's own prefix.
    assertNoRoute(await c.send<ErrorBody>('GET', '/b/1', 'a.test'), 'a.test', '/b/1');
    assertNoRoute(await c.send<ErrorBody>('POST', '/ab?x=1', 'a.test', { body: 'lost' }), 'a.test', '/ab');
    const again = await c.send('GET', '/b/2', 'b.test');
    assert.equal(again.status, 200);
    assert.equal(again.json.fn, 'b');
    assert.equal(again.json.path, '/2');
    assert.equal(reached('conn-a').length + reached('conn-b').length, ran0 + 1, 'only the routed request ran');
    assert.equal(c.wire.connections, 1, 'the 404s kept the connection open');
  });

  it('basic auth on one connection: right, wrong, missing, right; the refused requests never reach the function', async () => {
    const c = await open();
    const steps: [string, Record<string, string>, number][] = [
      ['ok-1', creds('ann', 's3cret'), 200],
      ['wrong-1', creds('ann', 'wrong'), 401],
      ['missing-1', {}, 401],
      ['wrong-user-1', creds('bob', 's3cret'), 401],
      ['garbled-1', { authorization: 'Basic !!!' }, 401],
      ['ok-2', creds('ann', 's3cret'), 200],
    ];
    for (const [id, headers, status] of steps) {
      const r = await c.send<Seen & ErrorBody>('GET', '/p', 'basic.test', {
        headers: { ...headers, 'x-request-id': id },
      });
      assert.equal(r.status, status, `${id}: ${r.text}`);
      assert.equal(r.headers['x-request-id'], id);
      if (status === 401) assertBasicRefused(r, 'c-basic');
      else {
        assert.equal(r.json.fn, 'a');
        assert.equal(r.json.headers['x-request-id'], id);
      }
    }
    const ran = reached('conn-a');
    assert.ok(ran.includes('ok-1') && ran.includes('ok-2'));
    for (const [id, , status] of steps) if (status === 401) assert.ok(!ran.includes(id), `${id} reached the function`);
    assert.equal(c.wire.connections, 1);
  });

  it('a gateway updated (auth, path, upstream) and then deleted while a connection is open: the next request on it sees each change', async () => {
    const c = await open();
    const fresh = await open();
    const probe = () => c.send<Seen & ErrorBody>('GET', '/p/x', 'mut.test');
    await create(gatewayBody('c-mut', 'mut.test', '/', [['conn-a']]));
    let r = await probe();
    assert.equal(r.status, 200);
    assert.equal(r.json.fn, 'a');
    assert.equal(r.json.path, '/p/x');

    await update(gatewayBody('c-mut', 'mut.test', '/', [['conn-a']], basic('mo', 'pw')));
    assertBasicRefused(await probe(), 'c-mut');
    r = await c.send('GET', '/p/x', 'mut.test', { headers: creds('mo', 'pw') });
    assert.equal(r.status, 200);
    assert.equal(r.json.fn, 'a');

    await update(gatewayBody('c-mut', 'mut.test', '/q', [['conn-a']]));
    assertNoRoute(await probe(), 'mut.test', '/p/x');
    r = await c.send('GET', '/q/y', 'mut.test');
    assert.equal(r.status, 200);
    assert.equal(r.json.path, '/y');
    assert.equal(r.json.headers['x-forwarded-prefix'], '/q');

    await update(gatewayBody('c-mut', 'mut.test', '/q', [['conn-b', undefined, '/in']]));
    r = await c.send('GET', '/q/y', 'mut.test');
    assert.equal(r.status, 200);
    assert.equal(r.json.fn, 'b');
    assert.equal(r.json.path, '/in/y');
    assert.equal(r.json.headers['x-nuclio-target'], 'conn-b');

    const del = await d.api('DELETE', '/api/api_gateways', { body: { metadata: { name: 'c-mut' } } });
    assert.equal(del.status, 204, del.text);
    // A deletion has no state to wait for: wait until a new connection gets the 404 (the table applied).
    await until('the deleted gateway answers 404 on a new connection', async () => {
      const f = await fresh.client
        .request({ method: 'GET', path: '/q/y', headers: { host: 'mut.test' }, reset: true })
        .then(async (res) => (await res.body.text(), res.statusCode));
      return f === 404 ? true : undefined;
    });
    assertNoRoute(await c.send<ErrorBody>('GET', '/q/y', 'mut.test'), 'mut.test', '/q/y');
    // A connection handed to a replica gets `Connection: close` on its first answer after its route
    // changed (the client's next connection is routed afresh): at most one connection per change.
    assert.ok(c.wire.connections <= 5, `${c.wire.connections} connections for 4 changes`);
  });

  it('X-Forwarded-For and -Proto, X-Request-Id and traceparent per request on one connection', async () => {
    const c = await open();
    // A first request, so that the ones checked are later ones on the connection.
    assert.equal((await c.send('GET', '/b/first', 'b.test')).json.headers['x-forwarded-for'], '127.0.0.1');
    const xff = await c.send('GET', '/a/f', 'a.test', {
      headers: { 'x-forwarded-for': '10.1.2.3', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' },
    });
    assert.equal(xff.json.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
    // The listener speaks plain HTTP and names the Host it was sent: what the client claims is replaced.
    assert.equal(xff.json.headers['x-forwarded-proto'], 'http');
    assert.equal(xff.json.headers['x-forwarded-host'], 'a.test');
    const chain = await c.send('GET', '/b/f', 'b.test', { headers: { 'x-forwarded-for': '10.0.0.1, 10.0.0.2' } });
    assert.equal(chain.json.headers['x-forwarded-for'], '10.0.0.1, 10.0.0.2, 127.0.0.1');
    const plain = await c.send('GET', '/a/f', 'a.test');
    assert.equal(plain.json.headers['x-forwarded-for'], '127.0.0.1', 'no X-Forwarded-For left over from before');

    const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const kept = await c.send('POST', '/a/t', 'a.test', {
      headers: { 'x-request-id': 'keep-me-1', traceparent: TP, tracestate: 'vendor=1' },
      body: 'x',
    });
    assert.equal(kept.headers['x-request-id'], 'keep-me-1');
    assert.equal(kept.headers.traceparent, TP);
    assert.equal(kept.json.headers['x-request-id'], 'keep-me-1');
    assert.equal(kept.json.headers.traceparent, TP);
    assert.equal(kept.json.headers.tracestate, 'vendor=1');

    const made: { id: string; tp: string }[] = [];
    for (const host of ['a.test', 'b.test', 'a.test']) {
      const r = await c.send('GET', host === 'a.test' ? '/a/t' : '/b/t', host);
      const id = r.headers['x-request-id'];
      const tp = r.headers.traceparent;
      assert.match(id, /^[\x21-\x7e]{1,128}$/);
      assert.ok(isValidTraceparent(tp), tp);
      assert.equal(r.json.headers['x-request-id'], id, 'the function saw the id the client got');
      assert.equal(r.json.headers.traceparent, tp);
      made.push({ id, tp });
    }
    assert.equal(new Set(made.map((m) => m.id)).size, 3, 'each request got its own id');
    assert.equal(new Set(made.map((m) => m.tp.split('-')[1])).size, 3, 'each request got its own trace');
    assert.ok(
      made.every((m) => m.id !== 'keep-me-1' && !m.tp.includes('4bf92f3577b34da6')),
      'nothing carried over',
    );

    const replaced = await c.send('GET', '/a/t', 'a.test', {
      headers: { 'x-request-id': 'y'.repeat(300), traceparent: '00-nothex-00f067aa0ba902b7-01', tracestate: 'v=1' },
    });
    assert.notEqual(replaced.headers['x-request-id'], 'y'.repeat(300));
    assert.ok(isValidTraceparent(replaced.headers.traceparent));
    assert.equal(replaced.json.headers['x-request-id'], replaced.headers['x-request-id']);
    assert.equal(replaced.json.headers.traceparent, replaced.headers.traceparent);
    assert.equal(replaced.json.headers.tracestate, undefined, 'tracestate dropped with a restarted trace');
    assert.equal(c.wire.connections, 1);
  });

  it('pipelining: three requests in one write (GET, POST with a body, GET to another host) are answered in order', async () => {
    const c = await open(3);
    // Held until the three heads (and the POST's body) are in, then written to the gateway at once.
    c.wire.mode = {
      hold: (b) => (b.match(/ HTTP\/1\.1\r\n/g) ?? []).length === 3 && b.endsWith('\r\n\r\n'),
    };
    const [r1, r2, r3] = await Promise.all([
      c.send('GET', '/a/one?n=1', 'a.test', { headers: { 'x-request-id': 'pipe-1' }, pipelined: true }),
      c.send('POST', '/a/two', 'a.test', {
        headers: { 'x-request-id': 'pipe-2' },
        body: 'second body',
        pipelined: true,
      }),
      c.send('GET', '/b/three', 'b.test', { headers: { 'x-request-id': 'pipe-3' }, pipelined: true }),
    ]);
    assert.equal(c.wire.heldWrites.length, 1, 'the three requests went in one write');
    assert.equal((c.wire.heldWrites[0].match(/ HTTP\/1\.1\r\n/g) ?? []).length, 3);
    for (const [r, id] of [
      [r1, 'pipe-1'],
      [r2, 'pipe-2'],
      [r3, 'pipe-3'],
    ] as const) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-request-id'], id);
      assert.equal(r.json.headers['x-request-id'], id);
    }
    assert.deepEqual(
      [r1, r2, r3].map((r) => [r.json.fn, r.json.method, r.json.path, r.json.body, r.json.fields]),
      [
        ['a', 'GET', '/ra/one', '', { n: '1' }],
        ['a', 'POST', '/ra/two', 'second body', {}],
        ['b', 'GET', '/three', '', {}],
      ],
    );
    assert.equal(r3.json.headers['x-forwarded-host'], 'b.test');
    c.wire.mode = 'pass';
    assert.equal((await c.send('GET', '/b/four', 'b.test')).json.path, '/four');
    assert.equal(c.wire.connections, 1);
  });

  it('a slow client (heads in 3 pieces, bodies in 2) is answered right, twice on one connection; a head that never completes is closed', async () => {
    const c = await open();
    c.wire.mode = 'paced';
    for (const [host, path, fn, sees] of [
      ['a.test', '/a/slow?s=1', 'a', '/ra/slow'],
      ['b.test', '/b/slower', 'b', '/slower'],
    ]) {
      const body = `a body for ${fn} sent in two pieces`;
      const r = await c.send('POST', path, host, { headers: { 'x-request-id': `slow-${fn}` }, body });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([r.json.fn, r.json.method, r.json.path, r.json.body], [fn, 'POST', sees, body]);
      assert.equal(r.json.headers['x-request-id'], `slow-${fn}`);
    }
    assert.equal(c.wire.connections, 1);

    // A head that never completes, on a new connection and on one that was served a request before: it
    // comes a byte at a time, so the connection is never idle (a keep-alive idle timer does not close it)
    // and only the headers timeout can. The server closes both, and nothing reaches a function.
    const stall = (first: string) =>
      new Promise<{ answered: string; closed: boolean }>((resolve) => {
        const s = net.connect(gatewayPort, '127.0.0.1');
        let got = '';
        let drip: NodeJS.Timeout | undefined;
        const stallHead = (id: string) => {
          s.write(`GET /a/never HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: ${id}\r\nX-Slow: `);
          drip = setInterval(() => s.writable && s.write('a'), 250);
        };
        const timer = setTimeout(() => {
          s.destroy();
          resolve({ answered: got, closed: false });
        }, 20_000);
        s.on('data', (b) => {
          got += b.toString('latin1');
          // After the served request's answer, the second head starts and never ends.
          if (!drip && got.includes('"fn":"a"')) stallHead('never-2');
        });
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          clearInterval(drip);
          resolve({ answered: got, closed: true });
        });
        if (first) s.write(first);
        else stallHead('never-1');
      });
    const [fresh, used] = await Promise.all([
      stall(''),
      stall('GET /a/first HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: first-of-used\r\n\r\n'),
    ]);
    assert.ok(fresh.closed, 'the server closed the connection whose head never completed');
    assert.equal(fresh.answered, '');
    assert.ok(used.closed, 'the server closed the used connection whose next head never completed');
    assert.match(used.answered, /^HTTP\/1\.1 200 /);
    assert.equal(used.answered.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer only');
    const ran = reached('conn-a');
    assert.ok(ran.includes('first-of-used'));
    assert.ok(!ran.includes('never-1') && !ran.includes('never-2'));
  });

  it('canary 50%: 10 requests on one connection split exactly 5/5 (the deterministic split)', async () => {
    const c = await open();
    const fns: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await c.send('GET', `/c${i}`, 'canary.test');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.path, `/c${i}`);
      assert.equal(r.json.headers['x-nuclio-target'], `conn-${r.json.fn}`);
      fns.push(r.json.fn);
    }
    assert.equal(fns.filter((f) => f === 'a').length, 5, fns.join(''));
    assert.equal(fns.filter((f) => f === 'b').length, 5, fns.join(''));
    assert.equal(c.wire.connections, 1);
  });

  it('X-Protium-Invoke-Mode: async on a used connection gets the 202 of today, and the connection keeps serving', async () => {
    const c = await open();
    assert.equal((await c.send('GET', '/q/sync-1', 'async.test')).json.fn, 'a');
    const r = await c.send<Queued>('POST', '/q/later?x=2', 'async.test', {
      headers: { 'x-protium-invoke-mode': 'async', 'x-request-id': 'async-1' },
      body: 'queued body',
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.state, 'queued');
    assert.equal(r.headers.location, `/api/function_invocations/${r.json.id}`);
    const bad = await c.send<ErrorBody>('POST', '/q/bad', 'async.test', {
      headers: { 'x-protium-invoke-mode': 'eventually' },
      body: 'x',
    });
    assert.equal(bad.status, 400, bad.text);
    const next = await c.send('GET', '/q/sync-2', 'async.test');
    assert.equal(next.status, 200);
    assert.equal(next.json.path, '/sync-2');
    assert.equal(c.wire.connections, 1);
    // The queued request ran as the gateway would have forwarded it.
    const inv = await ended(d, r.json.id);
    assert.equal(inv.state, 'succeeded', JSON.stringify(inv));
    const seen = JSON.parse(inv.answer!.body) as Seen;
    assert.deepEqual(
      [seen.fn, seen.method, seen.path, seen.body, seen.fields],
      ['a', 'POST', '/later', 'queued body', { x: '2' }],
    );
    assert.equal(seen.headers['x-forwarded-host'], 'async.test');
    assert.equal(seen.headers['x-forwarded-prefix'], '/q');
    assert.equal(seen.headers['x-request-id'], 'async-1');
  });

  it("GET /metrics: N requests on one connection add exactly N to the gateway's 200 counter, a refused one 1 to its 401", async () => {
    const c = await open();
    const N = 7;
    const ok0 = await gatewayCount('c-metered', 'conn-b', '200');
    const refused0 = await gatewayCount('c-metered', 'conn-b', '401');
    for (let i = 0; i < N; i++) {
      const r = await c.send('GET', `/m/${i}`, 'metered.test', { headers: creds('meg', 'pw') });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.path, `/${i}`);
    }
    // Counts may arrive a little late: poll (bounded), but never accept more than N.
    await until(
      `the 200 counter at ${ok0 + N}`,
      async () => {
        const v = await gatewayCount('c-metered', 'conn-b', '200');
        assert.ok(v <= ok0 + N, `the 200 counter went past ${ok0 + N}: ${v}`);
        return v === ok0 + N ? true : undefined;
      },
      5_000,
    );
    const refused = await c.send<ErrorBody>('GET', '/m/x', 'metered.test', { headers: creds('meg', 'no') });
    assertBasicRefused(refused, 'c-metered');
    await until(
      `the 401 counter at ${refused0 + 1}`,
      async () => {
        const v = await gatewayCount('c-metered', 'conn-b', '401');
        assert.ok(v <= refused0 + 1, `the 401 counter went past ${refused0 + 1}: ${v}`);
        return v === refused0 + 1 ? true : undefined;
      },
      5_000,
    );
    assert.equal(await gatewayCount('c-metered', 'conn-b', '200'), ok0 + N);
    assert.equal(c.wire.connections, 1);
  });

  it('HEAD and Connection: close on a used connection: no body after a HEAD, and the server closes after the close', async () => {
    // Raw (undici closes a connection after a HEAD): a served request, a HEAD, then a request asking to
    // close; the answers must be framed right, and the server must close its side after the last.
    const s = net.connect(gatewayPort, '127.0.0.1');
    let text = '';
    let ended = false;
    s.on('data', (b) => (text += b.toString('latin1')));
    s.on('end', () => (ended = true));
    s.on('error', () => {});
    const wait = (what: string, done: () => boolean) => until(what, () => (done() ? true : undefined), 10_000);
    try {
      s.write('GET /b/hi HTTP/1.1\r\nHost: b.test\r\n\r\n');
      await wait('the first answer', () => text.includes('"fn":"b"') && text.endsWith('}'));
      s.write('HEAD /a/h HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: head-1\r\n\r\n');
      await wait('the answer to the HEAD', () => text.split('\r\n\r\n').length === 3);
      s.write('GET /a/bye HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
      await wait('the server closing', () => ended);
    } finally {
      s.destroy();
    }
    // [head 1, body 1 + head of the HEAD, head 3 (no body of the HEAD before it), body 3]
    const parts = text.split('\r\n\r\n');
    assert.equal(parts.length, 4, text.slice(0, 1000));
    assert.match(parts[1], /\}HTTP\/1\.1 200 [^]*x-request-id: head-1/i);
    assert.match(parts[2], /^HTTP\/1\.1 200 /);
    assert.match(parts[2], /^connection: close$/im);
    const bye = JSON.parse(parts[3]) as Seen;
    assert.deepEqual([bye.fn, bye.method, bye.path], ['a', 'GET', '/ra/bye']);
    const ran = reached('conn-a');
    assert.ok(ran.includes('head-1'), 'the HEAD reached the function');
  });

  it('the upstream function redeployed while a connection is open: the next requests reach the new code, never a wrong answer or a 5xx', async () => {
    const c = await open();
    const first = await c.send('GET', '/r1', 'v.test');
    assert.equal(first.status, 200);
    assert.deepEqual([first.json.fn, first.json.version], ['v', 1]);
    const res = await d.api('PUT', '/api/functions/conn-v', {
      body: fnBody('conn-v', 'v', 2, { minReplicas: 0, maxReplicas: 1 }),
    });
    assert.equal(res.status, 202, res.text);
    const fn = await waitFor(d, 'conn-v', (f) => f.status?.state === 'ready' || f.status?.state === 'error');
    assert.equal(fn.status.state, 'ready', fn.status.message);
    let connections = 0;
    for (let i = 0; i < 5; i++) {
      const r = await c.sendOrRetry(`/r2-${i}`, 'v.test');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([r.json.fn, r.json.version, r.json.path], ['v', 2, `/r2-${i}`]);
      // The connection may close once after the redeploy (an idle one closed by the old replica, or the
      // first answer after it saying `Connection: close`); from then on one connection serves.
      if (i <= 1) connections = c.wire.connections;
      else assert.equal(c.wire.connections, connections, `request ${i} needed a new connection`);
    }
  });

  it('the upstream function scaled to zero while a connection is open: the next request wakes it and gets 200', async () => {
    const c = await open();
    assert.equal((await c.send('GET', '/z1', 'v.test')).status, 200);
    const parked = await d.api('PATCH', '/api/functions/conn-v', {
      headers: { 'x-nuclio-wait-function-action': 'true' },
      body: { desiredState: 'scaledToZero' },
    });
    assert.ok(parked.status < 300, parked.text);
    assert.equal((await d.api<FunctionRecord>('GET', '/api/functions/conn-v')).json.status.state, 'scaledToZero');
    const woken = await c.sendOrRetry('/z2?w=1', 'v.test');
    assert.equal(woken.status, 200, woken.text);
    assert.deepEqual([woken.json.fn, woken.json.path, woken.json.fields], ['v', '/z2', { w: '1' }]);
    const next = await c.send('GET', '/z3', 'v.test');
    assert.equal(next.status, 200);
    assert.equal(next.json.path, '/z3');
    assert.equal(next.json.headers['x-forwarded-host'], 'v.test');
  });
});
