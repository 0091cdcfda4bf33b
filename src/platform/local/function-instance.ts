/**
 * One function on the local platform: its port, its replicas, and the rules that move between them.
 *
 * The dashboard binds the function's port itself (a `pauseOnConnect` server) and hands each accepted
 * connection to a ready replica over IPC — the kernel socket moves, the bytes never pass through the
 * dashboard, and keep-alive connections stay on their replica. Because the port is ours, a function scaled
 * to zero keeps it: a connection arriving then is held, a replica is started, and the held connections are
 * handed over once it is ready. The same holding covers replicas that are restarting after a crash.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../build/builder.js';
import { refuseSocket } from '../../error-body.js';
import { apiError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ProcessorConfig } from '../../processor/config.js';
import type { FunctionRecord, FunctionRef, FunctionStatus } from '../../resources/types.js';
import { parseDuration } from '../../util/duration.js';
import { memoryLimitBytes } from '../../resources/quantity.js';
import { brokerOf } from '../../resources/broker-triggers/index.js';
import type { ReplicaInfo } from '../platform.js';
import { backoffDelay, nextAttempt } from './backoff.js';
import { Replica } from './replica.js';
import type { Confinement } from './confinement.js';
import { SocketBudget, type ConnectionLimits } from '../../util/connection-guard.js';

/** What every instance of the platform shares. */
export interface InstanceEnv {
  host: string;
  program: string;
  runDir: string;
  logsDir: string;
  /** Environment every replica starts from (PATH, LANG...): never the dashboard's own. */
  baseEnv: Record<string, string>;
  /** The interpreter of a python runtime name (interpreters.ts). */
  pythonFor: (runtime: string | undefined) => string | undefined;
  pythonRuntimeDir: string;
  log: Logger;
  /** How long connections are held for a replica to come up before a 503. */
  holdTimeoutMs: number;
  /** The dashboard's URL, given to replicas as PROTIUM_DASHBOARD_URL (stream triggers use its stream service). */
  dashboardUrl: () => string | undefined;
  /** The credential for the dashboard's stream service, given only to replicas with a v3ioStream trigger. */
  streamToken?: string;
  /** Bounds on the port's connections: each replica applies them; at most maxConnections are held for a wake. */
  connectionLimits: ConnectionLimits;
  /**
   * A new version took over the port: keep-alive clients of the old replicas (the dashboard's own pools)
   * should reconnect, or their next request is answered by the old version while it drains.
   */
  onRollover: (port: number) => void;
  /** Replicas stopped (their artifacts may no longer be in use). */
  onReplicasStopped: () => void;
  /** How replicas are confined (a PID namespace, the sandbox, or only a process group). */
  confinement: Confinement;
}

interface Deployment {
  fn: FunctionRecord;
  artifact: Artifact;
  min: number;
  max: number;
  readinessMs: number;
  idleWindowMs?: number;
  /** Target in-flight events per replica before another is added. */
  targetInflight: number;
  /** It has a broker trigger: it never idles to zero (a broker does not knock on the port to wake it). */
  consumesBroker: boolean;
  disabled: boolean;
  /** spec.resources.limits.memory in bytes. */
  memoryLimit?: number;
}

interface Held { socket: net.Socket; since: number }

const STOP_GRACE_MS = 30_000;
/** Idle keep-alive clients of a replica being replaced get this long to go (the replica's keepAliveTimeout + 1 s). */
const DRAIN_MS = 6_000;
const TICK_MS = 1_000;
const SCALE_DOWN_AFTER_MS = 30_000;
const DEFAULT_READINESS_S = 120;

/** Replica names follow Nuclio's container names plus a pod-like suffix. */
export function replicaPrefix(ref: FunctionRef): string {
  return `nuclio-${ref.namespace}-${ref.name}-`;
}

export class FunctionInstance {
  readonly server: net.Server;
  port = 0;
  /** The version asked for last (it may still be starting). */
  private deployment?: Deployment;
  /**
   * The version that serves: its replicas answer, or (parked) wake on the next connection. It stays the
   * previous version while a new one starts, and stays so if the new one fails to start.
   */
  private live?: Deployment;
  private replicas: Replica[] = [];
  private readonly draining = new Set<Replica>();
  private held: Held[] = [];
  private parked = true;
  private waking?: Promise<void>;
  private rr = 0;
  private closed = false;
  private lowSince = 0;
  private readonly attempts = new Map<Replica, number>();
  /** The artifact each replica runs from (draining replicas may run an older one). */
  private readonly artifactOf = new WeakMap<Replica, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;
  /**
   * The connections the dashboard has for this port cost it a descriptor each, so both kinds are bounded
   * by maxConnections: those held for a replica (to come up, or to take them: see `passing`) — a newcomer
   * may take a held one's place, as on every listener (util/connection-guard.ts), and the hold timeout
   * bounds their time —, and those passed to a replica that has not acknowledged them yet (`passing`).
   * While `passing` is full, newcomers are held: a flood of connections waits on the replicas instead of
   * piling up descriptors here.
   */
  private readonly holding: SocketBudget;
  private readonly passing = new Set<net.Socket>();
  private readonly watched = new WeakSet<net.Socket>();
  /** The broker-trigger problem last reported in the status (undefined: none). */
  private reportedProblem?: string;

  constructor(readonly ref: FunctionRef, private readonly env: InstanceEnv, private readonly onStatus: (s: Partial<FunctionStatus>) => void) {
    this.log = env.log.child({ function: `${ref.namespace}/${ref.name}` });
    this.holding = new SocketBudget(env.connectionLimits.maxConnections, () => 'headers');
    this.server = net.createServer({ pauseOnConnect: true }, (s) => this.dispatch(s));
    // Errors while binding (a taken port) are listenOnFree's to handle: it moves to the next port.
    this.server.on('error', (e) => { if (this.server.listening) this.log.error({ err: e }, 'function port error'); });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Replicas of the current version, live. */
  replicaInfos(): ReplicaInfo[] {
    return this.replicas.map((r) => ({
      name: r.name,
      state: r.state === 'exited' ? 'restarting' : r.state,
      pid: r.pid,
      restarts: r.restarts,
      startedAt: new Date(r.startedAt).toISOString(),
    }));
  }

  /** True when a version serves the port (replicas answer, restart, or wake from zero); false before the first deploy succeeds, when disabled, and once closed. */
  serving(): boolean {
    return !this.closed && this.live !== undefined && !this.live.disabled;
  }

  /** Artifact ids in use: the versions deployed and serving, and every replica's, draining ones included. */
  artifactsInUse(): string[] {
    const ids = [this.deployment?.artifact.id, this.live?.artifact.id];
    for (const r of [...this.replicas, ...this.draining]) ids.push(this.artifactOf.get(r));
    return ids.filter((id): id is string => id !== undefined);
  }

  /** True when `replica` is (or was) one of this function's replicas. */
  ownsReplica(name: string): boolean {
    return name.startsWith(replicaPrefix(this.ref));
  }

  /**
   * What the serving replicas report is wrong: broker triggers that cannot reach their broker (one line
   * per trigger, the first replica's reason), or undefined when every trigger is connected.
   */
  triggerProblem(): string | undefined {
    const lines = new Map<string, string>();
    for (const r of this.replicas) {
      if (r.state !== 'ready') continue;
      for (const [name, t] of r.triggers) if (!t.connected && !lines.has(name)) lines.set(name, t.message ?? `Trigger ${name} (${t.kind}) is not connected`);
    }
    return lines.size ? [...lines.values()].join('\n') : undefined;
  }

  /** The status of a running function: unhealthy while a broker trigger cannot reach its broker, else ready. */
  private runningStatus(): Partial<FunctionStatus> {
    const problem = this.triggerProblem();
    this.reportedProblem = problem;
    return problem ? { state: 'unhealthy', message: problem } : { state: 'ready', message: undefined };
  }

  /** Reports a change in the broker triggers' connections (the stored status follows while the function runs). */
  private checkTriggers(): void {
    if (this.closed || this.parked || this.waking) return;
    const problem = this.triggerProblem();
    if (problem === this.reportedProblem) return;
    if (problem) this.log.warn({ problem }, 'a broker trigger cannot reach its broker');
    else this.log.info('broker triggers connected');
    this.onStatus(this.runningStatus());
  }

  // ---------------------------------------------------------------- deploy, park, remove

  /** Rolls to a new version: new replicas first, then the switch, then the old ones drain. */
  async deploy(fn: FunctionRecord, artifact: Artifact, parked: boolean): Promise<void> {
    const d = this.deploymentOf(fn, artifact);
    this.deployment = d;
    if (parked || d.disabled) {
      this.parked = true;
      this.live = d;
      void this.stopAll(this.replicas.splice(0));
      return;
    }
    let fresh: Replica[];
    try {
      fresh = await this.startReplicas(d, Math.max(d.min, 1));
    } catch (e) {
      // The previous version keeps serving (and scaling, and waking) as it did.
      if (this.deployment === d && this.live) this.deployment = this.live;
      throw e;
    }
    if (this.closed || this.deployment !== d) {
      await this.stopAll(fresh, 0);
      return;
    }
    const old = this.replicas;
    this.replicas = fresh;
    for (const r of fresh) this.watch(r);
    this.live = d;
    this.parked = false;
    // The deploy's own status (written by the controller) carries the triggers' state from here.
    this.reportedProblem = this.triggerProblem();
    this.flushHeld();
    if (old.length) this.env.onRollover(this.port);
    void this.stopAll(old);
  }

  /**
   * Stops every replica, keeping the port: the next connection wakes the function. Resolves once no
   * replica takes new connections; the old ones finish their requests and drain in the background.
   */
  async scaleToZero(): Promise<void> {
    this.parked = true;
    void this.stopAll(this.replicas.splice(0));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const h of this.held.splice(0)) refuseSocket(h.socket, apiError('FUNCTION_REMOVED', this.ref.name));
    // Stop listening now; connections already handed to replicas are theirs (close()'s callback would
    // wait for them).
    if (this.server.listening) this.server.close();
    await this.stopAll([...this.replicas.splice(0), ...this.draining], 0);
  }

  // ---------------------------------------------------------------- connections

  private dispatch(socket: net.Socket): void {
    socket.on('error', () => {});
    // A connection back from a replica that died before acknowledging it is no longer being passed.
    this.passing.delete(socket);
    const d = this.live ?? this.deployment;
    if (d?.disabled) return refuseSocket(socket, apiError('FUNCTION_DISABLED', this.ref.name));
    if (this.sendToReplica(socket)) return;
    const admitted = this.holding.admit(socket, (victim) => {
      this.held = this.held.filter((h) => h.socket !== victim);
      refuseSocket(victim, apiError('FUNCTION_BUSY', this.ref.name));
    });
    if (!admitted) return refuseSocket(socket, apiError('FUNCTION_BUSY', this.ref.name, this.env.connectionLimits.maxConnections));
    this.held.push({ socket, since: Date.now() });
    if (this.parked && d && !this.closed) void this.wake();
  }

  private sendToReplica(socket: net.Socket): boolean {
    if (this.passing.size >= this.env.connectionLimits.maxConnections) return false;
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.rr++) % n]!;
      if (r.state === 'ready' && r.send(socket)) {
        this.holding.forget(socket);
        this.passing.add(socket);
        // Our copy closes once the replica acknowledges it: room for a held one.
        if (!this.watched.has(socket)) {
          this.watched.add(socket);
          socket.once('close', () => {
            if (this.passing.delete(socket)) this.flushHeld();
          });
        }
        return true;
      }
    }
    return false;
  }

  private flushHeld(): void {
    while (this.held.length) {
      if (!this.sendToReplica(this.held[0]!.socket)) return;
      this.held.shift();
    }
  }

  /** Starts replicas for connections that arrived while scaled to zero. */
  wake(): Promise<void> {
    if (this.waking) return this.waking;
    // The serving version wakes; a version still being deployed takes over when it is ready.
    const d = (this.live ?? this.deployment)!;
    this.onStatus({ state: 'waitingForScaleResourceFromZero' });
    const started = Date.now();
    this.waking = (async () => {
      try {
        const fresh = await this.startReplicas(d, Math.max(d.min, 1));
        if (this.closed || (this.live ?? this.deployment) !== d) { await this.stopAll(fresh, 0); return; }
        this.replicas.push(...fresh);
        for (const r of fresh) this.watch(r);
        this.parked = false;
        this.flushHeld();
        this.log.info({ ms: Date.now() - started }, 'woke from zero');
        this.onStatus({ ...this.runningStatus(), scaleToZero: { lastScaleEvent: 'scaleFromZeroCompleted', lastScaleEventTime: new Date().toISOString() } });
      } catch (e) {
        const message = `Failed to wake the function from zero: ${(e as Error).message}`;
        for (const h of this.held.splice(0)) refuseSocket(h.socket, apiError('FUNCTION_START_FAILED', message));
        this.onStatus({ state: 'error', message });
      } finally {
        this.waking = undefined;
      }
    })();
    return this.waking;
  }

  // ---------------------------------------------------------------- replicas

  /** Starts `n` replicas of `d` and waits until all are ready; on a failure stops them all and rethrows. */
  private async startReplicas(d: Deployment, n: number): Promise<Replica[]> {
    const fresh = Array.from({ length: n }, () => this.newReplica(d));
    try {
      await Promise.all(fresh.map((r) => r.start()));
      return fresh;
    } catch (e) {
      await this.stopAll(fresh, 0);
      throw e;
    }
  }

  private deploymentOf(fn: FunctionRecord, artifact: Artifact): Deployment {
    const spec = fn.spec;
    const min = spec.minReplicas ?? spec.replicas ?? 1;
    const max = Math.max(spec.maxReplicas ?? Math.max(min, 1), 1);
    const window = spec.scaleToZero?.scaleResources?.map((r) => parseDuration(r.windowSize ?? '') ?? 0).filter((ms) => ms > 0) ?? [];
    const http = Object.values(spec.triggers ?? {}).find((t) => t.kind === 'http');
    const consumesBroker = Object.values(spec.triggers ?? {}).some((t) => brokerOf(t.kind) !== undefined && !t.disabled);
    return {
      fn,
      artifact,
      min,
      max,
      readinessMs: (spec.readinessTimeoutSeconds || DEFAULT_READINESS_S) * 1000,
      idleWindowMs: window.length ? Math.min(...window) : undefined,
      targetInflight: Math.max(1, http?.numWorkers ?? 1),
      consumesBroker,
      disabled: spec.disable === true,
      memoryLimit: memoryLimitBytes(spec.resources),
    };
  }

  private newReplica(d: Deployment): Replica {
    const name = `${replicaPrefix(this.ref)}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const configPath = join(this.env.runDir, 'configs', `${name}.json`);
    mkdirSync(join(this.env.runDir, 'configs'), { recursive: true });
    // The config holds the function's env (secrets included): readable by this user only.
    writeFileSync(configPath, JSON.stringify(this.processorConfig(d, name)), { mode: 0o600 });
    // A memory limit bounds the processor's heap (a leaking nodejs handler then dies and is restarted).
    const nodeArgs = d.memoryLimit ? [`--max-old-space-size=${Math.max(16, Math.floor(d.memoryLimit / 2 ** 20))}`] : [];
    const home = join(this.env.runDir, 'home', this.ref.namespace, this.ref.name);
    const wrap = this.env.confinement.replicaPrefix({ artifactDir: d.artifact.dir, configPath, homeDir: home });
    const replica = new Replica({
      name,
      nodeArgs,
      wrap,
      signalsAsExitCodes: this.env.confinement.signalsAsExitCodes,
      program: this.env.program,
      configPath,
      cwd: d.artifact.dir,
      env: this.replicaEnv(d, name),
      logPath: join(this.env.logsDir, this.ref.namespace, this.ref.name, `${name}.log`),
      pidDir: join(this.env.runDir, 'replicas'),
      readinessTimeoutMs: d.readinessMs,
    });
    replica.on('orphans', (sockets: net.Socket[]) => { for (const s of sockets) this.dispatch(s); });
    replica.on('trigger', () => { if (this.replicas.includes(replica)) this.checkTriggers(); });
    this.artifactOf.set(replica, d.artifact.id);
    return replica;
  }

  private processorConfig(d: Deployment, replica: string): ProcessorConfig {
    const spec = d.fn.spec;
    return {
      replica,
      namespace: this.ref.namespace,
      functionName: this.ref.name,
      labels: d.fn.metadata.labels ?? {},
      annotations: d.fn.metadata.annotations ?? {},
      family: d.artifact.family,
      runtime: spec.runtime ?? d.artifact.runtime,
      handler: spec.handler || d.artifact.handler,
      artifactDir: d.artifact.dir,
      triggers: spec.triggers ?? {},
      env: spec.env ?? [],
      eventTimeoutMs: parseDuration(spec.eventTimeout || '0') ?? 0,
      runtimeAttributes: (spec.runtimeAttributes ?? {}) as Record<string, unknown>,
      pythonPath: d.artifact.family === 'python' ? this.env.pythonFor(spec.runtime ?? d.artifact.runtime) : undefined,
      pythonRuntimeDir: this.env.pythonRuntimeDir,
      ...(d.memoryLimit ? { memoryLimitBytes: d.memoryLimit } : {}),
      connectionLimits: this.env.connectionLimits,
      // Only a replica that reads the dashboard's streams gets the stream credential (a file readable by
      // this user only, not the environment its handler's children inherit).
      ...(this.env.streamToken && Object.values(spec.triggers ?? {}).some((t) => t.kind === 'v3ioStream') ? { streamToken: this.env.streamToken } : {}),
      logLevel: 'debug',
    };
  }

  /** A curated environment: the function's env on top of a small base, plus what the runtime needs. */
  private replicaEnv(d: Deployment, replica: string): Record<string, string> {
    const dir = d.artifact.dir;
    const home = join(this.env.runDir, 'home', this.ref.namespace, this.ref.name);
    mkdirSync(home, { recursive: true });
    const env: Record<string, string> = {
      ...this.env.baseEnv,
      HOME: home,
      // The replica's name, as a pod's HOSTNAME is: pids are its namespace's own (the processor is PID 2).
      HOSTNAME: replica,
      NUCLIO_FUNCTION_NAME: this.ref.name,
      NUCLIO_NAMESPACE: this.ref.namespace,
      NUCLIO_FUNCTION_HANDLER: d.fn.spec.handler ?? '',
      NUCLIO_RUNTIME: d.artifact.runtime,
      NODE_PATH: join(dir, '.protium', 'npm-global', 'lib', 'node_modules'),
      PYTHONPATH: [dir, join(dir, '.protium', 'site-packages'), this.env.pythonRuntimeDir].join(':'),
      PYTHONUNBUFFERED: '1',
      ...(this.env.dashboardUrl() ? { PROTIUM_DASHBOARD_URL: this.env.dashboardUrl()! } : {}),
      PATH: `${join(dir, '.protium', 'npm-global', 'bin')}:${join(dir, '.protium', 'site-packages', 'bin')}:${this.env.baseEnv.PATH ?? '/usr/bin:/bin'}`,
    };
    for (const e of d.fn.spec.env ?? []) if (e.name && typeof e.value === 'string') env[e.name] = e.value;
    return env;
  }

  /** Restarts a replica of the current version that exits on its own, with back-off. */
  private watch(r: Replica): void {
    r.on('exit', (info: { stopping: boolean; why: string }) => {
      if (info.stopping || this.closed || !this.replicas.includes(r)) return;
      const attempt = nextAttempt(this.attempts.get(r) ?? -1, Date.now() - r.startedAt);
      this.attempts.set(r, attempt);
      const delay = backoffDelay(attempt);
      const others = this.replicas.some((x) => x !== r && x.state === 'ready');
      this.log.warn({ replica: r.name, why: info.why, restartInMs: delay }, 'replica exited; restarting');
      if (!others) this.onStatus({ state: 'unhealthy', message: `Replica ${r.name} exited (${info.why}); restarting in ${delay} ms (restart ${r.restarts + 1}). Last output:\n${r.lastLines()}` });
      setTimeout(() => {
        if (this.closed || !this.replicas.includes(r)) return;
        r.restarts++;
        r.start().then(() => {
          this.flushHeld();
          if (this.replicas.filter((x) => x.state === 'ready').length === 1) this.onStatus(this.runningStatus());
        }, (e) => this.log.warn({ replica: r.name, err: (e as Error).message }, 'replica failed to restart'));
      }, delay).unref();
    });
  }

  private async stopAll(list: Replica[], drainMs = DRAIN_MS): Promise<void> {
    if (!list.length) return;
    await Promise.all(list.map(async (r) => {
      this.draining.add(r);
      try {
        await r.stop(STOP_GRACE_MS, drainMs);
      } finally {
        this.draining.delete(r);
        this.attempts.delete(r);
        try { rmSync(join(this.env.runDir, 'configs', `${r.name}.json`), { force: true }); } catch { /* gone */ }
      }
    }));
    this.env.onReplicasStopped();
  }

  // ---------------------------------------------------------------- idle and autoscaling

  private tick(): void {
    // Scaling concerns the replicas that serve, not a version still starting.
    const d = this.live;
    const now = Date.now();
    for (const h of this.held) {
      if (now - h.since > this.env.holdTimeoutMs) refuseSocket(h.socket, apiError('FUNCTION_NO_REPLICA', this.ref.name, Math.round(this.env.holdTimeoutMs / 1000)));
    }
    this.held = this.held.filter((h) => now - h.since <= this.env.holdTimeoutMs);
    if (!d || this.parked || this.closed || this.waking) return;
    const live = this.replicas.filter((r) => r.state === 'ready');
    if (!live.length) return;
    const inflight = live.reduce((n, r) => n + r.inflight, 0);
    const lastActivity = Math.max(...this.replicas.map((r) => r.lastActivity));
    if (d.idleWindowMs && d.min === 0 && !d.consumesBroker && inflight === 0 && this.held.length === 0 && now - lastActivity >= d.idleWindowMs) {
      this.log.info({ idleMs: now - lastActivity }, 'idle: scaling to zero');
      void this.scaleToZero().then(() => this.onStatus({ state: 'scaledToZero', message: undefined, scaleToZero: { lastScaleEvent: 'scaleToZeroCompleted', lastScaleEventTime: new Date().toISOString() } }));
      return;
    }
    const perReplica = inflight / live.length;
    if (perReplica >= d.targetInflight && this.replicas.length < d.max) {
      const r = this.newReplica(d);
      this.replicas.push(r);
      this.watch(r);
      this.log.info({ replicas: this.replicas.length, inflight }, 'scaling up');
      r.start().then(() => this.flushHeld(), () => {
        this.replicas = this.replicas.filter((x) => x !== r);
      });
      this.lowSince = 0;
      return;
    }
    const floor = Math.max(d.min, 1);
    if (perReplica < d.targetInflight * 0.25 && this.replicas.length > floor) {
      if (!this.lowSince) this.lowSince = now;
      if (now - this.lowSince >= SCALE_DOWN_AFTER_MS) {
        const victim = this.replicas[this.replicas.length - 1]!;
        this.replicas = this.replicas.slice(0, -1);
        this.log.info({ replicas: this.replicas.length }, 'scaling down');
        void this.stopAll([victim]);
        this.lowSince = now;
      }
    } else {
      this.lowSince = 0;
    }
  }
}
