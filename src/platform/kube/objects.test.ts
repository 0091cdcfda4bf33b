import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Artifact } from '../../builder/builder.js';
import { enrichFunction } from '../../resources/function-enrich.js';
import type { FunctionConfig, FunctionRecord, FunctionSpec } from '../../resources/types.js';
import { semanticProblems } from './checks.js';
import { isUserImage } from './kube-defaults.js';
import { LABELS, MAX_NAME, objectName } from './names.js';
import { functionObjects, objectList, withOwner, type FunctionObjects, type KubeObject } from './objects.js';
import { processorRun } from './processor-run.js';
import { schemaProblems } from './schema.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const ARTIFACT: Artifact = {
  id: 'c'.repeat(32),
  image: 'protium/processor-x:cc',
  runtime: 'nodejs',
  family: 'nodejs',
  handler: 'handler:handler',
};
const SETTINGS = { namespace: 'functions', processorImage: 'protium-processor:0.1.0' };
const LIMITS = { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 };

function record(name: string, spec: Partial<FunctionSpec>, namespace = 'nuclio', labels = {}): FunctionRecord {
  const config = enrichFunction({
    metadata: { name, namespace, labels },
    spec: { runtime: 'nodejs', handler: 'handler:handler', ...spec },
  } as FunctionConfig);
  return { ...config, status: {} };
}

function objectsOf(fn: FunctionRecord, replicas = 1): FunctionObjects {
  const userImage = isUserImage(fn.spec.image);
  return functionObjects({
    fn,
    settings: SETTINGS,
    replicas,
    ...(userImage
      ? {}
      : {
          processor: processorRun({
            fn,
            artifact: { ...ARTIFACT, family: fn.spec.runtime?.startsWith('python') ? 'python' : 'nodejs' },
            fetch: { url: 'http://protium-dashboard.protium:8070/api/artifacts/cc', token: 't', digest: DIGEST },
            connectionLimits: LIMITS,
          }),
        }),
  });
}

const http = (attributes: Record<string, unknown> = {}, extra = {}) => ({
  http: { class: '', kind: 'http', name: 'http', numWorkers: 4, attributes, ...extra },
});

/** Function configurations the platform must turn into valid objects. */
const TABLE: Array<[string, FunctionRecord, (o: FunctionObjects) => void]> = [
  [
    'the default: an http trigger, one replica',
    record('hello', {}),
    (o) => {
      assert.equal(o.ingress, undefined);
      assert.equal(o.hpa, undefined);
      assert.ok(o.configMap);
    },
  ],
  [
    'resources as requests and limits',
    record('sized', { resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: 1, memory: '128Mi' } } }),
    (o) => {
      const c = container(o.deployment);
      assert.deepEqual(c.resources, {
        requests: { cpu: '250m', memory: '64Mi' },
        limits: { cpu: '1', memory: '128Mi' },
      });
      assert.ok(env(o.deployment).some((e) => e.name === 'NODE_OPTIONS' && /max-old-space-size=96/.test(e.value!)));
    },
  ],
  [
    'env from the spec, a secret reference passed through',
    record('envy', {
      env: [
        { name: 'GREETING', value: 'hi' },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ],
    }),
    (o) => {
      const e = env(o.deployment);
      assert.deepEqual(
        e.find((x) => x.name === 'GREETING'),
        { name: 'GREETING', value: 'hi' },
      );
      assert.deepEqual(e.find((x) => x.name === 'PASSWORD')?.valueFrom, {
        secretKeyRef: { name: 'db', key: 'password' },
      });
    },
  ],
  [
    'an http trigger with ingresses (TLS on one)',
    record('public', {
      triggers: http({
        ingresses: {
          a: { host: 'fn.example.com', paths: ['/', '/v1'] },
          b: { host: 'secure.example.com', paths: ['/api'], pathType: 'Prefix', secretName: 'tls-cert' },
        },
      }),
    }),
    (o) => {
      assert.ok(o.ingress);
      const spec = o.ingress.spec as { rules: unknown[]; tls: unknown[] };
      assert.equal(spec.rules.length, 2);
      assert.deepEqual(spec.tls, [{ hosts: ['secure.example.com'], secretName: 'tls-cert' }]);
    },
  ],
  [
    'a NodePort service on the trigger port',
    record('noded', { triggers: http({ serviceType: 'NodePort', port: 30080 }) }),
    (o) => assert.equal((o.service.spec as { ports: Array<{ nodePort: number }> }).ports[0].nodePort, 30080),
  ],
  [
    'targetCPU with room to scale: an HPA from max(min, 1)',
    record('cpu', { minReplicas: 0, maxReplicas: 5, targetCPU: 60 }),
    (o) => {
      assert.ok(o.hpa);
      assert.equal((o.hpa.spec as { minReplicas: number }).minReplicas, 1);
    },
  ],
  [
    'targetCPU without room to scale: no HPA',
    record('fixed', { minReplicas: 2, maxReplicas: 2, targetCPU: 60 }),
    (o) => assert.equal(o.hpa, undefined),
  ],
  [
    'a python function with a cron trigger and a long name in another namespace',
    record(
      'a-function-whose-name-is-long-enough-to-need-shortening-x',
      {
        runtime: 'python:3.9',
        handler: 'main:handler',
        triggers: { tick: { class: '', kind: 'cron', name: 'tick', attributes: { interval: '10s' } } },
      },
      'team-analytics',
      { 'nuclio.io/project-name': 'reports' },
    ),
    (o) => {
      assert.ok(o.deployment.metadata.name.length <= MAX_NAME, o.deployment.metadata.name);
      assert.equal(o.deployment.metadata.labels![LABELS.project], 'reports');
      assert.equal(
        o.deployment.metadata.labels![LABELS.function],
        'a-function-whose-name-is-long-enough-to-need-shortening-x',
      );
    },
  ],
  [
    "a user's image runs as given, with tcp probes and no fetch",
    record('own', { image: 'registry.example.com/team/fn:1.2' }),
    (o) => {
      assert.equal(o.configMap, undefined);
      const spec = (o.deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      assert.equal(spec.initContainers, undefined);
      assert.equal(container(o.deployment).image, 'registry.example.com/team/fn:1.2');
    },
  ],
  ['scaled to zero: replicas 0', record('sleepy', { minReplicas: 0, maxReplicas: 3 }), (o) => assert.ok(o.deployment)],
];

type Container = {
  image: string;
  resources?: unknown;
  env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
};
const container = (d: KubeObject): Container =>
  (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0];
const env = (d: KubeObject) => container(d).env;

describe('functionObjects()', () => {
  for (const [label, fn, extra] of TABLE) {
    it(`${label}: every object valid by its schema and together`, () => {
      const objects = objectsOf(fn, fn.spec.minReplicas ?? 1);
      const list = objectList(objects);
      for (const o of list) assert.deepEqual(schemaProblems(o), [], `${o.kind} by its OpenAPI schema`);
      assert.deepEqual(semanticProblems(list), []);
      for (const o of list) assert.equal(o.metadata.namespace, 'functions');
      extra(objects);
    });
  }

  it('is pure: the same input gives the same objects; a changed env changes the spec hash and the ConfigMap name', () => {
    const a = objectsOf(record('same', {}));
    assert.deepEqual(objectsOf(record('same', {})), a);
    const b = objectsOf(record('same', { env: [{ name: 'X', value: '1' }] }));
    assert.notEqual(
      b.deployment.metadata.annotations!['protium.io/spec-hash'],
      a.deployment.metadata.annotations!['protium.io/spec-hash'],
    );
    assert.notEqual(b.configMap!.metadata.name, a.configMap!.metadata.name);
  });

  it('the artifact is fetched and digest-checked by an init container before the processor starts', () => {
    const spec = (
      objectsOf(record('fetchy', {})).deployment.spec as { template: { spec: { initContainers: Container[] } } }
    ).template.spec;
    const init = spec.initContainers[0];
    assert.ok(init.env.some((e) => e.name === 'PROTIUM_ARTIFACT_DIGEST' && e.value === DIGEST));
    assert.ok(env(objectsOf(record('fetchy', {})).deployment).some((e) => e.name === 'PROTIUM_PROCESSOR_CONFIG'));
  });

  it('withOwner() adds a controller owner reference, which the checks accept when the owner is in the set', () => {
    const o = objectsOf(record('owned', {}));
    const owned = withOwner(o.deployment, {
      apiVersion: 'v1',
      kind: 'Service',
      name: o.service.metadata.name,
      uid: 'u-1',
    });
    assert.deepEqual(semanticProblems([o.service, o.configMap!, owned]), []);
    assert.match(semanticProblems([o.configMap!, owned]).join('\n'), /owner Service\/.* is not in the set/);
  });

  it('objectName() keeps names at most 63 and apart for long names', () => {
    const a = objectName({ namespace: 'n'.repeat(40), name: 'f'.repeat(40) });
    const b = objectName({ namespace: 'n'.repeat(40), name: `${'f'.repeat(39)}g` });
    assert.ok(a.length <= 63 && b.length <= 63);
    assert.notEqual(a, b);
  });
});

/** A function's valid objects, broken one way each: the checks must name the fault. */
describe('semanticProblems() catches what schemas miss', () => {
  const base = () =>
    structuredClone(objectList(objectsOf(record('victim', {})))) as Array<KubeObject & Record<string, any>>;
  const find = (list: KubeObject[], kind: string) =>
    list.find((o) => o.kind === kind) as KubeObject & Record<string, any>;
  const cases: Array<[string, (l: Array<KubeObject & Record<string, any>>) => void, RegExp]> = [
    [
      'a selector that misses the pod labels',
      (l) => (find(l, 'Deployment').spec.selector.matchLabels['nuclio.io/function-name'] = 'other'),
      /does not select/,
    ],
    [
      'a Service selecting no pod',
      (l) => (find(l, 'Service').spec.selector['nuclio.io/function-name'] = 'other'),
      /matches no pod template/,
    ],
    [
      'a name longer than 63',
      (l) => (find(l, 'Service').metadata.name = `s${'x'.repeat(63)}`),
      /DNS-1123 label of at most 63/,
    ],
    ['an upper-case name', (l) => (find(l, 'Deployment').metadata.name = 'Nuclio'), /DNS-1123/],
    ['a label value longer than 63', (l) => (find(l, 'Service').metadata.labels!.a = 'v'.repeat(64)), /invalid value/],
    ['a targetPort the pods lack', (l) => (find(l, 'Service').spec.ports[0].targetPort = 'web'), /targetPort "web"/],
    [
      'a probe on a port the container lacks',
      (l) => (find(l, 'Deployment').spec.template.spec.containers[0].readinessProbe.httpGet.port = 9),
      /probes port 9/,
    ],
    [
      'requests above limits',
      (l) =>
        (find(l, 'Deployment').spec.template.spec.containers[0].resources = {
          requests: { cpu: '2' },
          limits: { cpu: '500m' },
        }),
      /above its limit/,
    ],
    [
      'a quantity that is none',
      (l) => (find(l, 'Deployment').spec.template.spec.containers[0].resources = { limits: { memory: 'lots' } }),
      /not a quantity/,
    ],
    [
      'a mount of a missing volume',
      (l) => (find(l, 'Deployment').spec.template.spec.volumes = [{ name: 'tmp', emptyDir: {} }]),
      /mounts volume artifacts/,
    ],
    [
      'a ConfigMap volume naming no ConfigMap of the set',
      (l) => (find(l, 'ConfigMap').metadata.name = 'renamed'),
      /mounts ConfigMap/,
    ],
    [
      'a port name longer than 15',
      (l) => (find(l, 'Deployment').spec.template.spec.containers[0].ports[1].name = 'a-very-long-port-name'),
      /IANA service name/,
    ],
    [
      'a duplicated env var',
      (l) => find(l, 'Deployment').spec.template.spec.containers[0].env.push({ name: 'HOME', value: '/' }),
      /env HOME is set twice/,
    ],
  ];
  for (const [label, breakIt, problem] of cases) {
    it(label, () => {
      const list = base();
      assert.deepEqual(semanticProblems(list), [], 'valid before');
      breakIt(list);
      assert.match(semanticProblems(list).join('\n'), problem);
    });
  }
});

describe('schemaProblems()', () => {
  it('names the field a schema refuses, and refuses kinds it does not know', () => {
    const [svc] = objectList(objectsOf(record('typed', {})));
    const bad = structuredClone(svc) as KubeObject & { spec: { ports: Array<{ port: unknown }> } };
    bad.spec.ports[0].port = 'eighty';
    assert.match(schemaProblems(bad).join('\n'), /\/spec\/ports\/0\/port must be integer/);
    assert.match(schemaProblems({ apiVersion: 'v1', kind: 'Pod' }).join('\n'), /not a kind this validator knows/);
  });
});
