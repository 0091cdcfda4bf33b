/**
 * The dashboard's metrics, in one place: what it learns about functions (replica counters summed
 * monotonically, cold starts, restarts, replicas, builds), what its own listeners count (gateway requests,
 * API requests), and the process's own numbers — as Prometheus text (`GET /metrics`, prom-client's
 * registry) and as the last hour of each function for the charts (`series`, a ring per function).
 *
 * Sources: `metrics` platform events (replica snapshots, cold starts, restarts), `Platform.replicas` at
 * scrape and every ten seconds (replicas desired and ready), the function controller (builds), the
 * gateway and the API (their requests, recorded on the request path as a few additions). It follows the
 * store for which functions and gateways exist: their labels come from there (project, trigger names),
 * and a function or gateway deleted takes its series with it, so label values are bounded by what exists.
 *
 * Labels (Nuclio's where Nuclio has the metric): `namespace`, `project`, `function`, `trigger_kind`,
 * `trigger_id` (the trigger's name, as Nuclio's `trigger_id`), `result`; `gateway`, `code`; `method`,
 * `route` (the matched route pattern, never the URL). Nuclio's per-replica `instance` and `worker_index`
 * are left out: totals are per function, and Prometheus sets `instance` to the scrape target itself.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { PlatformEvent, Platform, PrewarmStats, ReplicaInfo } from '../platform/platform.js';
import { DURATION_BUCKETS_MS } from '../processor/stats.js';
import { PROJECT_LABEL, type FunctionRecord, type FunctionRef } from '../resources/types.js';
import type { Store, StoreChange } from '../store/store.js';
import { histogramSamples, registerScraped, ScrapedMetric, type Sample } from './exposition.js';
import { FunctionRing, RING_STEP_S, type Series } from './function-ring.js';
import { Histogram, REQUEST_BUCKETS_S, SLOW_BUCKETS_S } from './histogram.js';
import { ReplicaTotals, type TriggerTotals } from './replica-totals.js';
import { RequestStatsTable, type RequestStats } from './request-stats.js';

export interface DashboardMetricsOptions {
  store: Store;
  platform: Platform;
  log: Logger;
  /** The clock (ms since the epoch); tests pass their own. */
  now?: () => number;
}

/** Who serves a connection the gateway listener accepted: a replica it was handed to, or the dashboard. */
export type GatewayConnectionServer = 'replica' | 'dashboard';

/** A gateway's identity and one upstream function, as the routing table has them. */
export interface GatewayUpstream {
  namespace: string;
  function: string;
}

/** What the dashboard knows about one function. */
interface FunctionEntry {
  ref: FunctionRef;
  project: string;
  /** The triggers its spec declares (name → kind): the series it shows. */
  triggers: Map<string, string>;
  replicas: ReplicaTotals;
  ring: FunctionRing;
  /** Totals at the last tick: the ring records the difference. */
  lastTick?: { requests: number; errors: number; buckets: number[] };
  coldStarts: Histogram;
  restarts: number;
  builds: { success: number; failure: number };
  buildDuration: Histogram;
}

const keyOf = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;
const fnLabels = (e: FunctionEntry) => ({ namespace: e.ref.namespace, project: e.project, function: e.ref.name });

/** The longest window and the steps the charts may ask for. */
export const MAX_WINDOW_S = 3600;

export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly functions = new Map<string, FunctionEntry>();
  private readonly gateways = new RequestStatsTable(['namespace', 'gateway', 'function'] as const);
  private readonly api = new RequestStatsTable(['method', 'route'] as const);
  private readonly gatewayConnections: Record<GatewayConnectionServer, number> = { replica: 0, dashboard: 0 };
  /** The gateway's stats per routing-table upstream object (a table is recompiled on every change). */
  private readonly upstreamStats = new WeakMap<object, RequestStats>();
  private readonly now: () => number;
  private unwatch?: () => void;
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** End (s) of the bucket the next tick closes. */
  private nextTickEnd = 0;

  constructor(private readonly opts: DashboardMetricsOptions) {
    this.now = opts.now ?? Date.now;
    collectDefaultMetrics({ register: this.registry });
    this.define();
  }

  /** Follows the store and the platform, and starts the charts' ticker. */
  async start(): Promise<void> {
    const { store, platform } = this.opts;
    this.unwatch = store.watch((c) => this.onStoreChange(c));
    for (const fn of await store.list('function', undefined)) this.upsert(fn);
    this.unsubscribe = platform.subscribe((e) => this.onPlatformEvent(e));
    const nowS = this.now() / 1000;
    this.nextTickEnd = Math.ceil(nowS / RING_STEP_S) * RING_STEP_S;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unsubscribe?.();
    clearTimeout(this.timer);
  }

  /** The Prometheus text of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ---------------------------------------------------------------- recording

  /** The gateway's counters for one upstream of a compiled route (the object itself keys a cache). */
  gateway(gateway: { namespace: string; name: string }, upstream: GatewayUpstream & object): RequestStats {
    let s = this.upstreamStats.get(upstream);
    if (!s) {
      s = this.gateways.get({ namespace: gateway.namespace, gateway: gateway.name, function: upstream.function });
      this.upstreamStats.set(upstream, s);
    }
    return s;
  }

  /** The gateway listener accepted a connection, which `servedBy` serves (a replica it was handed to, or itself). */
  gatewayConnection(servedBy: GatewayConnectionServer): void {
    this.gatewayConnections[servedBy]++;
  }

  /** The API's counters for a method and a route pattern (never a raw URL: it must be bounded). */
  apiRoute(method: string, route: string): RequestStats {
    return this.api.get({ method, route });
  }

  /** A build ended (`ok`: an artifact came out) after `seconds`. */
  build(ref: FunctionRef, ok: boolean, seconds: number): void {
    const e = this.functions.get(keyOf(ref));
    if (!e) return;
    if (ok) e.builds.success++;
    else e.builds.failure++;
    e.buildDuration.observe(seconds);
  }

  onPlatformEvent(e: PlatformEvent): void {
    if (e.type !== 'metrics') return;
    const entry = this.functions.get(keyOf(e.ref));
    if (!entry) return;
    const m = e.metrics;
    if (m.kind === 'replica') {
      if (!entry.replicas.update(m.replica, m.stats, this.now()))
        this.opts.log.debug({ function: keyOf(e.ref), replica: m.replica }, 'dropped a malformed stats snapshot');
    } else if (m.kind === 'coldStart') {
      entry.coldStarts.observe(m.durationMs / 1000);
    } else if (m.kind === 'restart') {
      entry.restarts++;
    }
  }

  // ---------------------------------------------------------------- charts

  /**
   * The last `window` seconds of a function in points of `step` seconds (multiples of ten), up to the
   * last ten seconds closed; undefined for a function the dashboard does not know.
   */
  series(ref: FunctionRef, window: number, step: number): Series | undefined {
    return this.functions.get(keyOf(ref))?.ring.series(this.nextTickEnd - RING_STEP_S, window, step);
  }

  /** Functions of a namespace (optionally of one project) the dashboard keeps series of. */
  known(namespace: string, project?: string): FunctionRef[] {
    return [...this.functions.values()]
      .filter((e) => e.ref.namespace === namespace && (project === undefined || e.project === project))
      .map((e) => e.ref);
  }

  private schedule(): void {
    const delay = Math.max(0, this.nextTickEnd * 1000 - this.now());
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  /** Closes the ten seconds that just ended: each function's differences go into its ring. */
  private async tick(): Promise<void> {
    const end = this.nextTickEnd;
    this.nextTickEnd = end + RING_STEP_S;
    try {
      await this.closeBucket(end - RING_STEP_S);
    } catch (e) {
      this.opts.log.warn({ err: e }, 'metrics: failed to close a chart bucket');
    } finally {
      // A tick that ran late (a busy or suspended process) skips the buckets it missed.
      const nowS = this.now() / 1000;
      if (this.nextTickEnd <= nowS) this.nextTickEnd = Math.ceil(nowS / RING_STEP_S) * RING_STEP_S;
      if (!this.stopped) this.schedule();
    }
  }

  private async closeBucket(start: number): Promise<void> {
    const entries = [...this.functions.values()];
    const ready = await Promise.all(entries.map((e) => this.replicaInfos(e.ref)));
    const now = this.now();
    entries.forEach((e, i) => {
      e.replicas.expire(now);
      let requests = 0;
      let errors = 0;
      const buckets = new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0);
      for (const t of e.replicas.totals()) {
        // A request refused for want of a worker was not handled, but its caller saw an error.
        requests += t.success + t.failure + t.allocation.timeout;
        errors += t.failure + t.allocation.timeout;
        for (let b = 0; b < buckets.length; b++) buckets[b] += t.durationBuckets[b];
      }
      const last = e.lastTick ?? { requests: 0, errors: 0, buckets: new Array<number>(buckets.length).fill(0) };
      e.ring.record(start, {
        requests: Math.max(0, requests - last.requests),
        errors: Math.max(0, errors - last.errors),
        durationBuckets: buckets.map((b, j) => Math.max(0, b - last.buckets[j])),
        replicas: ready[i].filter((r) => r.state === 'ready').length,
      });
      e.lastTick = { requests, errors, buckets };
    });
  }

  private async replicaInfos(ref: FunctionRef): Promise<ReplicaInfo[]> {
    try {
      return await this.opts.platform.replicas(ref);
    } catch {
      return [];
    }
  }

  // ---------------------------------------------------------------- what exists

  private onStoreChange(c: StoreChange): void {
    if (c.kind === 'function') {
      if (c.type === 'deleted') this.functions.delete(`${c.namespace}/${c.name}`);
      else this.upsert(c.object as FunctionRecord);
    } else if (c.kind === 'apiGateway') {
      void this.pruneGateways().catch((e) => this.opts.log.warn({ err: e }, 'metrics: failed to list gateways'));
    }
  }

  private upsert(fn: FunctionRecord): void {
    const ref = { namespace: fn.metadata.namespace!, name: fn.metadata.name! };
    const triggers = new Map<string, string>();
    for (const [name, t] of Object.entries(fn.spec.triggers ?? {}))
      if (!t.disabled && typeof t.kind === 'string') triggers.set(name, t.kind);
    const project = fn.metadata.labels?.[PROJECT_LABEL] ?? 'default';
    const e = this.functions.get(keyOf(ref));
    if (e) {
      e.project = project;
      e.triggers = triggers;
      return;
    }
    this.functions.set(keyOf(ref), {
      ref,
      project,
      triggers,
      replicas: new ReplicaTotals(),
      ring: new FunctionRing(),
      coldStarts: new Histogram(SLOW_BUCKETS_S),
      restarts: 0,
      builds: { success: 0, failure: 0 },
      buildDuration: new Histogram(SLOW_BUCKETS_S),
    });
  }

  /** Keeps the gateway series of (gateway, upstream function) pairs that exist. */
  private async pruneGateways(): Promise<void> {
    const exists = new Set<string>();
    for (const g of await this.opts.store.list('apiGateway', undefined))
      for (const u of g.spec.upstreams ?? [])
        if (u.nucliofunction?.name)
          exists.add(`${g.metadata.namespace}\u0000${g.metadata.name}\u0000${u.nucliofunction.name}`);
    this.gateways.retain((l) => exists.has(`${l.namespace}\u0000${l.gateway}\u0000${l.function}`));
  }

  // ---------------------------------------------------------------- the metrics

  /** Each function's triggers with their totals (zero for a declared trigger that reported nothing yet). */
  private triggerRows(): { e: FunctionEntry; t: TriggerTotals; labels: Record<string, string> }[] {
    const rows: { e: FunctionEntry; t: TriggerTotals; labels: Record<string, string> }[] = [];
    for (const e of this.functions.values()) {
      const totals = new Map(e.replicas.totals().map((t) => [t.name, t]));
      for (const [name, kind] of e.triggers) {
        const t = totals.get(name) ?? emptyTotals(kind, name);
        rows.push({ e, t, labels: { ...fnLabels(e), trigger_kind: kind, trigger_id: name } });
      }
    }
    return rows;
  }

  private define(): void {
    const add = (
      name: string,
      help: string,
      type: 'counter' | 'gauge' | 'histogram',
      read: () => Sample[] | Promise<Sample[]>,
    ) => registerScraped(this.registry, new ScrapedMetric(name, help, type, read));
    const perTrigger = (value: (t: TriggerTotals) => number | undefined) => () =>
      this.triggerRows().flatMap(({ t, labels }) => {
        const v = value(t);
        return v === undefined ? [] : [{ labels, value: v }];
      });

    // Nuclio's processor metrics, summed over the function's replicas.
    add('nuclio_processor_handled_events_total', 'Events handled, by result (failure: 5xx or 408)', 'counter', () =>
      this.triggerRows().flatMap(({ t, labels }) => [
        { labels: { ...labels, result: 'success' }, value: t.success },
        { labels: { ...labels, result: 'failure' }, value: t.failure },
      ]),
    );
    add(
      'nuclio_processor_handled_events_duration_milliseconds',
      'How long the handler took per event (ms)',
      'histogram',
      () =>
        this.triggerRows().flatMap(({ t, labels }) =>
          histogramSamples(
            'nuclio_processor_handled_events_duration_milliseconds',
            labels,
            DURATION_BUCKETS_MS,
            t.durationBuckets,
            t.durationSumMs,
          ),
        ),
    );
    add('nuclio_processor_worker_allocation_total', 'Worker allocations, by result', 'counter', () =>
      this.triggerRows().flatMap(({ t, labels }) => [
        { labels: { ...labels, result: 'success_immediate' }, value: t.allocation.immediate },
        { labels: { ...labels, result: 'success_after_wait' }, value: t.allocation.afterWait },
        { labels: { ...labels, result: 'error_timeout' }, value: t.allocation.timeout },
      ]),
    );
    add(
      'nuclio_processor_worker_allocation_count',
      'Worker allocations',
      'counter',
      perTrigger((t) => t.allocation.immediate + t.allocation.afterWait + t.allocation.timeout),
    );
    add(
      'nuclio_processor_worker_allocation_wait_duration_milliseconds_sum',
      'Milliseconds events spent waiting for a worker',
      'counter',
      perTrigger((t) => t.allocation.waitMsSum),
    );
    add(
      'nuclio_processor_worker_allocation_workers_available_percentage',
      'Sum over allocations of the percentage of workers free at that moment (divide by the count)',
      'counter',
      perTrigger((t) => t.allocation.availablePercentSum),
    );
    add(
      'nuclio_processor_worker_pending_allocation_current',
      'Events waiting for a worker now',
      'gauge',
      perTrigger((t) => t.queued),
    );
    add(
      'nuclio_processor_stream_high_water_mark_processed_lag',
      'Stream and Kafka triggers: records behind the newest one, not yet handled',
      'gauge',
      perTrigger((t) => t.lag?.processed),
    );
    add(
      'nuclio_processor_stream_high_water_mark_committed_lag',
      'Stream triggers: records behind the newest one, not yet committed',
      'gauge',
      perTrigger((t) => t.lag?.committed),
    );
    add(
      'protium_function_events_inflight',
      'Events being handled now',
      'gauge',
      perTrigger((t) => t.inflight),
    );
    add(
      'protium_function_worker_slots',
      'Events the replicas can run or queue at once (workers × pipeline depth)',
      'gauge',
      perTrigger((t) => t.workers),
    );

    // What the platform and the controller say about each function.
    const perFunction = (value: (e: FunctionEntry) => number) => () =>
      [...this.functions.values()].map((e) => ({ labels: fnLabels(e), value: value(e) }));
    const replicaGauge = (count: (list: ReplicaInfo[]) => number) => async () => {
      const entries = [...this.functions.values()];
      const infos = await Promise.all(entries.map((e) => this.replicaInfos(e.ref)));
      return entries.map((e, i) => ({ labels: fnLabels(e), value: count(infos[i]) }));
    };
    add(
      'protium_function_replicas_desired',
      'Replicas the platform runs or is starting for the serving version',
      'gauge',
      replicaGauge((l) => l.filter((r) => r.state !== 'stopping').length),
    );
    add(
      'protium_function_replicas_ready',
      'Replicas taking requests',
      'gauge',
      replicaGauge((l) => l.filter((r) => r.state === 'ready').length),
    );
    add(
      'protium_function_replica_restarts_total',
      'Replicas restarted after they exited on their own',
      'counter',
      perFunction((e) => e.restarts),
    );
    add(
      'protium_function_cold_starts_total',
      'Requests that found no replica (scaled to zero) and woke one',
      'counter',
      perFunction((e) => e.coldStarts.count),
    );
    add('protium_function_cold_start_duration_seconds', 'From the waking request to a ready replica', 'histogram', () =>
      [...this.functions.values()].flatMap((e) =>
        histogramSamples(
          'protium_function_cold_start_duration_seconds',
          fnLabels(e),
          SLOW_BUCKETS_S,
          e.coldStarts.buckets,
          e.coldStarts.sum,
        ),
      ),
    );
    add('protium_function_builds_total', 'Builds, by result', 'counter', () =>
      [...this.functions.values()].flatMap((e) => [
        { labels: { ...fnLabels(e), result: 'success' }, value: e.builds.success },
        { labels: { ...fnLabels(e), result: 'failure' }, value: e.builds.failure },
      ]),
    );
    add('protium_function_build_duration_seconds', 'How long builds took', 'histogram', () =>
      [...this.functions.values()].flatMap((e) =>
        histogramSamples(
          'protium_function_build_duration_seconds',
          fnLabels(e),
          SLOW_BUCKETS_S,
          e.buildDuration.buckets,
          e.buildDuration.sum,
        ),
      ),
    );

    // The platform's pre-started processors (--prewarm): no series without them.
    const prewarm = (value: (s: PrewarmStats) => number) => () => {
      const s = this.opts.platform.prewarm?.();
      return s ? [{ labels: {}, value: value(s) }] : [];
    };
    add(
      'protium_prewarm_processors_ready',
      'Pre-started processors ready for a replica to take',
      'gauge',
      prewarm((s) => s.ready),
    );
    add(
      'protium_prewarm_processors_taken_total',
      'Replica starts that took a pre-started processor',
      'counter',
      prewarm((s) => s.taken),
    );
    add(
      'protium_prewarm_misses_total',
      'Replica starts that could have taken a pre-started processor but found none ready (they started cold)',
      'counter',
      prewarm((s) => s.missed),
    );

    // The dashboard's own listeners.
    const requestMetrics = <K extends string>(
      table: RequestStatsTable<K>,
      prefix: string,
      help: { count: string; duration: string },
    ) => {
      add(`${prefix}_requests_total`, help.count, 'counter', () =>
        table
          .entries()
          .flatMap(({ labels, stats }) =>
            [...stats.byStatus].map(([code, value]) => ({ labels: { ...labels, code }, value })),
          ),
      );
      add(`${prefix}_request_duration_seconds`, help.duration, 'histogram', () =>
        table
          .entries()
          .flatMap(({ labels, stats }) =>
            histogramSamples(
              `${prefix}_request_duration_seconds`,
              labels,
              REQUEST_BUCKETS_S,
              stats.duration.buckets,
              stats.duration.sum,
            ),
          ),
      );
    };
    add(
      'protium_gateway_connections_total',
      'Connections the API gateway listener accepted, by who served them: a replica (handed over) or the dashboard',
      'counter',
      () => Object.entries(this.gatewayConnections).map(([by, value]) => ({ labels: { served_by: by }, value })),
    );
    requestMetrics(this.gateways, 'protium_gateway', {
      count: 'API gateway requests, per gateway, upstream function and status code',
      duration: 'How long API gateway requests took, to the end of the answer',
    });
    requestMetrics(this.api, 'protium_api', {
      count: 'Dashboard API requests, per method, route pattern and status code',
      duration: 'How long dashboard API requests took, to the end of the answer',
    });
  }
}

function emptyTotals(kind: string, name: string): TriggerTotals {
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
