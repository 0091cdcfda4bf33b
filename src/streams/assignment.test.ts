import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { balance } from './assignment.js';

const U = undefined;
describe('balance()', () => {
  const cases: [string, number, string[], (string | undefined)[], (string | undefined)[]][] = [
    ['no members: every shard free', 3, [], ['a', U, 'b'], [U, U, U]],
    ['one member takes everything', 4, ['a'], [], ['a', 'a', 'a', 'a']],
    ['two members split 4 shards 2/2', 4, ['a', 'b'], [], ['a', 'a', 'b', 'b']],
    [
      'a joining member takes the highest shards of the full one',
      4,
      ['a', 'b'],
      ['a', 'a', 'a', 'a'],
      ['a', 'a', 'b', 'b'],
    ],
    ['owners within their share keep their shards', 4, ['a', 'b'], ['b', 'a', 'b', 'a'], ['b', 'a', 'b', 'a']],
    ["a dead owner's shards go to the live members", 4, ['a', 'b'], ['a', 'dead', 'b', 'dead'], ['a', 'a', 'b', 'b']],
    ['the larger share stays with the member holding more', 3, ['a', 'b'], ['b', 'b', U], ['b', 'b', 'a']],
    ['more members than shards: the extra members get none', 2, ['a', 'b', 'c'], [], ['a', 'b']],
    ['members are deduplicated and sorted', 4, ['b', 'a', 'b'], [], ['a', 'a', 'b', 'b']],
    ['three members over 4 shards: 2/1/1', 4, ['a', 'b', 'c'], ['a', 'a', 'a', 'a'], ['a', 'a', 'b', 'c']],
  ];
  for (const [what, n, members, owners, want] of cases) {
    it(`balance() ${what}`, () => assert.deepEqual(balance(n, members, owners), want));
  }

  it('balance() is stable: applying its answer again changes nothing', () => {
    for (const members of [['a'], ['a', 'b'], ['a', 'b', 'c'], ['m1', 'm2', 'm3', 'm4', 'm5']]) {
      for (const n of [1, 4, 7, 16]) {
        const once = balance(n, members, []);
        assert.deepEqual(balance(n, members, once), once);
        const counts = members.map((m) => once.filter((o) => o === m).length);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${members.join()} ${n}: ${counts.join()}`);
      }
    }
  });
});
