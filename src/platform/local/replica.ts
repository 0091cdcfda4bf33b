/**
 * One replica: a processor process with an IPC channel, its own process group (so a stop takes its
 * python workers and shell children along), run inside its confinement (confinement.ts: a PID namespace
 * or the sandbox, so that what it starts ends with it), a pid file (so a dashboard that died with -9 can
 * clean up after itself), and its output stored as the replica's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { HandedConnection, HandedRoute } from '../../gateway/handed-route.js';
import type { FromReplica, ProcessorConfig, ToReplica } from '../../processor/config.js';
import { exitReason } from '../../util/exit-reason.js';
import { removePidFile, writePidFile } from '../../util/pid-files.js';
import { RotatingLog } from '../../util/log-files.js';
import type { ReplicaState } from '../platform.js';

export interface ReplicaOptions {
  name: string;
  /** Options for node itself (e.g. a heap limit). */
  nodeArgs?: string[];
  /** A command the processor runs inside (its confinement): [program, ...args]. */
  wrap?: string[];
  /** The wrapper reports a processor killed by signal N as exit code 128 + N. */
  signalsAsExitCodes?: boolean;
  /** The processor program (dist/src/processor/main.js). */
  program: string;
  configPath: string;
  /** The config the file holds: a pre-started processor gets it with `specialise` instead of reading the file. */
  config?: ProcessorConfig;
  cwd: string;
  env: Record<string, string>;
  logPath: string;
  pidDir: string;
  readinessTimeoutMs: number;
  /**
   * A pre-started processor to specialise instead of starting one (processor-pool.ts), or undefined.
   * Only where the command would be the pool's: no node options, a confinement that does not depend on
   * the function.
   */
  pooled?: () => ChildProcess | undefined;
}

const TAIL_LINES = 30;

/** A pre-started process went away while it specialised (Replica.start starts one cold instead). */
class PooledProcessLost extends Error {}

export class Replica extends EventEmitter {
  state: ReplicaState | 'exited' = 'starting';
  startedAt = 0;
  restarts = 0;
  inflight = 0;
  handled = 0;
  lastActivity = Date.now();
  /** What each broker trigger of the process last reported (cleared when a process starts). */
  readonly triggers = new Map<string, { kind: string; connected: boolean; message?: string }>();
  child?: ChildProcess;
  /**
   * A pre-started process specialising: it takes connections already (ConnectionBroker.handOverEarly),
   * queues them, and acknowledges and serves them once its trigger runs.
   */
  takesEarly = false;
  private log: RotatingLog;
  private tail: string[] = [];
  /** Connections handed to the process that it has not acknowledged yet (it never read from them). */
  private readonly unacked = new Map<
    number,
    { socket: Socket; child: ChildProcess; giveBack?: (socket: Socket) => void }
  >();
  private nextConn = 1;
  /** Keys of the gateway routes handed to the process with connections (gateway/handed-route.ts). */
  private readonly handedKeys = new Set<string>();
  /** Revocations sent and not yet answered, by id. */
  private readonly revoking = new Map<number, () => void>();
  /** A process whose IPC channel failed a hand-over: it is going away, it gets no more connections. */
  private brokenChannel?: ChildProcess;

  constructor(readonly opts: ReplicaOptions) {
    super();
    this.log = new RotatingLog(opts.logPath);
  }

  get name(): string {
    return this.opts.name;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the process wrote (for error messages). */
  lastLines(): string {
    return this.tail.join('\n');
  }

  /**
   * Spawns the process (or specialises a pre-started one); resolves when it reports ready, rejects with
   * the reason (and its last output). A pre-started process that goes away before it is ready without
   * saying why (killed, crashed: nothing the function did) is replaced by one started cold.
   */
  async start(): Promise<void> {
    const pooled = this.opts.pooled?.();
    if (!pooled) return this.run(undefined);
    try {
      await this.run(pooled);
    } catch (e) {
      if (!(e instanceof PooledProcessLost)) throw e;
      // In the replica's log: the lines above it are the lost process's.
      this.log.writeChunk(
        Buffer.from(`The pre-started processor was lost (${e.message}) before it was ready: starting one cold\n`),
        'stderr',
      );
      await this.run(undefined);
    }
  }

  private run(pooled: ChildProcess | undefined): Promise<void> {
    this.state = this.restarts > 0 ? 'restarting' : 'starting';
    this.startedAt = Date.now();
    this.tail = [];
    this.triggers.clear();
    const env = { ...this.opts.env, PROTIUM_PROCESSOR_CONFIG: this.opts.configPath };
    let child: ChildProcess;
    if (pooled) {
      child = pooled;
      child.send({ t: 'specialise', env, cwd: this.opts.cwd, config: this.opts.config } satisfies ToReplica);
      this.takesEarly = true;
    } else {
      const argv = [process.execPath, ...(this.opts.nodeArgs ?? []), this.opts.program];
      const [command, ...args] = this.opts.wrap?.length ? [...this.opts.wrap, ...argv] : argv;
      child = spawn(command, args, {
        cwd: this.opts.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        detached: true,
        serialization: 'json',
      });
    }
    this.child = child;
    const pidFile = child.pid ? writePidFile(this.opts.pidDir, this.name, child.pid) : undefined;
    const onOutput = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      this.log.writeChunk(chunk, stream);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
      }
    };
    child.stdout!.on('data', onOutput('stdout'));
    child.stderr!.on('data', onOutput('stderr'));

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      /** The process said why it failed (the function's handler, its runtime): a cold start would too. */
      let failed = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        this.takesEarly = false;
        clearTimeout(timer);
        if (err) {
          this.kill();
          reject(err);
        } else {
          resolve();
        }
      };
      const timer = setTimeout(
        () =>
          settle(
            new Error(
              `Function wasn't ready in time (${this.opts.readinessTimeoutMs / 1000} s, ` +
                `spec.readinessTimeoutSeconds). Logs:\n${this.lastLines()}`,
            ),
          ),
        this.opts.readinessTimeoutMs,
      );
      child.on('message', (m: FromReplica) => {
        if (m.t === 'ready') {
          this.state = 'ready';
          this.lastActivity = Date.now();
          settle();
          this.emit('ready');
        } else if (m.t === 'ack') {
          // The process has its own copy of the connection now; ours goes.
          this.unacked.get(m.id)?.socket.destroy();
          this.unacked.delete(m.id);
        } else if (m.t === 'gw-revoked') {
          this.revoking.get(m.id)?.();
        } else if (m.t === 'gw-requests') {
          this.emit('gatewayRequests', m.rows);
        } else if (m.t === 'failed') {
          failed = true;
          settle(new Error(m.message));
        } else if (m.t === 'load') {
          if (m.handled !== this.handled || m.inflight > 0) this.lastActivity = Date.now();
          this.inflight = m.inflight;
          this.handled = m.handled;
          this.emit('load');
        } else if (m.t === 'stats') {
          this.emit('stats', m.stats);
        } else if (m.t === 'trigger') {
          this.triggers.set(m.name, {
            kind: m.kind,
            connected: m.connected,
            ...(m.message ? { message: m.message } : {}),
          });
          this.emit('trigger');
        }
      });
      child.once('error', (e) =>
        settle(
          pooled && !failed
            ? new PooledProcessLost(e.message)
            : new Error(`Failed to start the processor: ${e.message}`),
        ),
      );
      child.once('exit', (code, signal) => {
        if (pidFile) removePidFile(pidFile);
        // A pre-started process given up for a cold one (start(), on its channel's error): the replica is
        // that one now; what was handed to this one and never taken goes back to the port.
        if (this.child !== child) return this.returnUnacked(child);
        const wasReady = this.state === 'ready';
        const stopping = this.state === 'stopping';
        this.state = 'exited';
        this.inflight = 0;
        const why = exitReason(code, signal, this.opts.signalsAsExitCodes === true);
        // A pre-started process lost while specialising: start() starts one cold. The replica did not
        // exit (it is still starting), but the connections the lost one never took go back to the port.
        if (pooled && !settled && !failed && !wasReady && !stopping) {
          settle(new PooledProcessLost(why));
          return this.returnUnacked(child);
        }
        settle(
          new Error(
            `The replica exited (${why}) before it was ready${this.tail.length ? `. Logs:\n${this.lastLines()}` : ''}`,
          ),
        );
        this.emit('exit', { code, signal, wasReady, stopping, why });
        this.returnUnacked(child);
      });
    });
  }

  /** Connections `child` never took were never read: they can go to another replica (`orphans`). */
  private returnUnacked(child: ChildProcess): void {
    const orphans: Socket[] = [];
    for (const [id, u] of this.unacked) {
      if (u.child !== child) continue;
      this.unacked.delete(id);
      if (u.socket.destroyed) continue;
      if (u.giveBack) u.giveBack(u.socket);
      else orphans.push(u.socket);
    }
    for (const done of this.revoking.values()) done();
    if (orphans.length) this.emit('orphans', orphans);
  }

  /** Hands an accepted connection to the process; false when it cannot take it. */
  send(socket: Socket): boolean {
    return this.pass(socket, (id) => ({ t: 'conn', id }));
  }

  /** Hands a connection of the API gateway to a ready process, with its route; false when it cannot take it. */
  sendHanded(conn: HandedConnection, route: HandedRoute): boolean {
    if (this.state !== 'ready') return false;
    const bytes = conn.bytes.toString('base64');
    if (!this.pass(conn.socket, (id) => ({ t: 'gw-conn', id, bytes, route }), conn.giveBack)) return false;
    this.handedKeys.add(route.key);
    return true;
  }

  /**
   * Tells the process that the gateway routes `keys` name changed, if it holds connections of them;
   * resolves once it answered, exited, or `timeoutMs` passed.
   */
  revokeHanded(keys: readonly string[], timeoutMs: number): Promise<void> {
    const mine = keys.filter((k) => this.handedKeys.delete(k));
    const child = this.child;
    if (!mine.length || !child?.connected) return Promise.resolve();
    const id = this.nextConn++;
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.revoking.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.revoking.set(id, done);
      try {
        child.send({ t: 'gw-revoke', id, keys: mine } satisfies ToReplica, (err: Error | null) => err && done());
      } catch {
        done();
      }
    });
  }

  /**
   * Passes a connection with the message `msg` makes; `giveBack` takes it back if the process never
   * acknowledges it (default: the function's port takes it, as an `orphans` event).
   */
  private pass(socket: Socket, msg: (id: number) => ToReplica, giveBack?: (socket: Socket) => void): boolean {
    const child = this.child;
    if (!(this.state === 'ready' || this.takesEarly) || !child?.connected || child === this.brokenChannel) return false;
    const id = this.nextConn++;
    try {
      // keepOpen: our copy stays until the process acknowledges, so a process that dies first loses nothing.
      this.unacked.set(id, { socket, child, ...(giveBack ? { giveBack } : {}) });
      child.send(msg(id), socket, { keepOpen: true }, (err) => {
        // The channel failed (the process is dying): the connection was never read, so it goes back to
        // the port instead of being dropped, and this process takes no more.
        if (err && this.unacked.delete(id)) {
          this.brokenChannel = child;
          if (socket.destroyed) return;
          if (giveBack) giveBack(socket);
          else this.emit('orphans', [socket]);
        }
      });
      this.lastActivity = Date.now();
      return true;
    } catch {
      this.unacked.delete(id);
      return false;
    }
  }

  /**
   * Stops gracefully: no new connections, requests in flight finish within `graceMs`, idle keep-alive
   * clients get up to `drainMs` to leave, then SIGKILL.
   */
  async stop(graceMs: number, drainMs = 0): Promise<void> {
    const child = this.child;
    if (!child || this.state === 'exited') {
      this.closeLog();
      return;
    }
    this.state = 'stopping';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Without the IPC channel, SIGTERM goes to the whole group: the confinement's wrapper (unshare) does
    // not pass signals on, the processor stops gracefully on it.
    try {
      if (child.connected) child.send({ t: 'stop', graceMs, drainMs } satisfies ToReplica);
      else this.killGroup('SIGTERM');
    } catch {
      this.killGroup('SIGTERM');
    }
    const timer = setTimeout(() => this.kill(), graceMs + 2000);
    await exited;
    clearTimeout(timer);
    // The processor's children (python workers, shell commands) share its process group.
    this.killGroup('SIGKILL');
    this.closeLog();
  }

  /** Kills the process group at once. */
  kill(): void {
    this.killGroup('SIGKILL');
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      /* already gone */
    }
  }

  closeLog(): void {
    this.log.close();
  }
}
