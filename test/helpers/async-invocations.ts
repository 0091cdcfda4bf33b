/**
 * What the async invocation tests share: a nodejs handler steered by its JSON body (sleep, answer a
 * status, fail the first attempts, exit, write a line to a sink file), and small clients for enqueueing
 * and waiting for invocations to end.
 */
import type { InvocationState, InvocationView } from '../../src/async/invocation.js';
import { request, sleep, type Answer, type TestDashboard } from './start-dashboard.js';

/** What an accepted enqueue answers (202). */
export interface Queued {
  id: string;
  state: InvocationState;
}

/**
 * A handler steered by its body `{n, sleep, status, failAttempts, failStatus, exitAttempts, flag, big,
 * retryAfter, echo}`: it appends `{n, id, attempt}` to the file named by env SINK (when set) as it
 * starts, counts how many events it runs at once (`most`), and answers JSON.
 */
export const WORKER = `
const fs = require('fs');
let inflight = 0;
let most = 0;
const hv = (event, k) => {
  for (const n of Object.keys(event.headers)) if (n.toLowerCase() === k) return event.headers[n];
  return undefined;
};
exports.handler = async (context, event) => {
  const text = event.body.toString();
  const cmd = text && text.startsWith('{') ? JSON.parse(text) : {};
  const attempt = Number(hv(event, 'x-protium-attempt') || 0);
  const id = hv(event, 'x-protium-invocation-id');
  inflight++;
  most = Math.max(most, inflight);
  try {
    if (process.env.SINK) fs.appendFileSync(process.env.SINK, JSON.stringify({ n: cmd.n, id, attempt }) + '\\n');
    if (cmd.exitAttempts && attempt <= cmd.exitAttempts) process.exit(3);
    if (cmd.sleep) await new Promise((r) => setTimeout(r, cmd.sleep));
    let status = cmd.status || 200;
    if (cmd.failAttempts && attempt <= cmd.failAttempts) status = cmd.failStatus || 503;
    if (cmd.flag && !fs.existsSync(cmd.flag)) status = 500;
    const headers = cmd.retryAfter ? { 'Retry-After': String(cmd.retryAfter) } : {};
    if (cmd.big) return new context.Response('x'.repeat(cmd.big), headers, 'text/plain', status);
    const out = { n: cmd.n, attempt, id, most, method: event.method, path: event.path, bytes: event.body.length };
    if (cmd.echo) out.headers = event.headers;
    return new context.Response(JSON.stringify(out), headers, 'application/json', status);
  } finally {
    inflight--;
  }
};
`;

/** What WORKER answers (JSON), `headers` with `echo`. */
export interface WorkerAnswer {
  n?: number;
  attempt: number;
  id: string;
  most: number;
  method: string;
  path: string;
  bytes: number;
  headers?: Record<string, string>;
}

export const ENDED = new Set(['succeeded', 'failed', 'dead']);

/** Polls `probe` until it returns something, or fails naming `what`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * POSTs `body` to a function with X-Protium-Invoke-Mode: async (and more headers); `T` is the answer the
 * test expects (`ErrorBody` for a refusal).
 */
export function enqueue<T = Queued>(
  d: Pick<TestDashboard, 'url'>,
  fn: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  return request<T>(`${d.url}/api/function_invocations`, 'POST', {
    headers: { 'x-nuclio-function-name': fn, 'x-protium-invoke-mode': 'async', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

/** The invocation's status (GET /api/function_invocations/ID); `T` as in `enqueue`. */
export const getInvocation = <T = InvocationView>(d: Pick<TestDashboard, 'url'>, id: string) =>
  request<T>(`${d.url}/api/function_invocations/${id}`, 'GET');

/** Waits until the invocation ended; returns its status. */
export const ended = (d: Pick<TestDashboard, 'url'>, id: string, timeoutMs = 30_000): Promise<InvocationView> =>
  until(
    `invocation ${id} ended`,
    async () => {
      const inv = (await getInvocation<InvocationView | undefined>(d, id)).json;
      return inv && ENDED.has(inv.state) ? inv : undefined;
    },
    timeoutMs,
  );

/** Enqueues and returns the id (asserting the 202). */
export async function enqueued(
  d: Pick<TestDashboard, 'url'>,
  fn: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<string> {
  const r = await enqueue(d, fn, body, headers);
  if (r.status !== 202) throw new Error(`enqueue to ${fn} answered ${r.status}: ${r.text}`);
  return r.json.id;
}
