/**
 * The function controller: compares what the Store says a function should be with what runs, and acts.
 * The API writes a state that names the work (`building`: build and deploy; `configuringResources`:
 * redeploy the existing artifact; `waitingForScaleResourceToZero`: stop replicas); the controller does it
 * and writes the outcome (`ready`, `error`, `scaledToZero`). On start every stored function is reconciled,
 * so a restarted dashboard brings back what ran before. Each step is idempotent.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { BuildError, type Artifact, type Builder } from '../build/builder.js';
import { sourceKind } from '../resources/function-source.js';
import type { FunctionRecord, FunctionRef, FunctionStatus, LogRecord } from '../resources/types.js';
import type { Logger } from '../log.js';
import type { Platform } from '../platform/platform.js';
import { RotatingLog } from '../platform/local/log-files.js';
import type { Store, StoreChange } from '../store/store.js';
import { WorkQueue } from './work-queue.js';

export interface FunctionControllerDeps {
  store: Store;
  builder: Builder;
  platform: Platform;
  log: Logger;
  /** Where the build log of a function goes. */
  buildLogPath: (ref: FunctionRef) => string;
  /** Called when a function is gone for good (drop connection pools, logs). */
  onRemoved?: (ref: FunctionRef, port: number | undefined) => void;
}

/** States the API writes to ask for work. */
const WORK_STATES = new Set(['building', 'configuringResources', 'waitingForScaleResourceToZero']);
/** States in which the platform's own reports (crash, wake, idle) may change the stored state. */
const PLATFORM_OWNED = new Set(['ready', 'unhealthy', 'scaledToZero', 'waitingForScaleResourceFromZero', 'error']);
/** States of a function whose replicas run; after a restart they are redeployed from their artifact. */
const RUNNING_STATES = new Set(['ready', 'unhealthy', 'waitingForScaleResourceFromZero']);
/** status.logs keeps this many build records on error. */
const STATUS_LOG_RECORDS = 30;

const refOf = (fn: FunctionRecord): FunctionRef => ({ namespace: fn.metadata.namespace!, name: fn.metadata.name! });
const keyOf = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;
const parseKey = (key: string): FunctionRef => {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
};

export class FunctionController {
  private readonly queue: WorkQueue;
  /** Functions whose replicas this controller has set up since it started. */
  private readonly applied = new Set<string>();
  /** Resource versions this controller wrote itself (spec.image after a build): not new work. */
  private readonly ownVersions = new Set<string>();
  /** Functions whose spec.image the controller is writing right now (the store may notify during the write). */
  private readonly writingImage = new Set<string>();
  private readonly aborts = new Map<string, AbortController>();
  private unwatch?: () => void;

  constructor(private readonly deps: FunctionControllerDeps) {
    this.queue = new WorkQueue((k) => this.reconcile(k), 8, (k, e) => deps.log.error({ err: e, function: k }, 'reconcile failed'));
  }

  /** Starts watching the store and reconciles every stored function. */
  async start(): Promise<void> {
    this.unwatch = this.deps.store.watch((c) => this.onChange(c));
    const stored = await this.deps.store.list('function', undefined);
    // Functions bind concurrently: every stored port is claimed before any function is given a new one.
    this.deps.platform.reservePorts(stored.filter((fn) => fn.status.httpPort).map((fn) => ({ ref: refOf(fn), port: fn.status.httpPort! })));
    for (const fn of stored) {
      const ref = refOf(fn);
      if (RUNNING_STATES.has(fn.status.state ?? '')) {
        // Nothing runs yet after a restart: say so until the replicas are back (the change queues the work).
        await this.deps.store.setStatus('function', ref.namespace, ref.name, { state: 'configuringResources' });
      } else {
        this.queue.add(keyOf(ref));
      }
    }
  }

  /** Resolves when no reconcile is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** A status change the platform reports on its own (crash, restart, wake, idle). */
  async platformStatus(ref: FunctionRef, status: Partial<FunctionStatus>): Promise<void> {
    const fn = await this.deps.store.get('function', ref.namespace, ref.name);
    if (!fn || !PLATFORM_OWNED.has(fn.status.state ?? '')) return;
    await this.deps.store.setStatus('function', ref.namespace, ref.name, status);
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.queue.stop();
    for (const a of this.aborts.values()) a.abort();
    // Let reconciles in flight notice; the platform refuses new work once it is closed.
    await Promise.race([this.queue.idle(), new Promise((r) => setTimeout(r, 5_000).unref())]);
  }

  private onChange(c: StoreChange): void {
    if (c.kind !== 'function') return;
    const key = `${c.namespace}/${c.name}`;
    if (c.type === 'deleted') {
      this.aborts.get(key)?.abort();
      this.queue.add(key);
      return;
    }
    const fn = c.object as FunctionRecord;
    if (c.type === 'updated' && (this.writingImage.has(key) || this.ownVersions.delete(fn.metadata.resourceVersion ?? ''))) return;
    if (c.type === 'status' && !WORK_STATES.has(fn.status.state ?? '')) return;
    if (c.type === 'updated') this.aborts.get(key)?.abort();
    this.queue.add(key);
  }

  private async reconcile(key: string): Promise<void> {
    const ref = parseKey(key);
    const { store, platform } = this.deps;
    const fn = await store.get('function', ref.namespace, ref.name);
    if (!fn) {
      const port = platform.port(ref);
      await platform.remove(ref);
      this.applied.delete(key);
      this.deps.onRemoved?.(ref, port);
      return;
    }
    const state = fn.status.state ?? '';
    switch (state) {
      case 'building':
        return this.deploy(fn, { build: true });
      case 'configuringResources':
        return this.deploy(fn, { build: false });
      case 'waitingForScaleResourceToZero':
        await platform.scaleToZero(ref);
        await this.setStatusIfCurrent(fn, { state: 'scaledToZero', message: undefined, scaleToZero: { lastScaleEvent: 'scaleToZeroCompleted', lastScaleEventTime: new Date().toISOString() } });
        return;
      case 'ready':
      case 'unhealthy':
      case 'waitingForScaleResourceFromZero':
        if (!this.applied.has(key)) return this.deploy(fn, { build: false });
        return;
      case 'scaledToZero':
        if (!this.applied.has(key)) return this.deploy(fn, { build: false, parked: true });
        return;
      default:
        // error, imported, or a state we do not drive: nothing runs for it after a restart.
        return;
    }
  }

  /** The artifact to run: built (or reused), or the one spec.image names. */
  private async artifactFor(fn: FunctionRecord, build: boolean, signal: AbortSignal, onLog: (r: LogRecord) => void): Promise<Artifact> {
    const { builder } = this.deps;
    const toRecord = (l: { time: number; level: string; message: string }): LogRecord => ({ level: l.level, time: l.time, name: 'builder', message: l.message });
    if (!build && fn.spec.image) {
      const existing = await builder.fromImage(fn.spec.image);
      if (existing) return existing;
    }
    if (!build && sourceKind({ ...fn.spec, image: undefined }) === undefined) {
      throw new BuildError(`The artifact of spec.image ${JSON.stringify(fn.spec.image)} is not on this machine, and the function has no source to rebuild it from`);
    }
    return builder.build(fn, { signal, onLog: (l) => onLog(toRecord(l)), logDir: dirname(this.deps.buildLogPath(refOf(fn))) });
  }

  private async deploy(fn: FunctionRecord, opts: { build: boolean; parked?: boolean }): Promise<void> {
    const ref = refOf(fn);
    const key = keyOf(ref);
    const abort = new AbortController();
    this.aborts.set(key, abort);
    const records: LogRecord[] = [];
    let buildLog: RotatingLog | undefined;
    if (opts.build) {
      const path = this.deps.buildLogPath(ref);
      rmSync(path, { force: true });
      rmSync(`${path}.1`, { force: true });
      buildLog = new RotatingLog(path);
    }
    const onLog = (r: LogRecord) => {
      records.push(r);
      if (records.length > 200) records.shift();
      buildLog?.writeLine(JSON.stringify({ time: new Date(r.time).toISOString(), level: r.level, name: r.name, message: r.message }));
    };
    const started = Date.now();
    let current = fn;
    try {
      const artifact = await this.artifactFor(fn, opts.build, abort.signal, onLog);
      if (abort.signal.aborted) return;
      if (fn.spec.image !== artifact.image) {
        const latest = await this.deps.store.get('function', ref.namespace, ref.name);
        if (!latest || latest.metadata.resourceVersion !== fn.metadata.resourceVersion) return;
        const updated = { ...latest, spec: { ...latest.spec, image: artifact.image, build: { ...latest.spec.build, timestamp: Math.floor(Date.now() / 1000) } } };
        delete updated.spec.build.mode;
        this.writingImage.add(key);
        try {
          current = await this.deps.store.update('function', updated, { ifVersion: latest.metadata.resourceVersion });
        } finally {
          this.writingImage.delete(key);
        }
        // A store that notifies later (not during the write) recognises the version instead.
        this.ownVersions.add(current.metadata.resourceVersion!);
      }
      const endpoint = await this.deps.platform.apply(current, artifact, { previousPort: fn.status.httpPort, parked: opts.parked, signal: abort.signal });
      this.applied.add(key);
      this.deps.log.info({ function: key, ms: Date.now() - started, artifact: artifact.id, parked: opts.parked === true }, 'function deployed');
      await this.setStatusIfCurrent(current, {
        state: opts.parked ? 'scaledToZero' : 'ready',
        message: undefined,
        logs: undefined,
        httpPort: endpoint.httpPort,
        internalInvocationUrls: endpoint.internalInvocationUrls,
        externalInvocationUrls: endpoint.externalInvocationUrls,
        containerImage: artifact.image,
      });
    } catch (e) {
      if (abort.signal.aborted) return;
      const message = (e as Error).message || String(e);
      onLog({ level: 'error', time: Date.now(), name: opts.build ? 'builder' : 'deployer', message });
      this.deps.log.warn({ function: key, err: message.split('\n')[0] }, 'function deploy failed');
      const port = this.deps.platform.port(ref);
      await this.setStatusIfCurrent(current, {
        state: 'error',
        message: e instanceof BuildError ? message : `Failed to deploy the function: ${message}`,
        logs: records.slice(-STATUS_LOG_RECORDS),
        ...(port ? { httpPort: port } : {}),
      });
    } finally {
      buildLog?.close();
      if (this.aborts.get(key) === abort) this.aborts.delete(key);
    }
  }

  /** Writes status unless the function changed (or went) meanwhile: newer work owns it then. */
  private async setStatusIfCurrent(fn: FunctionRecord, status: Partial<FunctionStatus>): Promise<void> {
    const ref = refOf(fn);
    const latest = await this.deps.store.get('function', ref.namespace, ref.name);
    if (!latest) return;
    if (latest.metadata.resourceVersion !== fn.metadata.resourceVersion) return;
    if (WORK_STATES.has(latest.status.state ?? '') && latest.status.state !== fn.status.state) return;
    await this.deps.store.setStatus('function', ref.namespace, ref.name, status);
  }
}
