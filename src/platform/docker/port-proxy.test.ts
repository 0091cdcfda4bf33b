import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { silentLogger } from '../../log.js';
import { PortProxy, type ProxyTarget } from './port-proxy.js';

/** A real HTTP server standing in for a replica's container: answers its name. */
async function replica(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => res.end(`${name} ${body}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

class Target implements ProxyTarget {
  address = '127.0.0.1';
  ready = true;
  touched = 0;
  refusals = 0;
  constructor(public port: number) {}
  touch(): void {
    this.touched++;
  }
  refused(): void {
    this.refusals++;
    this.ready = false;
  }
}

/** One request on a connection of its own; `halfClose` sends the request then ends the sending side. */
function ask(port: number, opts: { halfClose?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let data = '';
    s.on('data', (c) => {
      data += c.toString();
    });
    s.on('end', () => {
      s.end();
      resolve(data.split('\r\n\r\n').slice(1).join('\r\n\r\n') || data);
    });
    s.on('error', reject);
    s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
    if (opts.halfClose) s.end();
  });
}

describe("PortProxy (a function's port on the docker platform)", () => {
  const closers: (() => void)[] = [];
  after(() => {
    for (const c of closers) c();
  });

  async function proxy(
    targets: Target[],
    opts: { holdTimeoutMs?: number; refusal?: () => string | undefined; onHeld?: () => void } = {},
  ): Promise<{ p: PortProxy; port: number }> {
    const p = new PortProxy({
      name: 'fn',
      maxConnections: 16,
      holdTimeoutMs: opts.holdTimeoutMs ?? 5_000,
      targets: () => targets,
      refusal: opts.refusal ?? (() => undefined),
      onHeld: opts.onHeld ?? (() => {}),
      log: silentLogger(),
    });
    await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', r));
    closers.push(() => p.close('done'));
    return { p, port: (p.server.address() as net.AddressInfo).port };
  }

  it('forwards each connection to the next ready replica, round-robin, and passes the bytes both ways', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    closers.push(
      () => a.server.close(),
      () => b.server.close(),
    );
    const targets = [new Target(a.port), new Target(b.port)];
    const { port } = await proxy(targets);
    const answers = [await ask(port), await ask(port), await ask(port), await ask(port)];
    assert.deepEqual(answers.sort(), ['a hi', 'a hi', 'b hi', 'b hi']);
    assert.deepEqual(
      targets.map((t) => t.touched),
      [2, 2],
    );
  });

  it('holds a connection while no replica is ready (and says so), and forwards it once one is', async () => {
    const a = await replica('late');
    closers.push(() => a.server.close());
    const t = new Target(a.port);
    t.ready = false;
    let held = 0;
    const { p, port } = await proxy([t], { onHeld: () => held++ });
    const answer = ask(port);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(held, 1);
    assert.equal(p.heldCount, 1);
    t.ready = true;
    p.flush();
    assert.equal(await answer, 'late hi');
    assert.equal(p.heldCount, 0);
  });

  it('refuses a held connection with a 503 after the hold timeout, and at once when the function refuses', async () => {
    const t = new Target(1);
    t.ready = false;
    const { p, port } = await proxy([t], { holdTimeoutMs: 50 });
    const answer = ask(port);
    await new Promise((r) => setTimeout(r, 120));
    p.expire();
    assert.match(await answer, /"error":"Function fn has no ready replica/);
    const off = await proxy([new Target(1)], { refusal: () => 'Function fn is disabled (spec.disable)' });
    assert.match(await ask(off.port), /disabled/);
  });

  it('a replica that refuses the connection (it just died) loses it to the next one, unread', async () => {
    const closed = await replica('gone');
    const deadPort = closed.port;
    await new Promise((r) => closed.server.close(r));
    const alive = await replica('alive');
    closers.push(() => alive.server.close());
    const dead = new Target(deadPort);
    const targets = [dead, new Target(alive.port)];
    const { port } = await proxy(targets);
    const answers = await Promise.all([ask(port), ask(port)]);
    assert.deepEqual(answers, ['alive hi', 'alive hi']);
    assert.ok(dead.refusals >= 1, 'the dead one was told');
  });

  it('a client that half-closes after its request still gets the whole answer', async () => {
    const a = await replica('half');
    closers.push(() => a.server.close());
    const { port } = await proxy([new Target(a.port)]);
    assert.equal(await ask(port, { halfClose: true }), 'half hi');
  });
});
