import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deleteStrategy, readProjectBody, type DeleteProjectStrategy } from './project.js';
import { throws400 } from '../../test/helpers/expect-api-error.js';

describe('readProjectBody', () => {
  it('readProjectBody() reads a full body and adds an empty status', () => {
    const p = readProjectBody(
      { metadata: { name: 'p1', namespace: 'p1-namespace' }, spec: { description: 'p1Description' } },
      { defaultNamespace: '' },
    );
    assert.deepEqual(p, {
      metadata: { name: 'p1', namespace: 'p1-namespace' },
      spec: { description: 'p1Description' },
      status: {},
    });
  });

  it('readProjectBody() defaults the namespace and the spec', () => {
    assert.deepEqual(readProjectBody({ metadata: { name: 'p' } }, { defaultNamespace: 'nuclio' }), {
      metadata: { name: 'p', namespace: 'nuclio' },
      spec: {},
      status: {},
    });
  });

  const missing: [unknown, string, string][] = [
    [{}, 'nuclio', 'Project name must be provided in metadata'],
    [{ metadata: { namespace: 'x' } }, 'nuclio', 'Project name must be provided in metadata'],
    [{ metadata: { name: 'p' } }, '', 'Project namespace must be provided in metadata'],
  ];
  for (const [body, ns, msg] of missing) {
    it(`readProjectBody() answers 400 "${msg}" for ${JSON.stringify(body)}`, () => {
      throws400(() => readProjectBody(body, { defaultNamespace: ns }), msg);
    });
  }

  it('readProjectBody() uses nameFallback before generateName', () => {
    let generated = 0;
    const gen = () => {
      generated++;
      return 'gen-1';
    };
    assert.equal(
      readProjectBody({}, { defaultNamespace: 'n', nameFallback: 'from-url', generateName: gen }).metadata.name,
      'from-url',
    );
    assert.equal(generated, 0);
    assert.equal(readProjectBody({}, { defaultNamespace: 'n', generateName: gen }).metadata.name, 'gen-1');
    assert.equal(generated, 1);
    assert.equal(
      readProjectBody({ metadata: { name: 'given' } }, { defaultNamespace: 'n', nameFallback: 'x', generateName: gen })
        .metadata.name,
      'given',
    );
    assert.equal(generated, 1);
  });

  for (const name of ['My-Project', 'my_project', 'my.project', '-p', 'p-', 'a'.repeat(64)]) {
    it(`readProjectBody() refuses the name ${JSON.stringify(name.length > 20 ? `a…(${name.length})` : name)} as not a DNS-1123 label`, () => {
      throws400(
        () => readProjectBody({ metadata: { name } }, { defaultNamespace: 'n' }),
        'Project name must adhere to Kubernetes naming conventions',
      );
    });
  }

  const specProblems: [Record<string, unknown>, string][] = [
    [{ description: 5 }, 'spec.description must be a string'],
    [{ owner: [] }, 'spec.owner must be a string'],
    [{ defaultFunctionNodeSelector: { a: 1 } }, 'spec.defaultFunctionNodeSelector.a must be a string'],
    [{ defaultFunctionNodeSelector: 'x' }, 'spec.defaultFunctionNodeSelector must be an object'],
  ];
  for (const [spec, msg] of specProblems) {
    it(`readProjectBody() answers 400 "${msg}"`, () => {
      throws400(() => readProjectBody({ metadata: { name: 'p' }, spec }, { defaultNamespace: 'n' }), msg);
    });
  }

  for (const body of [null, [], 'p', 1]) {
    it(`readProjectBody() answers 400 for the non-object body ${JSON.stringify(body)}`, () => {
      throws400(() => readProjectBody(body, { defaultNamespace: 'n' }), 'Request body must be a JSON object');
    });
  }

  it('readProjectBody() keeps unknown spec fields and does not share the spec object', () => {
    const spec = { description: 'd', extra: { a: 1 } };
    const p = readProjectBody({ metadata: { name: 'p' }, spec }, { defaultNamespace: 'n' });
    assert.deepEqual(p.spec, spec);
    assert.notEqual(p.spec, spec);
  });
});

describe('deleteStrategy', () => {
  const cases: [string | undefined, DeleteProjectStrategy][] = [
    ['cascading', 'cascading'],
    ['check', 'check'],
    ['restricted', 'restricted'],
    [undefined, 'restricted'],
    ['', 'restricted'],
    ['Cascading', 'restricted'],
    ['force', 'restricted'],
  ];
  for (const [header, want] of cases) {
    it(`deleteStrategy() maps ${JSON.stringify(header)} to ${want}`, () => {
      assert.equal(deleteStrategy(header), want);
    });
  }
});
