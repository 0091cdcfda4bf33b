/**
 * The function controller: compares what the Store says a function should be with what runs, and acts.
 * The API writes a state that names the work (`resources/function-state.ts`: `building`: build and
 * deploy; `configuringResources`: redeploy the existing artifact; `waitingForScaleResourceToZero`: stop
 * replicas); the controller does it and writes the outcome (`ready`, `error`, `scaledToZero`). On start
 * every stored function is reconciled, so a restarted dashboard brings back what ran before. Each step is
 * idempotent. The controller's own store writes say so (`by: 'controller'`), and it ignores those changes:
 * spec.image after a build, status.logs during a deploy and outcomes are never new work.
 */
import { BuildError, type Artifact, type Builder } from '../builder/builder.js';
import { sourceKind } from '../resources/function-source.js';
import { canTransition, isRunning, isWorkPending, workFor } from '../resources/function-state.js';
import type { FunctionRecord, FunctionRef, FunctionState, FunctionStatus, LogRecord } from '../resources/types.js';
import type { Logger } from '../log.js';
import { ApplyError, type Platform } from '../platform/platform.js';
import type { RotatingLog } from '../util/log-files.js';
import { buildLogName, type BuildLogs } from './build-log.js';
import type { Store, StoreChange } from '../store/store.js';
import { DeployLog } from './deploy-log.js';
import { WorkQueue } from './work-queue.js';

export interface FunctionControllerDeps {
  store: Store;
  builder: Builder;
  platform: Platform;
  log: Logger;
  /** The build logs: written while a function builds, removed with the function. */
  buildLogs: BuildLogs;
  /** Called when a function is gone for good (its replicas, replica logs and build log with it). */
  onRemoved?: (ref: FunctionRef) => void;
  /**
   * What a deploy of `runtime` should tell the user about the interpreter that runs it (a version asked
   * for but not installed), for the build log and status.message; undefined when there is nothing to say.
   */
  runtimeNote?: (runtime: string | undefined) => string | undefined;
  /** Called when a deploy is over, whatever its outcome (artifacts it pinned may be collectable). */
  onDeployEnded?: () => void;
}

/** How the controller signs its store writes (StoreChange.by), to tell them from work asked of it. */
const BY = 'controller';
/** Start-up lines of each new replica copied into status.logs (the replica's log has them all). */
const STARTUP_LINES_PER_REPLICA = 20;

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
  private readonly aborts = new Map<string, AbortController>();
  /** Artifact ids each deploy in progress builds or reuses: kept from collection until the deploy ends. */
  private readonly pins = new Set<Set<string>>();
  private unwatch?: () => void;

  constructor(private readonly deps: FunctionControllerDeps) {
    this.queue = new WorkQueue(
      (k) => this.reconcile(k),
      8,
      (k, e) => deps.log.error({ err: e, function: k }, 'reconcile failed'),
    );
  }

  /** Starts watching the store and reconciles every stored function. */
  async start(): Promise<void> {
    this.unwatch = this.deps.store.watch((c) => this.onChange(c));
    for (const fn of await this.deps.store.list('function', undefined)) {
      const ref = refOf(fn);
      // Nothing runs yet after a restart: say so until the replicas are back.
      if (isRunning(fn.status.state))
        await this.deps.store.setStatus(
          'function',
          ref.namespace,
          ref.name,
          { state: 'configuringResources' },
          { by: BY },
        );
      this.queue.add(keyOf(ref));
    }
  }

  /** Resolves when no reconcile is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Artifact ids deploys in progress hold (built or reused, not yet recorded or running). */
  pinnedArtifacts(): Set<string> {
    const ids = new Set<string>();
    for (const p of this.pins) for (const id of p) ids.add(id);
    return ids;
  }

  /**
   * A status change the platform reports on its own (crash, restart, wake, idle): written when the
   * lifecycle lets the platform move the function from its stored state (never over work in progress).
   */
  async platformStatus(ref: FunctionRef, status: Partial<FunctionStatus>): Promise<void> {
    const fn = await this.deps.store.get('function', ref.namespace, ref.name);
    if (!fn || !status.state || !canTransition(fn.status.state, status.state, 'platform')) return;
    await this.deps.store.setStatus('function', ref.namespace, ref.name, status, { by: 'platform' });
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
    // Its own writes (spec.image after a build, status.logs, outcomes) are never new work.
    if (c.by === BY) return;
    const fn = c.object as FunctionRecord;
    if (c.type === 'status' && !isWorkPending(fn.status.state)) return;
    if (c.type === 'updated') this.aborts.get(key)?.abort();
    this.queue.add(key);
  }

  private async reconcile(key: string): Promise<void> {
    const ref = parseKey(key);
    const { store, platform } = this.deps;
    const fn = await store.get('function', ref.namespace, ref.name);
    if (!fn) {
      await platform.remove(ref);
      this.applied.delete(key);
      this.deps.buildLogs.remove(ref);
      this.deps.onRemoved?.(ref);
      return;
    }
    switch (workFor(fn.status.state)) {
      case 'build':
        return this.deploy(fn, { build: true });
      case 'deploy':
        return this.deploy(fn, { build: false });
      case 'scaleToZero':
        await platform.scaleToZero(ref);
        await this.setStatusIfCurrent(fn, {
          state: 'scaledToZero',
          message: undefined,
          scaleToZero: { lastScaleEvent: 'scaleToZeroCompleted', lastScaleEventTime: new Date().toISOString() },
        });
        return;
      case undefined:
        break;
    }
    // No work asked: bring back what ran before a restart.
    switch (fn.status.state) {
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

  /**
   * What a deploy runs. A build (`building`) builds or reuses the artifact of the current source. A
   * redeploy (`configuringResources`) runs the artifact spec.image names, and builds from the source only
   * when that artifact is not on this machine (an imported function, a collected artifact); `missing` says
   * why nothing can run when there is no source either.
   */
  private async plan(
    fn: FunctionRecord,
    build: boolean,
  ): Promise<{ existing?: Artifact; build: boolean; missing?: string }> {
    if (build) return { build: true };
    const existing = fn.spec.image
      ? await this.deps.builder.fromImage(fn.spec.image).catch(() => undefined)
      : undefined;
    if (existing) return { existing, build: false };
    if (sourceKind({ ...fn.spec, image: undefined }) === undefined) {
      return {
        build: false,
        missing:
          `The artifact of spec.image ${JSON.stringify(fn.spec.image)} is not on this machine, and the ` +
          `function has no source to rebuild it from`,
      };
    }
    return { build: true };
  }

  private async deploy(fn: FunctionRecord, opts: { build: boolean; parked?: boolean }): Promise<void> {
    const ref = refOf(fn);
    const key = keyOf(ref);
    const abort = new AbortController();
    this.aborts.set(key, abort);
    const pins = new Set<string>();
    this.pins.add(pins);
    const plan = await this.plan(fn, opts.build);
    const buildLog: RotatingLog | undefined = plan.build ? this.deps.buildLogs.start(ref) : undefined;
    let current = fn;
    const log = new DeployLog({
      write: ({ time, ...rest }) =>
        buildLog?.writeLine(JSON.stringify({ time: new Date(time).toISOString(), ...rest })),
      publish: (logs) => this.publishLogs(current, logs, abort.signal),
      whereFull: `GET /api/functions/${ref.name}/logs/${buildLogName(ref)}`,
    });
    const onLog = (r: LogRecord) => log.add(r);
    const say = (message: string, level = 'info', extra: Record<string, unknown> = {}) =>
      onLog({ level, time: Date.now(), name: 'deployer', message, ...extra });
    const started = Date.now();
    const note = this.deps.runtimeNote?.(fn.spec.runtime);
    try {
      if (plan.build)
        say(
          `Building function ${ref.name} (${fn.spec.runtime ?? 'no runtime'}, handler ${fn.spec.handler || 'default'})`,
        );
      if (note) say(note, 'warn');
      if (plan.missing) throw new BuildError(plan.missing);
      const toRecord = (l: { time: number; level: string; message: string }): LogRecord => ({
        level: l.level,
        time: l.time,
        name: 'builder',
        message: l.message,
      });
      const artifact =
        plan.existing ??
        (await this.deps.builder.build(fn, {
          signal: abort.signal,
          onLog: (l) => onLog(toRecord(l)),
          pin: (id) => pins.add(id),
          logDir: this.deps.buildLogs.folder(ref),
        }));
      pins.add(artifact.id);
      if (abort.signal.aborted) return;
      if (fn.spec.image !== artifact.image) {
        const latest = await this.deps.store.get('function', ref.namespace, ref.name);
        if (!latest || latest.metadata.resourceVersion !== fn.metadata.resourceVersion) return;
        const updated = {
          ...latest,
          spec: {
            ...latest.spec,
            image: artifact.image,
            build: { ...latest.spec.build, timestamp: Math.floor(Date.now() / 1000) },
          },
        };
        delete updated.spec.build.mode;
        current = await this.deps.store.update('function', updated, {
          ifVersion: latest.metadata.resourceVersion,
          by: BY,
        });
      }
      if (!opts.parked) say(`Starting the function's replicas (${Math.max(current.spec.minReplicas ?? 1, 1)})`);
      const endpoint = await this.deps.platform.apply(current, artifact, { parked: opts.parked, signal: abort.signal });
      this.applied.add(key);
      await this.copyStartupLines(ref, onLog, abort.signal);
      say(opts.parked ? 'Function deployed, scaled to zero' : 'Function deploy complete', 'info', {
        httpPort: endpoint.httpPort,
      });
      this.deps.log.info(
        { function: key, ms: Date.now() - started, artifact: artifact.id, parked: opts.parked === true },
        'function deployed',
      );
      await log.close();
      // A broker trigger that cannot reach its broker leaves the function running (it keeps retrying) and
      // says so: unhealthy, with the reason.
      const problem = opts.parked ? undefined : endpoint.problem;
      await this.setStatusIfCurrent(current, {
        state: opts.parked ? 'scaledToZero' : problem ? 'unhealthy' : 'ready',
        message: [note, problem].filter(Boolean).join('\n') || undefined,
        logs: log.records(),
        httpPort: endpoint.httpPort,
        internalInvocationUrls: endpoint.internalInvocationUrls,
        externalInvocationUrls: endpoint.externalInvocationUrls,
        containerImage: artifact.image,
      });
    } catch (e) {
      if (abort.signal.aborted) return;
      const message = (e as Error).message || String(e);
      onLog({ level: 'error', time: Date.now(), name: plan.build ? 'builder' : 'deployer', message });
      this.deps.log.warn({ function: key, err: message.split('\n')[0] }, 'function deploy failed');
      // The platform says where the function still answers (a previous version serves) or is bound.
      const port = e instanceof ApplyError ? e.endpoint?.httpPort : undefined;
      await log.close();
      await this.setStatusIfCurrent(current, {
        state: 'error',
        message: e instanceof BuildError ? message : `Failed to deploy the function: ${message}`,
        logs: log.records(),
        ...(port ? { httpPort: port } : {}),
      });
    } finally {
      await log.close();
      buildLog?.close();
      if (this.aborts.get(key) === abort) this.aborts.delete(key);
      this.pins.delete(pins);
      this.deps.onDeployEnded?.();
    }
  }

  /** The first lines each new replica wrote (its start-up: runtime, init_context output), as deploy records. */
  private async copyStartupLines(ref: FunctionRef, onLog: (r: LogRecord) => void, signal: AbortSignal): Promise<void> {
    for (const replica of await this.deps.platform.replicas(ref)) {
      let text = '';
      try {
        for await (const chunk of await this.deps.platform.logs(ref, replica.name, { follow: false, signal }))
          text += chunk;
      } catch {
        continue; // no log (yet): nothing to copy
      }
      // The processor's own debug lines stay in the replica's log.
      const records = text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => replicaRecord(l, replica.name))
        .filter((r) => r.level !== 'debug');
      for (const r of records.slice(0, STARTUP_LINES_PER_REPLICA)) onLog(r);
    }
  }

  /** Writes status.logs of a deploy in progress, unless newer work owns the function. */
  private async publishLogs(fn: FunctionRecord, logs: LogRecord[], signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const ref = refOf(fn);
    const latest = await this.deps.store.get('function', ref.namespace, ref.name);
    if (!latest || signal.aborted) return;
    if (latest.metadata.resourceVersion !== fn.metadata.resourceVersion) return;
    await this.deps.store.setStatus('function', ref.namespace, ref.name, { logs }, { by: BY });
  }

  /**
   * Writes the outcome of work unless the function changed (or went) meanwhile — newer work owns it then —
   * or the lifecycle does not let the controller move it there.
   */
  private async setStatusIfCurrent(
    fn: FunctionRecord,
    status: Partial<FunctionStatus> & { state: FunctionState },
  ): Promise<void> {
    const ref = refOf(fn);
    const latest = await this.deps.store.get('function', ref.namespace, ref.name);
    if (!latest) return;
    if (latest.metadata.resourceVersion !== fn.metadata.resourceVersion) return;
    if (isWorkPending(latest.status.state) && latest.status.state !== fn.status.state) return;
    if (!canTransition(latest.status.state, status.state, 'controller')) {
      this.deps.log.warn(
        { function: keyOf(ref), from: latest.status.state, to: status.state },
        'outcome not written: the lifecycle does not allow it',
      );
      return;
    }
    await this.deps.store.setStatus('function', ref.namespace, ref.name, status, { by: BY });
  }
}

/** A stored replica log line as a deploy record: its level, time and message, its other fields kept. */
function replicaRecord(line: string, replica: string): LogRecord {
  try {
    const obj = JSON.parse(line) as Record<string, unknown>;
    const { time, level, message, msg, name: _name, ...rest } = obj;
    const t = typeof time === 'string' ? Date.parse(time) : typeof time === 'number' ? time : NaN;
    const text = message ?? msg;
    return {
      ...rest,
      level: typeof level === 'string' ? level : 'info',
      time: Number.isNaN(t) ? Date.now() : t,
      name: replica,
      // A handler may log an object: it reads as JSON.
      message: typeof text === 'string' ? text : (JSON.stringify(text) ?? ''),
    };
  } catch {
    return { level: 'info', time: Date.now(), name: replica, message: line };
  }
}
