import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './work-queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('never runs one key twice at once, and reruns a key changed while running', async () => {
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    // Each reconcile waits for the test to let it end (no timers: a loaded machine cannot reorder them).
    const gates: (() => void)[] = [];
    const q = new WorkQueue(async (k) => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${k}`);
      await new Promise<void>((r) => gates.push(r));
      log.push(`end ${k}`);
      active--;
    });
    q.add('a');
    assert.deepEqual(log, ['start a']);
    // Changed twice while it runs: one more run afterwards, not two, and not at once.
    q.add('a');
    q.add('a');
    gates.shift()!();
    while (gates.length === 0) await tick(1);
    gates.shift()!();
    await tick(5);
    assert.equal(gates.length, 0, 'no third run');
    await q.idle();
    assert.deepEqual(log, ['start a', 'end a', 'start a', 'end a']);
    assert.equal(maxActive, 1);
  });

  it('runs different keys concurrently up to the limit', async () => {
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await tick(10);
      active--;
    }, 2);
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await q.idle();
    assert.equal(maxActive, 2);
  });

  it('reports a failing reconcile and keeps going', async () => {
    const errors: string[] = [];
    const done: string[] = [];
    const q = new WorkQueue(
      async (k) => {
        if (k === 'bad') throw new Error('boom');
        done.push(k);
      },
      4,
      (k, e) => errors.push(`${k}: ${(e as Error).message}`),
    );
    q.add('bad');
    q.add('good');
    await q.idle();
    assert.deepEqual(errors, ['bad: boom']);
    assert.deepEqual(done, ['good']);
  });
});
