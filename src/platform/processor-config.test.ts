import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Artifact } from '../builder/builder.js';
import type { FunctionRecord, FunctionSpec } from '../resources/types.js';
import { processorConfigOf } from './processor-config.js';

const node: Artifact = { id: 'a'.repeat(32), image: '', runtime: 'nodejs', family: 'nodejs', handler: 'h:main' };
const py: Artifact = { ...node, runtime: 'python:3.11', family: 'python', handler: 'main:handler' };
const record = (spec: Partial<FunctionSpec> = {}, labels?: Record<string, string>): FunctionRecord =>
  ({
    metadata: { name: 'fn', namespace: 'nuclio', ...(labels ? { labels } : {}) },
    spec: { runtime: 'nodejs', ...spec },
    status: {},
  }) as FunctionRecord;
const place = {
  artifactDir: '/artifact',
  pythonPath: '/usr/bin/python3',
  pythonRuntimeDir: '/runtime',
  connectionLimits: { maxConnections: 4, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 },
  streamToken: 'secret',
};
const stream = { s: { class: '', kind: 'v3ioStream', name: 's', attributes: {} } };

describe('processorConfigOf()', () => {
  const cases: [string, FunctionRecord, Artifact, Record<string, unknown>][] = [
    [
      "the record's identity, labels, handler (the artifact's when the spec has none) and defaults",
      record({}, { 'nuclio.io/project-name': 'p' }),
      node,
      {
        namespace: 'nuclio',
        functionName: 'fn',
        labels: { 'nuclio.io/project-name': 'p' },
        annotations: {},
        handler: 'h:main',
        runtime: 'nodejs',
        artifactDir: '/artifact',
        eventTimeoutMs: 0,
        pythonPath: undefined,
        streamToken: undefined,
        memoryLimitBytes: undefined,
      },
    ],
    [
      'the python interpreter for the python family only',
      record({ runtime: 'python:3.11' }),
      py,
      { pythonPath: '/usr/bin/python3' },
    ],
    [
      'spec.handler and spec.eventTimeout',
      record({ handler: 'x:y', eventTimeout: '2s' }),
      node,
      { handler: 'x:y', eventTimeoutMs: 2_000 },
    ],
    [
      'the stream credential only with a v3ioStream trigger',
      record({ triggers: stream }),
      node,
      { streamToken: 'secret' },
    ],
  ];
  for (const [name, fn, artifact, want] of cases)
    it(name, () => {
      const c = processorConfigOf(fn, artifact, place) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(c[k], v, k);
    });
});
