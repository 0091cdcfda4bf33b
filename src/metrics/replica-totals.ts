/**
 * A function's counters summed over its replicas, monotonic whatever the replicas do. Each replica reports
 * cumulative counters since its process started (processor/stats.ts); a restarted process (a new `boot`)
 * starts again from zero. So the totals are the counters of replicas gone or restarted (`retired`, folded
 * in when their last snapshot is replaced or goes stale) plus the latest snapshot of each live replica —
 * a Prometheus counter never goes down. Gauges (in flight, queued, workers, lag) are summed over the live
 * replicas only. Pure: time is passed in.
 *
 * Snapshots come from replica processes that run user code (a nodejs handler shares the processor's
 * process), so each one is checked: a malformed one is dropped, never trusted to size arrays or labels.
 */
import {
  DURATION_BUCKETS_MS,
  type AllocationCounters,
  type ReplicaStats,
  type TriggerSnapshot,
} from '../processor/stats.js';

/** A trigger's totals over the function's replicas. */
export interface TriggerTotals {
  kind: string;
  name: string;
  success: number;
  failure: number;
  durationBuckets: number[];
  durationSumMs: number;
  allocation: AllocationCounters;
  inflight: number;
  queued: number;
  workers: number;
  /** Summed over live replicas that report it. */
  lag?: { processed: number; committed?: number };
}

/** A replica whose last snapshot is older than this no longer counts in gauges; its counters are kept. */
export const STALE_MS = 15_000;
/** At most this many triggers per snapshot (a function has a handful). */
const MAX_TRIGGERS = 64;
const MAX_NAME = 256;

const ALLOCATION_KEYS = ['immediate', 'afterWait', 'timeout', 'waitMsSum', 'availablePercentSum'] as const;

const count = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;

/** `stats` when it has the shape the processor sends, else undefined. Pure. */
export function checkedStats(stats: unknown): ReplicaStats | undefined {
  const s = stats as ReplicaStats | undefined;
  if (!s || typeof s !== 'object' || !text(s.boot) || !Array.isArray(s.triggers)) return undefined;
  if (s.triggers.length > MAX_TRIGGERS) return undefined;
  for (const t of s.triggers as unknown[]) if (!checkedTrigger(t)) return undefined;
  return s;
}

function checkedTrigger(v: unknown): v is TriggerSnapshot {
  const t = v as TriggerSnapshot;
  if (!t || typeof t !== 'object' || !text(t.kind) || !text(t.name)) return false;
  if (![t.success, t.failure, t.durationSumMs, t.inflight, t.queued, t.workers].every(count)) return false;
  if (!Array.isArray(t.durationBuckets) || t.durationBuckets.length !== DURATION_BUCKETS_MS.length + 1) return false;
  if (!t.durationBuckets.every(count)) return false;
  if (!t.allocation || !ALLOCATION_KEYS.every((k) => count(t.allocation[k]))) return false;
  if (t.lag !== undefined && (!count(t.lag?.processed) || (t.lag.committed !== undefined && !count(t.lag.committed))))
    return false;
  return true;
}

/** Counters of a trigger (no gauges), zero. */
function zeroCounters(kind: string, name: string): TriggerTotals {
  return {
    kind,
    name,
    success: 0,
    failure: 0,
    durationBuckets: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0),
    durationSumMs: 0,
    allocation: { immediate: 0, afterWait: 0, timeout: 0, waitMsSum: 0, availablePercentSum: 0 },
    inflight: 0,
    queued: 0,
    workers: 0,
  };
}

/** Adds the counters (not the gauges) of `t` into `into`. */
function addCounters(into: TriggerTotals, t: TriggerSnapshot | TriggerTotals): void {
  into.success += t.success;
  into.failure += t.failure;
  for (let i = 0; i < into.durationBuckets.length; i++) into.durationBuckets[i] += t.durationBuckets[i];
  into.durationSumMs += t.durationSumMs;
  for (const k of ALLOCATION_KEYS) into.allocation[k] += t.allocation[k];
}

/** True when `next` cannot follow `prev` in one process (a counter went down): treat it as a restart. */
function wentDown(prev: ReplicaStats, next: ReplicaStats): boolean {
  for (const p of prev.triggers) {
    const n = next.triggers.find((t) => t.name === p.name);
    if (!n) return true;
    if (n.success < p.success || n.failure < p.failure || n.allocation.immediate < p.allocation.immediate) return true;
  }
  return false;
}

interface Live {
  stats: ReplicaStats;
  at: number;
}

/** One function's replica counters. */
export class ReplicaTotals {
  private readonly live = new Map<string, Live>();
  /** Counters of processes that are gone, per trigger name. */
  private readonly retired = new Map<string, TriggerTotals>();

  /** A snapshot from `replica` at `now`. False when it was malformed and dropped. */
  update(replica: string, stats: unknown, now: number): boolean {
    const s = checkedStats(stats);
    if (!s) return false;
    const prev = this.live.get(replica);
    if (prev && (prev.stats.boot !== s.boot || wentDown(prev.stats, s))) this.retire(prev.stats);
    if (s.final) {
      // The process is leaving: its counters stay, as a gone process's.
      this.retire(s);
      this.live.delete(replica);
      return true;
    }
    this.live.set(replica, { stats: s, at: now });
    return true;
  }

  /** Folds replicas not heard from since `now - staleMs` into the retired counters. */
  expire(now: number, staleMs = STALE_MS): void {
    for (const [name, l] of this.live) {
      if (now - l.at <= staleMs) continue;
      this.retire(l.stats);
      this.live.delete(name);
    }
  }

  private retire(stats: ReplicaStats): void {
    for (const t of stats.triggers) {
      let r = this.retired.get(t.name);
      if (!r) {
        if (this.retired.size >= MAX_TRIGGERS) continue;
        r = zeroCounters(t.kind, t.name);
        this.retired.set(t.name, r);
      }
      addCounters(r, t);
    }
  }

  /** Replicas with a fresh snapshot. */
  get liveReplicas(): number {
    return this.live.size;
  }

  /** Totals per trigger: counters of every process, gauges of the live replicas. */
  totals(): TriggerTotals[] {
    const out = new Map<string, TriggerTotals>();
    const entry = (kind: string, name: string) => {
      let e = out.get(name);
      if (!e) {
        e = zeroCounters(kind, name);
        out.set(name, e);
      }
      return e;
    };
    for (const r of this.retired.values()) addCounters(entry(r.kind, r.name), r);
    for (const { stats } of this.live.values()) {
      for (const t of stats.triggers) {
        if (!out.has(t.name) && out.size >= MAX_TRIGGERS) continue;
        const e = entry(t.kind, t.name);
        addCounters(e, t);
        e.inflight += t.inflight;
        e.queued += t.queued;
        e.workers += t.workers;
        if (t.lag) {
          e.lag ??= { processed: 0 };
          e.lag.processed += t.lag.processed;
          if (t.lag.committed !== undefined) e.lag.committed = (e.lag.committed ?? 0) + t.lag.committed;
        }
      }
    }
    return [...out.values()];
  }
}
