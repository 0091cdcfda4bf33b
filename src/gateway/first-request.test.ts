import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { MAX_HEAD_BYTES, readFirstRequest, resumeReading, type FirstRequest, type NoHead } from './first-request.js';

/** A listener whose accepted sockets go to `readFirstRequest`, and a client connected to it. */
describe('readFirstRequest', () => {
  let server: net.Server;
  let port = 0;
  let accepted: (s: net.Socket) => void = () => {};
  before(async () => {
    server = net.createServer((s) => accepted(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  /** Connects, sends `pieces` (a pause between them), and reads the first request on the server side. */
  async function read(pieces: (string | Buffer)[], timeoutMs = 2000, pauseMs = 20) {
    const got = new Promise<{ result: FirstRequest | NoHead; socket: net.Socket }>((resolve) => {
      accepted = (s) => void readFirstRequest(s, timeoutMs).then((result) => resolve({ result, socket: s }));
    });
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    for (const p of pieces) {
      client.write(p);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    const { result, socket } = await got;
    return { result, socket, client };
  }

  it('reads a head sent in pieces, and keeps every byte read, the body that followed included', async () => {
    const head = 'POST /a/b?c=1 HTTP/1.1\r\nHost: x.test\r\nContent-Length: 5\r\n\r\n';
    const { result, socket, client } = await read([head.slice(0, 7), head.slice(7, 30), head.slice(30) + 'he']);
    assert.ok(!('reason' in result));
    assert.equal(result.method, 'POST');
    assert.equal(result.url, '/a/b?c=1');
    assert.equal(result.headers.host, 'x.test');
    assert.equal(result.bytes.toString(), `${head}he`);
    // Reading stopped: what the client sends next stays in the kernel for the connection's next owner (a
    // replica, given the socket), not read into this process's buffer — where it would be lost.
    client.write('llo');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(socket.readableLength, 0);
    resumeReading(socket);
    const rest: Buffer[] = [];
    socket.on('data', (c: Buffer) => rest.push(c));
    socket.resume();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(Buffer.concat(rest).toString(), 'llo');
    client.destroy();
    socket.destroy();
  });

  it('says "invalid", with the bytes, for what is not a request', async () => {
    const { result, client, socket } = await read(['NOT HTTP AT ALL\r\n\r\n']);
    assert.ok('reason' in result && result.reason === 'invalid');
    assert.equal(result.bytes.toString(), 'NOT HTTP AT ALL\r\n\r\n');
    client.destroy();
    socket.destroy();
  });

  it('says "invalid" for a head beyond the bound, without reading much past it', async () => {
    const big = `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES + 1000)}\r\n\r\n`;
    const { result, client, socket } = await read([big]);
    assert.ok('reason' in result && result.reason === 'invalid');
    assert.ok(result.bytes.length <= big.length);
    client.destroy();
    socket.destroy();
  });

  it('says "timeout" for a head that does not come in time', async () => {
    const { result, client, socket } = await read(['GET / HTTP/1.1\r\nHost: x'], 150);
    assert.deepEqual(result, { reason: 'timeout' });
    client.destroy();
    socket.destroy();
  });

  it('says "closed" for a client that leaves before its head is complete', async () => {
    const got = new Promise<FirstRequest | NoHead>((resolve) => {
      accepted = (s) => void readFirstRequest(s, 2000).then(resolve);
    });
    const client = net.connect(port, '127.0.0.1', () => client.end('GET / HT'));
    assert.deepEqual(await got, { reason: 'closed' });
  });
});
