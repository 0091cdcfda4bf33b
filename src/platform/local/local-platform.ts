/**
 * The local Platform: functions run as processes on this machine, one FunctionInstance each. It owns the
 * function ports (a function's route is its port, which the dashboard binds), the replicas' run files and
 * logs (`logs/<ns>/<fn>/`), and cleans up replicas a previous dashboard left behind (kill -9) before it
 * starts anything. Stored ports are reserved at construction, so that after a restart every function gets
 * its port back whichever binds first.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiError } from '../../errors.js';
import { artifactDir } from '../../builder/artifact-layout.js';
import type { Artifact } from '../../builder/builder.js';
import type { Logger } from '../../log.js';
import type { DataLayout } from '../../paths.js';
import type { HandedConnection } from '../../gateway/handed-route.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import { fixedPortOf, HostPorts } from '../host-endpoints.js';
import { PlatformEvents } from '../platform-events.js';
import {
  ApplyError,
  type ApplyOptions,
  type DashboardAccess,
  type Endpoint,
  type LogQuery,
  type Platform,
  type PlatformEvent,
  type PlatformListener,
  type PrewarmStats,
  type ReplicaInfo,
} from '../platform.js';
import { killRecorded } from '../../util/pid-files.js';
import type { Confinement } from './confinement.js';
import { FunctionInstance } from './function-instance.js';
import { replicaPrefix } from './replica-spec.js';
import { Interpreters } from './interpreters.js';
import { candidatePorts, listenOnFree } from './port-pool.js';
import { readLog } from '../../util/log-files.js';
import { hostAddresses } from './host-addresses.js';
import { ProcessorPool } from './processor-pool.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';

export interface LocalPlatformOptions {
  layout: DataLayout;
  /** Address function ports bind to. */
  host: string;
  portRange: [number, number];
  /** Addresses that make external invocation URLs when functions bind every interface (default: this host's). */
  externalIps?: string[];
  program: string;
  pythonRuntimeDir: string;
  log: Logger;
  /** How long a connection waits for a replica (wake, restart) before a 503. */
  holdTimeoutMs?: number;
  /** How replicas reach the dashboard (its stream service). */
  dashboard?: DashboardAccess;
  /** Bounds on each function port's connections: in each replica, and while held for a wake. */
  connectionLimits?: ConnectionLimits;
  /** How replicas are confined (confinement.ts). */
  confinement: Confinement;
  /** false: replicas count nothing and report no stats (--metrics off); default on. */
  metrics?: boolean;
  /** Which interpreter runs each python runtime version (interpreters.ts); default: probe this machine. */
  interpreters?: Interpreters;
  /**
   * Stored ports (status.httpPort): each kept for its function alone until it binds, so that after a
   * restart a function without a stored port (or one that binds first) cannot take another's. The first
   * claim of a port wins.
   */
  reservedPorts?: { ref: FunctionRef; port: number }[];
  /**
   * Generic processors kept started for replicas to specialise (--prewarm; processor-pool.ts); 0 or
   * undefined: none. Not with the bwrap sandbox, whose command depends on the function.
   */
  prewarm?: number;
  /** The nodejs handler pre-started processors run once to warm up (paths.ts NODEJS_WARM_UP_HANDLER). */
  warmUpHandler?: string;
}

const key = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;
/** How long a gateway change waits for replicas to learn that their handed routes changed. */
const REVOKE_TIMEOUT_MS = 2_000;

/** `host:port` (IPv6 literals in brackets). */

/** The dashboard's defaults (config.ts), for platforms built without a Config (tests, benchmarks). */
const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
};

/** The environment replicas start from: enough to run programs, nothing of the dashboard's own. */
export function baseReplicaEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) if (env[k]) out[k] = env[k]!;
  if (!out.PATH) out.PATH = '/usr/local/bin:/usr/bin:/bin';
  return out;
}

/**
 * Kills replicas (whole process groups, and with them their PID namespaces) that a previous dashboard run
 * left behind. A recorded pid counts only while it still runs the processor. Returns how many.
 */
export function killOrphans(pidDir: string, program: string): number {
  return killRecorded(pidDir, (p) => p.argv.includes(program));
}

export class LocalPlatform implements Platform {
  readonly name = 'local';
  private readonly instances = new Map<string, FunctionInstance>();
  /** Instances removed whose replicas are still stopping (their artifacts are still in use). */
  private readonly closing = new Set<FunctionInstance>();
  private readonly usedPorts = new Set<number>();
  private readonly interpreters: Interpreters;
  /** Stored ports (status.httpPort) kept for their function until it binds (port → function key). */
  private readonly reserved = new Map<number, string>();
  private readonly events: PlatformEvents;
  private readonly ports: HostPorts;
  private closed = false;
  /** Pre-started processors (--prewarm), undefined when there are none. */
  readonly pool?: ProcessorPool;

  constructor(private readonly opts: LocalPlatformOptions) {
    this.events = new PlatformEvents(opts.log);
    this.ports = new HostPorts(opts.host, () => opts.externalIps ?? hostAddresses());
    for (const { ref, port } of opts.reservedPorts ?? [])
      if (!this.reserved.has(port)) this.reserved.set(port, key(ref));
    const orphans = killOrphans(join(opts.layout.run, 'replicas'), opts.program);
    if (orphans) opts.log.warn({ orphans }, 'killed replicas left behind by a previous run');
    rmSync(join(opts.layout.run, 'configs'), { recursive: true, force: true });
    this.interpreters = opts.interpreters ?? new Interpreters();
    if (opts.prewarm && opts.confinement.kind !== 'bwrap') {
      this.pool = new ProcessorPool({
        size: opts.prewarm,
        program: opts.program,
        // The prefix of the PID namespace and the process group does not depend on the function's paths.
        wrap: opts.confinement.replicaPrefix({ artifactDir: '/', configPath: '/', homeDir: '/' }),
        baseEnv: baseReplicaEnv(process.env),
        ...(this.interpreters.python('python').path
          ? { python: { path: this.interpreters.python('python').path!, runtimeDir: opts.pythonRuntimeDir } }
          : {}),
        pidDir: join(opts.layout.run, 'replicas'),
        ...(opts.warmUpHandler ? { warmUpHandler: opts.warmUpHandler } : {}),
        log: opts.log.child({ component: 'processor-pool' }),
      });
      this.pool.fill();
    } else if (opts.prewarm) {
      opts.log.warn('--prewarm has no effect with --sandbox bwrap: each replica runs in a sandbox of its own');
    }
    if (!this.interpreters.python('python').path)
      opts.log.warn('python3 was not found: python functions will fail to start');
  }

  prewarm(): PrewarmStats | undefined {
    return this.pool?.stats();
  }

  subscribe(listener: PlatformListener): () => void {
    return this.events.subscribe(listener);
  }

  private emit(event: PlatformEvent): void {
    this.events.emit(event);
  }

  /** Where functions are reached from outside (--external-ip, else this host's): /api/external_ip_addresses. */
  externalAddresses(): string[] {
    return this.ports.externalAddresses();
  }

  private async instanceFor(fn: FunctionRecord): Promise<FunctionInstance> {
    if (this.closed) throw new Error('The platform is shutting down');
    const ref = { namespace: fn.metadata.namespace!, name: fn.metadata.name! };
    const fixed = fixedPortOf(fn);
    let inst = this.instances.get(key(ref));
    if (inst && fixed && inst.port !== fixed) {
      // The http trigger asks for another port: move (the logs stay; clients of the old port reconnect).
      const old = await this.stopInstance(ref);
      if (old) this.emit({ type: 'routeChanged', ref, targets: this.ports.targets(old) });
      inst = undefined;
    }
    if (inst) return inst;
    inst = new FunctionInstance(
      ref,
      {
        program: this.opts.program,
        runDir: this.opts.layout.run,
        logsDir: this.opts.layout.logs,
        artifactDir: (id) => artifactDir(this.opts.layout.artifacts, id),
        baseEnv: baseReplicaEnv(process.env),
        pythonFor: (runtime) => this.interpreters.python(runtime).path,
        pythonRuntimeDir: this.opts.pythonRuntimeDir,
        log: this.opts.log,
        holdTimeoutMs: this.opts.holdTimeoutMs ?? 60_000,
        dashboardUrl: this.opts.dashboard?.url ?? (() => undefined),
        ...(this.opts.dashboard?.replicaToken ? { streamToken: this.opts.dashboard.replicaToken } : {}),
        connectionLimits: this.opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS,
        onRollover: (port) => this.emit({ type: 'routeChanged', ref, targets: this.ports.targets(port) }),
        onReplicasStopped: () => this.emit({ type: 'replicasStopped', ref }),
        onMetrics: (metrics) => this.emit({ type: 'metrics', ref, metrics }),
        confinement: this.opts.confinement,
        ...(this.opts.metrics === false ? { metrics: false } : {}),
        ...(this.pool ? { pool: this.pool } : {}),
      },
      (status) => this.emit({ type: 'status', ref, status }),
    );
    const own = key(ref);
    const preferred = [...this.reserved].find(([, k]) => k === own)?.[0];
    const candidates = fixed ? [fixed] : candidatePorts(this.opts.portRange, own, preferred);
    // Ports in use, and every other function's stored port: a function binding first after a restart
    // must not take a port another one is about to claim back.
    const taken = new Set(this.usedPorts);
    for (const [port, k] of this.reserved) if (k !== own) taken.add(port);
    const onTaken = (port: number, err: Error) =>
      this.opts.log.debug({ function: own, port, err: err.message }, 'port taken; trying the next');
    try {
      inst.port = await listenOnFree(inst.server, this.opts.host, candidates, taken, {
        exact: fixed !== undefined,
        onTaken,
      });
    } catch (e) {
      await inst.close();
      throw e;
    }
    if (this.closed) {
      await inst.close();
      throw new Error('The platform is shutting down');
    }
    if (preferred && inst.port !== preferred && !fixed)
      this.opts.log.info(
        { function: own, previousPort: preferred, port: inst.port },
        "the function's previous port is taken by another program: it moved",
      );
    this.release(own);
    this.usedPorts.add(inst.port);
    this.instances.set(own, inst);
    return inst;
  }

  private release(k: string): void {
    for (const [port, owner] of this.reserved) if (owner === k) this.reserved.delete(port);
  }

  async apply(fn: FunctionRecord, artifact: Artifact, opts: ApplyOptions = {}): Promise<Endpoint> {
    const inst = await this.instanceFor(fn);
    try {
      await inst.deploy(fn, artifact, opts.parked === true);
    } catch (e) {
      throw new ApplyError((e as Error).message, this.ports.endpoint(inst.port));
    }
    const problem = opts.parked ? undefined : inst.triggerProblem();
    return { ...this.ports.endpoint(inst.port), ...(problem ? { problem } : {}) };
  }

  async scaleToZero(ref: FunctionRef): Promise<void> {
    await this.instances.get(key(ref))?.scaleToZero();
  }

  async remove(ref: FunctionRef): Promise<void> {
    const port = await this.stopInstance(ref);
    if (port) this.emit({ type: 'routeChanged', ref, targets: this.ports.targets(port) });
    rmSync(join(this.opts.layout.logs, ref.namespace, ref.name), { recursive: true, force: true });
  }

  /** Stops a function's replicas and frees its port (its logs stay); returns the port it had. */
  private async stopInstance(ref: FunctionRef): Promise<number | undefined> {
    this.release(key(ref));
    const inst = this.instances.get(key(ref));
    if (!inst) return undefined;
    this.instances.delete(key(ref));
    this.closing.add(inst);
    try {
      await inst.close();
    } finally {
      this.closing.delete(inst);
    }
    this.usedPorts.delete(inst.port);
    return inst.port;
  }

  async replicas(ref: FunctionRef): Promise<ReplicaInfo[]> {
    return this.instances.get(key(ref))?.replicaInfos() ?? [];
  }

  /** Artifact ids replicas run (or drain, or are about to start) from, across every function. */
  async artifactsInUse(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const inst of [...this.instances.values(), ...this.closing])
      for (const id of inst.artifactsInUse()) ids.add(id);
    return ids;
  }

  /**
   * The function's port, while a version serves it. It resolves at once: the port itself holds a
   * connection while a replica wakes or restarts, and hands it over when one is ready. Not an async
   * function: this is the invocation path, one promise and no more.
   */
  route(ref: FunctionRef): Promise<string> {
    const inst = this.instances.get(key(ref));
    if (inst?.serving()) return Promise.resolve(this.ports.routeTo(inst.port));
    const why = !inst
      ? 'it is not deployed'
      : inst.disabled()
        ? 'it is disabled (spec.disable)'
        : 'no version of it has started yet';
    return Promise.reject(apiError('FUNCTION_NOT_ROUTABLE', ref.name, why));
  }

  handOverGateway(ref: FunctionRef, conn: HandedConnection): boolean {
    const inst = this.instances.get(key(ref));
    if (!inst?.serving()) return false;
    return inst.handOverGateway(conn, { ...conn.route, upstreamHost: this.ports.routeTo(inst.port) });
  }

  async revokeGatewayRoutes(keys: readonly string[]): Promise<void> {
    const all = [...this.instances.values(), ...this.closing];
    await Promise.all(all.map((inst) => inst.revokeGatewayRoutes(keys, REVOKE_TIMEOUT_MS)));
  }

  async logs(ref: FunctionRef, replica: string, query: LogQuery): Promise<AsyncIterable<string>> {
    const prefix = replicaPrefix(ref);
    const lower = replica.toLowerCase();
    if (!lower.startsWith(prefix.toLowerCase())) {
      throw apiError('REPLICA_OF_OTHER_FUNCTION', replica, ref.name);
    }
    const suffix = lower.slice(prefix.length);
    if (!/^[a-z0-9]{1,16}$/.test(suffix)) throw apiError('REPLICA_NAME_INVALID', replica, ref.name);
    const dir = join(this.opts.layout.logs, ref.namespace, ref.name);
    const path = join(dir, `${prefix}${suffix}.log`);
    if (!existsSync(path) && !existsSync(`${path}.1`)) {
      throw apiError('REPLICA_LOG_NOT_FOUND', replica, ref.name);
    }
    return readLog(path, query);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool?.close();
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.close()));
  }
}
