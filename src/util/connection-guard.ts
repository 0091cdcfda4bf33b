/**
 * Bounds on the connections of an HTTP server, so that slow clients cannot starve the others (slowloris:
 * thousands of connections that send their headers or body a byte at a time, or nothing at all).
 *
 * - At most `maxConnections` are open at once. A connection beyond that takes the place of the open
 *   connection that has waited longest on its client — one idle between requests, or still sending its
 *   request — which is closed. Connections whose request has arrived whole and is being answered are
 *   never closed for a newcomer; when every connection is one of those, the newcomer is refused (closed).
 * - A request's headers must arrive within `headersTimeoutMs` of the connection (or of the end of the
 *   previous answer, on a keep-alive connection), and the whole request, body included, within
 *   `requestTimeoutMs`; a connection that takes longer is closed.
 *
 * It works on any http.Server, also one fed connections by `server.emit('connection', socket)` (a
 * replica's http trigger gets its sockets from the dashboard over IPC), which Node's own
 * headersTimeout/requestTimeout checks do not cover. The choice of whom to close is pure (`pickVictim`,
 * `isOverdue`) and unit-tested.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Connections open at once, per listener. */
  maxConnections: number;
  /** How long a client may take to send a request's headers. */
  headersTimeoutMs: number;
  /** How long a client may take to send a whole request, headers and body. */
  requestTimeoutMs: number;
}

/** What a connection is doing: waiting on its client (for headers, or for the body), or being answered. */
export type Phase = 'headers' | 'body' | 'answering';

export interface ConnectionState {
  phase: Phase;
  /** When the connection started waiting on its client for the current request (ms). */
  since: number;
}

/** True when a connection has waited on its client longer than the limits allow. */
export function isOverdue(c: ConnectionState, now: number, limits: ConnectionLimits): boolean {
  if (c.phase === 'answering') return false;
  return now - c.since > (c.phase === 'headers' ? limits.headersTimeoutMs : limits.requestTimeoutMs);
}

/** The connection a newcomer replaces: the one that has waited longest on its client; none if all are being answered. */
export function pickVictim<T extends ConnectionState>(connections: Iterable<T>): T | undefined {
  let victim: T | undefined;
  for (const c of connections) {
    if (c.phase === 'answering') continue;
    if (!victim || c.since < victim.since) victim = c;
  }
  return victim;
}

interface Tracked {
  socket: Socket;
  since: number;
  request?: http.IncomingMessage;
}

function phaseOf(t: Tracked): Phase {
  if (!t.request) return 'headers';
  return t.request.complete ? 'answering' : 'body';
}

/** Counts of connections the guard closed, by reason. */
export interface GuardStats {
  /** Closed to make room for a newcomer. */
  evicted: number;
  /** Newcomers closed because every connection was being answered. */
  refused: number;
  /** Closed for taking longer than the timeouts. */
  timedOut: number;
}

export class ConnectionGuard {
  private readonly open = new Map<Socket, Tracked>();
  private readonly timer: NodeJS.Timeout;
  readonly stats: GuardStats = { evicted: 0, refused: 0, timedOut: 0 };

  constructor(server: http.Server, private readonly limits: ConnectionLimits) {
    // Ahead of http's own listener: a socket closed here is never parsed.
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const t = this.open.get(req.socket);
      if (!t) return;
      t.request = req;
      const done = () => {
        if (t.request !== req) return;
        t.request = undefined;
        t.since = Date.now();
      };
      res.once('finish', done);
      res.once('close', done);
    });
    const every = Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
    server.once('close', () => this.stop());
  }

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  /** Stops the timeout checks (the server is closing). */
  stop(): void {
    clearInterval(this.timer);
  }

  private admit(socket: Socket): void {
    if (this.open.size >= this.limits.maxConnections) {
      const victim = pickVictim([...this.open.values()].map((t) => ({ t, phase: phaseOf(t), since: t.since })));
      if (!victim) {
        this.stats.refused++;
        socket.destroy();
        return;
      }
      this.stats.evicted++;
      this.drop(victim.t);
    }
    const t: Tracked = { socket, since: Date.now() };
    this.open.set(socket, t);
    socket.once('close', () => this.open.delete(socket));
  }

  private drop(t: Tracked): void {
    this.open.delete(t.socket);
    t.socket.destroy();
  }

  private sweep(): void {
    const now = Date.now();
    for (const t of this.open.values()) {
      if (isOverdue({ phase: phaseOf(t), since: t.since }, now, this.limits)) {
        this.stats.timedOut++;
        this.drop(t);
      }
    }
  }
}
