/**
 * One function on the docker platform: its port (port-proxy.ts) and its replica containers
 * (container-replica.ts), and the rules that move between them — the same as the local platform's
 * function instance: a new version starts beside the old one and takes over at once when it is ready (the
 * old one drains); a failed version leaves the previous one serving; a function scaled to zero keeps its
 * port and wakes on the next connection; a replica that exits on its own is restarted in place with
 * back-off, and the function's state says why it exited (an OOM kill by name); replicas are added under
 * load and removed when idle, down to zero after the idle window of a function whose minimum is 0.
 *
 * Containers an earlier run of the dashboard left for this function are adopted when they were made from
 * the same template (their spec label), so a restarted dashboard serves on with the same replicas.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Artifact } from '../../builder/builder.js';
import type { Logger } from '../../log.js';
import type { FunctionRecord, FunctionRef, FunctionStatus } from '../../resources/types.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import { backoffDelay, nextAttempt } from '../local/backoff.js';
import type { PlatformMetrics, ReplicaInfo } from '../platform.js';
import type { ReplicaStats } from '../../processor/stats.js';
import { decideScale } from '../local/scaling.js';
import { scalingOf, type Scaling } from '../replica-scaling.js';
import type { TakenContainer } from './container-pool.js';
import { ContainerReplica, type ReplicaExit } from './container-replica.js';
import { replicaCreateOptions, templateHash, type ReplicaTemplate } from './container-spec.js';
import { engineMessage, engineStatus } from './engine.js';
import { LABELS } from './labels.js';
import { PortProxy } from './port-proxy.js';
import { STOP_TIMEOUT_S } from './replica-template.js';

const TICK_MS = 1_000;
const SCALE_DOWN_AFTER_MS = 30_000;

/** Replica names: Nuclio's container names plus a pod-like suffix. */
export function replicaPrefix(ref: FunctionRef): string {
  return `nuclio-${ref.namespace}-${ref.name}-`;
}

/** A new replica name: the prefix and 5 random characters. */
function replicaName(ref: FunctionRef): string {
  return `${replicaPrefix(ref)}${randomBytes(3).toString('hex').slice(0, 5)}`;
}

/** A container an earlier run of the dashboard left, as the engine lists it. */
export interface Leftover {
  id: string;
  name: string;
  running: boolean;
  spec: string | undefined;
  artifactId: string | undefined;
}

/** What every function of the platform shares. */
export interface FunctionEnv {
  docker: Docker;
  log: Logger;
  holdTimeoutMs: number;
  connectionLimits: ConnectionLimits;
  /**
   * The replica template of a version: the image exists, the artifact is in the node's cache (with a
   * pool: once `beforeCreate` ran).
   */
  prepare: (fn: FunctionRecord, artifact: Artifact) => Promise<ReplicaTemplate>;
  /**
   * A pre-started container made replica `name` of the template (--prewarm: container-pool.ts), or
   * undefined (no pool, none ready, or it could not be): then a container is created.
   */
  takePooled?: (t: ReplicaTemplate, name: string, timeoutMs: number) => Promise<TakenContainer | undefined>;
  /** Before a container of the template is created: its artifact's cache volume is filled (with a pool, late). */
  beforeCreate?: (t: ReplicaTemplate) => Promise<void>;
  /** Containers of this function an earlier run left (each handed out once). */
  takeLeftovers: () => Leftover[];
  onStatus: (status: Partial<FunctionStatus>) => void;
  /** A new version took over the port, or the function went: keep-alive clients of the port reconnect. */
  onRouteChanged: () => void;
  /** Replicas stopped: the artifacts they ran from may be collectable. */
  onReplicasStopped: () => void;
  /** Something measured about the replicas: their counters, a restart, a wake from zero. */
  onMetrics: (metrics: PlatformMetrics) => void;
  /** Poll the replicas' counters (`/stats`) every tick: the dashboard counts them (--metrics on). */
  stats: boolean;
}

interface Version {
  fn: FunctionRecord;
  artifact: Artifact;
  scaling: Scaling;
  /** Made when the version first starts replicas (a parked version may never need one). */
  template?: ReplicaTemplate;
}

export class DockerFunction {
  readonly proxy: PortProxy;
  port = 0;
  /** The version asked for last (it may still be starting). */
  private deployment?: Version;
  /** The version that serves (or, parked, wakes on the next connection). */
  private live?: Version;
  private replicas: ContainerReplica[] = [];
  private readonly draining = new Set<ContainerReplica>();
  private parked = true;
  private waking?: Promise<void>;
  private closed = false;
  private lowSince = 0;
  private readonly attempts = new Map<ContainerReplica, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    readonly ref: FunctionRef,
    private readonly env: FunctionEnv,
  ) {
    this.log = env.log.child({ function: `${ref.namespace}/${ref.name}` });
    this.proxy = new PortProxy({
      name: ref.name,
      maxConnections: env.connectionLimits.maxConnections,
      holdTimeoutMs: env.holdTimeoutMs,
      targets: () => this.replicas,
      refusal: () =>
        (this.live ?? this.deployment)?.scaling.disabled
          ? `Function ${ref.name} is disabled (spec.disable)`
          : undefined,
      onHeld: () => {
        if (this.parked && (this.live ?? this.deployment) && !this.closed) void this.wake();
      },
      log: this.log,
    });
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Replicas of the serving version, live. */
  replicaInfos(): ReplicaInfo[] {
    return this.replicas.map((r) => r.info());
  }

  /** True when `name` is one of its replicas, draining ones included. */
  hasReplica(name: string): ContainerReplica | undefined {
    return [...this.replicas, ...this.draining].find((r) => r.name === name);
  }

  /** True when a version serves the port (replicas answer, restart, or wake from zero). */
  serving(): boolean {
    return !this.closed && this.live !== undefined && !this.live.scaling.disabled;
  }

  disabled(): boolean {
    return this.deployment?.scaling.disabled === true;
  }

  /** Artifact ids in use: the versions deployed and serving, and every replica's, draining ones included. */
  artifactsInUse(): string[] {
    const ids = [this.deployment?.artifact.id, this.live?.artifact.id];
    for (const r of [...this.replicas, ...this.draining]) ids.push(r.artifactId);
    return ids.filter((id): id is string => id !== undefined);
  }

  // ---------------------------------------------------------------- deploy, park, remove

  /** Rolls to a new version: new replicas first, then the switch, then the old ones drain. */
  async deploy(fn: FunctionRecord, artifact: Artifact, parked: boolean): Promise<void> {
    const v: Version = { fn, artifact, scaling: scalingOf(fn) };
    this.deployment = v;
    if (parked || v.scaling.disabled) {
      this.parked = true;
      this.live = v;
      await this.removeLeftovers(this.env.takeLeftovers());
      void this.stopAll(this.replicas.splice(0), true);
      return;
    }
    let fresh: ContainerReplica[];
    try {
      fresh = await this.startReplicas(v, Math.max(v.scaling.min, 1));
    } catch (e) {
      // The previous version keeps serving (and scaling, and waking) as it did.
      if (this.deployment === v && this.live) this.deployment = this.live;
      throw e;
    }
    if (this.closed || this.deployment !== v) {
      await this.stopAll(fresh, false);
      return;
    }
    const old = this.replicas;
    this.replicas = fresh;
    for (const r of fresh) this.watch(r);
    this.live = v;
    this.parked = false;
    this.proxy.flush();
    if (old.length) this.env.onRouteChanged();
    void this.stopAll(old, true);
  }

  /** Stops every replica, keeping the port: the next connection wakes the function. */
  async scaleToZero(): Promise<void> {
    this.parked = true;
    void this.stopAll(this.replicas.splice(0), true);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.proxy.close(`Function ${this.ref.name} was removed`);
    await this.stopAll([...this.replicas.splice(0), ...this.draining], false);
  }

  /** Starts replicas for connections that arrived while scaled to zero. */
  wake(): Promise<void> {
    if (this.waking) return this.waking;
    const v = (this.live ?? this.deployment)!;
    this.env.onStatus({ state: 'waitingForScaleResourceFromZero' });
    const started = Date.now();
    this.waking = (async () => {
      try {
        const fresh = await this.startReplicas(v, Math.max(v.scaling.min, 1));
        if (this.closed || (this.live ?? this.deployment) !== v) {
          await this.stopAll(fresh, false);
          return;
        }
        this.replicas.push(...fresh);
        for (const r of fresh) this.watch(r);
        this.parked = false;
        this.proxy.flush();
        this.log.info({ ms: Date.now() - started }, 'woke from zero');
        this.env.onMetrics({ kind: 'coldStart', durationMs: Date.now() - started });
        this.env.onStatus({
          state: 'ready',
          message: undefined,
          scaleToZero: { lastScaleEvent: 'scaleFromZeroCompleted', lastScaleEventTime: new Date().toISOString() },
        });
      } catch (e) {
        const message = `Failed to wake the function from zero: ${(e as Error).message}`;
        this.proxy.refuseHeld(503, message);
        this.env.onStatus({ state: 'error', message });
      } finally {
        this.waking = undefined;
      }
    })();
    return this.waking;
  }

  // ---------------------------------------------------------------- replicas

  /**
   * `n` ready replicas of `v`: containers an earlier run left from the same template first (adopted),
   * new ones for the rest. On a failure every one of them is removed and the error rethrown.
   */
  private async startReplicas(v: Version, n: number): Promise<ContainerReplica[]> {
    v.template ??= await this.env.prepare(v.fn, v.artifact);
    const template = v.template;
    const hash = templateHash(template);
    const leftovers = this.env.takeLeftovers();
    const adopt = leftovers.filter((l) => l.spec === hash).slice(0, Math.max(n, v.scaling.max));
    await this.removeLeftovers(leftovers.filter((l) => !adopt.includes(l)));
    const fresh: ContainerReplica[] = adopt.map((l) =>
      this.replicaOf(this.env.docker.getContainer(l.id), l.name, template),
    );
    const running = new Set(adopt.filter((l) => l.running).map((l) => l.name));
    const pooled = (r: ContainerReplica) => {
      fresh.push(r);
      if (r.respecialise) running.add(r.name);
    };
    if (adopt.length)
      this.log.info(
        { replicas: adopt.map((l) => l.name) },
        'adopting the replicas an earlier run of the dashboard left',
      );
    try {
      while (fresh.length < n) pooled(await this.newReplica(template, v.scaling.readinessMs));
      await Promise.all(fresh.map((r) => r.start(v.scaling.readinessMs, running.has(r.name))));
      return fresh;
    } catch (e) {
      await Promise.all(fresh.map((r) => r.remove().catch(() => {})));
      throw e;
    }
  }

  private replicaOf(container: Docker.Container, name: string, t: ReplicaTemplate): ContainerReplica {
    return new ContainerReplica(
      this.env.docker,
      container,
      name,
      t.config !== undefined,
      t.artifactId,
      t.limits.memory,
    );
  }

  /**
   * A new replica: a pre-started container made this replica when the pool has one (it runs already:
   * `respecialise` is set), else a container created.
   */
  private async newReplica(t: ReplicaTemplate, readinessMs: number): Promise<ContainerReplica> {
    if (this.env.takePooled) {
      const name = replicaName(this.ref);
      const taken = await this.env.takePooled(t, name, readinessMs);
      if (taken) {
        const r = this.replicaOf(taken.container, name, t);
        r.respecialise = taken.respecialise;
        return r;
      }
    }
    return this.create(t);
  }

  /** Creates a replica container (another name if the engine has that one: names are per engine). */
  private async create(t: ReplicaTemplate): Promise<ContainerReplica> {
    await this.env.beforeCreate?.(t);
    for (let attempt = 0; ; attempt++) {
      const name = replicaName(this.ref);
      try {
        const container = await this.env.docker.createContainer(replicaCreateOptions(t, name));
        return this.replicaOf(container, name, t);
      } catch (e) {
        if (engineStatus(e) === 409 && attempt < 5) continue;
        throw new Error(`Failed to create the replica container ${name} (image ${t.image}): ${engineMessage(e)}`, {
          cause: e,
        });
      }
    }
  }

  private async removeLeftovers(list: Leftover[]): Promise<void> {
    if (!list.length) return;
    this.log.info({ containers: list.map((l) => l.name) }, 'removing containers an earlier run of the dashboard left');
    await Promise.all(
      list.map((l) =>
        this.env.docker
          .getContainer(l.id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  }

  /** Reports its counters, and restarts a replica of the serving version that exits on its own, with back-off. */
  private watch(r: ContainerReplica): void {
    // Checked by the dashboard before it counts (metrics/replica-totals.ts): the container runs user code.
    r.on('stats', (stats: unknown) =>
      this.env.onMetrics({ kind: 'replica', replica: r.name, stats: stats as ReplicaStats }),
    );
    r.on('exit', (x: ReplicaExit) => {
      if (x.stopping || this.closed || !this.replicas.includes(r)) return;
      const attempt = nextAttempt(this.attempts.get(r) ?? -1, Date.now() - r.startedAt);
      this.attempts.set(r, attempt);
      const delay = backoffDelay(attempt);
      const others = this.replicas.some((o) => o !== r && o.ready);
      this.log.warn({ replica: r.name, why: x.why, restartInMs: delay }, 'replica exited; restarting');
      if (!others)
        this.env.onStatus({
          state: 'unhealthy',
          message:
            `Replica ${r.name} exited (${x.why}); restarting in ${delay} ms (restart ${r.restarts + 1}). Last ` +
            `output:\n${x.lastLines}`,
        });
      setTimeout(() => {
        if (this.closed || !this.replicas.includes(r)) return;
        r.restarts++;
        this.env.onMetrics({ kind: 'restart', replica: r.name });
        const v = this.live;
        r.start(v?.scaling.readinessMs ?? 120_000).then(
          () => {
            this.proxy.flush();
            if (this.replicas.filter((o) => o.ready).length === 1)
              this.env.onStatus({ state: 'ready', message: undefined });
          },
          (e) => this.log.warn({ replica: r.name, err: (e as Error).message }, 'replica failed to restart'),
        );
      }, delay).unref();
    });
  }

  /**
   * Stops replicas and removes their containers. `drain` (a rollover, a scale-down, to zero): events in
   * flight finish and idle keep-alive clients get a few seconds to leave. Without (the function or the
   * dashboard goes): removed at once — the port that fed them is closed already, so nothing they could
   * still answer would reach a client.
   */
  private async stopAll(list: ContainerReplica[], drain: boolean): Promise<void> {
    if (!list.length) return;
    await Promise.all(
      list.map(async (r) => {
        this.draining.add(r);
        try {
          if (drain) await r.stop(true, STOP_TIMEOUT_S * 1000);
          else await r.remove();
        } catch (e) {
          this.log.warn({ replica: r.name, err: (e as Error).message }, 'failed to remove a replica container');
        } finally {
          this.draining.delete(r);
          this.attempts.delete(r);
        }
      }),
    );
    this.env.onReplicasStopped();
  }

  // ---------------------------------------------------------------- idle and autoscaling

  private async tick(): Promise<void> {
    this.proxy.expire();
    const v = this.live;
    if (!v || this.parked || this.closed || this.waking) return;
    await Promise.all(this.replicas.map((r) => r.pollLoad(this.env.stats)));
    if (this.parked || this.closed || this.live !== v) return;
    const now = Date.now();
    const loads = this.replicas.map((r) => ({ ready: r.ready, inflight: r.inflight, lastActivity: r.lastActivity }));
    const decision = decideScale({ replicas: loads, held: this.proxy.heldCount, lowSince: this.lowSince }, now, {
      ...v.scaling,
      scaleDownAfterMs: SCALE_DOWN_AFTER_MS,
    });
    this.lowSince = decision.lowSince;
    switch (decision.action) {
      case 'toZero': {
        this.log.info({ idleMs: now - Math.max(...loads.map((l) => l.lastActivity)) }, 'idle: scaling to zero');
        await this.scaleToZero();
        this.env.onStatus({
          state: 'scaledToZero',
          message: undefined,
          scaleToZero: { lastScaleEvent: 'scaleToZeroCompleted', lastScaleEventTime: new Date().toISOString() },
        });
        return;
      }
      case 'up': {
        if (!v.template) return;
        this.log.info({ replicas: this.replicas.length + 1 }, 'scaling up');
        let r: ContainerReplica;
        try {
          r = await this.newReplica(v.template, v.scaling.readinessMs);
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, 'failed to scale up');
          return;
        }
        if (this.closed || this.live !== v) {
          await r.remove().catch(() => {});
          return;
        }
        this.replicas.push(r);
        this.watch(r);
        r.start(v.scaling.readinessMs, r.respecialise !== undefined).then(
          () => this.proxy.flush(),
          () => {
            this.replicas = this.replicas.filter((x) => x !== r);
            void r.remove().catch(() => {});
          },
        );
        return;
      }
      case 'down': {
        const victim = this.replicas[this.replicas.length - 1];
        this.replicas = this.replicas.slice(0, -1);
        this.log.info({ replicas: this.replicas.length }, 'scaling down');
        void this.stopAll([victim], true);
        return;
      }
      case 'none':
        return;
    }
  }
}

/** The leftover a listed container is, if it is a replica of `ref` this dashboard made. */
export function leftoverOf(c: Docker.ContainerInfo): Leftover {
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    running: c.State === 'running',
    spec: c.Labels?.[LABELS.spec],
    artifactId: c.Labels?.[LABELS.artifact],
  };
}
