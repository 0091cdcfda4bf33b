import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ENV_NAMES, loadConfig } from './config.js';

describe('loadConfig metrics', () => {
  it('loadConfig() reads --metrics on and off, from the flag or PROTIUM_METRICS', () => {
    assert.equal(loadConfig({ metrics: 'off' }, {}).metrics, false);
    assert.equal(loadConfig({}, { [ENV_NAMES.metrics]: 'off' }).metrics, false);
    assert.equal(loadConfig({ metrics: 'on' }, { [ENV_NAMES.metrics]: 'off' }).metrics, true);
  });

  it('loadConfig() reads --metrics-listen-addr, from the flag or PROTIUM_METRICS_LISTEN_ADDR', () => {
    assert.deepEqual(loadConfig({ metricsListenAddr: '0.0.0.0:9090' }, {}).metricsListen, {
      host: '0.0.0.0',
      port: 9090,
    });
    assert.deepEqual(loadConfig({}, { [ENV_NAMES.metricsListenAddr]: '127.0.0.1:0' }).metricsListen, {
      host: '127.0.0.1',
      port: 0,
    });
    assert.equal('metricsListen' in loadConfig({}, {}), false);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ metrics: 'yes' }, /--metrics must be on or off, got "yes"/],
    [{ metricsListenAddr: '9090' }, /--metrics-listen-addr must be HOST:PORT.*"9090"/],
    [{ metrics: 'off', metricsListenAddr: '127.0.0.1:9090' }, /--metrics-listen-addr .* --metrics off/],
  ];
  for (const [raw, message] of bad)
    it(`loadConfig() refuses ${JSON.stringify(raw)} with a message naming the flag`, () => {
      assert.throws(
        () => loadConfig(raw, {}),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    });
});
