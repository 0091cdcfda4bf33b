import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Invocation } from './invocation.js';
import { functionKey, InvocationIndex, type RecordPlace } from './invocation-index.js';
import { decodeEntry, encodeEntry, entryId, type JournalEntry } from './journal-entry.js';

const T = 1_900_000_000_000;

function inv(id: string, over: Partial<Invocation> = {}): Invocation {
  return {
    id,
    namespace: 'nuclio',
    name: 'fn',
    createdAt: T,
    state: 'queued',
    request: { method: 'POST', path: '/', headers: { a: 'b' }, timeoutMs: 1000, bodyBytes: 4 },
    maxAttempts: 2,
    used: 0,
    attempts: [],
    ...over,
  };
}

/** A journal as a list of record datas, and the index folded from it (as a replay does). */
class Fold {
  readonly records: Buffer[] = [];
  readonly index = new InvocationIndex();
  add(entry: JournalEntry, payloads: Buffer[] = [], at = T): void {
    const { data, decoded } = encodeEntry(entry, payloads);
    const place: RecordPlace = { shard: 0, seq: this.records.length + 1, at };
    this.records.push(data);
    this.index.apply(decoded, place);
  }
  /** A fresh index replayed from the records' bytes. */
  replay(): InvocationIndex {
    const again = new InvocationIndex();
    this.records.forEach((data, i) => again.apply(decodeEntry(data), { shard: 0, seq: i + 1, at: T }));
    return again;
  }
}

const ok = { status: 200, headers: { 'content-type': 'text/plain' }, bodyBytes: 5, truncated: false };

describe('journal records (journal-entry.ts)', () => {
  it('encodeEntry() and decodeEntry() agree on the entry and where its payloads lie', () => {
    const snapshot: JournalEntry = { t: 'snapshot', inv: inv('s', { state: 'dead', answer: ok }) };
    const { data, decoded } = encodeEntry(snapshot, [Buffer.from('body'), Buffer.from('hello')]);
    const again = decodeEntry(data);
    assert.deepEqual(again, decoded);
    assert.equal(data.subarray(again.body!.offset, again.body!.offset + again.body!.length).toString(), 'body');
    assert.equal(data.subarray(again.answer!.offset, again.answer!.offset + again.answer!.length).toString(), 'hello');
    assert.equal(entryId(snapshot), 's');
    assert.equal(entryId({ t: 'dropped', ids: ['a'], reason: 'x' }), undefined);
  });

  const bad: [string, Buffer][] = [
    ['too short', Buffer.from([1, 0])],
    ['a header past the end', Buffer.from([200, 0, 0, 0, 123])],
    ['a header that is not JSON', Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{x}')])],
    ['a header without a type', encodeEntry({ x: 1 } as unknown as JournalEntry).data],
    [
      'a payload past the end',
      encodeEntry({ t: 'enqueued', inv: inv('p') }, [Buffer.from('body')]).data.subarray(0, -2),
    ],
  ];
  for (const [what, data] of bad) {
    it(`decodeEntry() refuses ${what}`, () => {
      assert.throws(() => decodeEntry(data), SyntaxError);
    });
  }
});

describe('InvocationIndex', () => {
  it('folds a life — queued, started, a retry, interrupted, ended — the same live and replayed', () => {
    const f = new Fold();
    f.add({ t: 'enqueued', inv: inv('a', { idempotencyKey: 'k1' }) }, [Buffer.from('body')]);
    f.add({ t: 'started', id: 'a', n: 1, at: T + 1 });
    f.add({
      t: 'ended',
      id: 'a',
      end: { n: 1, at: T + 2, outcome: { kind: 'answer', status: 503 }, next: 'retry', nextAt: T + 100 },
    });
    f.add({ t: 'started', id: 'a', n: 2, at: T + 100 });
    f.add({ t: 'interrupted', id: 'a', at: T + 150 });
    f.add({ t: 'started', id: 'a', n: 3, at: T + 200 });
    f.add(
      {
        t: 'ended',
        id: 'a',
        end: { n: 3, at: T + 210, outcome: { kind: 'answer', status: 200 }, next: 'succeeded', answer: ok },
      },
      [Buffer.from('hello')],
    );
    const live = f.index.get('a')!;
    assert.equal(live.inv.state, 'succeeded');
    assert.equal(live.inv.used, 2);
    assert.deepEqual(
      live.inv.attempts.map((a) => [a.n, a.status ?? null, a.interrupted ?? false]),
      [
        [1, 503, false],
        [2, null, true],
        [3, 200, false],
      ],
    );
    assert.deepEqual(live.answer, { shard: 0, seq: 7, at: T, offset: live.answer!.offset, length: 5 });
    const replayed = f.replay();
    assert.deepEqual(replayed.get('a'), live);
    assert.equal(replayed.byIdempotencyKey(functionKey('nuclio', 'fn'), 'k1')?.inv.id, 'a');
    assert.deepEqual(replayed.countsOf('nuclio/fn'), { queued: 0, running: 0, succeeded: 1, failed: 0, dead: 0 });
  });

  it('a start over a running attempt (the interruption was never written) interrupts it first', () => {
    const f = new Fold();
    f.add({ t: 'enqueued', inv: inv('a') }, [Buffer.from('body')]);
    f.add({ t: 'started', id: 'a', n: 1, at: T + 1 });
    f.add({ t: 'started', id: 'a', n: 2, at: T + 9 });
    const a = f.index.get('a')!.inv;
    assert.equal(a.state, 'running');
    assert.deepEqual(a.attempts[0].interrupted, true);
    assert.equal(a.attempts[0].endedAt, T + 9);
  });

  it('counts by state and active ones per function, and forgets what is dropped, keys included', () => {
    const f = new Fold();
    for (const id of ['a', 'b', 'c'])
      f.add({ t: 'enqueued', inv: inv(id, { idempotencyKey: id }) }, [Buffer.from('body')]);
    f.add({ t: 'enqueued', inv: inv('z', { name: 'other' }) }, [Buffer.from('body')]);
    f.add({ t: 'started', id: 'b', n: 1, at: T });
    assert.equal(f.index.active('nuclio/fn'), 3);
    assert.deepEqual(f.index.countsOf('nuclio/fn'), { queued: 2, running: 1, succeeded: 0, failed: 0, dead: 0 });
    f.add({ t: 'dropped', ids: ['a', 'nope'], reason: 'discarded' });
    assert.equal(f.index.active('nuclio/fn'), 2);
    assert.equal(f.index.byIdempotencyKey('nuclio/fn', 'a'), undefined);
    assert.deepEqual(f.index.functionKeys().sort(), ['nuclio/fn', 'nuclio/other']);
    f.add({ t: 'dropped', ids: ['z'], reason: 'function deleted' });
    assert.deepEqual(f.index.functionKeys(), ['nuclio/fn']);
    assert.deepEqual(f.index.countsOf('nuclio/other'), { queued: 0, running: 0, succeeded: 0, failed: 0, dead: 0 });
  });

  it('ignores records about invocations it does not keep, and counts those out of order', () => {
    const f = new Fold();
    f.add({ t: 'started', id: 'ghost', n: 1, at: T });
    assert.equal(f.index.size, 0);
    assert.equal(f.index.rejected, 0);
    f.add({ t: 'enqueued', inv: inv('a') }, [Buffer.from('body')]);
    f.add({ t: 'ended', id: 'a', end: { n: 1, at: T, outcome: { kind: 'answer', status: 200 }, next: 'succeeded' } });
    f.add({ t: 'requeued', id: 'a', at: T, maxAttempts: 3 });
    f.add({ t: 'enqueued', inv: inv('a') }, [Buffer.from('body')]);
    assert.equal(f.index.get('a')!.inv.state, 'queued');
    assert.equal(f.index.rejected, 3);
  });

  it('a snapshot stands for everything before it (the journal dropped the older records)', () => {
    const f = new Fold();
    const later = inv('a', { state: 'dead', used: 2, endedAt: T + 50, answer: ok, attempts: [{ n: 1, startedAt: T }] });
    f.add({ t: 'snapshot', inv: later }, [Buffer.from('body'), Buffer.from('hello')], T + 60);
    f.add({ t: 'requeued', id: 'a', at: T + 70, maxAttempts: 2 });
    const x = f.index.get('a')!;
    assert.equal(x.inv.state, 'queued');
    assert.equal(x.answer, undefined);
    assert.deepEqual({ seq: x.body.seq, length: x.body.length, at: x.body.at }, { seq: 1, length: 4, at: T + 60 });
  });

  it('expired() finds ended invocations past the retention; beyondBound() the oldest above the bound', () => {
    const f = new Fold();
    const end = (id: string, at: number, next: 'succeeded' | 'dead') => {
      f.add({ t: 'enqueued', inv: inv(id) }, [Buffer.from('body')]);
      f.add({ t: 'started', id, n: 1, at });
      f.add({ t: 'ended', id, end: { n: 1, at, outcome: { kind: 'answer', status: 200 }, next } });
    };
    end('s1', T + 1, 'succeeded');
    end('s2', T + 2, 'succeeded');
    end('s3', T + 3, 'succeeded');
    end('d1', T + 4, 'dead');
    f.add({ t: 'enqueued', inv: inv('q') }, [Buffer.from('body')]);
    assert.deepEqual(f.index.expired(T + 1003, 1000).sort(), ['s1', 's2', 's3']);
    assert.deepEqual(f.index.expired(T + 999, 1000), []);
    // Dead letters are bounded apart: three successes above a bound of 1 lose two, the dead letter stays.
    assert.deepEqual(f.index.beyondBound('nuclio/fn', 1), ['s1', 's2']);
    assert.deepEqual(f.index.beyondBound('nuclio/fn', 3), []);
  });

  it('olderThan() finds invocations holding a body written before a time', () => {
    const f = new Fold();
    f.add({ t: 'enqueued', inv: inv('old') }, [Buffer.from('body')], T);
    f.add({ t: 'enqueued', inv: inv('new') }, [Buffer.from('body')], T + 100);
    assert.deepEqual(
      f.index.olderThan(T + 50).map((x) => x.inv.id),
      ['old'],
    );
  });
});
