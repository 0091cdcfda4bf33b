/**
 * The dashboard's side of a function's port on the local platform: it accepts connections (a
 * `pauseOnConnect` server, so nothing is read) and hands each to a ready replica over IPC — the kernel
 * socket moves, the bytes never pass through the dashboard, and keep-alive connections stay on their
 * replica. With no ready replica (scaled to zero, waking, restarting) a connection is held and handed
 * over when one is ready (on a wake, to a pre-started processor as soon as it starts: handOverEarly),
 * refused with a 503 after the hold timeout, or refused at once when the function is disabled.
 *
 * The connections the dashboard keeps for the port cost it a descriptor each, so both kinds are bounded by
 * maxConnections: those held for a replica — a newcomer may take a held one's place, as on every listener
 * (util/connection-guard.ts), and the hold timeout bounds their time —, and those passed to a replica that
 * has not acknowledged them yet (`passing`; a replica that dies first gives them back to `dispatch`).
 * While `passing` is full, newcomers are held: a flood of connections waits on the replicas instead of
 * piling up descriptors here.
 */
import net from 'node:net';
import { refuseSocket } from '../../error-body.js';
import { apiError, type ApiError } from '../../errors.js';
import { SocketBudget } from '../../util/connection-guard.js';
import type { Logger } from '../../log.js';

/** A replica as the broker sees it: it takes a connection when ready. */
export interface HandOver {
  readonly state: string;
  /** Passes the connection to the process; false when it cannot take it now. */
  send(socket: net.Socket): boolean;
  /**
   * True while the replica starts and already takes connections (a pre-started processor: it queues
   * them, and serves them once its trigger runs; one that dies first gives them back).
   */
  readonly takesEarly?: boolean;
}

/** What a broker needs of its function instance. */
export interface BrokerOptions {
  /** The function's name, for the answers to refused connections. */
  name: string;
  /** At most this many connections held, and this many passed and not acknowledged. */
  maxConnections: number;
  /** How long a connection is held for a replica before a 503. */
  holdTimeoutMs: number;
  /** The replicas connections go to, round-robin over the ready ones. */
  replicas: () => readonly HandOver[];
  /** Why a connection is refused at once (the function is disabled); undefined: take it. */
  refusal: () => ApiError | undefined;
  /** A connection is held for lack of a ready replica (the instance wakes a function scaled to zero). */
  onHeld: () => void;
  log: Logger;
}

const isReady = (r: HandOver) => r.state === 'ready';

interface Held {
  socket: net.Socket;
  since: number;
}

/** The connections of one function port (see the module comment). */
export class ConnectionBroker {
  /** The function's port; the platform makes it listen (port-pool.ts). */
  readonly server: net.Server;
  private held: Held[] = [];
  private rr = 0;
  private readonly holding: SocketBudget;
  private readonly passing = new Set<net.Socket>();
  private readonly watched = new WeakSet<net.Socket>();

  constructor(private readonly opts: BrokerOptions) {
    this.holding = new SocketBudget(opts.maxConnections, () => 'headers');
    this.server = net.createServer({ pauseOnConnect: true }, (s) => this.dispatch(s));
    // Errors while binding (a taken port) are listenOnFree's to handle: it moves to the next port.
    this.server.on('error', (e) => {
      if (this.server.listening) opts.log.error({ err: e }, 'function port error');
    });
  }

  /** Connections held for a replica now. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Takes a connection: to a ready replica, else held (or refused). Also for connections a dead replica never took. */
  dispatch(socket: net.Socket): void {
    socket.on('error', () => {});
    // A connection back from a replica that died before acknowledging it is no longer being passed.
    this.passing.delete(socket);
    const refusal = this.opts.refusal();
    if (refusal) return refuseSocket(socket, refusal);
    if (this.sendToReplica(socket)) return;
    const admitted = this.holding.admit(socket, (victim) => {
      this.held = this.held.filter((h) => h.socket !== victim);
      refuseSocket(victim, apiError('FUNCTION_BUSY', this.opts.name));
    });
    if (!admitted) return refuseSocket(socket, apiError('FUNCTION_BUSY', this.opts.name, this.opts.maxConnections));
    this.held.push({ socket, since: Date.now() });
    this.opts.onHeld();
  }

  /** Hands held connections to ready replicas, oldest first, while they take them. */
  flush(): void {
    while (this.held.length) {
      if (!this.sendToReplica(this.held[0].socket)) return;
      this.held.shift();
    }
  }

  /**
   * Hands held connections, oldest first, to replicas still starting that take them early (a wake from
   * zero: the connection is on its way while the process starts, instead of after it said it is ready).
   */
  handOverEarly(starting: readonly HandOver[]): void {
    while (this.held.length) {
      if (!this.sendTo(this.held[0].socket, starting, (r) => r.takesEarly === true)) return;
      this.held.shift();
    }
  }

  /** Refuses the connections held longer than the hold timeout. */
  expire(now: number): void {
    const limit = this.opts.holdTimeoutMs;
    for (const h of this.held) {
      if (now - h.since > limit)
        refuseSocket(h.socket, apiError('FUNCTION_NO_REPLICA', this.opts.name, Math.round(limit / 1000)));
    }
    this.held = this.held.filter((h) => now - h.since <= limit);
  }

  /** Refuses every held connection with `error` (a wake failed, the function is removed). */
  refuseHeld(error: ApiError): void {
    for (const h of this.held.splice(0)) refuseSocket(h.socket, error);
  }

  /** Refuses what is held and stops listening; connections already handed to replicas are theirs. */
  close(error: ApiError): void {
    this.refuseHeld(error);
    // close()'s callback would wait for the connections replicas have: not ours to wait for.
    if (this.server.listening) this.server.close();
  }

  private sendToReplica(socket: net.Socket): boolean {
    return this.sendTo(socket, this.opts.replicas(), isReady);
  }

  /** Passes `socket` to one of `replicas` that `takes`, round-robin; false when none takes it. */
  private sendTo(socket: net.Socket, replicas: readonly HandOver[], takes: (r: HandOver) => boolean): boolean {
    if (this.passing.size >= this.opts.maxConnections) return false;
    const n = replicas.length;
    for (let i = 0; i < n; i++) {
      const r = replicas[this.rr++ % n];
      if (takes(r) && r.send(socket)) {
        this.holding.forget(socket);
        this.passing.add(socket);
        // Our copy closes once the replica acknowledges it: room for a held one.
        if (!this.watched.has(socket)) {
          this.watched.add(socket);
          socket.once('close', () => {
            if (this.passing.delete(socket)) this.flush();
          });
        }
        return true;
      }
    }
    return false;
  }
}
