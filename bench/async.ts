/**
 * `npm run bench -- --only async`: asynchronous invocations of a nodejs hello (src/async/) beside the
 * synchronous proxy's rate to the same function in the same run.
 *
 * One phase sends N enqueues (`X-Protium-Invoke-Mode: async`) over 32 keep-alive connections, as fast as
 * the dashboard answers 202 (each one fsync'd before its answer); meanwhile the queue runs them. Measured:
 *   - enqueue rate: N over the time from the first request sent to the last 202;
 *   - completion rate: N over the time from the first invocation queued to the last one ended (the
 *     dashboard's own createdAt and endedAt);
 *   - enqueue → completion time of each invocation (endedAt − createdAt), p50 and p99, under that load.
 * The synchronous baseline is /api/function_invocations with the same request, PHASE seconds, alternated
 * with the async phase. Every enqueue must answer 202 and every invocation end succeeded after one
 * attempt: the row that counts them fails the run otherwise.
 */

/** The answer of autocannon this benchmark reads. */
interface LoadResult {
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

interface Row {
  benchmark: string;
  measured: string;
  baseline: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  gate?: boolean;
}

interface Dash {
  url: string;
  /** `json` is the body parsed, of the type the caller names. */
  api: <T = unknown>(method: string, path: string) => Promise<{ status: number; json: T }>;
}

/** What the bench runner lends this benchmark. */
export interface AsyncBenchKit<D extends Dash> {
  dashboard(extra: string[]): Promise<D>;
  stopDashboard(d: D): Promise<void>;
  deploy(d: D, name: string, runtime: string, source: string, spec?: Record<string, unknown>): Promise<unknown>;
  load(url: string, opts: Record<string, unknown>): Promise<LoadResult>;
  row(r: Row): void;
  quick: boolean;
  repeat: number;
  phaseSeconds: number;
}

const FN = 'hello-async';
const HELLO = "exports.handler = (context, event) => context.callback('hello');\n";
const CONNECTIONS = 32;
/** The list endpoint's largest page: one phase's invocations are read in one request. */
const MAX_LIST = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
/** The q-quantile (0..1) of xs, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

interface Summary {
  id: string;
  state: string;
  attempts: number;
  createdAt: string;
  endedAt?: string;
}

/** GET /api/functions/NAME/invocations. */
interface SummaryList {
  invocations: Summary[];
  counts: Record<string, number>;
}

interface Phase {
  enqueuePerS: number;
  completePerS: number;
  latencies: number[];
  /** Enqueues that did not answer 202, and invocations that did not succeed at the first attempt. */
  failed: number;
}

export async function asyncBench<D extends Dash>(kit: AsyncBenchKit<D>): Promise<void> {
  const n = kit.quick ? 4_000 : MAX_LIST;
  // The queue bound must hold a whole phase: an enqueue outpacing the function would otherwise get a 429.
  const d = await kit.dashboard(['--async-queue-size', String(4 * MAX_LIST)]);
  try {
    await kit.deploy(d, FN, 'nodejs', HELLO);
    const invokeUrl = `${d.url}/api/function_invocations`;
    const request = { method: 'POST', body: 'hello', connections: CONNECTIONS, pipelining: 1 };
    const sync = () =>
      kit.load(invokeUrl, { ...request, duration: kit.phaseSeconds, headers: { 'x-nuclio-function-name': FN } });

    /** Invocations (succeeded) before a phase: each phase reads only its own from the newest. */
    const listNewest = async (limit: number): Promise<SummaryList> => {
      const r = await d.api<SummaryList>('GET', `/api/functions/${FN}/invocations?limit=${limit}`);
      if (r.status !== 200) throw new Error(`list ${FN}'s invocations: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    const ended = (c: Record<string, number>) => (c.succeeded ?? 0) + (c.failed ?? 0) + (c.dead ?? 0);

    const asyncPhase = async (): Promise<Phase> => {
      const before = ended((await listNewest(1)).counts);
      const t0 = Date.now();
      const res = await kit.load(invokeUrl, {
        ...request,
        amount: n,
        headers: { 'x-nuclio-function-name': FN, 'x-protium-invoke-mode': 'async' },
      });
      const enqueueMs = Date.now() - t0;
      const accepted = res['2xx'];
      const refused = n - accepted;
      // Wait for the queue to drain (bounded: the function answers in well under a millisecond).
      const deadline = Date.now() + 300_000;
      for (;;) {
        const { counts } = await listNewest(1);
        if (ended(counts) - before >= accepted && (counts.queued ?? 0) + (counts.running ?? 0) === 0) break;
        if (Date.now() > deadline) throw new Error(`async bench: the queue did not drain: ${JSON.stringify(counts)}`);
        await sleep(100);
      }
      const mine = (await listNewest(accepted)).invocations;
      const created = mine.map((x) => Date.parse(x.createdAt));
      const endedAt = mine.map((x) => Date.parse(x.endedAt ?? ''));
      const notOnce = mine.filter((x) => x.state !== 'succeeded' || x.attempts !== 1).length;
      return {
        enqueuePerS: accepted / (enqueueMs / 1000),
        completePerS: accepted / ((Math.max(...endedAt) - Math.min(...created)) / 1000),
        latencies: mine.map((x, i) => endedAt[i] - created[i]),
        failed: refused + notOnce,
      };
    };

    // One untimed round of each, then alternate.
    await sync();
    await asyncPhase();
    const syncRates: number[] = [];
    const phases: Phase[] = [];
    let syncErrors = 0;
    for (let i = 0; i < kit.repeat; i++) {
      const s = await sync();
      syncRates.push(s.requests.average);
      syncErrors += s.errors + s.timeouts + s.non2xx;
      phases.push(await asyncPhase());
    }
    const base = median(syncRates);
    const enqueue = median(phases.map((p) => p.enqueuePerS));
    const complete = median(phases.map((p) => p.completePerS));
    // The latencies of the median phase (by completion rate): one load, not a mix of runs.
    const mid = phases.find((p) => p.completePerS === complete)!;
    const failed = phases.reduce((a, p) => a + p.failed, 0);
    kit.row({
      benchmark:
        `async: ${(n * kit.repeat).toLocaleString('en')} nodejs hello invocations queued, ` + 'each run once (failed)',
      measured: `${failed} failed`,
      baseline: `${syncErrors} sync errors`,
      ratio: null,
      target: '0',
      pass: failed === 0,
      gate: true,
    });
    kit.row({
      benchmark: "async enqueue, nodejs hello (202/s, each fsync'd)",
      measured: enqueue.toFixed(0),
      baseline: `${base.toFixed(0)} sync via /api/function_invocations`,
      ratio: enqueue / base,
      target: 'report',
      pass: null,
    });
    kit.row({
      benchmark: 'async completion, nodejs hello (invocations/s, queued → ended)',
      measured: complete.toFixed(0),
      baseline: `${base.toFixed(0)} sync via /api/function_invocations`,
      ratio: complete / base,
      target: 'report',
      pass: null,
    });
    kit.row({
      benchmark: `async enqueue → completion under that load (p50 / p99 of ${mid.latencies.length})`,
      measured: `${quantile(mid.latencies, 0.5)} / ${quantile(mid.latencies, 0.99)} ms`,
      baseline: '-',
      ratio: null,
      target: 'report',
      pass: null,
    });
  } finally {
    await kit.stopDashboard(d);
  }
}
