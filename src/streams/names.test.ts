import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consumerGroupError, containerError, memberIdError, parseStreamPath } from './names.js';
import { decodeLocation, encodeLocation } from './location.js';

describe('stream names', () => {
  const paths: [string, string | RegExp][] = [
    ['/a/b/', 'a/b'],
    ['a', 'a'],
    ['//x_1/y.z-2//', 'x_1/y.z-2'],
    ['', /must not be empty/],
    ['/', /must not be empty/],
    ['a//b', /segment ""/],
    ['a/../b', /segment "\.\."/],
    ['a/./b', /segment "\."/],
    ['a/.hidden', /segment "\.hidden"/],
    ['a b', /invalid/],
    ['a/b%2f', /invalid/],
    [Array.from({ length: 17 }, () => 'x').join('/'), /too deep/],
    ['x'.repeat(129), /invalid/],
  ];
  for (const [raw, want] of paths) {
    it(`parseStreamPath(${JSON.stringify(raw.slice(0, 40))}) → ${want}`, () => {
      const r = parseStreamPath(raw);
      if (typeof want === 'string') assert.deepEqual(r, { path: want });
      else assert.match((r as { error: string }).error, want);
    });
  }

  it('containerError() accepts folder-safe names only', () => {
    for (const ok of ['bigdata', 'users', 'a.b-c_d', '0']) assert.equal(containerError(ok), undefined, ok);
    for (const bad of ['', '.', '..', '.x', 'a/b', 'a b', 'é', 'x'.repeat(129)])
      assert.match(containerError(bad)!, /Container name .* is invalid/, bad);
  });

  it('consumerGroupError() refuses odd characters and non-strings, naming the value', () => {
    for (const ok of ['g', 'my-group', 'serving_1', 'a.b']) assert.equal(consumerGroupError(ok), undefined, ok);
    assert.match(consumerGroupError('g w')!, /"g w" is invalid/);
    for (const bad of ['', '-x', 'a/b', 'a"b', 'a\nb', '../x']) assert.ok(consumerGroupError(bad), bad);
    assert.match(consumerGroupError(7)!, /non-empty string/);
  });

  it('memberIdError() accepts replica:pid:hex ids', () => {
    assert.equal(memberIdError('nuclio-nuclio-fn-ab12c:1234:beef'), undefined);
    assert.ok(memberIdError(''));
    assert.ok(memberIdError('a b'));
    assert.ok(memberIdError(undefined));
  });

  it('locations round-trip and foreign ones are refused', () => {
    assert.deepEqual(decodeLocation(encodeLocation(3, 12345)), { shard: 3, seq: 12345 });
    for (const bad of [
      undefined,
      7,
      '',
      'bm9wZQ==',
      Buffer.from('p1:0:0').toString('base64'),
      Buffer.from('p1:x:1').toString('base64'),
      'x'.repeat(101),
    ]) {
      assert.equal(decodeLocation(bad), undefined, String(bad));
    }
  });
});
