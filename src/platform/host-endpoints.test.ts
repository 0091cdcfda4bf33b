import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FunctionRecord } from '../resources/types.js';
import { fixedPortOf, hostEndpoint, routeTo, targetsOf } from './host-endpoints.js';

const outside = () => ['10.0.0.5', 'fd00::5'];

describe('host endpoints', () => {
  it('a function on every address: reached at 127.0.0.1 here, at the external addresses from outside', () => {
    const e = hostEndpoint('0.0.0.0', outside, 8000);
    assert.deepEqual(e, {
      httpPort: 8000,
      internalInvocationUrls: ['127.0.0.1:8000'],
      externalInvocationUrls: ['10.0.0.5:8000', '[fd00::5]:8000'],
    });
    assert.deepEqual(targetsOf(e), ['127.0.0.1:8000', '10.0.0.5:8000', '[fd00::5]:8000']);
  });
  it('a function on one address: that address both ways, once in the targets', () => {
    const e = hostEndpoint('::1', outside, 9000);
    assert.deepEqual(e.internalInvocationUrls, ['[::1]:9000']);
    assert.deepEqual(e.externalInvocationUrls, ['[::1]:9000']);
    assert.deepEqual(targetsOf(e), ['[::1]:9000']);
  });
  it('no external address known: the internal one stands in', () => {
    assert.deepEqual(hostEndpoint('::', () => [], 1).externalInvocationUrls, ['127.0.0.1:1']);
    assert.equal(routeTo('::', 1), '127.0.0.1:1');
  });
  it('the port an http trigger asks for, and none for 0, a string or no http trigger', () => {
    const fn = (attributes: Record<string, unknown> | undefined, kind = 'http') =>
      ({ metadata: {}, spec: { triggers: { t: { kind, attributes } } } }) as unknown as FunctionRecord;
    assert.equal(fixedPortOf(fn({ port: 31000 })), 31000);
    for (const f of [fn({ port: 0 }), fn({ port: '31000' }), fn(undefined), fn({ port: 31000 }, 'cron')])
      assert.equal(fixedPortOf(f), undefined);
  });
});
