/**
 * Request counters for the dashboard's hot paths — the gateway listener and the invocation endpoint —
 * and the API: requests per status code and a duration histogram, per label set. Recording is a map
 * lookup and a few additions; Prometheus text is made only when scraped (a prom-client Counter and
 * Histogram cost about 3 µs per request, a few percent of a proxied call). The caller bounds the label
 * sets: route patterns, gateway names, function names — never a raw path or anything a request makes up.
 */
import { addBuckets, Histogram, REQUEST_BUCKETS_S } from './histogram.js';

/** Requests of one label set. */
export class RequestStats {
  /** Requests per status code. */
  readonly byStatus = new Map<number, number>();
  readonly duration = new Histogram(REQUEST_BUCKETS_S);

  record(status: number, seconds: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.duration.observe(seconds);
  }

  /** Adds requests counted elsewhere (a replica's, on a connection the gateway handed it). */
  merge(counts: { byStatus: readonly [number, number][]; buckets: readonly number[]; sum: number }): void {
    for (const [status, n] of counts.byStatus) this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + n);
    addBuckets(this.duration.buckets, counts.buckets);
    this.duration.sum += counts.sum;
  }
}

/** RequestStats per label set; `labels` name the values of each key, in order. */
export class RequestStatsTable<K extends string> {
  private readonly rows = new Map<string, { labels: Record<K, string>; stats: RequestStats }>();

  constructor(readonly labelNames: readonly K[]) {}

  /** The stats of one label set (made on first use). */
  get(labels: Record<K, string>): RequestStats {
    let key = '';
    for (const n of this.labelNames) key += `${labels[n]}\u0000`;
    let row = this.rows.get(key);
    if (!row) {
      row = { labels: { ...labels }, stats: new RequestStats() };
      this.rows.set(key, row);
    }
    return row.stats;
  }

  entries(): { labels: Record<K, string>; stats: RequestStats }[] {
    return [...this.rows.values()];
  }

  /** Drops the label sets `keep` refuses (a gateway or function that is gone). */
  retain(keep: (labels: Record<K, string>) => boolean): void {
    for (const [key, row] of this.rows) if (!keep(row.labels)) this.rows.delete(key);
  }
}
