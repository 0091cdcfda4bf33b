import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enrichFunctionEvent, eventFunctionName, readFunctionEventBody } from './function-event.js';
import type { FunctionEvent } from './types.js';
import { throws400 } from '../../test/helpers/expect-api-error.js';

const MISSING = 'Function event name must be provided in metadata';

describe('readFunctionEventBody', () => {
  const full = {
    metadata: { name: 'fe1', namespace: 'fe1-namespace', labels: { 'nuclio.io/function-name': 'f1' } },
    spec: { displayName: 'd', triggerName: 't', triggerKind: 'http', body: 'b', attributes: { a: ['x'], s: 'y' } },
  };

  it('readFunctionEventBody() returns a full body as given', () => {
    assert.deepEqual(readFunctionEventBody(full, { defaultNamespace: '' }), full);
  });

  const missing: [string, unknown, string][] = [
    ['no metadata', { spec: {} }, 'nuclio'],
    ['no namespace and an empty default', { metadata: { name: 'fe1' } }, ''],
    ['no name and no generator', { metadata: { namespace: 'n' } }, 'nuclio'],
    ['an empty name and no generator', { metadata: { name: '', namespace: 'n' } }, 'nuclio'],
  ];
  it("readFunctionEventBody() answers 400 naming metadata for metadata that is not an object (as the route's schema does)", () => {
    throws400(
      () => readFunctionEventBody({ metadata: 'x' }, { defaultNamespace: 'nuclio' }),
      'metadata must be an object, got "x"',
    );
  });
  for (const [what, body, ns] of missing) {
    it(`readFunctionEventBody() answers 400 "${MISSING}" for ${what}`, () => {
      throws400(() => readFunctionEventBody(body, { defaultNamespace: ns }), MISSING);
    });
  }

  it('readFunctionEventBody() generates a missing name on create', () => {
    const ev = readFunctionEventBody(
      { metadata: {} },
      { defaultNamespace: 'nuclio', generateName: () => '6f1c7e1e-0000-4000-8000-000000000000' },
    );
    assert.equal(ev.metadata.name, '6f1c7e1e-0000-4000-8000-000000000000');
    assert.equal(ev.metadata.namespace, 'nuclio');
  });

  it('readFunctionEventBody() keeps a given name even with a generator', () => {
    const ev = readFunctionEventBody(
      { metadata: { name: 'given' } },
      { defaultNamespace: 'nuclio', generateName: () => 'generated' },
    );
    assert.equal(ev.metadata.name, 'given');
  });

  it('readFunctionEventBody() refuses a name that is not a qualified name', () => {
    throws400(
      () => readFunctionEventBody({ metadata: { name: 'bad name!' } }, { defaultNamespace: 'n' }),
      'Function event name "bad name!" is invalid',
    );
  });

  it('readFunctionEventBody() with withSpec false returns an empty spec', () => {
    assert.deepEqual(
      readFunctionEventBody(
        { metadata: { name: 'fe' }, spec: { body: 5 } },
        { defaultNamespace: 'n', withSpec: false },
      ),
      { metadata: { name: 'fe', namespace: 'n' }, spec: {} },
    );
  });

  const specProblems: [Record<string, unknown>, string][] = [
    [{ displayName: 1 }, 'spec.displayName must be a string'],
    [{ triggerName: {} }, 'spec.triggerName must be a string'],
    [{ triggerKind: true }, 'spec.triggerKind must be a string'],
    [{ body: { a: 1 } }, 'spec.body must be a string'],
    [{ attributes: 'x' }, 'spec.attributes must be an object'],
  ];
  for (const [spec, msg] of specProblems) {
    it(`readFunctionEventBody() answers 400 "${msg}"`, () => {
      throws400(() => readFunctionEventBody({ metadata: { name: 'fe' }, spec }, { defaultNamespace: 'n' }), msg);
    });
  }

  it('readFunctionEventBody() answers 400 for a spec that is not an object', () => {
    throws400(
      () => readFunctionEventBody({ metadata: { name: 'fe' }, spec: [] }, { defaultNamespace: 'n' }),
      'spec must be an object',
    );
  });

  it('readFunctionEventBody() accepts a null body', () => {
    assert.equal(
      readFunctionEventBody({ metadata: { name: 'fe' }, spec: { body: null } }, { defaultNamespace: 'n' }).spec.body,
      null,
    );
  });
});

describe('eventFunctionName', () => {
  it('eventFunctionName() reads the function-name label', () => {
    assert.equal(eventFunctionName({ metadata: { labels: { 'nuclio.io/function-name': 'f1' } }, spec: {} }), 'f1');
  });
  for (const labels of [undefined, {}, { 'nuclio.io/function-name': '' }] as (Record<string, string> | undefined)[]) {
    it(`eventFunctionName() refuses an event with labels ${JSON.stringify(labels)}`, () => {
      throws400(
        () => eventFunctionName({ metadata: { name: 'fe', ...(labels ? { labels } : {}) }, spec: {} }),
        'Function event has a missing label - `nuclio.io/function-name`',
      );
    });
  }
});

describe('eventFunctionName names', () => {
  for (const fn of ['x.y/z', '..', 'Bad_Name', 'a'.repeat(64)]) {
    it(`eventFunctionName() refuses the function label ${JSON.stringify(fn.length > 20 ? `a…(${fn.length})` : fn)}, naming the label`, () => {
      assert.throws(
        () => eventFunctionName({ metadata: { name: 'fe', labels: { 'nuclio.io/function-name': fn } }, spec: {} }),
        (e: { status?: number; field?: string; message?: string }) =>
          e.status === 400 &&
          e.field === 'metadata.labels.nuclio.io/function-name' &&
          /k8s naming convention/.test(e.message ?? ''),
      );
    });
  }
});

describe('enrichFunctionEvent', () => {
  it('enrichFunctionEvent() fills displayName, triggerKind, labels and the http attribute defaults', () => {
    const out = enrichFunctionEvent({ metadata: { name: 'fe1' }, spec: {} });
    assert.deepEqual(out, {
      metadata: { name: 'fe1', labels: {} },
      spec: {
        displayName: 'fe1',
        triggerKind: 'http',
        attributes: { headers: { 'Content-Type': 'text/plain' }, method: 'POST', path: '' },
      },
    });
  });

  it('enrichFunctionEvent() keeps given values and fills only absent attributes', () => {
    const out = enrichFunctionEvent({
      metadata: { name: 'fe1', labels: { a: 'b' } },
      spec: { displayName: 'shown', triggerKind: 'http', attributes: { method: 'GET', headers: {}, extra: 1 } },
    });
    assert.equal(out.spec.displayName, 'shown');
    assert.deepEqual(out.spec.attributes, { method: 'GET', headers: {}, extra: 1, path: '' });
    assert.deepEqual(out.metadata.labels, { a: 'b' });
  });

  it('enrichFunctionEvent() adds no http attributes for another trigger kind', () => {
    const out = enrichFunctionEvent({ metadata: { name: 'fe1' }, spec: { triggerKind: 'cron' } });
    assert.equal(out.spec.triggerKind, 'cron');
    assert.equal(out.spec.attributes, undefined);
  });

  it('enrichFunctionEvent() does not mutate its input', () => {
    const input: FunctionEvent = {
      metadata: { name: 'fe1', labels: { x: 'y' } },
      spec: { attributes: { method: 'PUT' } },
    };
    const before = structuredClone(input);
    const out = enrichFunctionEvent(input);
    assert.deepEqual(input, before);
    assert.notEqual(out.spec.attributes, input.spec.attributes);
    assert.notEqual(out.metadata.labels, input.metadata.labels);
  });
});
