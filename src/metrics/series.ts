/**
 * A function's series as the charts' API answers it (GET /api/functions/NAME/metrics): a type only, shared
 * with the web app and the CLI, so that they need nothing of the ring that makes it.
 */

/** A series for the charts, as columns: point i covers [start + i·step, start + (i+1)·step). */
export interface Series {
  /** Seconds since the epoch of the first point. */
  start: number;
  /** Seconds per point. */
  step: number;
  /** Events per second. */
  requests: number[];
  /** Failed events per second. */
  errors: number[];
  /** Handler duration quantiles (ms); null where no event was handled. */
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  /** The most replicas ready at a bucket's end within the point. */
  replicas: number[];
}
