import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from './limiter.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Limiter', () => {
  it('Limiter.run() never lets more than the limit run at once, and runs them all', async () => {
    for (const limit of [1, 2, 5]) {
      const l = new Limiter(limit);
      let now = 0;
      let most = 0;
      const done: number[] = [];
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          l.run(async () => {
            now++;
            most = Math.max(most, now);
            await tick();
            await tick();
            now--;
            done.push(i);
          }),
        ),
      );
      assert.equal(most, limit, `limit ${limit}`);
      assert.equal(done.length, 20);
    }
  });

  it('Limiter.acquire() serves waiters in the order they asked, and a newcomer does not jump the line', async () => {
    const l = new Limiter(1);
    const first = await l.acquire();
    const order: string[] = [];
    const a = l.acquire().then((r) => (order.push('a'), r));
    const b = l.acquire().then((r) => (order.push('b'), r));
    first();
    // A newcomer asking right after a release waits behind those already in line.
    const c = l.acquire().then((r) => (order.push('c'), r));
    (await a)();
    (await b)();
    (await c)();
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(l.running, 0);
  });

  it('Limiter.acquire() gives up its place when the signal aborts, holding nothing', async () => {
    const l = new Limiter(1);
    const held = await l.acquire();
    const ac = new AbortController();
    const gaveUp = l.acquire(ac.signal);
    const next = l.acquire();
    assert.equal(l.waiting, 2);
    ac.abort(new Error('deploy cancelled'));
    await assert.rejects(gaveUp, /deploy cancelled/);
    assert.equal(l.waiting, 1);
    held();
    (await next)();
    assert.equal(l.running, 0);
    await assert.rejects(l.acquire(AbortSignal.abort(new Error('already'))), /already/);
  });

  it('a release called twice frees one slot only', async () => {
    const l = new Limiter(1);
    const r = await l.acquire();
    const waiter = l.acquire();
    r();
    r();
    const second = await waiter;
    assert.equal(l.running, 1);
    second();
    assert.equal(l.running, 0);
  });

  it('new Limiter() refuses a limit below 1 or not whole', () => {
    for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => new Limiter(bad), RangeError);
  });
});
