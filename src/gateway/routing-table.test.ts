import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, pickUpstream, prefixRest, type Route } from './routing-table.js';
import type { ApiGateway } from '../resources/types.js';

const gw = (
  name: string,
  host: string,
  path: string,
  fns: [string, number?][],
  extra: Partial<ApiGateway['spec']> = {},
  created = '2026-01-01T00:00:00Z',
): ApiGateway => ({
  metadata: { name, namespace: 'nuclio', creationTimestamp: created },
  spec: {
    name,
    host,
    path,
    authenticationMode: 'none',
    upstreams: fns.map(([f, pct]) => ({
      kind: 'nucliofunction',
      nucliofunction: { name: f },
      ...(pct === undefined ? {} : { percentage: pct }),
    })),
    ...extra,
  },
  status: {},
});

describe('prefixRest', () => {
  const cases: [string, string, string | undefined][] = [
    ['/', '/anything', '/anything'],
    ['/v1', '/v1', ''],
    ['/v1', '/v1/x/y', '/x/y'],
    ['/v1', '/v10', undefined],
    ['/v1', '/v', undefined],
    ['/a/b', '/a/b/c', '/c'],
  ];
  for (const [prefix, path, want] of cases) {
    it(`prefixRest(${prefix}, ${path}) is ${JSON.stringify(want)}`, () => assert.equal(prefixRest(prefix, path), want));
  }
});

describe('compileRoutes() and match()', () => {
  it('matches host case-insensitively, ignores a port in the Host header, and strips the matched prefix', () => {
    const { table, errors } = compileRoutes([gw('a', 'API.example.test', '/v1', [['fa']])]);
    assert.equal(errors.size, 0);
    const m = table.match('api.example.test:8071', '/v1/items?x=1');
    assert.equal(m?.upstream.function, 'fa');
    assert.equal(m?.path, '/items?x=1');
    assert.equal(table.match('api.example.test', '/v1')?.path, '/');
    assert.equal(table.match('other.test', '/v1'), undefined);
    assert.equal(table.match('api.example.test', '/v2'), undefined);
  });

  it('the longest path prefix wins, whatever the order of creation', () => {
    const { table } = compileRoutes([
      gw('root', 'h.test', '/', [['root-fn']]),
      gw('deep', 'h.test', '/api/v1', [['deep-fn']]),
      gw('mid', 'h.test', '/api', [['mid-fn']]),
    ]);
    assert.equal(table.match('h.test', '/api/v1/x')?.upstream.function, 'deep-fn');
    assert.equal(table.match('h.test', '/api/v2')?.upstream.function, 'mid-fn');
    assert.equal(table.match('h.test', '/other')?.upstream.function, 'root-fn');
  });

  it('a second gateway on the same host and path is reported, and the older one keeps the route', () => {
    const { table, errors } = compileRoutes([
      gw('new', 'h.test', '/p', [['new-fn']], {}, '2026-02-01T00:00:00Z'),
      gw('old', 'h.test', '/p/', [['old-fn']], {}, '2026-01-01T00:00:00Z'),
    ]);
    assert.equal(table.match('h.test', '/p')?.upstream.function, 'old-fn');
    assert.match(errors.get('nuclio/new') ?? '', /already routed by api gateway old/);
  });

  it('rewriteTarget replaces the matched prefix', () => {
    const g = gw('rw', 'h.test', '/public', [['f']]);
    g.spec.upstreams![0].rewriteTarget = '/internal';
    const { table } = compileRoutes([g]);
    assert.equal(table.match('h.test', '/public/a')?.path, '/internal/a');
  });

  it('carries the auth mode and basic credentials', () => {
    const { table } = compileRoutes([
      gw('b', 'h.test', '/', [['f']], {
        authenticationMode: 'basic',
        authentication: { basicAuth: { username: 'u', password: 'p' } },
      }),
    ]);
    const r = table.match('h.test', '/')!.route;
    assert.equal(r.auth, 'basicAuth');
    assert.deepEqual(r.basic, { username: 'u', password: 'p' });
  });
});

describe('pickUpstream', () => {
  const route = (pct: number): Route => ({
    gateway: { namespace: 'n', name: 'g' },
    host: 'h',
    path: '/',
    auth: 'none',
    count: 0,
    primary: { namespace: 'n', function: 'a', rewriteTarget: '/' },
    canary: { upstream: { namespace: 'n', function: 'b', rewriteTarget: '/' }, percentage: pct },
  });
  for (const pct of [0, 1, 10, 25, 33, 50, 75, 99, 100]) {
    it(`pickUpstream() sends exactly ${pct}% of 1000 requests to the canary, spread evenly`, () => {
      const r = route(pct);
      const picks = Array.from({ length: 1000 }, () => pickUpstream(r).function);
      assert.equal(picks.filter((f) => f === 'b').length, Math.floor((1000 * pct) / 100));
      // Any window of 100 consecutive requests is within one request of the share.
      for (let i = 0; i + 100 <= 1000; i += 50) {
        const n = picks.slice(i, i + 100).filter((f) => f === 'b').length;
        assert.ok(Math.abs(n - pct) <= 1, `window ${i}: ${n}`);
      }
    });
  }
});
