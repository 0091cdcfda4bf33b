import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enrichFunction } from './function-enrich.js';
import type { FunctionConfig } from './types.js';

/** A minimal config as a client sends it (most always-present keys missing). */
function fn(
  spec: Record<string, unknown> = {},
  metadata: FunctionConfig['metadata'] = { name: 'f', namespace: 'nuclio' },
): FunctionConfig {
  return { metadata, spec: spec as FunctionConfig['spec'] };
}

describe('enrichFunction', () => {
  it('enrichFunction() sets the project label to "default" when missing', () => {
    assert.deepEqual(enrichFunction(fn()).metadata.labels, { 'nuclio.io/project-name': 'default' });
    assert.deepEqual(enrichFunction(fn({}, { name: 'f', labels: { a: 'b' } })).metadata.labels, {
      a: 'b',
      'nuclio.io/project-name': 'default',
    });
    assert.deepEqual(enrichFunction(fn({}, { name: 'f', labels: { 'nuclio.io/project-name': '' } })).metadata.labels, {
      'nuclio.io/project-name': 'default',
    });
  });

  it('enrichFunction() keeps an existing project label', () => {
    assert.equal(
      enrichFunction(fn({}, { name: 'f', labels: { 'nuclio.io/project-name': 'p1' } })).metadata.labels?.[
        'nuclio.io/project-name'
      ],
      'p1',
    );
  });

  const runtimes: [string | undefined, string | undefined][] = [
    ['python', 'python:3.9'],
    ['python:3.11', 'python:3.11'],
    ['nodejs', 'nodejs'],
    ['shell', 'shell'],
    [undefined, undefined],
  ];
  for (const [input, want] of runtimes) {
    it(`enrichFunction() turns runtime ${JSON.stringify(input)} into ${JSON.stringify(want)}`, () => {
      assert.equal(enrichFunction(fn(input === undefined ? {} : { runtime: input })).spec.runtime, want);
    });
  }

  it('enrichFunction() always emits resources, build, platform and eventTimeout', () => {
    const s = enrichFunction(fn()).spec;
    assert.deepEqual(s.resources, {});
    assert.deepEqual(s.build, {});
    assert.deepEqual(s.platform, {});
    assert.equal(s.eventTimeout, '');
  });

  it('enrichFunction() keeps given resources, build, platform and eventTimeout', () => {
    const s = enrichFunction(
      fn({
        resources: { limits: { cpu: '1' } },
        build: { path: '/x' },
        platform: { attributes: { a: 1 } },
        eventTimeout: '30s',
      }),
    ).spec;
    assert.deepEqual(s.resources, { limits: { cpu: '1' } });
    assert.deepEqual(s.build, { path: '/x' });
    assert.deepEqual(s.platform, { attributes: { a: 1 } });
    assert.equal(s.eventTimeout, '30s');
  });

  it('enrichFunction() replaces non-object resources/build/platform and a non-string eventTimeout', () => {
    const s = enrichFunction(fn({ resources: null, build: [], platform: 'x', eventTimeout: 30 })).spec;
    assert.deepEqual(s.resources, {});
    assert.deepEqual(s.build, {});
    assert.deepEqual(s.platform, {});
    assert.equal(s.eventTimeout, '');
  });

  const replicas: [Record<string, unknown>, number | undefined, number | undefined][] = [
    [{ minReplicas: 2 }, 2, 2],
    [{ maxReplicas: 3 }, 3, 3],
    [{ minReplicas: 0 }, 0, 0],
    [{ minReplicas: 1, maxReplicas: 4 }, 1, 4],
    [{}, undefined, undefined],
  ];
  for (const [input, min, max] of replicas) {
    it(`enrichFunction() gives replicas ${JSON.stringify(input)} min ${min} max ${max}`, () => {
      const s = enrichFunction(fn(input)).spec;
      assert.equal(s.minReplicas, min);
      assert.equal(s.maxReplicas, max);
    });
  }

  it('enrichFunction() adds a default-http trigger when there is no http trigger', () => {
    assert.deepEqual(enrichFunction(fn()).spec.triggers, {
      'default-http': { class: '', kind: 'http', name: 'default-http', numWorkers: 1 },
    });
    const withCron = enrichFunction(fn({ triggers: { c: { kind: 'cron', attributes: { interval: '10s' } } } })).spec
      .triggers!;
    assert.deepEqual(Object.keys(withCron).sort(), ['c', 'default-http']);
  });

  it('enrichFunction() adds no default-http trigger when an http trigger exists', () => {
    const t = enrichFunction(fn({ triggers: { web: { kind: 'http', attributes: { port: 31000 } } } })).spec.triggers!;
    assert.deepEqual(Object.keys(t), ['web']);
    assert.deepEqual(t.web, { kind: 'http', class: '', name: 'web', numWorkers: 1, attributes: { port: 31000 } });
  });

  it('enrichFunction() adds no default-http trigger when spec.disableDefaultHTTPTrigger is true', () => {
    assert.deepEqual(enrichFunction(fn({ disableDefaultHTTPTrigger: true })).spec.triggers, {});
  });

  it('enrichFunction() applies the platform disableDefaultHttpTrigger option only when the spec says nothing', () => {
    const off = enrichFunction(fn(), { disableDefaultHttpTrigger: true }).spec;
    assert.equal(off.disableDefaultHTTPTrigger, true);
    assert.deepEqual(off.triggers, {});
    const specWins = enrichFunction(fn({ disableDefaultHTTPTrigger: false }), { disableDefaultHttpTrigger: true }).spec;
    assert.ok(specWins.triggers?.['default-http']);
  });

  it('enrichFunction() defaults a trigger name to its key and class/kind to ""', () => {
    const t = enrichFunction(fn({ triggers: { mytrig: { kind: 'cron' }, other: {} } })).spec.triggers!;
    assert.equal(t.mytrig.name, 'mytrig');
    assert.equal(t.mytrig.class, '');
    assert.equal(t.other.name, 'other');
    assert.equal(t.other.kind, '');
  });

  it('enrichFunction() copies maxWorkers into numWorkers unless numWorkers is set', () => {
    const t = enrichFunction(
      fn({ triggers: { a: { kind: 'http', maxWorkers: 4 }, b: { kind: 'cron', maxWorkers: 4, numWorkers: 2 } } }),
    ).spec.triggers!;
    assert.equal(t.a.numWorkers, 4);
    assert.equal(t.b.numWorkers, 2);
  });

  it('enrichFunction() defaults numWorkers to 1 for http and v3ioStream only', () => {
    const t = enrichFunction(fn({ triggers: { h: { kind: 'http' }, v: { kind: 'v3ioStream' }, c: { kind: 'cron' } } }))
      .spec.triggers!;
    assert.equal(t.h.numWorkers, 1);
    assert.equal(t.v.numWorkers, 1);
    assert.equal(t.c.numWorkers, undefined);
  });

  for (const kind of ['kafka', 'kafka-cluster', 'v3ioStream']) {
    it(`enrichFunction() sets explicitAckMode and workerTerminationTimeout defaults for ${kind}`, () => {
      const t = enrichFunction(fn({ triggers: { s: { kind } } })).spec.triggers!.s;
      assert.equal(t.explicitAckMode, 'disable');
      assert.equal(t.workerTerminationTimeout, '10s');
      const kept = enrichFunction(
        fn({ triggers: { s: { kind, explicitAckMode: 'enable', workerTerminationTimeout: '5s' } } }),
      ).spec.triggers!.s;
      assert.equal(kept.explicitAckMode, 'enable');
      assert.equal(kept.workerTerminationTimeout, '5s');
    });
  }

  it('enrichFunction() sets no stream defaults on an http trigger', () => {
    const t = enrichFunction(fn({ triggers: { h: { kind: 'http' } } })).spec.triggers!.h;
    assert.equal(t.explicitAckMode, undefined);
    assert.equal(t.workerTerminationTimeout, undefined);
  });

  it('enrichFunction() does not mutate its input', () => {
    const input = fn(
      { runtime: 'python', minReplicas: 1, triggers: { t: { kind: 'kafka', maxWorkers: 2 } } },
      { name: 'f', labels: { x: 'y' } },
    );
    const before = structuredClone(input);
    const out = enrichFunction(input);
    assert.deepEqual(input, before);
    assert.notEqual(out.metadata.labels, input.metadata.labels);
    assert.notEqual(out.spec.triggers, input.spec.triggers);
  });

  it('enrichFunction() is idempotent', () => {
    const once = enrichFunction(fn({ runtime: 'python', maxReplicas: 2, triggers: { k: { kind: 'kafka' } } }));
    assert.deepEqual(enrichFunction(once), once);
  });
});
