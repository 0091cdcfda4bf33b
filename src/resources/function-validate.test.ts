import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkReservedName,
  normaliseCronSchedule,
  readFunctionBody,
  requireObjectBody,
  validateFunctionSpec,
} from './function-validate.js';
import { throwsApiError as throwsApi } from '../../test/helpers/expect-api-error.js';
import { isApiError } from '../errors.js';

const ctx = { defaultNamespace: 'nuclio' };

describe('readFunctionBody', () => {
  it('readFunctionBody() reads name and namespace, defaulting the namespace', () => {
    const f = readFunctionBody({ metadata: { name: 'f1' }, spec: { runtime: 'nodejs' } }, ctx);
    assert.equal(f.metadata.name, 'f1');
    assert.equal(f.metadata.namespace, 'nuclio');
    assert.deepEqual(f.spec, { runtime: 'nodejs' });
    assert.equal(readFunctionBody({ metadata: { name: 'f1', namespace: 'other' } }, ctx).metadata.namespace, 'other');
    assert.equal(
      readFunctionBody({ metadata: { name: 'f1', namespace: 'other' } }, { defaultNamespace: '' }).metadata.namespace,
      'other',
    );
  });

  const missing: [unknown, string, string][] = [
    [{}, 'nuclio', 'Function name must be provided in metadata'],
    [{ metadata: {} }, 'nuclio', 'Function name must be provided in metadata'],
    [{ metadata: { name: '' } }, 'nuclio', 'Function name must be provided in metadata'],
    [{ metadata: { name: 'f1Name' } }, '', 'Function namespace must be provided in metadata'],
    [{ metadata: { name: 'f1', namespace: '' } }, '', 'Function namespace must be provided in metadata'],
  ];
  for (const [body, ns, msg] of missing) {
    it(`readFunctionBody() answers 400 "${msg}" for ${JSON.stringify(body)} (default namespace ${JSON.stringify(ns)})`, () => {
      throwsApi(() => readFunctionBody(body, { defaultNamespace: ns }), 400, msg);
      throwsApi(() => readFunctionBody(body, { defaultNamespace: ns }, false), 400, msg);
    });
  }

  // A function name is a DNS-1123 label: it becomes a folder here (and a Service name on Kubernetes).
  for (const name of [
    '!funcmylif&',
    '-f',
    'f-',
    'a b',
    'a'.repeat(64),
    'x.y/z',
    'a/b',
    '..',
    '.',
    'MyFunc',
    'my_func',
    'my.func',
    'f\u0000',
  ]) {
    it(`readFunctionBody() refuses the name ${JSON.stringify(name.length > 20 ? `a…(${name.length})` : name)} with a 400 naming metadata.name`, () => {
      assert.throws(
        () => readFunctionBody({ metadata: { name } }, ctx),
        (e: unknown) =>
          isApiError(e, 'INVALID_FIELD') &&
          e.status === 400 &&
          e.field === 'metadata.name' &&
          e.message.includes("Function name doesn't conform to k8s naming convention"),
      );
    });
  }

  for (const name of ['f1', 'my-func', '1', 'a'.repeat(63)]) {
    it(`readFunctionBody() accepts the DNS-1123 label ${JSON.stringify(name.length > 20 ? `a…(${name.length})` : name)}`, () => {
      assert.equal(readFunctionBody({ metadata: { name } }, ctx).metadata.name, name);
    });
  }

  it('readFunctionBody() without the spec (delete) only looks names up: any non-empty name is read', () => {
    assert.equal(readFunctionBody({ metadata: { name: 'x.y/z' } }, ctx, false).metadata.name, 'x.y/z');
  });

  it('readFunctionBody() lets the project header override the body label', () => {
    const f = readFunctionBody(
      { metadata: { name: 'f', labels: { 'nuclio.io/project-name': 'body-p', other: 'x' } } },
      { ...ctx, projectName: 'header-p' },
    );
    assert.deepEqual(f.metadata.labels, { 'nuclio.io/project-name': 'header-p', other: 'x' });
    const noLabels = readFunctionBody({ metadata: { name: 'f' } }, { ...ctx, projectName: 'p' });
    assert.deepEqual(noLabels.metadata.labels, { 'nuclio.io/project-name': 'p' });
    const noHeader = readFunctionBody({ metadata: { name: 'f', labels: { 'nuclio.io/project-name': 'body-p' } } }, ctx);
    assert.equal(noHeader.metadata.labels?.['nuclio.io/project-name'], 'body-p');
  });

  for (const body of [null, undefined, [], 'str', 5, true]) {
    it(`readFunctionBody() answers 400 for the non-object body ${JSON.stringify(body)}`, () => {
      throwsApi(() => readFunctionBody(body, ctx), 400, 'Request body must be a JSON object');
    });
  }

  for (const metadata of ['x', 5, [], true]) {
    it(`readFunctionBody() answers 400 for metadata ${JSON.stringify(metadata)}`, () => {
      throwsApi(() => readFunctionBody({ metadata }, ctx), 400, 'metadata must be an object');
    });
  }

  for (const spec of ['x', 5, [], true]) {
    it(`readFunctionBody() answers 400 for spec ${JSON.stringify(spec)}`, () => {
      throwsApi(() => readFunctionBody({ metadata: { name: 'f' }, spec }, ctx), 400, 'spec must be an object');
    });
  }

  it('readFunctionBody() without spec (delete) ignores the spec and returns the always-present keys', () => {
    const f = readFunctionBody({ metadata: { name: 'f' }, spec: 'garbage' }, ctx, false);
    assert.deepEqual(f, {
      metadata: { name: 'f', namespace: 'nuclio' },
      spec: { resources: {}, build: {}, platform: {}, eventTimeout: '' },
    });
  });

  it('readFunctionBody() validates the spec', () => {
    throwsApi(
      () => readFunctionBody({ metadata: { name: 'f' }, spec: { maxReplicas: 0 } }, ctx),
      400,
      'Max replicas must be greater than zero',
    );
  });

  const metaProblems: [Record<string, unknown>, string][] = [
    [{ name: 5 }, 'metadata.name must be a string'],
    [{ name: 'f', namespace: 1 }, 'metadata.namespace must be a string'],
    [{ name: 'f', labels: 'x' }, 'metadata.labels must be an object'],
    [{ name: 'f', labels: { a: 1 } }, 'metadata.labels.a must be a string'],
    [{ name: 'f', labels: { '-bad': 'v' } }, 'label key "-bad" is invalid'],
    [{ name: 'f', labels: { good: '-bad' } }, 'value "-bad" is invalid'],
    [{ name: 'f', annotations: { a: 1 } }, 'metadata.annotations.a must be a string'],
    [{ name: 'f', resourceVersion: {} }, 'metadata.resourceVersion must be a string'],
  ];
  for (const [metadata, msg] of metaProblems) {
    it(`readFunctionBody() answers 400 "${msg}"`, () => {
      throwsApi(() => readFunctionBody({ metadata }, ctx), 400, msg);
    });
  }

  it('readFunctionBody() keeps annotations and turns a numeric resourceVersion into a string', () => {
    const f = readFunctionBody({ metadata: { name: 'f', annotations: { a: 'b' }, resourceVersion: 7 } }, ctx);
    assert.deepEqual(f.metadata.annotations, { a: 'b' });
    assert.equal(f.metadata.resourceVersion, '7');
    assert.equal(
      readFunctionBody({ metadata: { name: 'f', resourceVersion: '' } }, ctx).metadata.resourceVersion,
      undefined,
    );
  });

  it('requireObjectBody() returns the object itself', () => {
    const body = { a: 1 };
    assert.equal(requireObjectBody(body), body);
  });
});

describe('validateFunctionSpec', () => {
  const valid: [string, Record<string, unknown>][] = [
    ['an empty spec', {}],
    ['min 0 with max 1', { minReplicas: 0, maxReplicas: 1 }],
    ['min = max', { minReplicas: 2, maxReplicas: 2 }],
    ['max only', { maxReplicas: 3 }],
    ['min 1 only', { minReplicas: 1 }],
    ['a duration eventTimeout', { eventTimeout: '30s' }],
    ['an empty eventTimeout', { eventTimeout: '' }],
    ['eventTimeout 0', { eventTimeout: '0' }],
    ['a good env', { env: [{ name: 'A_B', value: 'x' }, { name: '_x.y-z' }] }],
    ['a null env', { env: null }],
    [
      'an http and a cron trigger',
      {
        triggers: {
          h: { kind: 'http', name: 'h', attributes: { port: 31000 } },
          c: { kind: 'cron', attributes: { interval: '10s' } },
        },
      },
    ],
    ['cron with a 5-field schedule', { triggers: { c: { kind: 'cron', attributes: { schedule: '*/5 * * * *' } } } }],
    ['cron with a 6-field schedule', { triggers: { c: { kind: 'cron', attributes: { schedule: '*/10 * * * * *' } } } }],
    ['cron @every', { triggers: { c: { kind: 'cron', attributes: { schedule: '@every 1m' } } } }],
    ['cron @hourly', { triggers: { c: { kind: 'cron', attributes: { schedule: '@hourly' } } } }],
    ['cron @daily', { triggers: { c: { kind: 'cron', attributes: { schedule: '@daily' } } } }],
    [
      'cron event body and headers',
      { triggers: { c: { kind: 'cron', attributes: { interval: '1s', event: { body: 'x', headers: { a: 'b' } } } } } },
    ],
    ['a plain image', { image: 'nginx' }],
    ['an image with tag', { image: 'nginx:1.25-alpine' }],
    ['an image with registry and port', { image: 'localhost:5000/team/app:v1.0' }],
    ['an image with digest', { image: `docker.io/library/nginx@sha256:${'a'.repeat(64)}` }],
    ['a registry with a trailing slash', { runRegistry: 'registry.example.com/' }],
    ['a build registry', { build: { registry: 'localhost:5000' } }],
    ['a build image', { build: { image: 'my/app:latest' } }],
    ['scale-to-zero windows', { scaleToZero: { scaleResources: [{ windowSize: '5m' }] } }],
    ['unknown fields', { apiVersion: 'x', somethingElse: { a: 1 } }],
    ['numWorkers at the limit', { triggers: { h: { kind: 'http', numWorkers: 100000 } } }],
  ];
  for (const [what, spec] of valid) {
    it(`validateFunctionSpec() accepts ${what}`, () => {
      assert.doesNotThrow(() => validateFunctionSpec(spec));
    });
  }

  const invalid: [string, Record<string, unknown>, string][] = [
    ['min 0 without max', { minReplicas: 0 }, 'Max replicas must be set when min replicas is zero'],
    ['max 0', { maxReplicas: 0 }, 'Max replicas must be greater than zero'],
    ['min 0 max 0', { minReplicas: 0, maxReplicas: 0 }, 'Max replicas must be greater than zero'],
    ['min > max', { minReplicas: 3, maxReplicas: 2 }, 'Min replicas must be less than or equal to max replicas'],
    ['fractional min', { minReplicas: 1.5 }, 'spec.minReplicas must be an integer'],
    ['string max', { maxReplicas: '2' }, 'spec.maxReplicas must be an integer'],
    ['negative min', { minReplicas: -1, maxReplicas: 1 }, 'spec.minReplicas must be between 0 and 100'],
    ['bad eventTimeout', { eventTimeout: 'abc' }, 'spec.eventTimeout must be a duration'],
    ['unitless eventTimeout', { eventTimeout: '10' }, 'spec.eventTimeout must be a duration'],
    ['negative eventTimeout', { eventTimeout: '-1s' }, 'spec.eventTimeout must be a duration'],
    ['numeric eventTimeout', { eventTimeout: 30 }, 'spec.eventTimeout must be a string'],
    ['env as an object', { env: { A: 'b' } }, 'spec.env must be a list of {name, value}'],
    ['env with a string entry', { env: ['A=b'] }, 'spec.env[0] must be an object'],
    ['env without a name', { env: [{ value: 'x' }] }, 'spec.env[0].name must be a valid environment variable name'],
    [
      'env with a bad name',
      { env: [{ name: 'ok' }, { name: '1BAD' }] },
      'spec.env[1].name must be a valid environment variable name',
    ],
    ['env with a numeric value', { env: [{ name: 'A', value: 1 }] }, 'spec.env[0].value must be a string'],
    [
      'two http triggers',
      { triggers: { a: { kind: 'http' }, b: { kind: 'http' } } },
      "There's more than one http trigger (unsupported)",
    ],
    [
      'a trigger key/name mismatch',
      { triggers: { a: { kind: 'http', name: 'b' } } },
      'Trigger key and name mismatch (a != b)',
    ],
    ['an empty trigger key', { triggers: { '': { kind: 'http' } } }, 'Trigger key can not be empty'],
    ['a non-object trigger', { triggers: { a: 'http' } }, 'spec.triggers.a must be an object'],
    ['triggers as a list', { triggers: [] }, 'spec.triggers must be an object'],
    [
      'numWorkers above 100000',
      { triggers: { h: { kind: 'http', numWorkers: 100001 } } },
      'spec.triggers.h.numWorkers must be between 0 and 100000',
    ],
    [
      'an http port above 65535',
      { triggers: { h: { kind: 'http', attributes: { port: 70000 } } } },
      'spec.triggers.h.attributes.port',
    ],
    [
      'cron without schedule or interval',
      { triggers: { c: { kind: 'cron', attributes: {} } } },
      'needs attributes.schedule or attributes.interval',
    ],
    [
      'cron without attributes',
      { triggers: { c: { kind: 'cron' } } },
      'needs attributes.schedule or attributes.interval',
    ],
    [
      'a bad cron schedule',
      { triggers: { c: { kind: 'cron', attributes: { schedule: 'not a cron' } } } },
      'is not a valid cron expression',
    ],
    [
      'a cron schedule with minute 61',
      { triggers: { c: { kind: 'cron', attributes: { schedule: '61 * * * *' } } } },
      'is not a valid cron expression',
    ],
    [
      'cron @every 0s',
      { triggers: { c: { kind: 'cron', attributes: { schedule: '@every 0s' } } } },
      'is not a valid cron expression',
    ],
    [
      'cron @every garbage',
      { triggers: { c: { kind: 'cron', attributes: { schedule: '@every soon' } } } },
      'is not a valid cron expression',
    ],
    [
      'a bad cron interval',
      { triggers: { c: { kind: 'cron', attributes: { interval: 'abc' } } } },
      'attributes.interval must be a positive duration',
    ],
    [
      'a zero cron interval',
      { triggers: { c: { kind: 'cron', attributes: { interval: '0s' } } } },
      'attributes.interval must be a positive duration',
    ],
    ['an upper-case image', { image: 'Nginx' }, 'Invalid Spec.Image passed'],
    ['an image with a space', { image: 'my image' }, 'Invalid Spec.Image passed'],
    ['an image with an empty tag', { image: 'nginx:' }, 'Invalid Spec.Image passed'],
    ['a bad build image', { build: { image: 'my/App' } }, 'Invalid Spec.Build.Image passed'],
    ['a bad run registry', { runRegistry: 'bad registry' }, 'Invalid Spec.RunRegistry passed'],
    ['a bad build registry', { build: { registry: 'a b' } }, 'Invalid Spec.Build.Registry passed'],
    ['a numeric runtime', { runtime: 3 }, 'spec.runtime must be a string'],
    ['a string disable', { disable: 'yes' }, 'spec.disable must be a boolean'],
    ['build commands not strings', { build: { commands: ['ok', 1] } }, 'spec.build.commands must be a list of strings'],
    [
      'buildTimeoutSeconds 0',
      { build: { buildTimeoutSeconds: 0 } },
      'spec.build.buildTimeoutSeconds must be between 1 and 86400',
    ],
    [
      'a zero scale-to-zero window',
      { scaleToZero: { scaleResources: [{ windowSize: '0s' }] } },
      'windowSize must be a positive duration',
    ],
    [
      'scaleResources as an object',
      { scaleToZero: { scaleResources: {} } },
      'spec.scaleToZero.scaleResources must be a list',
    ],
    ['replicas above 1000', { replicas: 1001 }, 'spec.replicas must be between 0 and 1000'],
  ];
  for (const [what, spec, msg] of invalid) {
    it(`validateFunctionSpec() refuses ${what} with 400 "${msg}"`, () => {
      throwsApi(() => validateFunctionSpec(spec), 400, msg);
    });
  }

  for (const schedule of ['@midnight', '@weekly', '@monthly', '@yearly', '@annually']) {
    it(`validateFunctionSpec() accepts the robfig/cron descriptor ${schedule}`, () => {
      assert.doesNotThrow(() => validateFunctionSpec({ triggers: { c: { kind: 'cron', attributes: { schedule } } } }));
    });
  }
});

describe('checkReservedName', () => {
  for (const name of ['dashboard', 'controller', 'dlx', 'scaler']) {
    it(`checkReservedName() refuses ${name} with 412`, () => {
      throwsApi(() => checkReservedName(name), 412, `Function name ${name} is reserved and cannot be used.`);
    });
  }
  for (const name of ['my-dashboard', 'Dashboard', 'f1', '']) {
    it(`checkReservedName() accepts ${JSON.stringify(name)}`, () => {
      assert.doesNotThrow(() => checkReservedName(name));
    });
  }
});

describe('normaliseCronSchedule', () => {
  const cases: [string, string][] = [
    ['*/5 * * * *', '*/5 * * * *'],
    ['  0 0 * * *  ', '0 0 * * *'],
    ['@hourly', '0 * * * *'],
    ['@midnight', '0 0 * * *'],
    ['@every 1m', '* * * * * *'],
    ['@every 1h30m', '* * * * * *'],
    [' @every 10s', '* * * * * *'],
  ];
  for (const [input, want] of cases) {
    it(`normaliseCronSchedule() turns ${JSON.stringify(input)} into ${JSON.stringify(want)}`, () => {
      assert.equal(normaliseCronSchedule(input), want);
    });
  }
  for (const input of ['@every 0s', '@every -1s', '@every abc', '@every 10']) {
    it(`normaliseCronSchedule() throws for ${JSON.stringify(input)}`, () => {
      assert.throws(() => normaliseCronSchedule(input), /"@every" needs a positive duration/);
    });
  }
});

describe('validateFunctionSpec() and v3ioStream triggers', () => {
  const stream = {
    s: { kind: 'v3ioStream', attributes: { containerName: 'c', streamPath: '/s', consumerGroup: 'g' } },
  };
  it('accepts fixed replica counts', () => {
    validateFunctionSpec({ triggers: stream });
    validateFunctionSpec({ triggers: stream, minReplicas: 2, maxReplicas: 2 });
  });
  for (const [min, max] of [
    [1, 3],
    [0, 2],
  ] as const) {
    it(`refuses minReplicas ${min} with maxReplicas ${max} (no autoscaling)`, () => {
      throwsApi(
        () => validateFunctionSpec({ triggers: stream, minReplicas: min, maxReplicas: max }),
        400,
        'V3IO Stream trigger does not support autoscaling',
      );
    });
  }
});
