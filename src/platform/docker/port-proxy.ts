/**
 * A function's port on the docker platform: the dashboard listens on it and forwards each connection to a
 * ready replica's container address (round-robin; a keep-alive connection stays with its replica), so
 * the port outlives replicas — it stays stable across updates and restarts, and a function scaled to zero
 * keeps it: a connection arriving then is held (nothing is read from it) while a replica wakes, and
 * forwarded once one is ready, or refused with a 503 after the hold timeout.
 *
 * The local platform hands the socket itself to the replica process; a container is another network
 * namespace, so here the bytes pass through the dashboard (node's net, piped both ways). A replica that
 * refuses the connection (it just died) gets no second chance: the connection goes back to the queue for
 * the next ready replica, untouched.
 *
 * The connections held for a replica are bounded by maxConnections, as on every listener (a newcomer
 * takes the place of the longest-waiting one of the address holding most: util/connection-guard.ts).
 */
import net from 'node:net';
import type { Logger } from '../../log.js';
import { SocketBudget } from '../../util/connection-guard.js';

/** Where a connection may go. */
export interface ProxyTarget {
  /** host of the replica's container (its address on the engine's network). */
  readonly address?: string;
  readonly port: number;
  /** Ready to take connections. */
  readonly ready: boolean;
  /** A connection was forwarded to it (activity, for idle detection). */
  touch(): void;
  /** It refused a connection: it is probably gone (its exit is noticed a moment later). */
  refused(): void;
}

export interface PortProxyOptions {
  /** The function's name, for the answers to refused connections. */
  name: string;
  maxConnections: number;
  holdTimeoutMs: number;
  /** The replicas connections go to, round-robin over the ready ones. */
  targets: () => readonly ProxyTarget[];
  /** Why a connection is refused at once (the function is disabled); undefined: take it. */
  refusal: () => string | undefined;
  /** A connection is held for lack of a ready replica (the function wakes a function scaled to zero). */
  onHeld: () => void;
  log: Logger;
}

interface Held {
  socket: net.Socket;
  since: number;
}

/** How long a connection may stay half-closed (one side done, the other not) before it is cut. */
const LINGER_MS = 10_000;

/** A raw HTTP answer for a connection whose request was never read. */
export function refuse(socket: net.Socket, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const reason = status === 503 ? 'Service Unavailable' : status === 502 ? 'Bad Gateway' : 'Error';
  socket.on('error', () => {});
  socket.resume();
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ` +
      `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class PortProxy {
  readonly server: net.Server;
  private held: Held[] = [];
  private rr = 0;
  private readonly holding: SocketBudget;
  /** Connections forwarded and open, for close(). */
  private readonly open = new Set<net.Socket>();

  constructor(private readonly opts: PortProxyOptions) {
    this.holding = new SocketBudget(opts.maxConnections, () => 'headers');
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (s) =>
      this.dispatch(s),
    );
    // Errors while binding are port-pool's to handle (it moves to the next port).
    this.server.on('error', (e) => {
      if (this.server.listening) opts.log.error({ err: e }, 'function port error');
    });
  }

  /** Connections waiting for a replica. */
  get heldCount(): number {
    return this.held.length;
  }

  private dispatch(socket: net.Socket): void {
    socket.on('error', () => {});
    const why = this.opts.refusal();
    if (why) return refuse(socket, 503, why);
    if (this.forward(socket)) return;
    const admitted = this.holding.admit(socket, (victim) => {
      this.held = this.held.filter((h) => h.socket !== victim);
      refuse(victim, 503, `Function ${this.opts.name} has too many connections waiting for a replica; try again`);
    });
    if (!admitted)
      return refuse(
        socket,
        503,
        `Function ${this.opts.name} has too many connections waiting for a replica (${this.opts.maxConnections}); ` +
          `try again`,
      );
    this.held.push({ socket, since: Date.now() });
    this.opts.onHeld();
  }

  /** Forwards to the next ready target; false when none is ready. */
  private forward(socket: net.Socket): boolean {
    const targets = this.opts.targets();
    for (let i = 0; i < targets.length; i++) {
      const t = targets[this.rr++ % targets.length];
      if (!t.ready || !t.address) continue;
      this.holding.forget(socket);
      t.touch();
      this.pipe(socket, t);
      return true;
    }
    return false;
  }

  private pipe(socket: net.Socket, t: ProxyTarget): void {
    const upstream = net.connect({ host: t.address!, port: t.port, allowHalfOpen: true, noDelay: true });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.open.add(socket);
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    });
    upstream.on('error', (e) => {
      if (connected) return void socket.destroy();
      // Nothing was read from the client: it waits for the next replica.
      this.opts.log.debug(
        { target: `${t.address}:${t.port}`, err: e.message },
        'replica refused a connection; trying another',
      );
      t.refused();
      if (!socket.destroyed)
        setTimeout(() => {
          if (!socket.destroyed) this.dispatch(socket);
        }, 50).unref();
    });
    // A side that finished sending is ended on the other by the pipe (a half-close travels); one that
    // then never closes its own half is cut after LINGER_MS. A side gone entirely takes the other along.
    upstream.once('end', () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
    socket.once('end', () => setTimeout(() => upstream.destroy(), LINGER_MS).unref());
    socket.once('close', () => {
      this.open.delete(socket);
      upstream.destroy();
    });
  }

  /** Forwards held connections to replicas that became ready. */
  flush(): void {
    while (this.held.length) {
      const h = this.held[0];
      if (h.socket.destroyed) {
        this.held.shift();
        continue;
      }
      if (!this.forward(h.socket)) return;
      this.held.shift();
    }
  }

  /** Refuses held connections that waited longer than the hold timeout. */
  expire(now = Date.now()): void {
    const timeout = this.opts.holdTimeoutMs;
    for (const h of this.held) {
      if (now - h.since > timeout)
        refuse(
          h.socket,
          503,
          `Function ${this.opts.name} has no ready replica (waited ${Math.round(timeout / 1000)} s)`,
        );
    }
    this.held = this.held.filter((h) => now - h.since <= timeout);
  }

  /** Refuses every held connection with `message` (a wake failed, the function went). */
  refuseHeld(status: number, message: string): void {
    for (const h of this.held.splice(0)) refuse(h.socket, status, message);
  }

  /** Stops listening and cuts every connection. */
  close(message: string): void {
    this.refuseHeld(503, message);
    if (this.server.listening) this.server.close();
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}
