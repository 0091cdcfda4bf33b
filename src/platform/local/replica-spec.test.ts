import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Artifact } from '../../builder/builder.js';
import type { FunctionRecord, FunctionSpec } from '../../resources/types.js';
import { PROCESS_GROUP_ONLY, type Confinement } from './confinement.js';
import {
  deploymentOf,
  replicaPrefix,
  replicaSpec,
  type Deployment,
  type ReplicaHost,
  type ReplicaSpec,
} from './replica-spec.js';

const ref = { namespace: 'nuclio', name: 'fn' };
const node: Artifact = {
  id: 'a'.repeat(32),
  image: 'protium/processor-fn:a',
  runtime: 'nodejs',
  family: 'nodejs',
  handler: 'handler:handler',
};
const py: Artifact = { ...node, runtime: 'python:3.9', family: 'python', handler: 'main:handler' };
const DIR = '/data/artifacts/aaaa';
const record = (spec: Partial<FunctionSpec> = {}): FunctionRecord =>
  ({
    metadata: { name: 'fn', namespace: 'nuclio' },
    spec: { runtime: 'nodejs', handler: 'handler:handler', ...spec },
    status: {},
  }) as FunctionRecord;
const host: ReplicaHost = {
  runDir: '/data/run',
  logsDir: '/data/logs',
  baseEnv: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
  pythonFor: (runtime) => (runtime === 'python:3.9' ? '/opt/py39/bin/python3.9' : undefined),
  pythonRuntimeDir: '/pkg/python',
  connectionLimits: { maxConnections: 8, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 },
  confinement: PROCESS_GROUP_ONLY('a test'),
};
/** A confinement that shows what it was asked to confine. */
const showing: Confinement = {
  ...PROCESS_GROUP_ONLY('a test'),
  kind: 'bwrap',
  replicaPrefix: (p) => ['jail', p.artifactDir, p.configPath, p.homeDir],
};

describe('deploymentOf()', () => {
  const cases: [string, Partial<FunctionSpec>, Partial<Deployment>][] = [
    [
      'defaults: one replica, 120 s readiness, one in flight per replica, never idle',
      {},
      {
        min: 1,
        max: 1,
        readinessMs: 120_000,
        targetInflight: 1,
        idleWindowMs: undefined,
        disabled: false,
        memoryLimit: undefined,
      },
    ],
    ['minReplicas and maxReplicas', { minReplicas: 2, maxReplicas: 5 }, { min: 2, max: 5 }],
    ["replicas (Nuclio's older field) when minReplicas is not set", { replicas: 3 }, { min: 3, max: 3 }],
    ['min 0 still allows one replica', { minReplicas: 0 }, { min: 0, max: 1 }],
    ['max below min is raised to min... only when maxReplicas is not given', { minReplicas: 4 }, { min: 4, max: 4 }],
    [
      "the http trigger's workers are the scaling target",
      { triggers: { h: { class: '', kind: 'http', name: 'h', numWorkers: 8 } } },
      { targetInflight: 8 },
    ],
    [
      'the shortest scale-to-zero window, unparseable ones ignored',
      {
        scaleToZero: { scaleResources: [{ windowSize: '10m' }, { windowSize: '2m' }, { windowSize: 'soon' }] },
      },
      { idleWindowMs: 120_000 },
    ],
    ['readinessTimeoutSeconds', { readinessTimeoutSeconds: 7 }, { readinessMs: 7_000 }],
    ['disable', { disable: true }, { disabled: true }],
    ['a memory limit in bytes', { resources: { limits: { memory: '64Mi' } } }, { memoryLimit: 64 * 2 ** 20 }],
  ];
  for (const [name, spec, want] of cases) {
    it(`deploymentOf(): ${name}`, () => {
      const d = deploymentOf(record(spec), node, DIR);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(d[k as keyof Deployment], v, k);
      assert.equal(d.dir, DIR);
    });
  }
});

describe('replicaSpec()', () => {
  const name = `${replicaPrefix(ref)}abcde`;
  const spec = (
    fnSpec: Partial<FunctionSpec> = {},
    artifact: Artifact = node,
    h: Partial<ReplicaHost> = {},
  ): ReplicaSpec => replicaSpec(ref, deploymentOf(record(fnSpec), artifact, DIR), name, { ...host, ...h });

  const cases: [string, () => void][] = [
    [
      'names its files after the replica, under the run and log folders',
      () => {
        const s = spec();
        assert.equal(s.name, 'nuclio-nuclio-fn-abcde');
        assert.equal(s.configPath, '/data/run/configs/nuclio-nuclio-fn-abcde.json');
        assert.equal(s.logPath, '/data/logs/nuclio/fn/nuclio-nuclio-fn-abcde.log');
        assert.equal(s.pidDir, '/data/run/replicas');
        assert.equal(s.homeDir, '/data/run/home/nuclio/fn');
        assert.equal(s.cwd, DIR);
        assert.equal(s.readinessTimeoutMs, 120_000);
      },
    ],
    [
      "the environment: the base, the replica's identity, the artifact's installs, the function's env last",
      () => {
        const s = spec({
          env: [
            { name: 'MODE', value: 'fast' },
            { name: 'LANG', value: 'de_DE.UTF-8' },
          ],
        });
        assert.deepEqual(s.env, {
          PATH: `${DIR}/.protium/npm-global/bin:${DIR}/.protium/site-packages/bin:/usr/bin:/bin`,
          LANG: 'de_DE.UTF-8',
          HOME: '/data/run/home/nuclio/fn',
          HOSTNAME: 'nuclio-nuclio-fn-abcde',
          NUCLIO_FUNCTION_NAME: 'fn',
          NUCLIO_NAMESPACE: 'nuclio',
          NUCLIO_FUNCTION_HANDLER: 'handler:handler',
          NUCLIO_RUNTIME: 'nodejs',
          NODE_PATH: `${DIR}/.protium/npm-global/lib/node_modules`,
          PYTHONPATH: `${DIR}:${DIR}/.protium/site-packages:/pkg/python`,
          PYTHONUNBUFFERED: '1',
          MODE: 'fast',
        });
      },
    ],
    [
      'an env entry without a literal value (valueFrom) is left out',
      () => {
        assert.equal(
          spec({ env: [{ name: 'FROM', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }).env.FROM,
          undefined,
        );
      },
    ],
    [
      "the dashboard's URL only when it is known",
      () => {
        assert.equal(spec().env.PROTIUM_DASHBOARD_URL, undefined);
        assert.equal(
          spec({}, node, { dashboardUrl: 'http://127.0.0.1:8070' }).env.PROTIUM_DASHBOARD_URL,
          'http://127.0.0.1:8070',
        );
      },
    ],
    [
      'the stream credential goes to the config of a replica with a v3ioStream trigger only, never to its env',
      () => {
        const stream = { s: { class: '', kind: 'v3ioStream', name: 's', attributes: {} } };
        assert.equal(spec({ triggers: stream }, node, { streamToken: 'tok' }).config.streamToken, 'tok');
        assert.ok(!Object.values(spec({ triggers: stream }, node, { streamToken: 'tok' }).env).includes('tok'));
        assert.equal(spec({}, node, { streamToken: 'tok' }).config.streamToken, undefined);
      },
    ],
    [
      'a python artifact gets the interpreter of its runtime version',
      () => {
        assert.equal(
          spec({ runtime: 'python:3.9', handler: 'main:handler' }, py).config.pythonPath,
          '/opt/py39/bin/python3.9',
        );
        assert.equal(spec().config.pythonPath, undefined);
      },
    ],
    [
      'the processor config: function, runtime, handler, triggers, event timeout, limits',
      () => {
        const c = spec({ eventTimeout: '5s', triggers: { h: { class: '', kind: 'http', name: 'h' } } }).config;
        assert.equal(c.replica, 'nuclio-nuclio-fn-abcde');
        assert.equal(c.functionName, 'fn');
        assert.equal(c.namespace, 'nuclio');
        assert.equal(c.family, 'nodejs');
        assert.equal(c.runtime, 'nodejs');
        assert.equal(c.handler, 'handler:handler');
        assert.equal(c.artifactDir, DIR);
        assert.equal(c.eventTimeoutMs, 5_000);
        assert.deepEqual(Object.keys(c.triggers), ['h']);
        assert.deepEqual(c.connectionLimits, host.connectionLimits);
      },
    ],
    [
      "a memory limit bounds node's heap (in MiB, at least 16) and the processor knows it",
      () => {
        const s = spec({ resources: { limits: { memory: '256Mi' } } });
        assert.deepEqual(s.nodeArgs, ['--max-old-space-size=256']);
        assert.equal(s.config.memoryLimitBytes, 256 * 2 ** 20);
        assert.deepEqual(spec({ resources: { limits: { memory: '8Mi' } } }).nodeArgs, ['--max-old-space-size=16']);
        assert.deepEqual(spec().nodeArgs, []);
      },
    ],
    [
      'the confinement is asked for the artifact (read), the config (read) and the home (write)',
      () => {
        assert.deepEqual(spec({}, node, { confinement: showing }).wrap, [
          'jail',
          DIR,
          '/data/run/configs/nuclio-nuclio-fn-abcde.json',
          '/data/run/home/nuclio/fn',
        ]);
        assert.deepEqual(spec().wrap, []);
      },
    ],
  ];
  for (const [title, check] of cases) it(`replicaSpec(): ${title}`, check);
});
