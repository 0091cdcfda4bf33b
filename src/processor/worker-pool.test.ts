import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool, WorkerUnavailableError } from './worker-pool.js';

/** A promise with its resolve exposed. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('WorkerPool', () => {
  it('WorkerPool runs a function with a worker id and returns its result', async () => {
    const pool = new WorkerPool(1);
    assert.equal(await pool.run(100, async (id) => `worker ${id}`), 'worker 0');
    assert.equal(pool.inflight, 0);
    assert.equal(pool.queued, 0);
  });

  it('WorkerPool hands out ids from the offset upward', async () => {
    const pool = new WorkerPool(3, 10);
    const gates = [deferred(), deferred(), deferred()];
    const ids: number[] = [];
    const runs = gates.map((g) =>
      pool.run(100, async (id) => {
        ids.push(id);
        await g.promise;
      }),
    );
    await tick();
    assert.deepEqual(ids, [10, 11, 12]);
    gates.forEach((g) => g.resolve());
    await Promise.all(runs);
  });

  it('WorkerPool runs at most `size` at once and counts inflight and queued', async () => {
    const pool = new WorkerPool(2);
    let active = 0;
    let maxActive = 0;
    const gates = Array.from({ length: 5 }, () => deferred());
    const runs = gates.map((g) =>
      pool.run(0, async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await g.promise;
        active--;
      }),
    );
    await tick();
    assert.equal(pool.inflight, 2);
    assert.equal(pool.queued, 3);
    gates[0].resolve();
    await tick();
    assert.equal(pool.inflight, 2);
    assert.equal(pool.queued, 2);
    for (const g of gates) g.resolve();
    await Promise.all(runs);
    assert.equal(maxActive, 2);
    assert.equal(pool.inflight, 0);
    assert.equal(pool.queued, 0);
  });

  it('WorkerPool gives a waiting caller the id that was freed, in arrival order', async () => {
    const pool = new WorkerPool(2, 5);
    const g0 = deferred();
    const g1 = deferred();
    const order: string[] = [];
    const a = pool.run(100, async (id) => {
      await g0.promise;
      return id;
    });
    const b = pool.run(100, async (id) => {
      await g1.promise;
      return id;
    });
    const c = pool.run(1000, async (id) => {
      order.push('c');
      return id;
    });
    const d = pool.run(1000, async (id) => {
      order.push('d');
      return id;
    });
    await tick();
    assert.equal(pool.queued, 2);
    g1.resolve();
    assert.equal(await b, 6);
    assert.equal(await c, 6, 'c gets the id b freed');
    assert.equal(await d, 6, 'd gets it after c');
    assert.deepEqual(order, ['c', 'd']);
    g0.resolve();
    assert.equal(await a, 5);
  });

  it('WorkerPool frees the worker when the function throws', async () => {
    const pool = new WorkerPool(1);
    await assert.rejects(
      pool.run(100, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(pool.inflight, 0);
    assert.equal(await pool.run(100, async (id) => id), 0);
  });

  it('WorkerPool rejects with WorkerUnavailableError after the timeout, and the waiter leaves the queue', async () => {
    const pool = new WorkerPool(1);
    const gate = deferred();
    const busy = pool.run(100, () => gate.promise);
    const started = Date.now();
    let ran = false;
    const waiting = pool.run(30, async () => {
      ran = true;
    });
    await tick();
    assert.equal(pool.queued, 1);
    await assert.rejects(waiting, (e: unknown) => {
      assert.ok(e instanceof WorkerUnavailableError);
      assert.equal(e.name, 'WorkerUnavailableError');
      assert.equal(e.message, 'No worker became available within 30 ms');
      return true;
    });
    assert.ok(Date.now() - started >= 25, 'waited about the timeout');
    assert.equal(pool.queued, 0);
    assert.equal(pool.inflight, 1);
    gate.resolve();
    await busy;
    assert.equal(ran, false);
    assert.equal(pool.inflight, 0);
    assert.equal(await pool.run(10, async (id) => id), 0, 'the worker is free again after the timed-out waiter left');
  });

  it('WorkerPool with timeout 0 waits without a limit', async () => {
    const pool = new WorkerPool(1);
    const gate = deferred();
    const busy = pool.run(0, () => gate.promise);
    const waiting = pool.run(0, async (id) => id);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(pool.queued, 1);
    gate.resolve();
    await busy;
    assert.equal(await waiting, 0);
  });
});
