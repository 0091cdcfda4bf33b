/**
 * The contract every Store implementation must pass (hono's common.case.test.ts idea): run it with a
 * factory of fresh, empty stores. A future Kubernetes store calls `storeContract` the same way.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, type Store, type StoreChange, type StoreErrorCode } from './store.js';
import type { FunctionRecord, Project } from '../resources/types.js';

const project = (name: string, ns = 'nuclio', labels?: Record<string, string>): Project => ({
  metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
  spec: { description: name },
  status: {},
});
const fn = (name: string, projectName = 'p1'): FunctionRecord => ({
  metadata: { name, namespace: 'nuclio', labels: { 'nuclio.io/project-name': projectName } },
  spec: { resources: {}, build: {}, platform: {}, eventTimeout: '', runtime: 'nodejs' },
  status: { state: 'building' },
});

/** A predicate for assert.rejects: a StoreError with `code` about `name`. */
const storeError = (code: StoreErrorCode, name?: string) => (e: unknown) =>
  e instanceof StoreError && e.code === code && (name === undefined || e.resource.name === name);

export function storeContract(label: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${label}`, () => {
    let store: Store;
    afterEach(async () => {
      await store?.close();
    });

    it('create() then get() returns a copy with a resourceVersion', async () => {
      store = await makeStore();
      const created = await store.create('project', project('a'));
      assert.ok(created.metadata.resourceVersion);
      const got = await store.get('project', 'nuclio', 'a');
      assert.deepEqual(got, created);
      got.spec.description = 'mutated';
      assert.equal((await store.get('project', 'nuclio', 'a'))!.spec.description, 'a');
    });

    it('create() of an existing name throws StoreError ALREADY_EXISTS and changes nothing', async () => {
      store = await makeStore();
      await store.create('project', project('a'));
      await assert.rejects(
        store.create('project', { ...project('a'), spec: { description: 'other' } }),
        storeError('ALREADY_EXISTS', 'a'),
      );
      assert.equal((await store.get('project', 'nuclio', 'a'))!.spec.description, 'a');
    });

    it('get() of a missing resource is undefined; kinds and namespaces are separate', async () => {
      store = await makeStore();
      await store.create('project', project('a', 'ns1'));
      assert.equal(await store.get('project', 'ns2', 'a'), undefined);
      assert.equal(await store.get('function', 'ns1', 'a'), undefined);
    });

    it('list() filters by namespace and label selector, sorted by name', async () => {
      store = await makeStore();
      await store.create('function', fn('b', 'p1'));
      await store.create('function', fn('a', 'p1'));
      await store.create('function', fn('c', 'p2'));
      await store.create('project', project('x', 'other'));
      assert.deepEqual(
        (await store.list('function', 'nuclio')).map((f) => f.metadata.name),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(
        (await store.list('function', 'nuclio', { labels: { 'nuclio.io/project-name': 'p1' } })).map(
          (f) => f.metadata.name,
        ),
        ['a', 'b'],
      );
      assert.deepEqual(await store.list('function', 'other'), []);
      assert.equal((await store.list('project', undefined)).length, 1);
    });

    it('update() bumps the resourceVersion and refuses a stale ifVersion with VERSION_CONFLICT', async () => {
      store = await makeStore();
      const v1 = await store.create('project', project('a'));
      const v2 = await store.update(
        'project',
        { ...v1, spec: { description: 'two' } },
        { ifVersion: v1.metadata.resourceVersion },
      );
      assert.notEqual(v2.metadata.resourceVersion, v1.metadata.resourceVersion);
      await assert.rejects(
        store.update('project', { ...v1, spec: { description: 'three' } }, { ifVersion: v1.metadata.resourceVersion }),
        (e: unknown) =>
          storeError('VERSION_CONFLICT', 'a')(e) &&
          (e as StoreError).versions?.given === v1.metadata.resourceVersion &&
          (e as StoreError).versions?.stored === v2.metadata.resourceVersion,
      );
      assert.equal((await store.get('project', 'nuclio', 'a'))!.spec.description, 'two');
    });

    it('update() of a missing resource throws NOT_FOUND', async () => {
      store = await makeStore();
      await assert.rejects(store.update('project', project('nope')), storeError('NOT_FOUND', 'nope'));
    });

    it('a resource without metadata.name or namespace is refused with INVALID_RESOURCE', async () => {
      store = await makeStore();
      await assert.rejects(
        store.create('project', { ...project('x'), metadata: { namespace: 'nuclio' } }),
        storeError('INVALID_RESOURCE'),
      );
      await assert.rejects(
        store.update('project', { ...project('x'), metadata: { name: 'x' } }),
        storeError('INVALID_RESOURCE'),
      );
    });

    it('update() without a status keeps the stored status', async () => {
      store = await makeStore();
      const created = await store.create('function', fn('f'));
      const { status: _drop, ...rest } = created;
      await store.update('function', rest as FunctionRecord);
      assert.equal((await store.get('function', 'nuclio', 'f'))!.status.state, 'building');
    });

    it('setStatus() merges, keeps the resourceVersion, and is undefined for a missing resource', async () => {
      store = await makeStore();
      const created = await store.create('function', fn('f'));
      const after = await store.setStatus('function', 'nuclio', 'f', { state: 'ready', httpPort: 1234 });
      assert.equal(after!.status.state, 'ready');
      assert.equal(after!.status.httpPort, 1234);
      assert.equal(after!.metadata.resourceVersion, created.metadata.resourceVersion);
      const replaced = await store.setStatus('function', 'nuclio', 'f', { state: 'error' }, { replace: true });
      assert.deepEqual(replaced!.status, { state: 'error' });
      assert.equal(await store.setStatus('function', 'nuclio', 'missing', { state: 'ready' }), undefined);
    });

    it('delete() is true once, false after; a stale ifVersion throws VERSION_CONFLICT', async () => {
      store = await makeStore();
      const created = await store.create('project', project('a'));
      await assert.rejects(
        store.delete('project', 'nuclio', 'a', { ifVersion: '999999' }),
        storeError('VERSION_CONFLICT', 'a'),
      );
      assert.equal(await store.delete('project', 'nuclio', 'a', { ifVersion: created.metadata.resourceVersion }), true);
      assert.equal(await store.delete('project', 'nuclio', 'a'), false);
    });

    it('batch() is atomic: a failing operation leaves nothing of the batch behind', async () => {
      store = await makeStore();
      await store.create('project', project('exists'));
      await assert.rejects(
        store.batch([
          { op: 'create', kind: 'project', object: project('new') },
          { op: 'delete', kind: 'project', namespace: 'nuclio', name: 'exists' },
          { op: 'create', kind: 'project', object: project('new') },
        ]),
      );
      assert.ok(await store.get('project', 'nuclio', 'exists'));
      assert.equal(await store.get('project', 'nuclio', 'new'), undefined);
      await store.batch([
        { op: 'create', kind: 'project', object: project('new') },
        { op: 'delete', kind: 'project', namespace: 'nuclio', name: 'exists' },
      ]);
      assert.ok(await store.get('project', 'nuclio', 'new'));
      assert.equal(await store.get('project', 'nuclio', 'exists'), undefined);
    });

    it('batch() require fails the whole batch with REQUIRED_MISSING when the resource is missing, and passes when it exists', async () => {
      store = await makeStore();
      await assert.rejects(
        store.batch([
          { op: 'require', kind: 'project', namespace: 'nuclio', name: 'parent' },
          { op: 'create', kind: 'project', object: project('child') },
        ]),
        storeError('REQUIRED_MISSING', 'parent'),
      );
      assert.equal(await store.get('project', 'nuclio', 'child'), undefined);
      await store.create('project', project('parent'));
      await store.batch([
        { op: 'require', kind: 'project', namespace: 'nuclio', name: 'parent' },
        { op: 'create', kind: 'project', object: project('child') },
      ]);
      assert.ok(await store.get('project', 'nuclio', 'child'));
    });

    it('batch() deleteMatching deletes exactly the resources of that namespace with all the labels, and reports each', async () => {
      store = await makeStore();
      await store.create('project', project('a', 'nuclio', { owner: 'x', tier: '1' }));
      await store.create('project', project('b', 'nuclio', { owner: 'x' }));
      await store.create('project', project('c', 'nuclio', { owner: 'y' }));
      await store.create('project', project('d', 'other', { owner: 'x' }));
      const seen: string[] = [];
      const stop = store.watch((c: StoreChange) => seen.push(`${c.type}:${c.namespace}/${c.name}`));
      await store.batch([{ op: 'deleteMatching', kind: 'project', namespace: 'nuclio', labels: { owner: 'x' } }]);
      stop();
      assert.deepEqual(
        (await store.list('project', undefined)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
        ['nuclio/c', 'other/d'],
      );
      assert.deepEqual(seen.sort(), ['deleted:nuclio/a', 'deleted:nuclio/b']);
    });

    it('batch() update honours ifVersion', async () => {
      store = await makeStore();
      const a = await store.create('project', project('a'));
      await assert.rejects(
        store.batch([{ op: 'update', kind: 'project', object: a, ifVersion: '999999' }]),
        storeError('VERSION_CONFLICT', 'a'),
      );
      await store.batch([{ op: 'update', kind: 'project', object: a, ifVersion: a.metadata.resourceVersion }]);
    });

    it('watch() sees created, updated, status and deleted changes after commit, until unsubscribed', async () => {
      store = await makeStore();
      const seen: string[] = [];
      const stop = store.watch((c: StoreChange) => seen.push(`${c.type}:${c.kind}:${c.name}`));
      const f = await store.create('function', fn('f'));
      await store.update('function', f);
      await store.setStatus('function', 'nuclio', 'f', { state: 'ready' });
      await store.delete('function', 'nuclio', 'f');
      stop();
      await store.create('function', fn('g'));
      assert.deepEqual(seen, ['created:function:f', 'updated:function:f', 'status:function:f', 'deleted:function:f']);
    });

    it('watch() carries who made each change (WriteOptions.by), for every kind of write, and nothing when the writer did not say', async () => {
      store = await makeStore();
      const seen: string[] = [];
      const stop = store.watch((c: StoreChange) => seen.push(`${c.type}:${c.name}:${c.by ?? '-'}`));
      const f = await store.create('function', fn('f'), { by: 'api' });
      await store.update('function', f, { by: 'controller', ifVersion: f.metadata.resourceVersion });
      await store.setStatus('function', 'nuclio', 'f', { state: 'ready' }, { by: 'platform' });
      await store.setStatus('function', 'nuclio', 'f', { state: 'error' });
      await store.batch(
        [
          { op: 'create', kind: 'function', object: fn('g') },
          { op: 'delete', kind: 'function', namespace: 'nuclio', name: 'f' },
        ],
        { by: 'api' },
      );
      await store.delete('function', 'nuclio', 'g', { by: 'controller' });
      await store.create('function', fn('h'));
      stop();
      assert.deepEqual(seen, [
        'created:f:api',
        'updated:f:controller',
        'status:f:platform',
        'status:f:-',
        'created:g:api',
        'deleted:f:api',
        'deleted:g:controller',
        'created:h:-',
      ]);
    });

    it('namespaces() lists the namespaces in use', async () => {
      store = await makeStore();
      await store.create('project', project('a', 'n1'));
      await store.create('project', project('b', 'n2'));
      assert.deepEqual(await store.namespaces(), ['n1', 'n2']);
    });
  });
}
