import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exportFunction } from './function-export.js';
import type { FunctionRecord } from './types.js';

function record(): FunctionRecord {
  return {
    metadata: {
      name: 'f1',
      namespace: 'nuclio',
      resourceVersion: '12',
      creationTimestamp: '2024-01-01T00:00:00Z',
      labels: { 'nuclio.io/project-name': 'p1' },
      annotations: { keep: 'me' },
    },
    spec: {
      runtime: 'python:3.9',
      handler: 'main:handler',
      image: 'localhost:5000/f1:latest',
      runRegistry: 'localhost:5000',
      replicas: 10,
      resources: {},
      platform: {},
      eventTimeout: '',
      build: {
        functionSourceCode: 'YQ==',
        registry: 'localhost:5000',
        codeEntryAttributes: { password: '$ref:/spec/build/codeentryattributes/password' },
      },
      triggers: {
        k: { class: '', kind: 'kafka', name: 'k', password: 'p@ss', secret: 's3cret', username: 'u' },
        h: { class: '', kind: 'http', name: 'h', password: '' },
      },
    },
    status: { state: 'ready', httpPort: 31000, message: 'ok' },
  };
}

describe('exportFunction', () => {
  it('exportFunction() drops namespace, resourceVersion, creationTimestamp and status', () => {
    const out = exportFunction(record());
    assert.deepEqual(Object.keys(out).sort(), ['metadata', 'spec']);
    assert.equal('namespace' in out.metadata, false);
    assert.equal('resourceVersion' in out.metadata, false);
    assert.equal('creationTimestamp' in out.metadata, false);
    assert.equal(out.metadata.name, 'f1');
    assert.deepEqual(out.metadata.labels, { 'nuclio.io/project-name': 'p1' });
  });

  const states: [string | undefined, string][] = [
    ['ready', 'ready'],
    ['scaledToZero', 'scaledToZero'],
    ['error', 'error'],
    [undefined, ''],
  ];
  for (const [state, want] of states) {
    it(`exportFunction() adds skip-build, skip-deploy and previous-state ${JSON.stringify(want)} for state ${state}`, () => {
      const r = record();
      r.status = state === undefined ? {} : { state: state as FunctionRecord['status']['state'] };
      assert.deepEqual(exportFunction(r).metadata.annotations, {
        keep: 'me',
        'nuclio.io/previous-state': want,
        'skip-build': 'true',
        'skip-deploy': 'true',
      });
    });
  }

  it('exportFunction() copes with a record without status or annotations', () => {
    const r = record() as Partial<FunctionRecord>;
    delete r.status;
    delete r.metadata!.annotations;
    assert.deepEqual(exportFunction(r as FunctionRecord).metadata.annotations, {
      'nuclio.io/previous-state': '',
      'skip-build': 'true',
      'skip-deploy': 'true',
    });
  });

  it('exportFunction() blanks trigger passwords and secrets and keeps other trigger fields', () => {
    const t = exportFunction(record()).spec.triggers!;
    assert.equal(t.k.password, '');
    assert.equal(t.k.secret, '');
    assert.equal(t.k.username, 'u');
    assert.equal(t.h.password, '');
    assert.equal('secret' in t.h, false);
  });

  it('exportFunction() keeps scrubbed-secret references and the rest of the spec', () => {
    const s = exportFunction(record()).spec;
    assert.equal(s.build.codeEntryAttributes?.password, '$ref:/spec/build/codeentryattributes/password');
    assert.equal(s.replicas, 10);
    assert.equal(s.runtime, 'python:3.9');
  });

  it('exportFunction() without skipSpecCleanup keeps registries and image', () => {
    const s = exportFunction(record()).spec;
    assert.equal(s.runRegistry, 'localhost:5000');
    assert.equal(s.build.registry, 'localhost:5000');
    assert.equal(s.image, 'localhost:5000/f1:latest');
  });

  it('exportFunction() with skipSpecCleanup clears registries, and the image when source code is present', () => {
    const s = exportFunction(record(), { skipSpecCleanup: true }).spec;
    assert.equal('runRegistry' in s, false);
    assert.equal('registry' in s.build, false);
    assert.equal('image' in s, false);
    assert.equal(s.build.functionSourceCode, 'YQ==');
  });

  it('exportFunction() with skipSpecCleanup keeps the image when there is no source code', () => {
    const r = record();
    delete r.spec.build.functionSourceCode;
    const s = exportFunction(r, { skipSpecCleanup: true }).spec;
    assert.equal(s.image, 'localhost:5000/f1:latest');
    assert.equal('runRegistry' in s, false);
  });

  it('exportFunction() does not mutate the record', () => {
    const r = record();
    const before = structuredClone(r);
    exportFunction(r, { skipSpecCleanup: true });
    assert.deepEqual(r, before);
  });
});

describe('exportFunction() secrets', () => {
  it('blanks env values whose names mark them secret, and keeps the others', () => {
    const fn = {
      metadata: { name: 'f', namespace: 'nuclio' },
      spec: {
        resources: {},
        build: {},
        platform: {},
        eventTimeout: '',
        env: [
          { name: 'DB_PASSWORD', value: 'hunter2' },
          { name: 'API_KEY', value: 'k' },
          { name: 'GITHUB_TOKEN', value: 't' },
          { name: 'WEBHOOK_SECRET', value: 's' },
          { name: 'GREETING', value: 'hello' },
          { name: 'TOKENIZER_MODE', value: 'fast' },
        ],
      },
      status: { state: 'ready' as const },
    };
    const env = Object.fromEntries((exportFunction(fn).spec.env ?? []).map((e) => [e.name, e.value]));
    assert.deepEqual(env, {
      DB_PASSWORD: '',
      API_KEY: '',
      GITHUB_TOKEN: '',
      WEBHOOK_SECRET: '',
      GREETING: 'hello',
      TOKENIZER_MODE: 'fast',
    });
    assert.equal(fn.spec.env[0].value, 'hunter2', 'the stored function is not changed');
  });
});

describe('exportFunction() secrets beyond env names', () => {
  const fn = () => ({
    metadata: {
      name: 'f',
      namespace: 'nuclio',
      annotations: { 'nuclio.io/kafka-sasl-password': 'ann-pw', keep: 'me' },
    },
    spec: {
      resources: {},
      platform: {},
      eventTimeout: '',
      build: {
        functionSourceCode: 'cGFzc3dvcmQ9eA==',
        path: 'https://tok@example.com/src.zip',
        commands: ['pip install x'],
        codeEntryAttributes: {
          headers: { Authorization: 'Bearer t', 'X-V3io-Session-Key': 'k' },
          s3SecretAccessKey: 's3',
          s3Bucket: 'b',
        },
      },
      env: [{ name: 'DATABASE_URL', value: 'mysql://u:pw@h/db' }],
      triggers: {
        k: {
          class: '',
          kind: 'kafka',
          name: 'k',
          attributes: { sasl: { password: 'x' }, accessKey: 'ak', topics: ['t'] },
        },
      },
    },
    status: { state: 'ready' as const },
  });

  it('exportFunction() blanks secrets in build attributes, source URL, triggers, env values and annotations; keeps the source code', () => {
    const out = exportFunction(fn());
    assert.deepEqual(out.spec.build.codeEntryAttributes, {
      headers: { Authorization: '', 'X-V3io-Session-Key': '' },
      s3SecretAccessKey: '',
      s3Bucket: 'b',
    });
    assert.equal(out.spec.build.path, '');
    assert.deepEqual(out.spec.build.commands, ['pip install x']);
    assert.equal(out.spec.build.functionSourceCode, 'cGFzc3dvcmQ9eA==');
    assert.deepEqual(out.spec.triggers!.k.attributes, { sasl: { password: '' }, accessKey: '', topics: ['t'] });
    assert.deepEqual(out.spec.env, [{ name: 'DATABASE_URL', value: '' }]);
    assert.equal(out.metadata.annotations!['nuclio.io/kafka-sasl-password'], '');
    assert.equal(out.metadata.annotations!.keep, 'me');
  });

  it('exportFunction() with includeSecrets keeps them all', () => {
    const out = exportFunction(fn(), { includeSecrets: true });
    assert.deepEqual(out.spec.build.codeEntryAttributes, fn().spec.build.codeEntryAttributes);
    assert.deepEqual(out.spec.triggers, fn().spec.triggers);
    assert.deepEqual(out.spec.env, fn().spec.env);
    assert.equal(out.metadata.annotations!['nuclio.io/kafka-sasl-password'], 'ann-pw');
  });
});
