import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.js';
import { asyncOptions, invokeMode } from './enqueue-http.js';
import { callbackRequest } from './callback-sender.js';
import type { Invocation } from './invocation.js';

describe('enqueue headers (enqueue-http.ts)', () => {
  it('invokeMode() reads async and sync in any case, absent or empty as sync, anything else as invalid', () => {
    const table: [string | string[] | undefined, string | undefined][] = [
      ['async', 'async'],
      [' ASYNC ', 'async'],
      [['async', 'sync'], 'async'],
      ['sync', 'sync'],
      ['', 'sync'],
      [undefined, 'sync'],
      ['asynchronous', undefined],
      ['true', undefined],
    ];
    for (const [value, mode] of table) assert.equal(invokeMode(value), mode, JSON.stringify(value));
  });

  it('asyncOptions() reads attempts, callback and key', () => {
    assert.deepEqual(asyncOptions({}), {});
    assert.deepEqual(
      asyncOptions({ 'x-protium-max-attempts': '7', 'x-callback-url': ' http://h/x ', 'x-idempotency-key': 'order-7' }),
      { maxAttempts: 7, callbackUrl: 'http://h/x', idempotencyKey: 'order-7' },
    );
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ 'x-protium-max-attempts': '0' }, /X-Protium-Max-Attempts must be a whole number from 1 to 100, got "0"/],
    [{ 'x-protium-max-attempts': '101' }, /X-Protium-Max-Attempts/],
    [{ 'x-protium-max-attempts': '2.5' }, /X-Protium-Max-Attempts/],
    [{ 'x-protium-max-attempts': 'many' }, /X-Protium-Max-Attempts/],
    [{ 'x-idempotency-key': 'has space' }, /X-Idempotency-Key must be 1 to 256 visible ASCII characters/],
    [{ 'x-idempotency-key': 'k'.repeat(257) }, /X-Idempotency-Key/],
    [{ 'x-idempotency-key': 'ключ' }, /X-Idempotency-Key/],
  ];
  for (const [headers, message] of bad)
    it(`asyncOptions() refuses ${JSON.stringify(headers).slice(0, 60)} with INVALID_HEADER`, () => {
      assert.throws(
        () => asyncOptions(headers),
        (e: unknown) =>
          e instanceof ApiError && e.code === 'INVALID_HEADER' && e.status === 400 && message.test(e.message),
      );
    });
});

describe('callbackRequest() (callback-sender.ts)', () => {
  const base: Invocation = {
    id: 'i-1',
    namespace: 'nuclio',
    name: 'fn',
    createdAt: 0,
    state: 'succeeded',
    request: { method: 'POST', path: '/', headers: {}, timeoutMs: 1, bodyBytes: 0 },
    maxAttempts: 3,
    used: 2,
    attempts: [
      { n: 1, startedAt: 0, interrupted: true },
      { n: 2, startedAt: 0, status: 200 },
    ],
    callback: { url: 'http://h/x', state: 'pending', attempts: 0 },
  };

  it("sends the function's answer, its status and the invocation's id in headers", () => {
    const { headers, body } = callbackRequest(
      {
        ...base,
        answer: {
          status: 201,
          headers: { 'content-type': 'text/plain', 'content-length': '2', 'x-own': 'v' },
          bodyBytes: 2,
          truncated: false,
        },
      },
      Buffer.from('ok'),
    );
    assert.equal(body.toString(), 'ok');
    assert.deepEqual(headers, {
      'content-type': 'text/plain',
      'x-own': 'v',
      'x-protium-invocation-id': 'i-1',
      'x-protium-invocation-state': 'succeeded',
      'x-protium-function-name': 'fn',
      'x-protium-function-namespace': 'nuclio',
      'x-protium-attempts': '1',
      'x-protium-function-status': '201',
    });
  });

  it('sends {"error"} for an invocation that ended without an answer', () => {
    const { headers, body } = callbackRequest(
      { ...base, state: 'dead', error: 'no answer within 1 ms' },
      Buffer.alloc(0),
    );
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['x-protium-invocation-state'], 'dead');
    assert.equal(headers['x-protium-function-status'], undefined);
    assert.deepEqual(JSON.parse(body.toString()), { error: 'no answer within 1 ms' });
  });
});
