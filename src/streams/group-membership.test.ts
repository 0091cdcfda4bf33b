import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupMembership } from './group-membership.js';

describe('GroupMembership', () => {
  it('GroupMembership gives a lone member every shard', () => {
    const g = new GroupMembership(4);
    assert.deepEqual(g.heartbeat('a', 1000, [], 0), { shards: [0, 1, 2, 3], release: [] });
  });

  it('GroupMembership hands shards over only after the owner releases them', () => {
    const g = new GroupMembership(4);
    g.heartbeat('a', 1000, [], 0);
    // b joins: nothing yet, a is asked to release 2 and 3.
    assert.deepEqual(g.heartbeat('b', 1000, [], 10), { shards: [], release: [] });
    assert.deepEqual(g.heartbeat('a', 1000, [], 20), { shards: [0, 1], release: [2, 3] });
    assert.equal(g.owns('a', 3, 20), true);
    assert.equal(g.owns('b', 3, 20), false);
    // a releases them: they go to b at once.
    assert.deepEqual(g.heartbeat('a', 1000, [2, 3], 30), { shards: [0, 1], release: [] });
    assert.deepEqual(g.heartbeat('b', 1000, [], 40), { shards: [2, 3], release: [] });
    assert.equal(g.owns('b', 3, 40), true);
  });

  it('GroupMembership drops a member that misses its session, and its shards move', () => {
    const g = new GroupMembership(4);
    g.heartbeat('a', 1000, [], 0);
    g.heartbeat('b', 1000, [], 0);
    g.heartbeat('a', 1000, [2, 3], 0);
    assert.deepEqual(g.heartbeat('b', 1000, [], 0).shards, [2, 3]);
    // b goes silent; a keeps beating.
    assert.deepEqual(g.heartbeat('a', 1000, [], 900), { shards: [0, 1], release: [] });
    assert.deepEqual(g.heartbeat('a', 1000, [], 1001), { shards: [0, 1, 2, 3], release: [] });
    // The late member's commit is refused; when it comes back it gets a share again by hand-off.
    assert.equal(g.owns('b', 2, 1002), false);
    assert.deepEqual(g.heartbeat('b', 1000, [], 1100), { shards: [], release: [] });
  });

  it("GroupMembership frees a leaving member's shards at once", () => {
    const g = new GroupMembership(2);
    g.heartbeat('a', 1000, [], 0);
    g.heartbeat('b', 1000, [], 0);
    g.heartbeat('a', 1000, [1], 0);
    assert.deepEqual(g.heartbeat('b', 1000, [], 0).shards, [1]);
    g.leave('b', 5);
    assert.deepEqual(g.heartbeat('a', 1000, [], 6), { shards: [0, 1], release: [] });
    assert.deepEqual(g.snapshot(6), [{ member: 'a', shards: [0, 1] }]);
  });

  it('GroupMembership ignores a release of a shard the member does not own', () => {
    const g = new GroupMembership(2);
    g.heartbeat('a', 1000, [], 0);
    g.heartbeat('b', 1000, [0, 1], 0);
    assert.deepEqual(g.heartbeat('a', 1000, [], 1), { shards: [0], release: [1] });
  });
});
