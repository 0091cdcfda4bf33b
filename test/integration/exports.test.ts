/**
 * Secrets in exports (issue 12, item 8): every export — a function, a project bundle (functions, function
 * events, API gateways), an API gateway — blanks secrets by name, by value and in known trigger fields;
 * keeping them is an explicit choice (`?includeSecrets=true`, `protium export --include-secrets`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { b64, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import type { ApiGateway, BuildSpec, EnvVar } from '../../src/resources/types.js';

/** The parts of a project bundle (GET /api/projects/<name>?export=true) this test reads. */
interface Bundle {
  functions: Record<
    string,
    {
      spec: {
        env: EnvVar[];
        triggers: Record<
          string,
          { attributes: { sasl?: { user: string }; brokers?: string[]; event?: { body: string } } }
        >;
        build: BuildSpec;
      };
    }
  >;
  functionEvents: Record<string, { spec: { body: string; attributes: { headers: Record<string, string> } } }>;
  apiGateways: Record<string, ApiGateway>;
}

const SECRETS = [
  'aws-secret-value',
  'django-secret-key',
  'db-hunter2',
  'kafka-trigger-pw',
  'v3io-attr-pw',
  'sasl-pw',
  'kafka-access-key',
  'cron-bearer-token',
  'gateway-basic-pw',
  'event-bearer-token',
  'oauth-client-secret',
  'annotation-sasl-pw',
  'git-token',
];

describe('secrets in exports', () => {
  let d: TestDashboard;

  before(async () => {
    d = await startTestDashboard();
    const fn = {
      metadata: {
        name: 'leaky',
        labels: { 'nuclio.io/project-name': 'default' },
        // Stored as imported (nothing to build or run): exports read what is stored.
        annotations: {
          'skip-deploy': 'true',
          'skip-build': 'true',
          'nuclio.io/kafka-sasl-password': 'annotation-sasl-pw',
        },
      },
      spec: {
        runtime: 'nodejs',
        handler: 'handler:handler',
        build: {
          functionSourceCode: b64('exports.handler = (c) => c.callback("ok");'),
          commands: ['npm install https://git-token@example.com/pkg.tgz'],
        },
        env: [
          { name: 'AWS_SECRET_ACCESS_KEY', value: 'aws-secret-value' },
          { name: 'SECRET_KEY', value: 'django-secret-key' },
          { name: 'DATABASE_URL', value: 'postgres://app:db-hunter2@db.internal/app' },
          { name: 'MODE', value: 'fast' },
        ],
        triggers: {
          queue: {
            kind: 'kafka-cluster',
            password: 'kafka-trigger-pw',
            attributes: {
              brokers: ['kafka:9092'],
              topics: ['orders'],
              consumerGroup: 'g',
              sasl: { enable: true, user: 'svc', password: 'sasl-pw', oauth: { clientSecret: 'oauth-client-secret' } },
              accessKey: 'kafka-access-key',
            },
          },
          stream: {
            kind: 'v3ioStream',
            attributes: { containerName: 'c', streamPath: '/s', consumerGroup: 'g', password: 'v3io-attr-pw' },
          },
          tick: {
            kind: 'cron',
            attributes: {
              interval: '1h',
              event: { body: 'tick', headers: { Authorization: 'Bearer cron-bearer-token' } },
            },
          },
        },
      },
    };
    const res = await d.api('POST', '/api/functions', { body: fn });
    assert.equal(res.status, 202, res.text);
    const ev = await d.api('POST', '/api/function_events', {
      body: {
        metadata: { name: 'ev1', labels: { 'nuclio.io/function-name': 'leaky', 'nuclio.io/project-name': 'default' } },
        spec: {
          displayName: 'call',
          triggerKind: 'http',
          body: 'payload',
          attributes: { method: 'POST', headers: { Authorization: 'Bearer event-bearer-token', 'X-Trace': 'keep-me' } },
        },
      },
    });
    assert.ok(ev.status < 300, ev.text);
    const gw = await d.api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'leaky-gw', labels: { 'nuclio.io/project-name': 'default' } },
        spec: {
          host: 'leaky.test',
          path: '/',
          authenticationMode: 'basicAuth',
          authentication: { basicAuth: { username: 'ann', password: 'gateway-basic-pw' } },
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'leaky' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
  });
  after(async () => {
    await d.close();
  });

  const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

  it('blanks every secret of the issue in a function export, a project bundle and a gateway export, and keeps the rest', async () => {
    for (const path of [
      '/api/functions/leaky?export=true',
      '/api/functions?export=true',
      '/api/projects/default?export=true',
      '/api/projects?export=true',
      '/api/api_gateways/leaky-gw?export=true',
      '/api/api_gateways?export=true',
    ]) {
      const res = await d.api('GET', path);
      assert.equal(res.status, 200, path);
      assert.deepEqual(leaks(res.text), [], path);
    }
    const bundle = (await d.api<Bundle>('GET', '/api/projects/default?export=true')).json;
    const fn = bundle.functions.leaky;
    assert.deepEqual(
      fn.spec.env.map((e) => [e.name, e.value]),
      [
        ['AWS_SECRET_ACCESS_KEY', ''],
        ['SECRET_KEY', ''],
        ['DATABASE_URL', ''],
        ['MODE', 'fast'],
      ],
    );
    assert.equal(fn.spec.triggers.queue.attributes.sasl?.user, 'svc');
    assert.deepEqual(fn.spec.triggers.queue.attributes.brokers, ['kafka:9092']);
    assert.equal(fn.spec.triggers.tick.attributes.event?.body, 'tick');
    assert.equal(bundle.functionEvents.ev1.spec.attributes.headers['X-Trace'], 'keep-me');
    assert.equal(bundle.functionEvents.ev1.spec.body, 'payload');
    assert.equal(bundle.apiGateways['leaky-gw'].spec.authentication?.basicAuth?.username, 'ann');
    assert.ok(fn.spec.build.functionSourceCode, 'the source stays');
  });

  it('keeps secrets with ?includeSecrets=true, an explicit choice', async () => {
    const bundle = await d.api('GET', '/api/projects/default?export=true&includeSecrets=true');
    assert.deepEqual(leaks(bundle.text).sort(), [...SECRETS].sort());
    assert.deepEqual(
      leaks((await d.api('GET', '/api/functions/leaky?export=true&includeSecrets=true')).text).length,
      11,
    );
    assert.deepEqual(leaks((await d.api('GET', '/api/api_gateways/leaky-gw?export=true&includeSecrets=true')).text), [
      'gateway-basic-pw',
    ]);
  });

  it("protium export blanks them, and keeps them with --include-secrets (or nuctl's --no-scrub)", async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [join(PACKAGE_ROOT, 'bin', 'protium.js'), '--url', d.url, ...args], {
        timeout: 30_000,
      });
    const plain = await cli('export', 'project', 'default');
    assert.deepEqual(leaks(plain.stdout), []);
    assert.match(plain.stdout, /MODE/);
    for (const flag of ['--include-secrets', '--no-scrub']) {
      const kept = await cli('export', 'project', 'default', flag);
      assert.deepEqual(leaks(kept.stdout).sort(), [...SECRETS].sort(), flag);
    }
    assert.deepEqual(leaks((await cli('export', 'function', 'leaky', '-o', 'json')).stdout), []);
  });
});
