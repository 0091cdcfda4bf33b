import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadOf, readHealth } from './health-port.js';

/** A health port that answers each path as the test says (what a hostile replica could do). */
function healthPort(answer: (path: string, res: http.ServerResponse) => void): Promise<http.Server> {
  const server = http.createServer((req, res) => answer(req.url ?? '/', res));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('readHealth', () => {
  const servers: http.Server[] = [];
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  const serve = async (answer: (path: string, res: http.ServerResponse) => void) => {
    const s = await healthPort(answer);
    servers.push(s);
    return (s.address() as AddressInfo).port;
  };

  it('parses a 200 JSON answer, and answers undefined for any other status or for text that is not JSON', async () => {
    const port = await serve((path, res) => {
      if (path === '/stats') return res.end('{"boot":"b","triggers":[]}');
      if (path === '/load') return res.end('not json');
      res.writeHead(404).end('{}');
    });
    assert.deepEqual(await readHealth('127.0.0.1', '/stats', port), { boot: 'b', triggers: [] });
    assert.equal(await readHealth('127.0.0.1', '/load', port), undefined);
    const off = await serve((_p, res) => res.writeHead(404).end('{"error":"metrics are off"}'));
    assert.equal(await readHealth('127.0.0.1', '/stats', off), undefined);
  });

  it('gives up on an answer over 256 KB instead of buffering it', async () => {
    const port = await serve((_p, res) => {
      res.writeHead(200);
      // Valid JSON once whole, so only the bound can refuse it.
      res.end(JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }));
    });
    assert.equal(await readHealth('127.0.0.1', '/stats', port), undefined);
  });

  it('gives up on an answer trickled a byte at a time, within about two seconds', async () => {
    const timers: NodeJS.Timeout[] = [];
    const port = await serve((_p, res) => {
      res.writeHead(200);
      res.write('{');
      // Each byte comes within the socket's idle timeout: only a deadline on the whole answer ends it.
      timers.push(setInterval(() => res.write(' '), 300));
    });
    const t0 = Date.now();
    assert.equal(await readHealth('127.0.0.1', '/stats', port), undefined);
    assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);
    for (const t of timers) clearInterval(t);
  });

  it('answers undefined when nothing listens', async () => {
    const port = await serve(() => {});
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    assert.equal(await readHealth('127.0.0.1', '/load', port), undefined);
  });
});

describe('loadOf', () => {
  const cases: [unknown, ReturnType<typeof loadOf>][] = [
    [
      { inflight: 2, handled: 9 },
      { inflight: 2, handled: 9 },
    ],
    [
      { inflight: 0, handled: 0, extra: true },
      { inflight: 0, handled: 0 },
    ],
    [{ inflight: '2', handled: 9 }, undefined],
    [{ inflight: 2 }, undefined],
    [null, undefined],
    [undefined, undefined],
    ['{"inflight":1,"handled":1}', undefined],
  ];
  for (const [answer, want] of cases)
    it(`${JSON.stringify(answer)} → ${JSON.stringify(want)}`, () => assert.deepEqual(loadOf(answer), want));
});
