/**
 * schemaError(): Ajv's failures worded as the handlers' validators word them (resources/shape.ts), with
 * fields named as they write them. Table-driven, on failures as Ajv reports them with `verbose: true`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldName, schemaError, type RequestPart, type SchemaFailure } from './schema-errors.js';

const typeFailure = (
  instancePath: string,
  type: unknown,
  data: unknown,
  parentSchema: Record<string, unknown> = {},
): SchemaFailure => ({ keyword: 'type', instancePath, params: { type }, schema: type, parentSchema, data });

describe('schemaError()', () => {
  const body = {
    metadata: { name: 5, labels: { 'nuclio.io/project-name': 7, 'a~b': 1 } },
    spec: { env: [{ name: 'A' }, 7], triggers: { 0: { kind: 5 } } },
  };
  const cases: [
    string,
    RequestPart,
    SchemaFailure,
    unknown,
    { code: string; status: number; field?: string; message: string },
  ][] = [
    [
      'a body that is not an object',
      'body',
      typeFailure('', 'object', []),
      [],
      { code: 'INVALID_BODY', status: 400, message: 'Request body must be a JSON object, got []' },
    ],
    [
      'an empty body',
      'body',
      typeFailure('', 'object', null),
      undefined,
      { code: 'INVALID_BODY', status: 400, message: 'Request body must be a JSON object, got an empty body' },
    ],
    [
      'a body whose schema has a short example',
      'body',
      typeFailure('', 'object', 'x', { examples: [{ desiredState: 'ready' }] }),
      'x',
      {
        code: 'INVALID_BODY',
        status: 400,
        message: 'Request body must be a JSON object such as {"desiredState":"ready"}, got "x"',
      },
    ],
    [
      'a field of the wrong type (null allowed, not mentioned)',
      'body',
      typeFailure('/metadata/name', ['string', 'null'], 5),
      body,
      { code: 'FIELD_MUST_BE', status: 400, field: 'metadata.name', message: 'metadata.name must be a string, got 5' },
    ],
    [
      'a map key with a slash (JSON pointer ~1)',
      'body',
      typeFailure('/metadata/labels/nuclio.io~1project-name', 'string', 7),
      body,
      {
        code: 'FIELD_MUST_BE',
        status: 400,
        field: 'metadata.labels.nuclio.io/project-name',
        message: 'metadata.labels.nuclio.io/project-name must be a string, got 7',
      },
    ],
    [
      'a map key with a tilde (JSON pointer ~0)',
      'body',
      typeFailure('/metadata/labels/a~0b', 'string', 1),
      body,
      {
        code: 'FIELD_MUST_BE',
        status: 400,
        field: 'metadata.labels.a~b',
        message: 'metadata.labels.a~b must be a string, got 1',
      },
    ],
    [
      'a list item: [i]',
      'body',
      typeFailure('/spec/env/1', 'object', 7),
      body,
      { code: 'FIELD_MUST_BE', status: 400, field: 'spec.env[1]', message: 'spec.env[1] must be an object, got 7' },
    ],
    [
      'a map key that looks like an index stays a key',
      'body',
      typeFailure('/spec/triggers/0/kind', ['string', 'null'], 5),
      body,
      {
        code: 'FIELD_MUST_BE',
        status: 400,
        field: 'spec.triggers.0.kind',
        message: 'spec.triggers.0.kind must be a string, got 5',
      },
    ],
    [
      'two types',
      'body',
      typeFailure('/metadata/resourceVersion', ['string', 'number', 'null'], true),
      body,
      {
        code: 'FIELD_MUST_BE',
        status: 400,
        field: 'metadata.resourceVersion',
        message: 'metadata.resourceVersion must be a string or a number, got true',
      },
    ],
    [
      'a range with both ends (optInt wording)',
      'body',
      {
        keyword: 'maximum',
        instancePath: '/spec/replicas',
        params: { limit: 1000 },
        schema: 1000,
        parentSchema: { minimum: 0, maximum: 1000 },
        data: 5000,
      },
      { spec: { replicas: 5000 } },
      {
        code: 'INVALID_FIELD',
        status: 400,
        field: 'spec.replicas',
        message: 'spec.replicas must be between 0 and 1000, got 5000',
      },
    ],
    [
      'a lower bound only',
      'body',
      {
        keyword: 'minimum',
        instancePath: '/spec/targetCPU',
        params: { limit: 0 },
        schema: 0,
        parentSchema: { minimum: 0 },
        data: -1,
      },
      { spec: { targetCPU: -1 } },
      {
        code: 'INVALID_FIELD',
        status: 400,
        field: 'spec.targetCPU',
        message: 'spec.targetCPU must be at least 0, got -1',
      },
    ],
    [
      'a pattern',
      'body',
      {
        keyword: 'pattern',
        instancePath: '/spec/env/0/name',
        params: { pattern: '^[A-Z]+$' },
        schema: '^[A-Z]+$',
        data: '1x',
      },
      { spec: { env: [{ name: '1x' }] } },
      {
        code: 'FIELD_MUST_BE',
        status: 400,
        field: 'spec.env[0].name',
        message: 'spec.env[0].name must be a string matching /^[A-Z]+$/, got "1x"',
      },
    ],
    [
      'an enum',
      'body',
      { keyword: 'enum', instancePath: '/mode', params: {}, schema: ['a', 'b'], data: 'c' },
      { mode: 'c' },
      { code: 'FIELD_MUST_BE', status: 400, field: 'mode', message: 'mode must be one of "a", "b", got "c"' },
    ],
    [
      'a missing property',
      'body',
      { keyword: 'required', instancePath: '/spec', params: { missingProperty: 'host' }, data: {} },
      { spec: {} },
      { code: 'INVALID_FIELD', status: 400, field: 'spec.host', message: 'spec.host must be provided' },
    ],
    [
      'a query parameter given twice',
      'querystring',
      typeFailure('/follow', 'string', ['a', 'b']),
      { follow: ['a', 'b'] },
      { code: 'INVALID_QUERY', status: 400, message: 'Query parameter follow must be a string, got ["a","b"]' },
    ],
    [
      'a header',
      'headers',
      { keyword: 'pattern', instancePath: '/x-nuclio-path', params: {}, schema: '^/', data: 'x' },
      { 'x-nuclio-path': 'x' },
      { code: 'INVALID_HEADER', status: 400, message: 'Header x-nuclio-path must be a string matching /^//, got "x"' },
    ],
  ];
  for (const [what, part, failure, data, want] of cases) {
    it(what, () => {
      const e = schemaError(part, [failure], data);
      assert.equal(e.code, want.code);
      assert.equal(e.status, want.status);
      assert.equal(e.field, want.field);
      assert.equal(e.message, want.message);
    });
  }

  it('only the first failure is reported', () => {
    const e = schemaError('body', [typeFailure('/a', 'string', 1), typeFailure('/b', 'string', 2)], { a: 1, b: 2 });
    assert.equal(e.field, 'a');
  });
});

describe('fieldName()', () => {
  const cases: [string, unknown, string][] = [
    ['', {}, ''],
    ['/a/b', { a: { b: 1 } }, 'a.b'],
    ['/a/0/b', { a: [{ b: 1 }] }, 'a[0].b'],
    ['/a/0', { a: { 0: 1 } }, 'a.0'],
    ['/0', [1], '[0]'],
    ['/a/b/c', { a: null }, 'a.b.c'],
  ];
  for (const [pointer, data, want] of cases)
    it(`${JSON.stringify(pointer)} → ${JSON.stringify(want)}`, () => assert.equal(fieldName(pointer, data), want));
});
