import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Lane } from './lane.js';

const drain = (lane: Lane) => {
  const out: string[] = [];
  for (let id = lane.take(); id !== undefined; id = lane.take()) out.push(id);
  return out;
};

describe('Lane', () => {
  it('gives due ids first in, first out, and delayed ones once due, earliest first', () => {
    const lane = new Lane(1);
    lane.push('a', undefined, 100);
    lane.push('late', 500, 100);
    lane.push('b', 100, 100);
    lane.push('soon', 300, 100);
    lane.push('later', 400, 100);
    assert.equal(lane.waiting, 5);
    assert.deepEqual(drain(lane), ['a', 'b']);
    assert.equal(lane.nextDue(), 300);
    lane.promote(450);
    assert.deepEqual(drain(lane), ['soon', 'later']);
    lane.promote(10_000);
    assert.deepEqual(drain(lane), ['late']);
    assert.equal(lane.nextDue(), undefined);
    assert.equal(lane.waiting, 0);
  });

  it('unshift() puts an id back at the front', () => {
    const lane = new Lane(1);
    for (const id of ['a', 'b', 'c']) lane.push(id, undefined, 0);
    const first = lane.take()!;
    lane.unshift(first);
    assert.deepEqual(drain(lane), ['a', 'b', 'c']);
    lane.unshift('x');
    assert.deepEqual(drain(lane), ['x']);
  });

  it('keeps order through many takes (the consumed part is dropped now and then)', () => {
    const lane = new Lane(1);
    const ids = Array.from({ length: 5000 }, (_, i) => String(i));
    for (const id of ids) lane.push(id, undefined, 0);
    const out: string[] = [];
    for (let i = 0; i < 2500; i++) out.push(lane.take()!);
    for (const id of ['x', 'y']) lane.push(id, undefined, 0);
    out.push(...drain(lane));
    assert.deepEqual(out, [...ids, 'x', 'y']);
  });

  it('canStart() holds while paused or at the limit of ready replicas × workers', () => {
    const lane = new Lane(2);
    assert.equal(lane.limit, 2);
    lane.push('a', undefined, 0);
    assert.equal(lane.canStart(), true);
    lane.inflight = 2;
    assert.equal(lane.canStart(), false);
    lane.setLimit(3, 2, 10);
    assert.equal(lane.limit, 6);
    assert.equal(lane.limitAt, 10);
    assert.equal(lane.canStart(), true);
    lane.paused = true;
    assert.equal(lane.canStart(), false);
    lane.paused = false;
    lane.setLimit(0, 4, 20);
    assert.equal(lane.limit, 4, 'a function scaled to zero still gets its workers: the first attempts wake it');
  });
});
