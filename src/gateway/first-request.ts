/**
 * Reads the head of a connection's first request without answering it, so that the gateway can decide
 * where the connection goes (to a replica, with every byte read so far, or to its own HTTP server) before
 * anything consumes it. The head is parsed by Node's own HTTP parser: the bytes are fed to a server that
 * never listens, through a stream that discards what it would write. Reading stops the moment the head
 * is complete, so no byte of the client's is read that the next owner does not get.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export interface FirstRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Every byte read from the connection: the head, and whatever followed it in the same reads. */
  bytes: Buffer;
}

/** Why no head came: the client closed, was too slow, or sent something that is not a request's head. */
export type NoHead = { reason: 'closed' | 'timeout' } | { reason: 'invalid'; bytes: Buffer };

/** The parser's own bound on a head, as the gateway's server has it. */
export const MAX_HEAD_BYTES = 32 * 1024;

/** A stream that feeds bytes to the parsing server and discards its answers (an error's 400). */
class Probe extends Duplex {
  onHead?: (req: http.IncomingMessage) => void;
  onInvalid?: () => void;
  override _read(): void {}
  override _write(_chunk: unknown, _enc: BufferEncoding, cb: () => void): void {
    cb();
  }
}

const parser = http.createServer({ maxHeaderSize: MAX_HEAD_BYTES, requestTimeout: 0, keepAliveTimeout: 0 });
parser.on('request', (req: http.IncomingMessage) => (req.socket as unknown as Probe).onHead?.(req));
parser.on('clientError', (_err, socket) => (socket as unknown as Probe).onInvalid?.());

type Handle = { reading?: boolean; readStop?: () => number; readStart?: () => number };
const internals = (socket: Socket) => socket as unknown as { _handle?: Handle; _read: () => void };

/**
 * Stops reading a socket that was read in flowing mode, for good: pause() alone keeps the kernel reads
 * going until the buffer fills, and the stream's own read-ahead (scheduled by the last chunk) would start
 * them again, so the socket's `_read` is disabled too until `resumeReading`.
 */
export function stopReading(socket: Socket): void {
  socket.pause();
  const s = internals(socket);
  s._read = () => {};
  if (s._handle?.readStop) {
    s._handle.reading = false;
    s._handle.readStop();
  }
}

/**
 * Undoes `stopReading` for the socket's next owner in this process: the kernel reads start again (a
 * disabled read may have left the stream waiting on one that never ran).
 */
export function resumeReading(socket: Socket): void {
  const s = internals(socket);
  delete (s as { _read?: unknown })._read;
  if (s._handle?.readStart && !s._handle.reading) {
    s._handle.reading = true;
    s._handle.readStart();
  }
}

/** The head of `socket`'s first request, or why there is none, within `timeoutMs`. */
export function readFirstRequest(socket: Socket, timeoutMs: number): Promise<FirstRequest | NoHead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const probe = new Probe();
    let done = false;
    const finish = (result: FirstRequest | NoHead) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      stopReading(socket);
      probe.onHead = probe.onInvalid = undefined;
      probe.destroy();
      resolve(result);
    };
    const bytes = () => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      // The parser runs synchronously inside push: onHead or onInvalid may have finished already.
      probe.push(chunk);
    };
    const onClose = () => finish({ reason: 'closed' });
    probe.onHead = (req) => {
      req.on('error', () => {});
      finish({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, bytes: bytes() });
    };
    probe.onInvalid = () => finish({ reason: 'invalid', bytes: bytes() });
    probe.on('error', () => {});
    const timer = setTimeout(() => finish({ reason: 'timeout' }), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('end', onClose);
    parser.emit('connection', probe);
  });
}
