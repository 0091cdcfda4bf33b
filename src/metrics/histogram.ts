/**
 * Histograms as arrays of bucket counts (not cumulative; the last bucket is +Inf), the form replicas
 * report and the dashboard keeps: adding, subtracting and estimating a quantile. Pure.
 */

/** Upper bounds (seconds) of the dashboard's own request-duration histograms (gateway, API). */
export const REQUEST_BUCKETS_S: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Upper bounds (seconds) of build and cold-start durations. */
export const SLOW_BUCKETS_S: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** A histogram with its sum, in the bounds' unit. */
export class Histogram {
  readonly buckets: number[];
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.buckets = new Array<number>(bounds.length + 1).fill(0);
  }

  get count(): number {
    let n = 0;
    for (const b of this.buckets) n += b;
    return n;
  }

  observe(value: number): void {
    let i = 0;
    const bounds = this.bounds;
    while (i < bounds.length && value > bounds[i]) i++;
    this.buckets[i]++;
    this.sum += value;
  }
}

/** Adds `src` into `into`, bucket by bucket (`into` must be at least as long). */
export function addBuckets(into: number[], src: readonly number[]): void {
  for (let i = 0; i < src.length; i++) into[i] += src[i];
}

/**
 * The value below which a fraction `q` of the observations fall, interpolated linearly inside the bucket
 * that holds it (as Prometheus's histogram_quantile); the +Inf bucket answers the highest finite bound.
 * Undefined when there are no observations.
 */
export function quantile(buckets: ArrayLike<number>, bounds: readonly number[], q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < buckets.length; i++) total += buckets[i];
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i];
    if (n > 0 && seen + n >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1];
      const upper = bounds[i];
      return lower + (upper - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return bounds[bounds.length - 1];
}
