/**
 * The local Platform: functions run as processes on this machine, one FunctionInstance each. It owns the
 * function ports, the replicas' run files and logs, and cleans up replicas a previous dashboard left
 * behind (kill -9) before it starts anything.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiError } from '../../errors.js';
import type { Artifact } from '../../build/builder.js';
import type { Logger } from '../../log.js';
import type { DataLayout } from '../../paths.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import type { ApplyOptions, Endpoint, LogQuery, Platform, ReplicaInfo, StatusListener } from '../platform.js';
import { killRecorded } from '../../util/pid-files.js';
import type { Confinement } from './confinement.js';
import { FunctionInstance, replicaPrefix } from './function-instance.js';
import { Interpreters } from './interpreters.js';
import { candidatePorts, listenOnFree } from './port-pool.js';
import { readLog } from './log-files.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';

export interface LocalPlatformOptions {
  layout: DataLayout;
  /** Address function ports bind to. */
  host: string;
  portRange: [number, number];
  /** Addresses that make external invocation URLs when functions bind every interface. */
  externalIps: () => string[];
  program: string;
  pythonRuntimeDir: string;
  log: Logger;
  onStatus: StatusListener;
  /** How long a connection waits for a replica (wake, restart) before a 503. */
  holdTimeoutMs?: number;
  /** The dashboard's own URL, once it listens. */
  dashboardUrl?: () => string | undefined;
  /** The credential replicas send to the dashboard's stream service (when the dashboard has a token). */
  streamToken?: string;
  /** Bounds on each function port's connections: in each replica, and while held for a wake. */
  connectionLimits?: ConnectionLimits;
  /** A function's port switched to a new version (see InstanceEnv.onRollover). */
  onRollover?: (port: number) => void;
  /** How replicas are confined (confinement.ts). */
  confinement: Confinement;
  /** Which interpreter runs each python runtime version (interpreters.ts); default: probe this machine. */
  interpreters?: Interpreters;
  /** Replicas stopped: artifacts they ran from may be collectable now. */
  onReplicasStopped?: () => void;
}

const key = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;

/** The dashboard's defaults (config.ts), for platforms built without a Config (tests, benchmarks). */
const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 };

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
  private closed = false;

  constructor(private readonly opts: LocalPlatformOptions) {
    const orphans = killOrphans(join(opts.layout.run, 'replicas'), opts.program);
    if (orphans) opts.log.warn({ orphans }, 'killed replicas left behind by a previous run');
    rmSync(join(opts.layout.run, 'configs'), { recursive: true, force: true });
    this.interpreters = opts.interpreters ?? new Interpreters();
    if (!this.interpreters.python('python').path) opts.log.warn('python3 was not found: python functions will fail to start');
  }

  private endpoint(port: number): Endpoint {
    const host = this.opts.host;
    const any = host === '0.0.0.0' || host === '::';
    const internal = [`${any ? '127.0.0.1' : host}:${port}`];
    const external = any ? this.opts.externalIps().map((ip) => `${ip}:${port}`) : [`${host}:${port}`];
    return { httpPort: port, internalInvocationUrls: internal, externalInvocationUrls: external.length ? external : internal };
  }

  private async instanceFor(fn: FunctionRecord, previousPort?: number): Promise<FunctionInstance> {
    if (this.closed) throw new Error('The platform is shutting down');
    const ref = { namespace: fn.metadata.namespace!, name: fn.metadata.name! };
    const http = Object.values(fn.spec.triggers ?? {}).find((t) => t.kind === 'http');
    const fixed = typeof http?.attributes?.port === 'number' && http.attributes.port > 0 ? http.attributes.port : undefined;
    let inst = this.instances.get(key(ref));
    if (inst && fixed && inst.port !== fixed) {
      // The http trigger asks for another port: move.
      await this.remove(ref);
      inst = undefined;
    }
    if (inst) return inst;
    inst = new FunctionInstance(ref, {
      host: this.opts.host,
      program: this.opts.program,
      runDir: this.opts.layout.run,
      logsDir: this.opts.layout.logs,
      baseEnv: baseReplicaEnv(process.env),
      pythonFor: (runtime) => this.interpreters.python(runtime).path,
      pythonRuntimeDir: this.opts.pythonRuntimeDir,
      log: this.opts.log,
      holdTimeoutMs: this.opts.holdTimeoutMs ?? 60_000,
      dashboardUrl: this.opts.dashboardUrl ?? (() => undefined),
      ...(this.opts.streamToken ? { streamToken: this.opts.streamToken } : {}),
      connectionLimits: this.opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS,
      onRollover: this.opts.onRollover ?? (() => {}),
      onReplicasStopped: this.opts.onReplicasStopped ?? (() => {}),
      confinement: this.opts.confinement,
    }, (s) => this.opts.onStatus(ref, s));
    const own = key(ref);
    const preferred = previousPort ?? [...this.reserved].find(([, k]) => k === own)?.[0];
    const candidates = fixed ? [fixed] : candidatePorts(this.opts.portRange, own, preferred);
    // Ports in use, and every other function's stored port: a function binding first after a restart
    // must not take a port another one is about to claim back.
    const taken = new Set(this.usedPorts);
    for (const [port, k] of this.reserved) if (k !== own) taken.add(port);
    const onTaken = (port: number, err: Error) => this.opts.log.debug({ function: own, port, err: err.message }, 'port taken; trying the next');
    try {
      inst.port = await listenOnFree(inst.server, this.opts.host, candidates, taken, { exact: fixed !== undefined, onTaken });
    } catch (e) {
      await inst.close();
      throw e;
    }
    if (this.closed) {
      await inst.close();
      throw new Error('The platform is shutting down');
    }
    if (preferred && inst.port !== preferred && !fixed) this.opts.log.info({ function: own, previousPort: preferred, port: inst.port }, 'the function\'s previous port is taken by another program: it moved');
    this.release(own);
    this.usedPorts.add(inst.port);
    this.instances.set(own, inst);
    return inst;
  }

  /**
   * Keeps each function's stored port for it alone until it binds, so that after a restart a function
   * without a stored port (or one that binds first) cannot take another's. Call before the first apply;
   * the first claim of a port wins.
   */
  reservePorts(ports: { ref: FunctionRef; port: number }[]): void {
    for (const { ref, port } of ports) if (!this.reserved.has(port)) this.reserved.set(port, key(ref));
  }

  private release(k: string): void {
    for (const [port, owner] of this.reserved) if (owner === k) this.reserved.delete(port);
  }

  async apply(fn: FunctionRecord, artifact: Artifact, opts: ApplyOptions = {}): Promise<Endpoint> {
    const inst = await this.instanceFor(fn, opts.previousPort);
    await inst.deploy(fn, artifact, opts.parked === true);
    return this.endpoint(inst.port);
  }

  async scaleToZero(ref: FunctionRef): Promise<void> {
    await this.instances.get(key(ref))?.scaleToZero();
  }

  async remove(ref: FunctionRef): Promise<void> {
    this.release(key(ref));
    const inst = this.instances.get(key(ref));
    if (!inst) return;
    this.instances.delete(key(ref));
    this.closing.add(inst);
    try {
      await inst.close();
    } finally {
      this.closing.delete(inst);
    }
    this.usedPorts.delete(inst.port);
  }

  /** Removes the logs of a function that no longer exists. */
  forgetLogs(ref: FunctionRef): void {
    rmSync(join(this.opts.layout.logs, ref.namespace, ref.name), { recursive: true, force: true });
  }

  replicas(ref: FunctionRef): ReplicaInfo[] {
    return this.instances.get(key(ref))?.replicaInfos() ?? [];
  }

  port(ref: FunctionRef): number | undefined {
    return this.instances.get(key(ref))?.port;
  }

  /** Artifact ids replicas run (or drain, or are about to start) from, across every function. */
  artifactsInUse(): Set<string> {
    const ids = new Set<string>();
    for (const inst of [...this.instances.values(), ...this.closing]) for (const id of inst.artifactsInUse()) ids.add(id);
    return ids;
  }

  servingPort(ref: FunctionRef): number | undefined {
    const inst = this.instances.get(key(ref));
    return inst?.serving() ? inst.port : undefined;
  }

  triggerProblem(ref: FunctionRef): string | undefined {
    return this.instances.get(key(ref))?.triggerProblem();
  }

  logs(ref: FunctionRef, replica: string, query: LogQuery): AsyncIterable<string> {
    const prefix = replicaPrefix(ref);
    const lower = replica.toLowerCase();
    if (!lower.startsWith(prefix.toLowerCase())) {
      throw apiError('REPLICA_OF_OTHER_FUNCTION', replica, ref.name);
    }
    const suffix = lower.slice(prefix.length);
    if (!/^[a-z0-9]{1,16}$/.test(suffix)) throw apiError('REPLICA_NAME_INVALID', replica, ref.name);
    const dir = join(this.opts.layout.logs, ref.namespace, ref.name);
    const name = suffix === 'build' ? 'build' : `${prefix}${suffix}`;
    const path = join(dir, `${name}.log`);
    if (!existsSync(path) && !existsSync(`${path}.1`)) {
      throw apiError('REPLICA_LOG_NOT_FOUND', replica, ref.name);
    }
    return readLog(path, query);
  }

  /** The build log file of a function (written by the function controller). */
  buildLogPath(ref: FunctionRef): string {
    return join(this.opts.layout.logs, ref.namespace, ref.name, 'build.log');
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.close()));
  }
}
