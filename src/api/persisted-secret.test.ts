import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveKey, loadOrCreateSecret } from './persisted-secret.js';

describe('loadOrCreateSecret()', () => {
  it('makes an owner-only secret once; later loads give the same bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-secret-'));
    try {
      const path = join(dir, 'secret');
      const a = loadOrCreateSecret(path);
      assert.equal(a.length, 32);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(loadOrCreateSecret(path), a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not 64 hex digits, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-secret-'));
    try {
      const path = join(dir, 'secret');
      for (const text of ['', 'short', 'z'.repeat(64), 'a'.repeat(63)]) {
        writeFileSync(path, text);
        assert.throws(() => loadOrCreateSecret(path), new RegExp(`${path}: it must hold 64 hex digits`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deriveKey(): one key per purpose, the same for the same secret', () => {
    const s = Buffer.alloc(32, 7);
    assert.deepEqual(deriveKey(s, 'a'), deriveKey(Buffer.alloc(32, 7), 'a'));
    assert.notDeepEqual(deriveKey(s, 'a'), deriveKey(s, 'b'));
    assert.notDeepEqual(deriveKey(s, 'a'), deriveKey(Buffer.alloc(32, 8), 'a'));
  });
});
