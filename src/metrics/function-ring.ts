/**
 * The last hour of one function, for the charts: a ring of 360 ten-second buckets, each holding the events
 * handled and failed in those ten seconds, their handler-duration histogram, and the ready replicas at
 * its end. The dashboard keeps one per function in memory (about 35 KB) — no Prometheus server needed —
 * and answers any step that is a multiple of ten seconds exactly, quantiles included, by merging the
 * buckets' histograms. Pure: times are passed in (seconds since the epoch).
 */
import { DURATION_BUCKETS_MS } from '../processor/stats.js';
import { quantile } from './histogram.js';
import type { Series } from './series.js';

export type { Series };

/** Seconds per bucket. */
export const RING_STEP_S = 10;
/** Buckets kept: one hour. */
export const RING_SIZE = 360;

const NB = DURATION_BUCKETS_MS.length + 1;

/** What one bucket adds. */
export interface RingSample {
  /** Events handled in the bucket (success and failure). */
  requests: number;
  errors: number;
  /** Handler durations of those events, per bucket of DURATION_BUCKETS_MS (+Inf last). */
  durationBuckets: readonly number[];
  /** Ready replicas at the bucket's end. */
  replicas: number;
}

export class FunctionRing {
  /** Bucket start time (s) of each slot; -1: never written. */
  private readonly times = new Float64Array(RING_SIZE).fill(-1);
  private readonly requests = new Uint32Array(RING_SIZE);
  private readonly errors = new Uint32Array(RING_SIZE);
  private readonly replicas = new Uint16Array(RING_SIZE);
  private readonly durations = new Uint32Array(RING_SIZE * NB);

  /** Records the bucket starting at `start` (a multiple of RING_STEP_S); a later write replaces it. */
  record(start: number, s: RingSample): void {
    const slot = Math.floor(start / RING_STEP_S) % RING_SIZE;
    this.times[slot] = start;
    this.requests[slot] = s.requests;
    this.errors[slot] = s.errors;
    this.replicas[slot] = Math.min(s.replicas, 65_535);
    for (let i = 0; i < NB; i++) this.durations[slot * NB + i] = s.durationBuckets[i] ?? 0;
  }

  /**
   * Points of `step` seconds (a multiple of RING_STEP_S) covering the `window` seconds before `end` (the
   * start of the bucket not yet recorded). Buckets never recorded count as nothing happening.
   */
  series(end: number, window: number, step: number): Series {
    const points = Math.max(1, Math.floor(window / step));
    const start = end - points * step;
    const out: Series = { start, step, requests: [], errors: [], p50: [], p95: [], p99: [], replicas: [] };
    const hist = new Float64Array(NB);
    for (let p = 0; p < points; p++) {
      let requests = 0;
      let errors = 0;
      let replicas = 0;
      hist.fill(0);
      for (let t = start + p * step; t < start + (p + 1) * step; t += RING_STEP_S) {
        const slot = Math.floor(t / RING_STEP_S) % RING_SIZE;
        if (this.times[slot] !== t) continue;
        requests += this.requests[slot];
        errors += this.errors[slot];
        replicas = Math.max(replicas, this.replicas[slot]);
        for (let i = 0; i < NB; i++) hist[i] += this.durations[slot * NB + i];
      }
      out.requests.push(round(requests / step));
      out.errors.push(round(errors / step));
      out.replicas.push(replicas);
      for (const [q, col] of [
        [0.5, out.p50],
        [0.95, out.p95],
        [0.99, out.p99],
      ] as const) {
        const v = quantile(hist, DURATION_BUCKETS_MS, q);
        col.push(v === undefined ? null : round(v));
      }
    }
    return out;
  }
}

/** Three significant decimals are plenty for a chart and keep the JSON short. */
const round = (v: number) => Math.round(v * 1000) / 1000;
