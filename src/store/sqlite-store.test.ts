import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

  it('writes made in one turn share one commit, and each resolves once another connection can read it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-store-'));
    const file = join(dir, 'store.db');
    const store = new SqliteStore(file);
    const other = new Database(file, { readonly: true });
    try {
      // data_version changes when another connection commits: one step per commit.
      const version = () => other.pragma('data_version', { simple: true }) as number;
      const before = version();
      const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
      await Promise.all(
        names.map(async (name) => {
          await store.create('project', { metadata: { name, namespace: 'nuclio' }, spec: {}, status: {} });
          const row = other.prepare('SELECT name FROM resources WHERE kind = ? AND name = ?').get('project', name);
          assert.ok(row, `${name} is readable by another connection when its write resolves`);
        }),
      );
      assert.equal(version() - before, 1, 'fifty writes made at once committed once');
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close() commits the writes of the current turn before closing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-store-'));
    try {
      const file = join(dir, 'store.db');
      const a = new SqliteStore(file);
      const pending = a.create('project', { metadata: { name: 'late', namespace: 'nuclio' }, spec: {}, status: {} });
      await a.close();
      await pending;
      const b = new SqliteStore(file);
      assert.ok(await b.get('project', 'nuclio', 'late'));
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore durability', () => {
  it('a write resolves only after the WAL file is flushed (watchers see it at its commit); a failed flush rejects the writers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-store-'));
    const flushes: ((err: NodeJS.ErrnoException | null) => void)[] = [];
    const store = new SqliteStore(join(dir, 'store.db'), { fsync: (_fd, done) => flushes.push(done) });
    const flushAsked = async () => {
      for (let i = 0; !flushes.length; i++) {
        assert.ok(i < 1000, 'the store flushes its WAL file after a commit');
        await new Promise((r) => setImmediate(r));
      }
    };
    try {
      const seen: string[] = [];
      store.watch((c) => seen.push(c.name));
      let resolved = false;
      const write = store.create('project', { metadata: { name: 'a', namespace: 'nuclio' }, spec: {}, status: {} });
      void write.then(() => (resolved = true));
      await flushAsked();
      // Committed, not yet on disk: announced (reads see it too), not acknowledged.
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      assert.equal(resolved, false);
      assert.deepEqual(seen, ['a']);
      // Writes committed while a flush runs wait for the next one.
      const second = store.create('project', { metadata: { name: 'b', namespace: 'nuclio' }, spec: {}, status: {} });
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      assert.equal(flushes.length, 1, 'one flush at a time');
      assert.deepEqual(seen, ['a', 'b'], 'both committed, both announced');
      let secondDone = false;
      void second.then(
        () => (secondDone = true),
        () => (secondDone = true),
      );
      flushes.shift()!(null);
      await write;
      assert.equal(secondDone, false, 'the second write waits for its own flush');
      await flushAsked();
      flushes.shift()!(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
      await assert.rejects(second, /Failed to flush the store's write-ahead log to disk: EIO/);
    } finally {
      const closing = store.close();
      for (const f of flushes.splice(0)) f(null);
      await closing;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
