/**
 * Asynchronous invocations on a real dashboard with real functions (issue 20): enqueue (202, Location,
 * durable, bodies up to the synchronous limit, idempotency keys, through API gateways), running (a
 * bounded number in flight, functions scaled to zero woken, functions still deploying waited for),
 * retries with back-off and which failures retry, dead letters (list, requeue, discard), callbacks (and
 * their allow-list), the queue bound (429 with Retry-After), a function's deletion, the retention, and a
 * restart. The kill -9 guarantees are in async-faults.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  waitFor,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import {
  ended,
  enqueue,
  enqueued,
  getInvocation,
  until,
  WORKER,
  type Queued,
  type WorkerAnswer,
} from '../helpers/async-invocations.js';
import type { InvocationList } from '../../src/async/async-invocations.js';
import type { Counts } from '../../src/async/invocation-index.js';
import type { InvocationView } from '../../src/async/invocation.js';
import type { ApiGateway } from '../../src/resources/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'protium-async-'));
const sinkOf = (name: string) => join(tmp, `${name}.sink`);
const sinkLines = (name: string): { n?: number; id: string; attempt: number }[] =>
  existsSync(sinkOf(name))
    ? readFileSync(sinkOf(name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { n?: number; id: string; attempt: number })
    : [];

/** The worker function with a sink file, `workers` http workers and a spec of its own. */
const worker = (name: string, spec: Record<string, unknown> = {}, workers = 4) =>
  functionBody(name, 'nodejs', WORKER, {
    spec: {
      env: [{ name: 'SINK', value: sinkOf(name) }],
      // The function's own body limit is 4 MiB by default; the queue's is the dashboard's, 10 MiB.
      triggers: { http: { kind: 'http', numWorkers: workers, attributes: { maxRequestBodySize: 16 * 1024 * 1024 } } },
      maxReplicas: 1,
      ...spec,
    },
  });

/** A callback receiver on 127.0.0.1: answers each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = []) {
  const got: { headers: http.IncomingHttpHeaders; body: string; method: string; url: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), method: req.method!, url: req.url! });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('async invocations', () => {
  let d: TestDashboard;

  before(async () => {
    d = await startTestDashboard({ asyncRetryDelay: '100ms', asyncCallbackAllow: ['127.0.0.1'] });
    await Promise.all([
      deploy(d, worker('work')),
      deploy(d, worker('pair', {}, 2)),
      deploy(d, worker('twice', { asyncInvocation: { maxAttempts: 2, retryStatuses: [409, '5xx'] } })),
    ]);
  });
  after(async () => {
    await d?.close();
  });

  it('answers 202 {id, state: queued} with a Location, runs the request as sent, and shows the answer', async () => {
    const r = await enqueue(
      d,
      'work',
      { n: 1, echo: true },
      { 'x-nuclio-path': '/orders/7?x=1', 'x-custom': 'kept', 'content-type': 'application/json' },
    );
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['id', 'state']);
    assert.equal(r.json.state, 'queued');
    assert.match(r.json.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.headers.get('location'), `/api/function_invocations/${r.json.id}`);
    const inv = await ended(d, r.json.id);
    assert.equal(inv.state, 'succeeded');
    assert.equal(inv.function, 'work');
    assert.equal(inv.attempts, 1);
    assert.equal(inv.answer?.status, 200);
    assert.equal(inv.answer.headers['content-type'], 'application/json');
    const answer = JSON.parse(inv.answer.body) as WorkerAnswer;
    assert.equal(answer.method, 'POST');
    assert.equal(answer.path, '/orders/7');
    assert.equal(answer.id, r.json.id, 'the function sees the invocation id');
    assert.equal(answer.attempt, 1);
    const seen = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(seen['x-custom'], 'kept');
    for (const steering of ['x-protium-invoke-mode', 'x-nuclio-function-name', 'x-nuclio-path'])
      assert.equal(seen[steering], undefined, `${steering} is not the function's`);
    assert.deepEqual(inv.request, {
      method: 'POST',
      path: '/orders/7?x=1',
      bodyBytes: JSON.stringify({ n: 1, echo: true }).length,
    });
  });

  it('keeps the synchronous path as it was: mode sync answers at once, another mode is a 400', async () => {
    const sync = await rawRequest<WorkerAnswer>(`${d.url}/api/function_invocations`, 'POST', {
      headers: { 'x-nuclio-function-name': 'work', 'x-protium-invoke-mode': 'sync' },
      body: JSON.stringify({ n: 2 }),
    });
    assert.equal(sync.status, 200);
    assert.equal(sync.json.n, 2);
    const bad = await enqueue<ErrorBody>(d, 'work', {}, { 'x-protium-invoke-mode': 'later' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'INVALID_HEADER');
    assert.match(bad.json.error, /X-Protium-Invoke-Mode must be "async" or "sync", got "later"/);
    const missing = await enqueue<ErrorBody>(d, 'nope', {});
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'FUNCTION_NOT_FOUND');
  });

  it('retries a 5xx with growing back-off up to 3 attempts, then keeps it as a dead letter', async () => {
    const id = await enqueued(d, 'work', { n: 3, status: 503 });
    const inv = await ended(d, id);
    assert.equal(inv.state, 'dead');
    assert.deepEqual(
      inv.attemptHistory.map((a) => a.status),
      [503, 503, 503],
    );
    const starts = inv.attemptHistory.map((a) => Date.parse(a.startedAt));
    const ends = inv.attemptHistory.map((a) => Date.parse(a.endedAt ?? ''));
    // --async-retry-delay 100ms doubling, with at most half taken off by the jitter.
    assert.ok(starts[1] - ends[0] >= 50, `first wait ${starts[1] - ends[0]} ms`);
    assert.ok(starts[2] - ends[1] >= 100, `second wait ${starts[2] - ends[1]} ms`);
    assert.equal(inv.answer?.status, 503, 'the final answer is kept');
    assert.equal(inv.attemptsLeft, 0);
    const dead = await d.api<InvocationList>('GET', '/api/functions/work/invocations?state=dead');
    assert.ok(dead.json.invocations.some((x) => x.id === id));
    assert.ok(dead.json.counts.dead >= 1);
  });

  it('which failures retry: a 4xx fails at once, timeouts and cut connections retry, Retry-After is honoured', async () => {
    const four = await ended(d, await enqueued(d, 'work', { status: 404 }));
    assert.equal(four.state, 'failed');
    assert.equal(four.attempts, 1);
    const flaky = await ended(d, await enqueued(d, 'work', { failAttempts: 2 }));
    assert.equal(flaky.state, 'succeeded');
    assert.deepEqual(
      flaky.attemptHistory.map((a) => a.status),
      [503, 503, 200],
    );
    const slow = await ended(d, await enqueued(d, 'work', { sleep: 3_000 }, { 'x-nuclio-invoke-timeout': '200ms' }));
    assert.equal(slow.state, 'dead');
    assert.equal(slow.attempts, 3);
    for (const a of slow.attemptHistory) assert.match(a.error ?? '', /no answer within 200 ms/);
    const crash = await ended(d, await enqueued(d, 'work', { exitAttempts: 1 }), 60_000);
    assert.equal(crash.state, 'succeeded', JSON.stringify(crash.attemptHistory));
    assert.equal(crash.attemptHistory[0].status, undefined);
    assert.ok(crash.attemptHistory[0].error, 'the cut connection is the first attempt');
    const later = await ended(d, await enqueued(d, 'work', { failAttempts: 1, failStatus: 429, retryAfter: 1 }));
    assert.equal(later.state, 'succeeded');
    const wait = Date.parse(later.attemptHistory[1].startedAt) - Date.parse(later.attemptHistory[0].endedAt ?? '');
    assert.ok(wait >= 950, `Retry-After: 1 was honoured (${wait} ms)`);
  });

  it('takes the attempts from X-Protium-Max-Attempts, else spec.asyncInvocation, and its retry statuses', async () => {
    const spec = await ended(d, await enqueued(d, 'twice', { status: 500 }));
    assert.equal(spec.state, 'dead');
    assert.equal(spec.attempts, 2);
    const header = await ended(d, await enqueued(d, 'twice', { status: 500 }, { 'x-protium-max-attempts': '1' }));
    assert.equal(header.attempts, 1);
    const conflict = await ended(d, await enqueued(d, 'twice', { status: 409 }));
    assert.equal(conflict.state, 'dead', "409 is in the function's retry statuses");
    const notFound = await ended(d, await enqueued(d, 'twice', { status: 429 }));
    assert.equal(notFound.state, 'failed', '429 is not in them');
    const bad = await enqueue<ErrorBody>(d, 'work', {}, { 'x-protium-max-attempts': '0' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /X-Protium-Max-Attempts must be a whole number from 1 to 100/);
    const refused = await d.api<ErrorBody>('PUT', '/api/functions/twice', {
      body: worker('twice', { asyncInvocation: { maxAttempts: 0 } }),
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.field, 'spec.asyncInvocation.maxAttempts');
  });

  it('requeues a dead letter with a new budget and discards another; refuses what is not theirs to do', async () => {
    const flag = join(tmp, 'fixed');
    const id = await enqueued(d, 'work', { n: 10, flag }, { 'x-protium-max-attempts': '1' });
    assert.equal((await ended(d, id)).state, 'dead');
    writeFileSync(flag, 'the bug is fixed');
    const again = await d.api<Queued>('POST', `/api/function_invocations/${id}/retry`, {
      headers: { 'x-protium-max-attempts': '2' },
    });
    assert.equal(again.status, 202, again.text);
    assert.deepEqual(again.json, { id, state: 'queued' });
    assert.equal(again.headers.get('location'), `/api/function_invocations/${id}`);
    const done = await ended(d, id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.maxAttempts, 2);
    assert.deepEqual(
      done.attemptHistory.map((a) => [a.attempt, a.status]),
      [
        [1, 500],
        [2, 200],
      ],
    );
    const twice = await d.api<ErrorBody>('POST', `/api/function_invocations/${id}/retry`);
    assert.equal(twice.status, 409);
    assert.equal(twice.json.code, 'INVOCATION_NOT_REQUEUEABLE');

    const other = await enqueued(d, 'work', { status: 502 }, { 'x-protium-max-attempts': '1' });
    await ended(d, other);
    assert.equal((await d.api('DELETE', `/api/function_invocations/${other}`)).status, 204);
    assert.equal((await getInvocation<ErrorBody>(d, other)).json.code, 'INVOCATION_NOT_FOUND');
    assert.equal((await d.api('DELETE', `/api/function_invocations/${other}`)).status, 404);

    const running = await enqueued(d, 'work', { sleep: 1_500 });
    await until('running', async () => ((await getInvocation(d, running)).json.state === 'running' ? true : undefined));
    const busy = await d.api<ErrorBody>('DELETE', `/api/function_invocations/${running}`);
    assert.equal(busy.status, 409);
    assert.equal(busy.json.code, 'INVOCATION_RUNNING');
    assert.equal((await ended(d, running)).state, 'succeeded');
  });

  it('a discarded queued invocation never runs', async () => {
    const blocker = await enqueued(d, 'pair', { sleep: 800 });
    const blocker2 = await enqueued(d, 'pair', { sleep: 800 });
    const victim = await enqueued(d, 'pair', { n: 4242 });
    assert.equal((await getInvocation(d, victim)).json.state, 'queued');
    assert.equal((await d.api('DELETE', `/api/function_invocations/${victim}`)).status, 204);
    await ended(d, blocker);
    await ended(d, blocker2);
    await sleep(300);
    assert.equal(
      sinkLines('pair').some((l) => l.n === 4242),
      false,
    );
  });

  it('X-Idempotency-Key: a repeated enqueue answers the first invocation, which runs once', async () => {
    const key = { 'x-idempotency-key': 'order-77' };
    const [a, b] = await Promise.all([enqueue(d, 'work', { n: 77 }, key), enqueue(d, 'work', { n: 77 }, key)]);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(a.json.id, b.json.id);
    await ended(d, a.json.id);
    const c = await enqueue(d, 'work', { n: 77 }, key);
    assert.deepEqual(c.json, { id: a.json.id, state: 'succeeded' });
    const elsewhere = await enqueue(d, 'pair', { n: 77 }, key);
    assert.notEqual(elsewhere.json.id, a.json.id, 'keys are per function');
    await ended(d, elsewhere.json.id);
    assert.equal(sinkLines('work').filter((l) => l.n === 77).length, 1);
    const bad = await enqueue<ErrorBody>(d, 'work', {}, { 'x-idempotency-key': 'with space' });
    assert.equal(bad.status, 400);
  });

  it('runs at most ready replicas × workers at once', async () => {
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => enqueued(d, 'pair', { n: 100 + i, sleep: 150 })),
    );
    const answers = await Promise.all(
      ids.map(async (id) => JSON.parse((await ended(d, id)).answer!.body) as WorkerAnswer),
    );
    const most = Math.max(...answers.map((a) => a.most));
    assert.equal(most, 2, `the function ran ${most} at once with 2 workers and 1 replica`);
  });

  it('keeps request bodies up to the synchronous limit, refuses bigger ones (413), and bounds kept answers', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const ok = await enqueue(d, 'work', big);
    assert.equal(ok.status, 202, ok.text);
    const done = await ended(d, ok.json.id);
    assert.equal((JSON.parse(done.answer!.body) as WorkerAnswer).bytes, big.length, done.answer!.body.slice(0, 300));
    const tooBig = await rawRequest<ErrorBody>(`${d.url}/api/function_invocations`, 'POST', {
      headers: { 'x-nuclio-function-name': 'work', 'x-protium-invoke-mode': 'async' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
      fresh: true,
    });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.json.code, 'BODY_TOO_LARGE');
    const long = await ended(d, await enqueued(d, 'work', { big: 2 * 1024 * 1024 }));
    assert.equal(long.answer?.truncated, true);
    assert.equal(long.answer.bodyBytes, 1024 * 1024);
    assert.equal(long.answer.body.length, 1024 * 1024);
  });

  it('wakes a function scaled to zero, and waits for one still being deployed without spending attempts', async () => {
    await deploy(d, worker('sleepy', { minReplicas: 0, maxReplicas: 1 }));
    const park = await d.api('PATCH', '/api/functions/sleepy', {
      body: { desiredState: 'scaledToZero' },
      headers: { 'x-nuclio-wait-function-action': 'true' },
    });
    assert.equal(park.status, 204, park.text);
    assert.equal((await ended(d, await enqueued(d, 'sleepy', { n: 1 }))).state, 'succeeded');

    const created = await d.api('POST', '/api/functions', { body: worker('newborn') });
    assert.equal(created.status, 202);
    const id = await enqueued(d, 'newborn', { n: 1 }, { 'x-protium-max-attempts': '1' });
    const inv = await ended(d, id, 60_000);
    assert.equal(inv.state, 'succeeded', JSON.stringify(inv.attemptHistory));
    assert.equal(inv.attempts, 1);
  });

  it('through an API gateway: the same header queues the request as the gateway would forward it', async () => {
    const gw = await d.api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'async-gw' },
        spec: {
          host: 'async.test',
          path: '/shop',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'work' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
    await until('gateway ready', async () =>
      (await d.api<ApiGateway>('GET', '/api/api_gateways/async-gw')).json.status?.state === 'ready' ? true : undefined,
    );
    const r = await rawRequest<Queued>(`${d.gatewayUrl}/shop/cart?x=2`, 'POST', {
      headers: { host: 'async.test', 'x-protium-invoke-mode': 'async' },
      body: JSON.stringify({ n: 5, echo: true }),
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers.get('location'), `/api/function_invocations/${r.json.id}`);
    const inv = await ended(d, r.json.id);
    const answer = JSON.parse(inv.answer!.body) as WorkerAnswer;
    assert.equal(answer.path, '/cart');
    const seen = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(seen['x-forwarded-host'], 'async.test');
    assert.equal(seen['x-forwarded-prefix'], '/shop');
    const bad = await rawRequest(`${d.gatewayUrl}/shop`, 'POST', {
      headers: { host: 'async.test', 'x-protium-invoke-mode': 'eventually' },
    });
    assert.equal(bad.status, 400);
  });

  it('calls X-Callback-Url back with the result, retrying it, and refuses hosts off the allow-list', async () => {
    const hook = await receiver([500]);
    try {
      const id = await enqueued(d, 'work', { n: 9 }, { 'x-callback-url': `${hook.url}/done?order=9` });
      const inv = await until('callback delivered', async () => {
        const r = (await getInvocation(d, id)).json;
        return r.callback?.state === 'delivered' ? r : undefined;
      });
      assert.equal(inv.callback?.attempts, 2);
      assert.equal(inv.callback.status, 200);
      assert.equal(hook.got.length, 2);
      const last = hook.got[1];
      assert.equal(last.method, 'POST');
      assert.equal(last.url, '/done?order=9');
      assert.equal(last.headers['x-protium-invocation-id'], id);
      assert.equal(last.headers['x-protium-invocation-state'], 'succeeded');
      assert.equal(last.headers['x-protium-function-status'], '200');
      assert.equal(last.headers['x-protium-function-name'], 'work');
      assert.equal(last.headers['content-type'], 'application/json');
      assert.equal((JSON.parse(last.body) as WorkerAnswer).n, 9);

      const dead = await enqueued(
        d,
        'work',
        { status: 500 },
        { 'x-callback-url': hook.url, 'x-protium-max-attempts': '1' },
      );
      await until('dead callback', () => (hook.got.length === 3 ? true : undefined));
      assert.equal(hook.got[2].headers['x-protium-invocation-state'], 'dead');
      assert.equal(hook.got[2].headers['x-protium-invocation-id'], dead);
      assert.equal(hook.got[2].headers['x-protium-function-status'], '500');

      for (const url of ['http://localhost:1/x', 'http://10.0.0.1/x', 'file:///etc/passwd', 'gopher://127.0.0.1/']) {
        const refused = await enqueue<ErrorBody>(d, 'work', {}, { 'x-callback-url': url });
        assert.equal(refused.status, 400, url);
        assert.equal(refused.json.code, 'CALLBACK_URL_NOT_ALLOWED', url);
      }
    } finally {
      hook.close();
    }
  });

  it("lists a function's invocations newest first, filtered by state and time", async () => {
    const before = new Date().toISOString();
    await sleep(5);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await enqueued(d, 'twice', { n: i }));
    for (const id of ids) await ended(d, id);
    const list = await d.api<InvocationList>(
      'GET',
      `/api/functions/twice/invocations?since=${before}&state=succeeded&limit=2`,
    );
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.json.invocations.map((x) => x.id),
      [ids[2], ids[1]],
    );
    assert.equal(list.json.total, 3);
    const none = await d.api<InvocationList>('GET', `/api/functions/twice/invocations?until=${before}&state=queued`);
    assert.deepEqual(none.json.invocations, []);
    const counts = await d.api<Record<string, Counts>>('GET', '/api/function_invocation_counts');
    assert.ok(counts.json.twice.succeeded >= 3);
    for (const [q, param] of [
      ['state=lost', 'state'],
      ['since=yesterday', 'since'],
      ['limit=0', 'limit'],
      ['limit=99999', 'limit'],
    ]) {
      const bad = await d.api<ErrorBody>('GET', `/api/functions/twice/invocations?${q}`);
      assert.equal(bad.status, 400, q);
      assert.equal(bad.json.code, 'INVALID_QUERY');
      assert.match(bad.json.error, new RegExp(`Query parameter ${param}`));
    }
    assert.equal((await d.api('GET', '/api/functions/nope/invocations')).status, 404);
    for (const id of ['nope', '..%2F..%2Fetc', 'x'.repeat(400), '%00'])
      assert.equal((await d.api('GET', `/api/function_invocations/${id}`)).status, 404, id);
  });

  it('deleting a function discards its queue once its running invocations ended; a new one of that name starts afresh', async () => {
    await deploy(d, worker('doomed', {}, 1));
    const hook = await receiver();
    try {
      const first = await enqueued(d, 'doomed', { n: 1, sleep: 1_000 }, { 'x-callback-url': hook.url });
      const rest: string[] = [];
      for (let n = 2; n <= 4; n++) rest.push(await enqueued(d, 'doomed', { n }));
      await until('first running', async () =>
        (await getInvocation(d, first)).json.state === 'running' ? true : undefined,
      );
      assert.equal((await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'doomed' } } })).status, 204);
      for (const id of rest) assert.equal((await getInvocation(d, id)).status, 404, 'the queue went at once');
      // The running one ends (its callback says how), then goes too.
      await until('callback of the running one', () => (hook.got.length ? true : undefined), 40_000);
      assert.equal(hook.got[0].headers['x-protium-invocation-id'], first);
      assert.equal(hook.got[0].headers['x-protium-invocation-state'], 'succeeded');
      await until('running one discarded', async () =>
        (await getInvocation(d, first)).status === 404 ? true : undefined,
      );
      assert.deepEqual(
        sinkLines('doomed').map((l) => l.n),
        [1],
      );
      await deploy(d, worker('doomed', {}, 1));
      const fresh = await ended(d, await enqueued(d, 'doomed', { n: 5 }));
      assert.equal(fresh.state, 'succeeded');
      assert.equal((await d.api<InvocationList>('GET', '/api/functions/doomed/invocations')).json.total, 1);
      await sleep(300);
      assert.deepEqual(
        sinkLines('doomed').map((l) => l.n),
        [1, 5],
      );
    } finally {
      hook.close();
    }
  });
});

describe('async invocations: bound, retention, token, restart', () => {
  let d: TestDashboard;
  const dir = mkdtempSync(join(tmpdir(), 'protium-async-restart-'));
  const token = 'async-test-token';

  before(async () => {
    writeFileSync(join(dir, 'token'), token);
    d = await startTestDashboard(
      { asyncQueueSize: '3', asyncRetention: '2s', asyncRetryDelay: '100ms', authTokenFile: join(dir, 'token') },
      join(dir, 'data'),
    );
    await deploy(
      {
        ...d,
        api: (m, p, o) => d.api(m, p, { ...o, headers: { authorization: `Bearer ${token}`, ...(o?.headers ?? {}) } }),
      },
      worker('bounded', {}, 1),
    );
  });
  after(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const auth = { authorization: `Bearer ${token}` };

  it('needs the token for queueing and for reading an invocation', async () => {
    const denied = await enqueue<ErrorBody>(d, 'bounded', {});
    assert.equal(denied.status, 401);
    assert.equal(denied.json.code, 'UNAUTHORIZED');
    const id = await enqueued(d, 'bounded', { n: 1 }, auth);
    assert.equal((await getInvocation(d, id)).status, 401);
    assert.equal((await d.api('GET', `/api/function_invocations/${id}`, { headers: auth })).status, 200);
    // Ended before the next test fills the bound of 3.
    await until('the invocation ended', async () =>
      (await d.api<InvocationView>('GET', `/api/function_invocations/${id}`, { headers: auth })).json.state ===
      'succeeded'
        ? true
        : undefined,
    );
  });

  it('answers 429 with Retry-After when a function has its bound of queued and running invocations', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await enqueued(d, 'bounded', { n: i, sleep: 400 }, auth));
    const full = await enqueue<ErrorBody>(d, 'bounded', { n: 9 }, auth);
    assert.equal(full.status, 429, full.text);
    assert.equal(full.json.code, 'ASYNC_QUEUE_FULL');
    assert.match(full.headers.get('retry-after') ?? '', /^\d+$/);
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    const get = (id: string) => d.api<InvocationView>('GET', `/api/function_invocations/${id}`, { headers: auth });
    await until('the first ended', async () => ((await get(ids[0])).json.state === 'succeeded' ? true : undefined));
    assert.equal((await enqueue(d, 'bounded', { n: 10 }, auth)).status, 202, 'room again');
  });

  it('forgets ended invocations after --async-retention, and keeps everything else across a restart', async () => {
    const get = (id: string) => d.api<InvocationView>('GET', `/api/function_invocations/${id}`, { headers: auth });
    await until('the queue drained', async () => {
      const { counts } = (await d.api<InvocationList>('GET', '/api/functions/bounded/invocations', { headers: auth }))
        .json;
      return counts.queued + counts.running === 0 ? true : undefined;
    });
    const id = await enqueued(d, 'bounded', { echo: true }, auth);
    const done = await until('ended', async () => {
      const r = (await get(id)).json;
      return r.state === 'succeeded' ? r : undefined;
    });
    const seen = Object.keys((JSON.parse(done.answer!.body) as WorkerAnswer).headers ?? {}).map((k) => k.toLowerCase());
    assert.equal(seen.includes('authorization'), false, "the dashboard's token is not the function's");
    await until('forgotten', async () => ((await get(id)).status === 404 ? true : undefined), 10_000);

    // A dead letter, a running and a queued invocation survive a restart; nothing forgotten comes back.
    const dead = await enqueued(d, 'bounded', { status: 500 }, { ...auth, 'x-protium-max-attempts': '1' });
    await until('dead', async () => ((await get(dead)).json.state === 'dead' ? true : undefined));
    const running = await enqueued(d, 'bounded', { n: 20, sleep: 300 }, auth);
    const waiting = await enqueued(d, 'bounded', { n: 21 }, auth);
    await until('running', async () => ((await get(running)).json.state === 'running' ? true : undefined));
    const dataDir = d.dataDir;
    await d.close();
    d = await startTestDashboard(
      { asyncQueueSize: '3', asyncRetention: '1h', asyncRetryDelay: '100ms', authTokenFile: join(dir, 'token') },
      dataDir,
    );
    for (const x of [running, waiting]) {
      const r = await until(`${x} ended after the restart`, async () => {
        const j = (await get(x)).json;
        return j.state === 'succeeded' ? j : undefined;
      });
      assert.equal(r.attempts, 1, 'a graceful stop lets the running attempt end, and starts the queued one later');
    }
    assert.equal((await get(id)).status, 404);
    const after = (await get(dead)).json;
    assert.equal(after.state, 'dead');
    assert.equal(after.answer?.status, 500);
    await waitFor(
      { ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: auth }) },
      'bounded',
      (f) => f.status?.state === 'ready',
    );
    const again = await d.api('POST', `/api/function_invocations/${dead}/retry`, {
      headers: { ...auth, 'x-protium-max-attempts': '1' },
    });
    assert.equal(again.status, 202);
    const end = await until('requeued dead letter ended', async () => {
      const r = (await get(dead)).json;
      return r.state === 'dead' && r.attempts === 2 ? r : undefined;
    });
    assert.equal(end.attemptHistory.length, 2);
  });
});
