import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listenSettings } from './config.js';

describe('listenSettings() (a processor in a container)', () => {
  it('defaults: the http trigger on 8080, health on 8082, 30 s for events in flight, 6 s for idle clients', () => {
    assert.deepEqual(listenSettings({}), {
      host: '127.0.0.1',
      port: 8080,
      healthPort: 8082,
      stopGraceMs: 30_000,
      drainMs: 6_000,
    });
  });
  it('reads the environment', () => {
    assert.deepEqual(
      listenSettings({
        PROTIUM_PROCESSOR_HOST: '0.0.0.0',
        PROTIUM_PROCESSOR_PORT: '9000',
        PROTIUM_PROCESSOR_HEALTH_PORT: '9001',
        PROTIUM_PROCESSOR_STOP_GRACE_MS: '1000',
        PROTIUM_PROCESSOR_DRAIN_MS: '0',
      }),
      { host: '0.0.0.0', port: 9000, healthPort: 9001, stopGraceMs: 1000, drainMs: 0 },
    );
  });
  for (const [name, value] of [
    ['PROTIUM_PROCESSOR_PORT', '80000'],
    ['PROTIUM_PROCESSOR_HEALTH_PORT', 'x'],
    ['PROTIUM_PROCESSOR_DRAIN_MS', '-1'],
    ['PROTIUM_PROCESSOR_STOP_GRACE_MS', '1.5'],
  ] as const) {
    it(`refuses ${name}=${value}, naming it`, () =>
      assert.throws(() => listenSettings({ [name]: value }), new RegExp(`${name} must be an integer`)));
  }
});
