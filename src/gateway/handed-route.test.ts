import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST_BUCKETS_S } from '../metrics/histogram.js';
import { handedPath, handedTable, readRequestCounts, type HandedRoute } from './handed-route.js';

const route = (path: string, otherPaths: string[] = [], rewriteTarget = '/'): HandedRoute => ({
  key: 'k1',
  gateway: { namespace: 'nuclio', name: 'mine' },
  host: 'api.test',
  path,
  otherPaths,
  upstream: { namespace: 'nuclio', function: 'fn', rewriteTarget },
  backHeaders: ['x-protium-invoke-mode'],
  gatewayAddress: '127.0.0.1:8071',
  backToken: 't',
  upstreamHost: '127.0.0.1:30000',
});

describe('handedPath', () => {
  const cases: [string, HandedRoute, string, string, string | undefined][] = [
    ['its own prefix, rewritten', route('/v1', [], '/in'), 'api.test', '/v1/x?q=1', '/in/x?q=1'],
    ['the prefix itself', route('/v1'), 'api.test', '/v1', '/'],
    ['a Host in another case, with the default port', route('/'), 'API.test:80', '/a', '/a'],
    ['not on a segment boundary', route('/v1'), 'api.test', '/v10', undefined],
    ['another Host', route('/'), 'other.test', '/a', undefined],
    ['another Host that only shares a prefix', route('/'), 'api.test.evil', '/a', undefined],
    ["a longer prefix of another gateway's", route('/', ['/v1']), 'api.test', '/v1/x', undefined],
    ["a shorter prefix of another gateway's does not take it", route('/v1', ['/']), 'api.test', '/v1/x', '/x'],
    ["outside the route, under another gateway's shorter prefix", route('/v1', ['/']), 'api.test', '/x', undefined],
    ['a dot-dot path is not normalised into the route', route('/v1'), 'api.test', '/v2/../v1/x', undefined],
  ];
  for (const [what, r, host, url, want] of cases)
    it(what, () => assert.equal(handedPath(handedTable(r), r, host, url), want));
});

describe('readRequestCounts', () => {
  const n = REQUEST_BUCKETS_S.length + 1;
  const ones = (k: number): number[] => new Array<number>(k).fill(1);
  const good = { gateway: { namespace: 'nuclio', name: 'g' }, byStatus: [[200, 3]], buckets: ones(n), sum: 0.5 };

  it('keeps well-formed rows', () => {
    assert.deepEqual(readRequestCounts([good]), [good]);
  });

  it('drops what a hostile replica could send instead', () => {
    const bad: unknown[] = [
      null,
      'x',
      { ...good, gateway: { namespace: 1, name: 'g' } },
      { ...good, buckets: ones(n + 1) },
      { ...good, buckets: [...ones(n - 1), -1] },
      { ...good, buckets: [...ones(n - 1), 1.5] },
      { ...good, sum: Number.NaN },
      { ...good, sum: -1 },
      { ...good, sum: Infinity },
      { ...good, byStatus: [[99, 1]] },
      { ...good, byStatus: [[600, 1]] },
      { ...good, byStatus: [[200, -1]] },
      { ...good, byStatus: [[200]] },
      { ...good, byStatus: new Array<number[]>(101).fill([200, 1]) },
    ];
    assert.deepEqual(readRequestCounts(bad), []);
    assert.deepEqual(readRequestCounts({ rows: [good] }), []);
  });

  it('reads at most 1000 rows of one report', () => {
    assert.equal(readRequestCounts(new Array<typeof good>(5000).fill(good)).length, 1000);
  });
});
