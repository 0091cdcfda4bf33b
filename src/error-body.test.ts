import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { refuseSocket, renderError } from './error-body.js';
import { apiError, fieldError } from './errors.js';
import { StoreError } from './store/store.js';

describe('renderError() (error-body.ts)', () => {
  const withCode = (code: string, props: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${code} happened`), { code, ...props });
  // thrown value → status, code, message, unexpected
  const table: [string, unknown, number, string, string, boolean][] = [
    [
      'an error of the catalogue',
      apiError('FUNCTION_NOT_FOUND'),
      404,
      'FUNCTION_NOT_FOUND',
      'Function not found',
      false,
    ],
    [
      'store: not found',
      new StoreError('NOT_FOUND', { kind: 'apiGateway', namespace: 'n', name: 'g' }),
      404,
      'RESOURCE_NOT_FOUND',
      'Api-Gateway not found',
      false,
    ],
    [
      'store: exists',
      new StoreError('ALREADY_EXISTS', { kind: 'function', namespace: 'n', name: 'f' }),
      409,
      'RESOURCE_EXISTS',
      'Function "f" already exists in namespace "n"',
      false,
    ],
    [
      'store: stale version',
      new StoreError('VERSION_CONFLICT', { kind: 'project', namespace: 'n', name: 'p' }, { given: '3', stored: '5' }),
      409,
      'RESOURCE_VERSION_STALE',
      'Project resource version is stale (given 3, stored 5)',
      false,
    ],
    [
      'store: function event',
      new StoreError('NOT_FOUND', { kind: 'functionEvent', namespace: 'n', name: 'e' }),
      404,
      'RESOURCE_NOT_FOUND',
      'Function event not found',
      false,
    ],
    [
      'store: no name',
      new StoreError('INVALID_RESOURCE', { kind: 'project', namespace: 'n', name: '' }),
      400,
      'INVALID_BODY',
      'A resource needs metadata.name and metadata.namespace',
      false,
    ],
    [
      'Fastify: body too large',
      withCode('FST_ERR_CTP_BODY_TOO_LARGE', { statusCode: 413 }),
      413,
      'BODY_TOO_LARGE',
      'Request body is too large (the limit is 10 MiB)',
      false,
    ],
    [
      'Fastify: empty JSON body',
      withCode('FST_ERR_CTP_EMPTY_JSON_BODY', { statusCode: 400 }),
      400,
      'INVALID_JSON',
      'Failed to parse JSON body: the body is empty',
      false,
    ],
    [
      'Fastify: bad content length',
      withCode('FST_ERR_CTP_INVALID_CONTENT_LENGTH', { statusCode: 400 }),
      400,
      'REQUEST_REFUSED',
      'FST_ERR_CTP_INVALID_CONTENT_LENGTH happened',
      false,
    ],
    [
      'another 4xx with a status',
      Object.assign(new Error('Range Not Satisfiable'), { statusCode: 416 }),
      416,
      'REQUEST_REFUSED',
      'Range Not Satisfiable',
      false,
    ],
    [
      'a full disk',
      withCode('ENOSPC'),
      507,
      'DATA_DIR_FULL',
      'The data directory is full: free some space (nothing was changed)',
      true,
    ],
    [
      'SQLite full',
      withCode('SQLITE_FULL'),
      507,
      'DATA_DIR_FULL',
      'The data directory is full: free some space (nothing was changed)',
      true,
    ],
    ['a bug', new TypeError('x is undefined'), 500, 'INTERNAL', 'Internal error: x is undefined', true],
    [
      'a 5xx with a status is still a bug',
      Object.assign(new Error('boom'), { statusCode: 503 }),
      500,
      'INTERNAL',
      'Internal error: boom',
      true,
    ],
    ['not an Error', 'a string', 500, 'INTERNAL', 'Internal error: a string', true],
  ];
  for (const [what, thrown, status, code, message, unexpected] of table) {
    it(`${what} → ${status} ${code}`, () => {
      const a = renderError(thrown);
      assert.equal(a.status, status);
      assert.equal(a.error.code, code);
      assert.equal(a.unexpected, unexpected);
      assert.deepEqual(JSON.parse(a.body), { error: message, code });
      assert.ok(a.body.endsWith('}\n'));
      assert.equal(a.headers['content-type'], 'application/json');
      assert.equal(a.headers['x-protium-internal'], 'true');
    });
  }

  it('a field error has its field between error and code; a challenge is a header', () => {
    assert.equal(
      renderError(fieldError('spec.host', 'bad host')).body,
      '{"error":"bad host","field":"spec.host","code":"INVALID_FIELD"}\n',
    );
    assert.equal(renderError(apiError('UNAUTHORIZED')).headers['www-authenticate'], 'Bearer realm="protium"');
  });

  it('refuseSocket() writes a whole HTTP answer with the same body, and closes the connection', async () => {
    const server = net.createServer((socket) => refuseSocket(socket, apiError('FUNCTION_DISABLED', 'f')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const text = await new Promise<string>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        let got = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => {
          got += d;
        });
        c.on('end', () => resolve(got));
        c.on('error', reject);
      });
      const [head, body] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      assert.equal(lines[0], 'HTTP/1.1 503 Service Unavailable');
      assert.ok(lines.includes('content-type: application/json'));
      assert.ok(lines.includes('x-protium-internal: true'));
      assert.ok(lines.includes('connection: close'));
      assert.ok(lines.includes(`content-length: ${Buffer.byteLength(body)}`));
      assert.deepEqual(JSON.parse(body), {
        error: 'Function f is disabled (spec.disable)',
        code: 'FUNCTION_DISABLED',
      });
    } finally {
      server.close();
    }
  });

  it('refuseSocket() lets go of a client that never closes, and of one that keeps trickling bytes', async () => {
    const refused: net.Socket[] = [];
    const server = net.createServer((socket) => {
      refused.push(socket);
      refuseSocket(socket, apiError('FUNCTION_BUSY', 'f'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    // allowHalfOpen: the clients read the answer and its end but never close their side.
    const silent = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const trickler = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const drip = setInterval(() => trickler.writable && trickler.write('x'), 100);
    for (const c of [silent, trickler]) c.on('error', () => {}).resume();
    try {
      const deadline = Date.now() + 10_000;
      while ((refused.length < 2 || refused.some((s) => !s.destroyed)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(refused.length, 2);
      assert.deepEqual(
        refused.map((s) => s.destroyed),
        [true, true],
        'the server still holds a refused connection',
      );
    } finally {
      clearInterval(drip);
      silent.destroy();
      trickler.destroy();
      server.close();
    }
  });
});
