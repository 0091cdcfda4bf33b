import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isValidRequestId, isValidTraceparent, newTraceparent, traceHeaders } from './trace-context.js';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('isValidTraceparent', () => {
  const cases: [string, boolean][] = [
    [VALID, true],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', true],
    // A later version may append fields; version 00 may not.
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', true],
    [`${VALID}-extra`, false],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', false],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', false],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Evil: 1', false],
    ['', false],
    ['hello', false],
  ];
  for (const [value, want] of cases)
    it(`isValidTraceparent(${JSON.stringify(value)}) is ${want}`, () => assert.equal(isValidTraceparent(value), want));
});

describe('isValidRequestId', () => {
  const cases: [string, boolean][] = [
    ['abc-123', true],
    ['7f0c5e4e-2b0a-4f0e-9b7a-2a4f9b1c0d3e', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['', false],
    ['has space', false],
    ['line\nbreak', false],
    ['tab\there', false],
    ['é', false],
  ];
  for (const [value, want] of cases)
    it(`isValidRequestId(${JSON.stringify(value)}) is ${want}`, () => assert.equal(isValidRequestId(value), want));
});

describe('traceHeaders', () => {
  it('traceHeaders() keeps a valid request id and traceparent as they came', () => {
    assert.deepEqual(traceHeaders('req-1', VALID), { requestId: 'req-1', traceparent: VALID, restarted: false });
  });
  it('traceHeaders() makes both when they are missing, the request id from newId', () => {
    const t = traceHeaders(undefined, undefined, () => 'made-here');
    assert.equal(t.requestId, 'made-here');
    assert.ok(isValidTraceparent(t.traceparent), t.traceparent);
    assert.equal(t.restarted, true);
  });
  it('traceHeaders() replaces a malformed traceparent and says the trace restarted', () => {
    const t = traceHeaders('req-1', '00-zz-yy-01');
    assert.notEqual(t.traceparent, '00-zz-yy-01');
    assert.ok(isValidTraceparent(t.traceparent));
    assert.equal(t.restarted, true);
  });
  it('traceHeaders() replaces a request id that would forge log lines or is too long', () => {
    assert.equal(traceHeaders('a\nb', VALID, () => 'new').requestId, 'new');
    assert.equal(traceHeaders('x'.repeat(500), VALID, () => 'new').requestId, 'new');
  });
  it('traceHeaders() takes the first value of a repeated header', () => {
    const t = traceHeaders(['first', 'second'], [VALID, '00-aa']);
    assert.equal(t.requestId, 'first');
    assert.equal(t.traceparent, VALID);
  });
  it('newTraceparent() makes distinct valid roots, sampled', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const tp = newTraceparent();
      assert.ok(isValidTraceparent(tp), tp);
      assert.ok(tp.endsWith('-01'));
      seen.add(tp.split('-')[1]);
    }
    assert.equal(seen.size, 1000);
  });
});
