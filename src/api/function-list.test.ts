import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../store/sqlite-store.js';
import { PROJECT_LABEL, type FunctionRecord } from '../resources/types.js';
import { keyedByName } from './reply.js';
import { FunctionList } from './function-list.js';

const fn = (name: string, namespace = 'nuclio', project = 'p1'): FunctionRecord =>
  ({
    metadata: { name, namespace, labels: { [PROJECT_LABEL]: project } },
    spec: { runtime: 'python:3.9', handler: 'main:handler', build: {} },
    status: { state: 'building' },
  }) as unknown as FunctionRecord;

/** What the route answered before the list came from memory. */
async function fromStore(store: SqliteStore, ns: string, project?: string): Promise<string> {
  const fns = await store.list('function', ns, project ? { labels: { [PROJECT_LABEL]: project } } : undefined);
  return `${JSON.stringify(keyedByName(fns))}\n`;
}

describe('FunctionList', () => {
  it('body() is byte for byte the list read from the store, through creates, status writes, updates and deletes', async () => {
    const store = new SqliteStore(':memory:');
    const list = new FunctionList(store);
    // One function exists before start(): loaded, not only watched.
    await store.create('function', fn('zeta'));
    await list.start();
    const check = async (label: string) => {
      for (const [ns, project] of [
        ['nuclio', undefined],
        ['nuclio', 'p1'],
        ['nuclio', 'p2'],
        ['other', undefined],
        ['empty', undefined],
      ] as const)
        assert.equal(
          list.body(ns, project).toString(),
          await fromStore(store, ns, project),
          `${label}: ${ns} ${project}`,
        );
    };
    await check('loaded');
    // Names a JS object orders first (array indices), and one that is not an index (leading zero, too big).
    for (const name of ['b', '10', 'a-1', '2', '01', '4294967295', 'a']) await store.create('function', fn(name));
    await store.create('function', fn('c', 'nuclio', 'p2'));
    await store.create('function', fn('b', 'other'));
    await check('created');
    await store.setStatus('function', 'nuclio', 'b', { state: 'ready', httpPort: 1234 });
    await check('status');
    const b = (await store.get('function', 'nuclio', 'a'))!;
    await store.update('function', { ...b, metadata: { ...b.metadata, labels: { [PROJECT_LABEL]: 'p2' } } });
    await check('moved to another project');
    await store.delete('function', 'nuclio', '10');
    await store.delete('function', 'other', 'b');
    await check('deleted');
    list.stop();
    await store.close();
  });

  it('body() answers the same Buffer until a function of its namespace changes', async () => {
    const store = new SqliteStore(':memory:');
    const list = new FunctionList(store);
    await list.start();
    await store.create('function', fn('a'));
    await store.create('function', fn('a', 'other'));
    const first = list.body('nuclio');
    assert.equal(list.body('nuclio'), first, 'served from the cache');
    const other = list.body('other');
    await store.setStatus('function', 'other', 'a', { state: 'ready' });
    assert.equal(list.body('nuclio'), first, 'a change in another namespace keeps it');
    assert.notEqual(list.body('other'), other, 'the changed namespace is serialised again');
    await store.setStatus('function', 'nuclio', 'a', { state: 'ready' });
    assert.match(list.body('nuclio').toString(), /"state":"ready"/);
    list.stop();
    await store.close();
  });
});
