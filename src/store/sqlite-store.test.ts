import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './sqlite-store.js';
import { storeContract } from './store.contract.js';

storeContract('SqliteStore in memory', async () => new SqliteStore(':memory:'));
storeContract('SqliteStore on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-store-'));
  return new SqliteStore(join(dir, 'store.db'));
});

describe('SqliteStore', () => {
  it('keeps committed resources and versions across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-store-'));
    try {
      const file = join(dir, 'store.db');
      const a = new SqliteStore(file);
      const created = await a.create('project', { metadata: { name: 'p', namespace: 'nuclio' }, spec: {}, status: {} });
      await a.close();
      const b = new SqliteStore(file);
      assert.deepEqual(await b.get('project', 'nuclio', 'p'), created);
      const next = await b.create('project', { metadata: { name: 'q', namespace: 'nuclio' }, spec: {}, status: {} });
      assert.ok(Number(next.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
