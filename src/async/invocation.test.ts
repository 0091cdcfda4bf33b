import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ATTEMPT_HISTORY,
  bodyView,
  canDiscard,
  canRequeue,
  endAttempt,
  interruptAttempt,
  invocationView,
  isFinal,
  nextAttemptNumber,
  requeue,
  startAttempt,
  TransitionError,
  withoutCredentials,
  type AttemptEnd,
  type Invocation,
  type InvocationState,
} from './invocation.js';

const T = 1_900_000_000_000;

function queued(over: Partial<Invocation> = {}): Invocation {
  return {
    id: 'i-1',
    namespace: 'nuclio',
    name: 'fn',
    createdAt: T,
    state: 'queued',
    request: { method: 'POST', path: '/', headers: {}, timeoutMs: 1000, bodyBytes: 3 },
    maxAttempts: 3,
    used: 0,
    attempts: [],
    ...over,
  };
}

const ended = (over: Partial<AttemptEnd>): AttemptEnd => ({
  n: 1,
  at: T + 10,
  outcome: { kind: 'answer', status: 200 },
  next: 'succeeded',
  ...over,
});

describe('invocation state machine (invocation.ts)', () => {
  it('startAttempt() runs a queued invocation and records the attempt', () => {
    const run = startAttempt(queued({ nextAt: T }), 1, T + 1);
    assert.equal(run.state, 'running');
    assert.deepEqual(run.attempts, [{ n: 1, startedAt: T + 1 }]);
    assert.equal('nextAt' in run, false);
  });

  const endings: [string, Partial<AttemptEnd>, InvocationState, Partial<Invocation>][] = [
    [
      'a success',
      { answer: { status: 200, headers: {}, bodyBytes: 2, truncated: false } },
      'succeeded',
      { used: 1, endedAt: T + 10 },
    ],
    [
      'a failure to retry',
      { outcome: { kind: 'answer', status: 503 }, next: 'retry', nextAt: T + 500 },
      'queued',
      { used: 1, nextAt: T + 500 },
    ],
    [
      'a timeout, the last attempt',
      { outcome: { kind: 'timeout', error: 'no answer' }, next: 'dead' },
      'dead',
      { used: 1, endedAt: T + 10, error: 'no answer' },
    ],
    ['a 400', { outcome: { kind: 'answer', status: 400 }, next: 'failed' }, 'failed', { used: 1, endedAt: T + 10 }],
  ];
  for (const [what, end, state, fields] of endings) {
    it(`endAttempt() after ${what} moves the invocation to ${state}`, () => {
      const after = endAttempt(startAttempt(queued(), 1, T), ended(end));
      assert.equal(after.state, state);
      for (const [k, v] of Object.entries(fields)) assert.deepEqual(after[k as keyof Invocation], v, k);
      const a = after.attempts[0];
      assert.equal(a.endedAt, T + 10);
      if (end.outcome?.kind === 'timeout') assert.equal(a.error, 'no answer');
      else assert.equal(a.status, end.outcome?.kind === 'answer' ? end.outcome.status : 200);
    });
  }

  it('endAttempt() marks a callback pending when the invocation ends, not on a retry', () => {
    const cb = { url: 'http://h/x', state: 'failed' as const, attempts: 5 };
    const running = startAttempt(queued({ callback: cb }), 1, T);
    assert.equal(endAttempt(running, ended({ next: 'retry', nextAt: T + 5 })).callback, cb);
    assert.deepEqual(endAttempt(running, ended({})).callback, { url: 'http://h/x', state: 'pending', attempts: 0 });
  });

  it('interruptAttempt() queues a running invocation again without counting the attempt', () => {
    const back = interruptAttempt(startAttempt(queued({ used: 1 }), 2, T), T + 5);
    assert.equal(back.state, 'queued');
    assert.equal(back.used, 1);
    assert.deepEqual(back.attempts.at(-1), {
      n: 2,
      startedAt: T,
      endedAt: T + 5,
      error: 'Interrupted: the dashboard stopped while it ran',
      interrupted: true,
    });
    assert.equal(nextAttemptNumber(back), 3);
  });

  it('requeue() gives a dead letter a new budget and drops its old answer, keeping its history', () => {
    const dead = endAttempt(
      startAttempt(queued({ callback: { url: 'http://h', state: 'delivered', attempts: 1 } }), 1, T),
      ended({
        outcome: { kind: 'answer', status: 500 },
        next: 'dead',
        answer: { status: 500, headers: {}, bodyBytes: 0, truncated: false },
      }),
    );
    const again = requeue(dead, T + 100, 7);
    assert.equal(again.state, 'queued');
    assert.equal(again.used, 0);
    assert.equal(again.maxAttempts, 7);
    assert.equal(again.answer, undefined);
    assert.equal(again.endedAt, undefined);
    assert.equal(again.attempts.length, 1);
    assert.deepEqual(again.callback, { url: 'http://h', state: 'pending', attempts: 0 });
  });

  const refused: [string, () => unknown][] = [
    ['start a running invocation', () => startAttempt(startAttempt(queued(), 1, T), 2, T)],
    ['end a queued one', () => endAttempt(queued(), ended({}))],
    ['interrupt a queued one', () => interruptAttempt(queued(), T)],
    ['requeue a queued one', () => requeue(queued(), T, 3)],
    ['requeue a succeeded one', () => requeue(endAttempt(startAttempt(queued(), 1, T), ended({})), T, 3)],
  ];
  for (const [what, f] of refused) {
    it(`refuses to ${what} (TransitionError naming the state)`, () => {
      assert.throws(
        f,
        (e: unknown) => e instanceof TransitionError && /in state (queued|running|succeeded)/.test(e.message),
      );
    });
  }

  it('the predicates say which states end, requeue and discard', () => {
    const table: [InvocationState, boolean, boolean, boolean][] = [
      ['queued', false, false, true],
      ['running', false, false, false],
      ['succeeded', true, false, true],
      ['failed', true, true, true],
      ['dead', true, true, true],
    ];
    for (const [s, fin, re, dis] of table) {
      assert.equal(isFinal(s), fin, `isFinal ${s}`);
      assert.equal(canRequeue(s), re, `canRequeue ${s}`);
      assert.equal(canDiscard(s), dis, `canDiscard ${s}`);
    }
  });

  it(`keeps the last ${ATTEMPT_HISTORY} attempts, numbering on`, () => {
    let inv = queued({ maxAttempts: 1000 });
    for (let n = 1; n <= ATTEMPT_HISTORY + 5; n++)
      inv = endAttempt(startAttempt(inv, n, T + n), ended({ n, next: 'retry', nextAt: T }));
    assert.equal(inv.attempts.length, ATTEMPT_HISTORY);
    assert.equal(inv.attempts[0].n, 6);
    assert.equal(nextAttemptNumber(inv), ATTEMPT_HISTORY + 6);
  });

  it('invocationView() shows times as ISO strings, a text body as text, and hides callback credentials', () => {
    const inv = endAttempt(
      startAttempt(queued({ callback: { url: 'http://u:secret@hooks.test/x', state: 'pending', attempts: 0 } }), 1, T),
      ended({ answer: { status: 200, headers: { 'content-type': 'text/plain' }, bodyBytes: 2, truncated: false } }),
    );
    const v = invocationView(inv, Buffer.from('ok'));
    assert.equal(v.createdAt, new Date(T).toISOString());
    assert.equal(v.attemptHistory[0].endedAt, new Date(T + 10).toISOString());
    assert.deepEqual(v.answer, {
      status: 200,
      headers: { 'content-type': 'text/plain' },
      body: 'ok',
      bodyEncoding: 'utf8',
      bodyBytes: 2,
      truncated: false,
    });
    assert.equal(v.callback?.url, 'http://hooks.test/x');
    assert.equal(JSON.stringify(v).includes('secret'), false);
  });

  it('bodyView() gives binary bodies as base64', () => {
    assert.deepEqual(bodyView(Buffer.from([0xff, 0x00, 0x81])), { body: '/wCB', bodyEncoding: 'base64' });
    assert.deepEqual(bodyView(Buffer.from('héllo')), { body: 'héllo', bodyEncoding: 'utf8' });
    assert.equal(withoutCredentials('not a url'), 'not a url');
  });
});
