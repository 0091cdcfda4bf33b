/**
 * Bounds on the connections of an HTTP server, so that slow clients cannot starve the others (slowloris:
 * thousands of connections that send their headers or body a byte at a time, or nothing at all).
 *
 * - At most `maxConnections` are open at once. A connection beyond that takes the place of one that is
 *   waiting on its client — idle between requests, or still sending its request —, taken from the client
 *   address that holds the most connections, the one of those that has waited longest; it is closed. So
 *   one address holding hundreds of slow connections cannot keep a client at another address out: the
 *   newcomer takes one of the hoarder's places. A newcomer whose own address would then hold more
 *   connections than the one it takes from is refused instead (closed), and so is one when every
 *   connection is being answered: a request that arrived whole is never cut for a newcomer. Behind one
 *   proxy address this is simply "the one waiting longest goes".
 * - A request's headers must arrive within `headersTimeoutMs` of the connection (or of the end of the
 *   previous answer, on a keep-alive connection), and the whole request, body included, within
 *   `requestTimeoutMs`; a connection that takes longer is closed.
 *
 * It works on any http.Server, also one fed connections by `server.emit('connection', socket)` (a
 * replica's http trigger gets its sockets from the dashboard over IPC), which Node's own
 * headersTimeout/requestTimeout checks do not cover. The choice of whom to close is pure (`pickVictim`,
 * `isOverdue`) and unit-tested. Closing means destroying the socket without an answer: the client is
 * either too slow to read one or is being refused under load.
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

/** A connection as the eviction policy sees it. */
export interface PeerState extends ConnectionState {
  /** The client's address. */
  address: string;
}

/** True when a connection has waited on its client longer than the limits allow. */
export function isOverdue(c: ConnectionState, now: number, limits: ConnectionLimits): boolean {
  if (c.phase === 'answering') return false;
  return now - c.since > (c.phase === 'headers' ? limits.headersTimeoutMs : limits.requestTimeoutMs);
}

/**
 * The connection a newcomer from `address` replaces when the listener is full, or undefined when the
 * newcomer is to be refused: among connections waiting on their client, one of the address that holds
 * the most connections (`perAddress`), the oldest of those; refused when none is waiting, or when the
 * newcomer's address would hold more connections than the victim's.
 */
export function pickVictim<T extends PeerState>(
  connections: Iterable<T>,
  perAddress: ReadonlyMap<string, number>,
  address: string,
): T | undefined {
  let victim: T | undefined;
  let weight = -1;
  for (const c of connections) {
    if (c.phase === 'answering') continue;
    const w = perAddress.get(c.address) ?? 0;
    if (w > weight || (w === weight && c.since < victim!.since)) {
      victim = c;
      weight = w;
    }
  }
  if (!victim) return undefined;
  if (victim.address !== address && (perAddress.get(address) ?? 0) + 1 > weight) return undefined;
  return victim;
}

/**
 * The sockets a process holds for one listener, counted per client address, and the admission rule: below
 * `max` a newcomer is admitted; at `max` it takes the place `pickVictim` gives it, or is refused.
 * `phaseOf` says whether a socket waits on its client (and may make room) or is being answered.
 */
export class SocketBudget {
  private readonly entries = new Map<Socket, { address: string; since: number }>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly phaseOf: (socket: Socket) => Phase,
  ) {}

  /**
   * Admits `socket` (held until it closes or is forgotten) and returns true; or returns false, and the
   * caller refuses it. Making room calls `evict` with the socket it replaces (already forgotten).
   */
  admit(socket: Socket, evict: (victim: Socket) => void): boolean {
    if (this.entries.has(socket)) return true;
    const address = socket.remoteAddress ?? '';
    if (this.entries.size >= this.max) {
      const peers = [...this.entries].map(([sock, e]) => ({
        sock,
        address: e.address,
        since: e.since,
        phase: this.phaseOf(sock),
      }));
      const victim = pickVictim(peers, this.perAddress, address);
      if (!victim) return false;
      this.forget(victim.sock);
      evict(victim.sock);
    }
    this.entries.set(socket, { address, since: Date.now() });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => this.forget(socket));
    return true;
  }

  /** Starts a socket's wait on its client afresh (a keep-alive connection after an answer). */
  restart(socket: Socket): void {
    const e = this.entries.get(socket);
    if (e) e.since = Date.now();
  }

  /** Sockets that have waited on their client longer than `limits` allow. */
  overdue(now: number, limits: ConnectionLimits): Socket[] {
    const out: Socket[] = [];
    for (const [sock, e] of this.entries)
      if (isOverdue({ phase: this.phaseOf(sock), since: e.since }, now, limits)) out.push(sock);
    return out;
  }

  /** Stops counting a socket. */
  forget(socket: Socket): void {
    const e = this.entries.get(socket);
    if (!e) return;
    this.entries.delete(socket);
    const n = (this.perAddress.get(e.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(e.address, n);
    else this.perAddress.delete(e.address);
  }
}

/** Applies `limits` to every connection of `server` (see the module comment). */
export class ConnectionGuard {
  /** The request each connection is on, while it is on one. */
  private readonly requests = new Map<Socket, http.IncomingMessage>();
  private readonly budget: SocketBudget;
  private readonly timer: NodeJS.Timeout;

  constructor(
    server: http.Server,
    private readonly limits: ConnectionLimits,
  ) {
    this.budget = new SocketBudget(limits.maxConnections, (socket) => {
      const req = this.requests.get(socket);
      if (!req) return 'headers';
      return req.complete ? 'answering' : 'body';
    });
    // Ahead of http's own listener: a socket closed here is never parsed.
    server.prependListener('connection', (socket: Socket) => {
      if (!this.budget.admit(socket, (victim) => victim.destroy())) socket.destroy();
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      this.requests.set(socket, req);
      const done = () => {
        if (this.requests.get(socket) !== req) return;
        this.requests.delete(socket);
        this.budget.restart(socket);
      };
      res.once('finish', done);
      res.once('close', done);
    });
    const every = Math.max(
      50,
      Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
    );
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
    server.once('close', () => this.stop());
  }

  /** Stops the timeout checks (the server is closing). */
  stop(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    for (const socket of this.budget.overdue(Date.now(), this.limits)) {
      this.budget.forget(socket);
      this.requests.delete(socket);
      socket.destroy();
    }
  }
}
