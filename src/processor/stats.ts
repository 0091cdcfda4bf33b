/**
 * What a replica counts about the events it handles, and the snapshot it reports (the wire format, shared
 * with the dashboard and every platform).
 *
 * The processor keeps cumulative counters per trigger — events handled by result, a histogram of handler
 * durations (an array of bucket counts), worker allocations (Nuclio's allocator statistics), and gauges
 * read when the snapshot is taken. Recording an event is a few additions; nothing is sent per event. A
 * snapshot goes to the dashboard every second while something changed (and every few seconds anyway) on
 * whatever channel the platform has: IPC on this machine, the health port's `GET /stats`
 * for a platform that reaches replicas over the network. Counters start at zero in each process
 * (`boot` tells incarnations apart), so the dashboard sums per-replica deltas to keep totals monotonic.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/**
 * Upper bounds (ms, inclusive) of the handler-duration buckets; one more bucket (+Inf) follows. Nuclio
 * reports durations in milliseconds (`nuclio_processor_handled_events_duration_milliseconds_*`).
 */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];

/** Worker allocations of one trigger, as Nuclio's worker allocator counts them. */
export interface AllocationCounters {
  /** A worker was free at once. */
  immediate: number;
  /** The event waited for a worker, and got one. */
  afterWait: number;
  /** The event waited `workerAvailabilityTimeoutMilliseconds` in vain. */
  timeout: number;
  /** Milliseconds the allocations that waited spent waiting. */
  waitMsSum: number;
  /** Sum over allocations of the percentage of workers free at that moment (Nuclio's counter). */
  availablePercentSum: number;
}

/** One trigger's counters and gauges in a snapshot. */
export interface TriggerSnapshot {
  kind: string;
  name: string;
  /** Events handled: the handler answered below 500 and not 408 (success), or not (failure). */
  success: number;
  failure: number;
  /** Handler durations: counts per bucket of DURATION_BUCKETS_MS, the last one +Inf (not cumulative). */
  durationBuckets: number[];
  durationSumMs: number;
  allocation: AllocationCounters;
  /** Gauges: events running now, events waiting for a worker, the trigger's worker slots. */
  inflight: number;
  queued: number;
  workers: number;
  /**
   * Stream and broker triggers: records behind the newest one of the partitions or shards this replica
   * consumes — not yet handled (`processed`), not yet committed (`committed`, where the trigger knows).
   */
  lag?: Lag;
}

/** Records behind the newest one: not yet handled, and not yet committed (when the trigger commits). */
export interface Lag {
  processed: number;
  committed?: number;
}

const lagField = (lag: Lag | undefined): { lag?: Lag } => (lag ? { lag: { ...lag } } : {});

/** A replica's report (FromReplica `stats`, and the stats address's answer). */
export interface ReplicaStats {
  /** Random per process: a new value means the counters started again from zero. */
  boot: string;
  /** The process is stopping and this is its last snapshot. */
  final?: boolean;
  triggers: TriggerSnapshot[];
}

/** The bucket of a duration: the first bound it does not exceed, else +Inf. Pure. */
export function bucketOf(ms: number, bounds: readonly number[] = DURATION_BUCKETS_MS): number {
  let i = 0;
  while (i < bounds.length && ms > bounds[i]) i++;
  return i;
}

/** True when a handler's status counts as a failure (Nuclio: the handler errored; here 5xx and 408). */
export const isFailure = (status: number): boolean => status >= 500 || status === 408;

/** Gauges the trigger's worker pool answers when a snapshot is taken. */
export interface PoolGauges {
  readonly inflight: number;
  readonly queued: number;
  readonly size: number;
}

/** One trigger's counters, updated on the hot path. */
export class TriggerStats {
  success = 0;
  failure = 0;
  readonly durationBuckets: number[] = new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0);
  durationSumMs = 0;
  readonly allocation: AllocationCounters = {
    immediate: 0,
    afterWait: 0,
    timeout: 0,
    waitMsSum: 0,
    availablePercentSum: 0,
  };
  /** Set by stream and Kafka triggers: how far behind they are now (read when a snapshot is taken). */
  readLag?: () => Lag | undefined;
  /** The trigger's pool, for the gauges (set when the pool exists). */
  pool?: PoolGauges;

  constructor(
    readonly kind: string,
    readonly name: string,
  ) {}

  /** An event the handler answered with `status` after `ms`. */
  handled(status: number, ms: number): void {
    if (isFailure(status)) this.failure++;
    else this.success++;
    this.durationBuckets[bucketOf(ms)]++;
    this.durationSumMs += ms;
  }

  snapshot(): TriggerSnapshot {
    return {
      kind: this.kind,
      name: this.name,
      success: this.success,
      failure: this.failure,
      durationBuckets: [...this.durationBuckets],
      durationSumMs: this.durationSumMs,
      allocation: { ...this.allocation },
      inflight: this.pool?.inflight ?? 0,
      queued: this.pool?.queued ?? 0,
      workers: this.pool?.size ?? 0,
      ...lagField(this.readLag?.()),
    };
  }
}

/**
 * `submit` that also counts each event and its handler time in `counters` — the whole per-event cost of
 * the processor's metrics besides the worker allocator's additions (the bench times it).
 */
export function countedSubmit<E, R extends { status: number }>(
  submit: (event: E, worker: number) => Promise<R>,
  counters: TriggerStats,
): (event: E, worker: number) => Promise<R> {
  return (event, worker) => {
    const start = performance.now();
    return submit(event, worker).then((r) => {
      counters.handled(r.status, performance.now() - start);
      return r;
    });
  };
}

/** Every trigger's counters of one process. */
export class ProcessStats {
  readonly boot = randomBytes(6).toString('hex');
  readonly triggers = new Map<string, TriggerStats>();

  /** The counters of trigger `name` (made on first use). */
  trigger(kind: string, name: string): TriggerStats {
    let t = this.triggers.get(name);
    if (!t) {
      t = new TriggerStats(kind, name);
      this.triggers.set(name, t);
    }
    return t;
  }

  snapshot(final = false): ReplicaStats {
    return {
      boot: this.boot,
      ...(final ? { final: true } : {}),
      triggers: [...this.triggers.values()].map((t) => t.snapshot()),
    };
  }
}
