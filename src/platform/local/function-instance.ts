/**
 * One function on the local platform: its port, its replicas, and the rules that move between them.
 * The parts are apart: the port's connections (connection-broker.ts), what a replica runs
 * (replica-spec.ts), when to scale (scaling.ts), one replica process (replica.ts). This module ties them:
 * it rolls a new version out beside the old one, wakes a function scaled to zero when a connection is
 * held, restarts replicas that exit on their own, drains the ones it stops, and acts on scaling decisions.
 *
 * Two versions matter at once: the one asked for last (`deployment`, maybe still starting) and the one
 * that serves (`live`: its replicas answer, or wake on the next connection). The previous version stays
 * live while a new one starts, and stays so if the new one fails to start.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Artifact } from '../../builder/builder.js';
import { apiError } from '../../errors.js';
import type { HandedConnection, HandedRoute } from '../../gateway/handed-route.js';
import type { Logger } from '../../log.js';
import type { FunctionRecord, FunctionRef, FunctionStatus } from '../../resources/types.js';
import type { PlatformMetrics, ReplicaInfo } from '../platform.js';
import type { ReplicaStats } from '../../processor/stats.js';
import { backoffDelay, nextAttempt } from './backoff.js';
import { ConnectionBroker } from './connection-broker.js';
import type { ProcessorPool } from './processor-pool.js';
import { Replica } from './replica.js';
import { deploymentOf, replicaPrefix, replicaSpec, type Deployment, type ReplicaHost } from './replica-spec.js';
import { decideScale } from './scaling.js';

/** What every instance of the platform shares. */
export interface InstanceEnv extends Omit<ReplicaHost, 'dashboardUrl'> {
  program: string;
  /** The folder an artifact's files are in on this machine (the artifact store's). */
  artifactDir: (id: string) => string;
  log: Logger;
  /** How long connections are held for a replica to come up before a 503. */
  holdTimeoutMs: number;
  /** The dashboard's URL, once it listens: read at each replica start. */
  dashboardUrl: () => string | undefined;
  /**
   * A new version took over the port: keep-alive clients of the old replicas (the dashboard's own pools)
   * should reconnect, or their next request is answered by the old version while it drains.
   */
  onRollover: (port: number) => void;
  /** Replicas stopped (their artifacts may no longer be in use). */
  onReplicasStopped: () => void;
  /** A replica's counters, a cold start, a restart (PlatformEvent `metrics`). */
  onMetrics: (m: PlatformMetrics) => void;
  /** Pre-started processors (--prewarm), when the confinement allows them (processor-pool.ts). */
  pool?: ProcessorPool;
}

const STOP_GRACE_MS = 30_000;
/** Idle keep-alive clients of a replica being replaced get this long to go (the replica's keepAliveTimeout + 1 s). */
const DRAIN_MS = 6_000;
const TICK_MS = 1_000;
const SCALE_DOWN_AFTER_MS = 30_000;

export class FunctionInstance {
  port = 0;
  private readonly broker: ConnectionBroker;
  /** The version asked for last (it may still be starting). */
  private deployment?: Deployment;
  /** The version that serves (see the module comment). */
  private live?: Deployment;
  private replicas: Replica[] = [];
  private readonly draining = new Set<Replica>();
  private parked = true;
  private waking?: Promise<void>;
  private closed = false;
  private lowSince = 0;
  private readonly attempts = new Map<Replica, number>();
  /** The next replica a gateway connection goes to. */
  private handedRR = 0;
  /** The artifact each replica runs from (draining replicas may run an older one). */
  private readonly artifactOf = new WeakMap<Replica, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;
  /** The broker-trigger problem last reported in the status (undefined: none). */
  private reportedProblem?: string;

  constructor(
    readonly ref: FunctionRef,
    private readonly env: InstanceEnv,
    private readonly onStatus: (s: Partial<FunctionStatus>) => void,
  ) {
    this.log = env.log.child({ function: `${ref.namespace}/${ref.name}` });
    this.broker = new ConnectionBroker({
      name: ref.name,
      maxConnections: env.connectionLimits.maxConnections,
      holdTimeoutMs: env.holdTimeoutMs,
      replicas: () => this.replicas,
      refusal: () => ((this.live ?? this.deployment)?.disabled ? apiError('FUNCTION_DISABLED', ref.name) : undefined),
      onHeld: () => {
        if (this.parked && (this.live ?? this.deployment) && !this.closed) void this.wake();
      },
      log: this.log,
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** The function's port, for the platform to bind (port-pool.ts). */
  get server(): net.Server {
    return this.broker.server;
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

  /**
   * True when a version serves the port (replicas answer, restart, or wake from zero); false before the first deploy
   * succeeds, when disabled, and once closed.
   */
  serving(): boolean {
    return !this.closed && this.live !== undefined && !this.live.disabled;
  }

  /**
   * Hands a connection of the API gateway to a ready replica of the serving version (round-robin, as the
   * port's); false when none is ready — the gateway then forwards, which wakes the function if need be.
   */
  handOverGateway(conn: HandedConnection, route: HandedRoute): boolean {
    if (!this.serving()) return false;
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[this.handedRR++ % n];
      if (r.sendHanded(conn, route)) return true;
    }
    return false;
  }

  /** Tells every replica, draining ones too, that the gateway routes `keys` name changed. */
  async revokeGatewayRoutes(keys: readonly string[], timeoutMs: number): Promise<void> {
    await Promise.all([...this.replicas, ...this.draining].map((r) => r.revokeHanded(keys, timeoutMs)));
  }

  /** True when the version asked for last is disabled (spec.disable). */
  disabled(): boolean {
    return this.deployment?.disabled === true;
  }

  /** Artifact ids in use: the versions deployed and serving, and every replica's, draining ones included. */
  artifactsInUse(): string[] {
    const ids = [this.deployment?.artifact.id, this.live?.artifact.id];
    for (const r of [...this.replicas, ...this.draining]) ids.push(this.artifactOf.get(r));
    return ids.filter((id): id is string => id !== undefined);
  }

  /**
   * What the serving replicas report is wrong: broker triggers that cannot reach their broker (one line
   * per trigger, the first replica's reason), or undefined when every trigger is connected.
   */
  triggerProblem(): string | undefined {
    const lines = new Map<string, string>();
    for (const r of this.replicas) {
      if (r.state !== 'ready') continue;
      for (const [name, t] of r.triggers)
        if (!t.connected && !lines.has(name))
          lines.set(name, t.message ?? `Trigger ${name} (${t.kind}) is not connected`);
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
    const d = deploymentOf(fn, artifact, this.env.artifactDir(artifact.id));
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
    this.broker.flush();
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
    this.broker.close(apiError('FUNCTION_REMOVED', this.ref.name));
    await this.stopAll([...this.replicas.splice(0), ...this.draining], 0);
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
        const fresh = await this.startReplicas(d, Math.max(d.min, 1), true);
        if (this.closed || (this.live ?? this.deployment) !== d) {
          await this.stopAll(fresh, 0);
          return;
        }
        this.replicas.push(...fresh);
        for (const r of fresh) this.watch(r);
        this.parked = false;
        this.broker.flush();
        this.log.info({ ms: Date.now() - started }, 'woke from zero');
        this.env.onMetrics({ kind: 'coldStart', durationMs: Date.now() - started });
        this.onStatus({
          ...this.runningStatus(),
          scaleToZero: { lastScaleEvent: 'scaleFromZeroCompleted', lastScaleEventTime: new Date().toISOString() },
        });
      } catch (e) {
        const message = `Failed to wake the function from zero: ${(e as Error).message}`;
        this.broker.refuseHeld(apiError('FUNCTION_START_FAILED', message));
        this.onStatus({ state: 'error', message });
      } finally {
        this.waking = undefined;
      }
    })();
    return this.waking;
  }

  // ---------------------------------------------------------------- replicas

  /**
   * Starts `n` replicas of `d` and waits until all are ready; on a failure stops them all and rethrows.
   * `early` (a wake): held connections go at once to those that take them while they start.
   */
  private async startReplicas(d: Deployment, n: number, early = false): Promise<Replica[]> {
    const fresh = Array.from({ length: n }, () => this.newReplica(d));
    try {
      const started = Promise.all(fresh.map((r) => r.start()));
      if (early) this.broker.handOverEarly(fresh);
      await started;
      return fresh;
    } catch (e) {
      await this.stopAll(fresh, 0);
      throw e;
    }
  }

  private newReplica(d: Deployment): Replica {
    const name = `${replicaPrefix(this.ref)}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const { dashboardUrl, pool, ...host } = this.env;
    const url = dashboardUrl();
    const spec = replicaSpec(this.ref, d, name, { ...host, ...(url ? { dashboardUrl: url } : {}) });
    mkdirSync(dirname(spec.configPath), { recursive: true });
    mkdirSync(spec.homeDir, { recursive: true });
    // The config holds the function's env (secrets included): readable by this user only.
    writeFileSync(spec.configPath, JSON.stringify(spec.config), { mode: 0o600 });
    const replica = new Replica({
      name,
      nodeArgs: spec.nodeArgs,
      wrap: spec.wrap,
      signalsAsExitCodes: this.env.confinement.signalsAsExitCodes,
      program: this.env.program,
      configPath: spec.configPath,
      config: spec.config,
      cwd: spec.cwd,
      env: spec.env,
      logPath: spec.logPath,
      pidDir: spec.pidDir,
      readinessTimeoutMs: spec.readinessTimeoutMs,
      // A pre-started processor runs plain node: not for a replica that needs node options (a heap limit).
      ...(pool && !spec.nodeArgs.length ? { pooled: () => pool.take() } : {}),
    });
    replica.on('orphans', (sockets: net.Socket[]) => {
      for (const s of sockets) this.broker.dispatch(s);
    });
    replica.on('trigger', () => {
      if (this.replicas.includes(replica)) this.checkTriggers();
    });
    replica.on('stats', (stats: ReplicaStats) => this.env.onMetrics({ kind: 'replica', replica: name, stats }));
    replica.on('gatewayRequests', (rows: unknown) => this.env.onMetrics({ kind: 'gatewayRequests', rows }));
    this.artifactOf.set(replica, d.artifact.id);
    return replica;
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
      if (!others)
        this.onStatus({
          state: 'unhealthy',
          message:
            `Replica ${r.name} exited (${info.why}); restarting in ${delay} ms ` +
            `(restart ${r.restarts + 1}). Last output:\n${r.lastLines()}`,
        });
      setTimeout(() => {
        if (this.closed || !this.replicas.includes(r)) return;
        r.restarts++;
        this.env.onMetrics({ kind: 'restart', replica: r.name });
        r.start().then(
          () => {
            this.broker.flush();
            if (this.replicas.filter((x) => x.state === 'ready').length === 1) this.onStatus(this.runningStatus());
          },
          (e) => this.log.warn({ replica: r.name, err: (e as Error).message }, 'replica failed to restart'),
        );
      }, delay).unref();
    });
  }

  private async stopAll(list: Replica[], drainMs = DRAIN_MS): Promise<void> {
    if (!list.length) return;
    await Promise.all(
      list.map(async (r) => {
        this.draining.add(r);
        try {
          await r.stop(STOP_GRACE_MS, drainMs);
        } finally {
          this.draining.delete(r);
          this.attempts.delete(r);
          try {
            rmSync(r.opts.configPath, { force: true });
          } catch {
            /* gone */
          }
        }
      }),
    );
    this.env.onReplicasStopped();
  }

  // ---------------------------------------------------------------- idle and autoscaling

  private tick(): void {
    const now = Date.now();
    this.broker.expire(now);
    // Scaling concerns the replicas that serve, not a version still starting.
    const d = this.live;
    if (!d || this.parked || this.closed || this.waking) return;
    const loads = this.replicas.map((r) => ({
      ready: r.state === 'ready',
      inflight: r.inflight,
      lastActivity: r.lastActivity,
    }));
    const decision = decideScale({ replicas: loads, held: this.broker.heldCount, lowSince: this.lowSince }, now, {
      ...d,
      scaleDownAfterMs: SCALE_DOWN_AFTER_MS,
    });
    this.lowSince = decision.lowSince;
    switch (decision.action) {
      case 'toZero': {
        this.log.info({ idleMs: now - Math.max(...loads.map((l) => l.lastActivity)) }, 'idle: scaling to zero');
        void this.scaleToZero().then(() =>
          this.onStatus({
            state: 'scaledToZero',
            message: undefined,
            scaleToZero: { lastScaleEvent: 'scaleToZeroCompleted', lastScaleEventTime: new Date().toISOString() },
          }),
        );
        return;
      }
      case 'up': {
        const r = this.newReplica(d);
        this.replicas.push(r);
        this.watch(r);
        this.log.info(
          { replicas: this.replicas.length, inflight: loads.reduce((n, l) => n + (l.ready ? l.inflight : 0), 0) },
          'scaling up',
        );
        r.start().then(
          () => this.broker.flush(),
          () => {
            this.replicas = this.replicas.filter((x) => x !== r);
          },
        );
        return;
      }
      case 'down': {
        const victim = this.replicas[this.replicas.length - 1];
        this.replicas = this.replicas.slice(0, -1);
        this.log.info({ replicas: this.replicas.length }, 'scaling down');
        void this.stopAll([victim]);
        return;
      }
      case 'none':
        return;
    }
  }
}
