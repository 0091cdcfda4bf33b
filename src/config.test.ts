import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError, DEFAULTS, ENV_NAMES, loadConfig, parseHostPort, type RawOptions } from './config.js';

describe('parseHostPort', () => {
  const good: [string, string, number][] = [
    ['127.0.0.1:8070', '127.0.0.1', 8070],
    ['localhost:80', 'localhost', 80],
    ['[::1]:8070', '::1', 8070],
    ['[fe80::1%eth0]:9000', 'fe80::1%eth0', 9000],
    [':9000', '0.0.0.0', 9000],
    ['0.0.0.0:0', '0.0.0.0', 0],
    ['example.com:65535', 'example.com', 65535],
    [' 10.0.0.1:1234 ', '10.0.0.1', 1234],
  ];
  for (const [input, host, port] of good) {
    it(`parseHostPort() reads ${JSON.stringify(input)} as ${host} port ${port}`, () => {
      assert.deepEqual(parseHostPort(input, '--listen-addr'), { host, port });
    });
  }

  const bad = [
    '',
    '8070',
    '127.0.0.1',
    '127.0.0.1:',
    'host:abc',
    'host:65536',
    'host:123456',
    '::1:8070',
    '[::1]8070',
    '[::1]',
    'a:b:1',
  ];
  for (const input of bad) {
    it(`parseHostPort() rejects ${JSON.stringify(input)} with a ConfigError naming the flag and value`, () => {
      assert.throws(
        () => parseHostPort(input, '--gateway-listen-addr'),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /--gateway-listen-addr/);
          assert.ok(e.message.includes(JSON.stringify(input)), e.message);
          return true;
        },
      );
    });
  }
});

describe('loadConfig', () => {
  it('loadConfig() fills every default when given no flags and no environment', () => {
    const c = loadConfig({}, {});
    assert.deepEqual(c, {
      listen: { host: '127.0.0.1', port: 8070 },
      gatewayListen: { host: '127.0.0.1', port: 8071 },
      dataDir: resolve(DEFAULTS.dataDir),
      namespace: 'nuclio',
      functionHost: '127.0.0.1',
      portRange: [30000, 32767],
      sourceRoots: [],
      logLevel: 'info',
      sandbox: 'none',
      sourceLimits: { maxBytes: 512 * 2 ** 20, maxFiles: 50_000 },
      connectionLimits: { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 },
      async: { queueSize: 10_000, retentionMs: 86_400_000, retryDelayMs: 1_000, callbackHosts: [] },
      platform: { kind: 'local' },
      metrics: true,
      kube: { processorImage: DEFAULTS.kubeProcessorImage },
      deployToZero: false,
      prewarm: 0,
    });
    assert.equal('externalIps' in c, false);
    assert.equal('accessKeysFile' in c, false);
    assert.equal('authTokenFile' in c, false);
  });

  it('loadConfig() lets flags win over environment variables, which win over defaults', () => {
    const env = {
      [ENV_NAMES.listenAddr]: '10.0.0.1:1000',
      [ENV_NAMES.gatewayListenAddr]: '10.0.0.1:2000',
      [ENV_NAMES.namespace]: 'from-env',
      [ENV_NAMES.logLevel]: 'debug',
      [ENV_NAMES.portRange]: '40000-40100',
    };
    const fromEnv = loadConfig({}, env);
    assert.deepEqual(fromEnv.listen, { host: '10.0.0.1', port: 1000 });
    assert.deepEqual(fromEnv.gatewayListen, { host: '10.0.0.1', port: 2000 });
    assert.equal(fromEnv.namespace, 'from-env');
    assert.equal(fromEnv.logLevel, 'debug');
    assert.deepEqual(fromEnv.portRange, [40000, 40100]);

    const fromFlags = loadConfig(
      { listenAddr: '0.0.0.0:3000', namespace: 'from-flag', logLevel: 'warn', portRange: '5000-5001' },
      env,
    );
    assert.deepEqual(fromFlags.listen, { host: '0.0.0.0', port: 3000 });
    assert.deepEqual(fromFlags.gatewayListen, { host: '10.0.0.1', port: 2000 });
    assert.equal(fromFlags.namespace, 'from-flag');
    assert.equal(fromFlags.logLevel, 'warn');
    assert.deepEqual(fromFlags.portRange, [5000, 5001]);
  });

  it('loadConfig() reads --deploy-to-zero as a flag or as true/false in the environment, and refuses other text', () => {
    const cases: [RawOptions, Record<string, string>, boolean][] = [
      [{}, {}, false],
      [{ deployToZero: true }, {}, true],
      [{}, { [ENV_NAMES.deployToZero]: 'true' }, true],
      [{}, { [ENV_NAMES.deployToZero]: '1' }, true],
      [{}, { [ENV_NAMES.deployToZero]: 'FALSE' }, false],
      [{}, { [ENV_NAMES.deployToZero]: '' }, false],
      [{ deployToZero: true }, { [ENV_NAMES.deployToZero]: 'false' }, true],
    ];
    for (const [raw, env, want] of cases)
      assert.equal(loadConfig(raw, env).deployToZero, want, JSON.stringify([raw, env]));
    assert.throws(
      () => loadConfig({}, { [ENV_NAMES.deployToZero]: 'yes please' }),
      (e: unknown) =>
        e instanceof ConfigError && e.message === '--deploy-to-zero must be true or false, got "yes please"',
    );
  });

  it('loadConfig() defaults functionHost to the listen host, and takes --function-host when given', () => {
    assert.equal(loadConfig({ listenAddr: '192.168.1.5:8070' }, {}).functionHost, '192.168.1.5');
    assert.equal(loadConfig({ listenAddr: ':8070' }, {}).functionHost, '0.0.0.0');
    assert.equal(loadConfig({ functionHost: '10.1.1.1' }, {}).functionHost, '10.1.1.1');
    assert.equal(loadConfig({}, { [ENV_NAMES.functionHost]: '10.2.2.2' }).functionHost, '10.2.2.2');
  });

  it('loadConfig() reads IPv6 listen addresses', () => {
    const c = loadConfig({ listenAddr: '[::1]:8070' }, {});
    assert.deepEqual(c.listen, { host: '::1', port: 8070 });
    assert.equal(c.functionHost, '::1');
  });

  const badAddrs: [keyof typeof ENV_NAMES, string, string][] = [
    ['listenAddr', 'nope', '--listen-addr'],
    ['listenAddr', '1.2.3.4:99999', '--listen-addr'],
    ['gatewayListenAddr', '8071', '--gateway-listen-addr'],
  ];
  for (const [key, value, flag] of badAddrs) {
    it(`loadConfig() rejects ${key} ${JSON.stringify(value)} from a flag or the environment, naming ${flag}`, () => {
      for (const [raw, env] of [
        [{ [key]: value }, {}],
        [{}, { [ENV_NAMES[key]]: value }],
      ] as const) {
        assert.throws(
          () => loadConfig(raw, env),
          (e: unknown) => e instanceof ConfigError && e.message.includes(flag) && e.message.includes(value),
        );
      }
    });
  }

  const goodRanges: [string, [number, number]][] = [
    ['30000-32767', [30000, 32767]],
    ['1-65535', [1, 65535]],
    ['5000-5000', [5000, 5000]],
    [' 100-200 ', [100, 200]],
  ];
  for (const [value, range] of goodRanges) {
    it(`loadConfig() accepts --port-range ${JSON.stringify(value)}`, () => {
      assert.deepEqual(loadConfig({ portRange: value }, {}).portRange, range);
    });
  }

  const badRanges = ['0-100', '100-65536', '200-100', '30000', 'a-b', '-1-5', '100 - 200', '', '1-2-3'];
  for (const value of badRanges) {
    it(`loadConfig() rejects --port-range ${JSON.stringify(value)} with a ConfigError naming the flag`, () => {
      assert.throws(
        () => loadConfig({ portRange: value }, {}),
        (e: unknown) => e instanceof ConfigError && e.message.includes('--port-range'),
      );
    });
  }

  it('loadConfig() reads the connection limits from flags or the environment', () => {
    assert.deepEqual(
      loadConfig({ maxConnections: '64', headersTimeout: '500ms', requestTimeout: '3s' }, {}).connectionLimits,
      { maxConnections: 64, headersTimeoutMs: 500, requestTimeoutMs: 3000 },
    );
    const env = { [ENV_NAMES.maxConnections]: '7', [ENV_NAMES.headersTimeout]: '1m', [ENV_NAMES.requestTimeout]: '1h' };
    assert.deepEqual(loadConfig({}, env).connectionLimits, {
      maxConnections: 7,
      headersTimeoutMs: 60_000,
      requestTimeoutMs: 3_600_000,
    });
  });

  const badLimits: [keyof typeof ENV_NAMES, string, string][] = [
    ['maxConnections', '0', '--max-connections'],
    ['maxConnections', '-5', '--max-connections'],
    ['maxConnections', 'lots', '--max-connections'],
    ['maxConnections', '1.5', '--max-connections'],
    ['maxConnections', '2000000', '--max-connections'],
    ['headersTimeout', '10', '--headers-timeout'],
    ['headersTimeout', '0s', '--headers-timeout'],
    ['headersTimeout', '-1s', '--headers-timeout'],
    ['requestTimeout', 'soon', '--request-timeout'],
    ['requestTimeout', '5s', '--request-timeout'],
    ['prewarm', '-1', '--prewarm'],
    ['prewarm', '17', '--prewarm'],
    ['prewarm', 'some', '--prewarm'],
    ['prewarm', '1.5', '--prewarm'],
  ];
  for (const [key, value, flag] of badLimits) {
    it(`loadConfig() rejects ${key} ${JSON.stringify(value)} with a ConfigError naming ${flag}`, () => {
      assert.throws(
        () => loadConfig({ [key]: value }, {}),
        (e: unknown) => e instanceof ConfigError && e.message.includes(flag) && e.message.includes(value),
      );
    });
  }

  it('loadConfig() reads --prewarm from the flag or the environment (0 to 16)', () => {
    assert.equal(loadConfig({ prewarm: '2' }, {}).prewarm, 2);
    assert.equal(loadConfig({}, { [ENV_NAMES.prewarm]: '16' }).prewarm, 16);
    assert.equal(loadConfig({ prewarm: '0' }, { [ENV_NAMES.prewarm]: '3' }).prewarm, 0);
  });

  it('loadConfig() reads the async settings from flags or the environment', () => {
    assert.deepEqual(
      loadConfig(
        {
          asyncQueueSize: '50',
          asyncRetention: '90m',
          asyncRetryDelay: '250ms',
          asyncCallbackAllow: ['hooks.example.com', '127.0.0.1:9000'],
        },
        { [ENV_NAMES.asyncCallbackAllow]: 'ignored.example.com' },
      ).async,
      {
        queueSize: 50,
        retentionMs: 5_400_000,
        retryDelayMs: 250,
        callbackHosts: ['hooks.example.com', '127.0.0.1:9000'],
      },
    );
    const env = {
      [ENV_NAMES.asyncQueueSize]: '7',
      [ENV_NAMES.asyncRetention]: '2s',
      [ENV_NAMES.asyncCallbackAllow]: '*.example.com, [::1]',
    };
    assert.deepEqual(loadConfig({}, env).async, {
      queueSize: 7,
      retentionMs: 2_000,
      retryDelayMs: 1_000,
      callbackHosts: ['*.example.com', '[::1]'],
    });
  });

  const badAsync: [keyof RawOptions, string | string[], string][] = [
    ['asyncQueueSize', '0', '--async-queue-size'],
    ['asyncQueueSize', 'many', '--async-queue-size'],
    ['asyncRetention', 'forever', '--async-retention'],
    ['asyncRetention', '9000h', '--async-retention'],
    ['asyncRetryDelay', '0s', '--async-retry-delay'],
    ['asyncRetryDelay', '10m', '--async-retry-delay'],
    ['asyncCallbackAllow', ['http://hooks.example.com/'], '--async-callback-allow'],
    ['asyncCallbackAllow', ['*.[::1]'], '--async-callback-allow'],
    ['asyncCallbackAllow', ['host:99999'], '--async-callback-allow'],
  ];
  for (const [key, value, flag] of badAsync) {
    it(`loadConfig() rejects ${key} ${JSON.stringify(value)} with a ConfigError naming ${flag}`, () => {
      assert.throws(
        () => loadConfig({ [key]: value }, {}),
        (e: unknown) =>
          e instanceof ConfigError && e.message.includes(flag) && e.message.includes(String(value).slice(0, 10)),
      );
    });
  }

  const goodNamespaces = ['nuclio', 'a', 'my-ns', '123', 'a1-b2', 'a'.repeat(63)];
  for (const ns of goodNamespaces) {
    it(`loadConfig() accepts namespace ${JSON.stringify(ns.length > 20 ? `${ns.slice(0, 5)}…(${ns.length})` : ns)}`, () => {
      assert.equal(loadConfig({ namespace: ns }, {}).namespace, ns);
    });
  }

  const badNamespaces = ['', 'Nuclio', 'my_ns', '-ns', 'ns-', 'my.ns', 'has space'];
  for (const ns of badNamespaces) {
    it(`loadConfig() rejects namespace ${JSON.stringify(ns)} with a ConfigError naming --namespace`, () => {
      assert.throws(
        () => loadConfig({ namespace: ns }, {}),
        (e: unknown) => e instanceof ConfigError && e.message.includes('--namespace'),
      );
    });
  }

  it('loadConfig() rejects a namespace longer than 63 characters (not a DNS-1123 label)', () => {
    assert.throws(() => loadConfig({ namespace: 'a'.repeat(64) }, {}), ConfigError);
  });

  it('loadConfig() rejects an unknown log level, naming --log-level', () => {
    assert.throws(
      () => loadConfig({ logLevel: 'verbose' }, {}),
      (e: unknown) => e instanceof ConfigError && e.message.includes('--log-level'),
    );
    assert.throws(() => loadConfig({}, { [ENV_NAMES.logLevel]: 'INFO' }), ConfigError);
  });

  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) {
    it(`loadConfig() accepts log level ${level}`, () => {
      assert.equal(loadConfig({ logLevel: level }, {}).logLevel, level);
    });
  }

  it('loadConfig() rejects a blank --data-dir', () => {
    assert.throws(
      () => loadConfig({ dataDir: '   ' }, {}),
      (e: unknown) => e instanceof ConfigError && e.message.includes('--data-dir'),
    );
  });

  it('loadConfig() resolves dataDir, accessKeysFile and authTokenFile to absolute paths', () => {
    const c = loadConfig({ dataDir: 'rel/data', accessKeysFile: 'keys.txt' }, { [ENV_NAMES.authTokenFile]: 'tok' });
    assert.equal(c.dataDir, resolve('rel/data'));
    assert.equal(c.accessKeysFile, resolve('keys.txt'));
    assert.equal(c.authTokenFile, resolve('tok'));
  });

  it('loadConfig() resolves sourceRoots to absolute paths, flags first, else the comma list of the environment', () => {
    assert.deepEqual(loadConfig({ sourceRoot: ['src', '/abs/root'] }, {}).sourceRoots, [resolve('src'), '/abs/root']);
    assert.deepEqual(loadConfig({}, { [ENV_NAMES.sourceRoot]: 'a, /b ,,c' }).sourceRoots, [
      resolve('a'),
      '/b',
      resolve('c'),
    ]);
    assert.deepEqual(loadConfig({ sourceRoot: ['x'] }, { [ENV_NAMES.sourceRoot]: 'y' }).sourceRoots, [resolve('x')]);
    assert.deepEqual(loadConfig({ sourceRoot: [] }, { [ENV_NAMES.sourceRoot]: 'y' }).sourceRoots, [resolve('y')]);
    for (const root of loadConfig({ sourceRoot: ['../up', './here'] }, {}).sourceRoots)
      assert.ok(root.startsWith('/'), root);
  });

  it('loadConfig() takes external IPs from the flag list, else from the comma list of the environment', () => {
    assert.deepEqual(
      loadConfig({ externalIp: ['1.1.1.1', '2.2.2.2'] }, { [ENV_NAMES.externalIp]: '3.3.3.3' }).externalIps,
      ['1.1.1.1', '2.2.2.2'],
    );
    assert.deepEqual(loadConfig({}, { [ENV_NAMES.externalIp]: '3.3.3.3, 4.4.4.4' }).externalIps, [
      '3.3.3.3',
      '4.4.4.4',
    ]);
    assert.equal(loadConfig({ externalIp: [] }, {}).externalIps, undefined);
  });

  const goodLimits: [RawOptionsPair, { maxBytes: number; maxFiles: number }][] = [
    [[{ maxSourceSize: '1Mi', maxSourceFiles: '10' }, {}], { maxBytes: 2 ** 20, maxFiles: 10 }],
    [[{}, { [ENV_NAMES.maxSourceSize]: '2G', [ENV_NAMES.maxSourceFiles]: ' 7 ' }], { maxBytes: 2e9, maxFiles: 7 }],
    [[{ maxSourceSize: '1000' }, { [ENV_NAMES.maxSourceSize]: '5Gi' }], { maxBytes: 1000, maxFiles: 50_000 }],
  ];
  for (const [[raw, env], want] of goodLimits) {
    it(`loadConfig() reads source limits ${JSON.stringify({ ...raw, ...env })} as ${JSON.stringify(want)}`, () => {
      assert.deepEqual(loadConfig(raw, env).sourceLimits, want);
    });
  }

  const badSourceLimits: [RawOptions, string][] = [
    [{ maxSourceSize: 'lots' }, '--max-source-size'],
    [{ maxSourceSize: '0' }, '--max-source-size'],
    [{ maxSourceSize: '-1Mi' }, '--max-source-size'],
    [{ maxSourceFiles: '0' }, '--max-source-files'],
    [{ maxSourceFiles: '1.5' }, '--max-source-files'],
    [{ maxSourceFiles: 'many' }, '--max-source-files'],
  ];
  for (const [raw, flag] of badSourceLimits) {
    it(`loadConfig() rejects ${JSON.stringify(raw)} with a ConfigError naming ${flag} and the value`, () => {
      const value = Object.values(raw)[0] as string;
      assert.throws(
        () => loadConfig(raw, {}),
        (e: unknown) => e instanceof ConfigError && e.message.includes(flag) && e.message.includes(value),
      );
    });
  }
});

type RawOptionsPair = [RawOptions, Record<string, string>];
