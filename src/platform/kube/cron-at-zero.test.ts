import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FunctionRecord, Trigger } from '../../resources/types.js';
import { cronTicks } from './cron-at-zero.js';

const fn = (triggers: Record<string, Partial<Trigger>>, disable = false) =>
  ({ metadata: { name: 'f', namespace: 'n' }, spec: { triggers, disable }, status: {} }) as unknown as FunctionRecord;

describe('cronTicks()', () => {
  for (const [what, triggers, want] of [
    ['no triggers', {}, []],
    ['an http trigger only', { http: { kind: 'http' } }, []],
    [
      'an interval with a body and headers',
      { t: { kind: 'cron', attributes: { interval: '30s', event: { body: 'b', headers: { A: 1 } } } } },
      [
        {
          trigger: 't',
          intervalMs: 30_000,
          body: 'b',
          headers: { A: '1', 'X-Nuclio-Invoke-Trigger': 'cron', 'X-Protium-Cron-Trigger': 't' },
        },
      ],
    ],
    [
      '@every is an interval',
      { t: { kind: 'cron', attributes: { schedule: '@every 2m' } } },
      [
        {
          trigger: 't',
          intervalMs: 120_000,
          body: '',
          headers: { 'X-Nuclio-Invoke-Trigger': 'cron', 'X-Protium-Cron-Trigger': 't' },
        },
      ],
    ],
    [
      'a schedule (robfig descriptors normalised), an object body as JSON',
      { t: { kind: 'cron', attributes: { schedule: '@hourly', event: { body: { a: 1 } } } } },
      [
        {
          trigger: 't',
          schedule: '0 * * * *',
          body: '{"a":1}',
          headers: { 'X-Nuclio-Invoke-Trigger': 'cron', 'X-Protium-Cron-Trigger': 't' },
        },
      ],
    ],
    ['a disabled trigger', { t: { kind: 'cron', disabled: true, attributes: { interval: '1s' } } }, []],
    ['neither schedule nor interval', { t: { kind: 'cron', attributes: {} } }, []],
    ['a bad @every', { t: { kind: 'cron', attributes: { schedule: '@every soon' } } }, []],
  ] as const) {
    it(what, () => assert.deepEqual(cronTicks(fn(triggers as Record<string, Partial<Trigger>>)), want));
  }

  it('a disabled function has none', () => {
    assert.deepEqual(cronTicks(fn({ t: { kind: 'cron', attributes: { interval: '1s' } } }, true)), []);
  });
});
