/**
 * Metrics whose values live elsewhere — totals summed over replicas, the hot paths' own counters — read
 * when Prometheus scrapes and rendered by prom-client's registry. prom-client has no custom-collector
 * class (its Counter has no `set`, its Histogram no way to take bucket counts), but its Registry renders
 * any metric whose `get()` answers `{name, help, type, values}`, escaping and formatting included: this
 * is that metric.
 */
import type { Metric, Registry } from 'prom-client';

/** One line of a metric: its labels and value (`metricName` for a histogram's `_bucket`, `_sum`, `_count`). */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric read at scrape time. */
export class ScrapedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly read: () => Sample[] | Promise<Sample[]>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: MetricType; aggregator: string; values: Sample[] }> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: await this.read(),
    };
  }

  /** Nothing to reset: the data belongs to its owner. */
  reset(): void {}
}

/** Registers a scraped metric with a prom-client registry. */
export function registerScraped(registry: Registry, metric: ScrapedMetric): void {
  // The registry's own type lists its four metric classes; it reads only what ScrapedMetric has.
  registry.registerMetric(metric as unknown as Metric);
}

/**
 * A histogram's lines from bucket counts (not cumulative, +Inf last): cumulative `_bucket{le}`, `_sum`,
 * `_count`. Pure.
 */
export function histogramSamples(
  name: string,
  labels: Record<string, string | number>,
  bounds: readonly number[],
  buckets: readonly number[],
  sum: number,
): Sample[] {
  const out: Sample[] = [];
  let acc = 0;
  for (let i = 0; i < bounds.length; i++) {
    acc += buckets[i] ?? 0;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bounds[i] }, value: acc });
  }
  acc += buckets[bounds.length] ?? 0;
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: acc });
  out.push({ metricName: `${name}_sum`, labels, value: sum });
  out.push({ metricName: `${name}_count`, labels, value: acc });
  return out;
}
