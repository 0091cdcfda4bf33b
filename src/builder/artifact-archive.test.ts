import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { ArtifactArchives, keptInArchive } from './artifact-archive.js';

const root = mkdtempSync(join(tmpdir(), 'protium-archive-'));
after(() => rmSync(root, { recursive: true, force: true }));
const A = 'a'.repeat(32);

function artifact(id: string): string {
  const dir = join(root, 'artifacts', id);
  mkdirSync(join(dir, '.protium', 'npm-cache', 'x'), { recursive: true });
  mkdirSync(join(dir, '.protium', 'home'), { recursive: true });
  mkdirSync(join(dir, '.protium', 'npm-global', 'bin'), { recursive: true });
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, '.protium', 'artifact.json'), JSON.stringify({ id }));
  writeFileSync(join(dir, '.protium', 'npm-cache', 'x', 'big'), 'cache');
  writeFileSync(join(dir, '.protium', 'home', '.npmrc'), 'secret=1');
  writeFileSync(join(dir, 'handler.js'), 'exports.handler = () => "hi"');
  writeFileSync(join(dir, 'lib', 'util.js'), 'module.exports = 1');
  writeFileSync(join(dir, '.protium', 'npm-global', 'tool.js'), '#!/usr/bin/env node');
  symlinkSync('../tool.js', join(dir, '.protium', 'npm-global', 'bin', 'tool'));
  return dir;
}

describe('keptInArchive()', () => {
  for (const [rel, kept] of [
    ['handler.js', true],
    ['.protium/artifact.json', true],
    ['.protium/npm-global/bin/x', true],
    ['.protium/npm-cache', false],
    ['.protium/npm-cache/_cacache/x', false],
    ['.protium/home/.npmrc', false],
    ['.protium/homework', true],
  ] as const) {
    it(`${rel} → ${kept}`, () => assert.equal(keptInArchive(rel), kept));
  }
});

describe('ArtifactArchives', () => {
  const archives = new ArtifactArchives((id) => join(root, 'artifacts', id), join(root, 'archives'));

  it("packs an artifact once: the digest is the SHA-256 of the archive's bytes; build-only folders are left out; links stay links", async () => {
    artifact(A);
    const a = await archives.archive(A);
    assert.ok(a);
    const bytes = readFileSync(a.path);
    assert.equal(a.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    assert.equal(a.size, bytes.length);
    const entries: { path: string; type: string }[] = [];
    await tar.t({ file: a.path, onReadEntry: (e) => entries.push({ path: e.path, type: e.type }) });
    const paths = entries.map((e) => e.path.replace(/\/$/, ''));
    assert.ok(
      paths.includes('handler.js') && paths.includes('lib/util.js') && paths.includes('.protium/artifact.json'),
    );
    assert.ok(!paths.some((p) => p.startsWith('.protium/npm-cache') || p.startsWith('.protium/home')), paths.join(' '));
    assert.equal(entries.find((e) => e.path === '.protium/npm-global/bin/tool')?.type, 'SymbolicLink');
    // Asked again (at once, and later): the same archive, not packed anew.
    const [b, c] = await Promise.all([archives.archive(A), archives.archive(A)]);
    assert.deepEqual([b, c], [a, a]);
  });

  it('an artifact that does not exist has no archive', async () => {
    assert.equal(await archives.archive('c'.repeat(32)), undefined);
  });

  it('prune() removes the archives of artifacts not kept, and only those', async () => {
    const B = 'b'.repeat(32);
    artifact(B);
    const b = await archives.archive(B);
    assert.deepEqual(await archives.prune(new Set([A])), [B]);
    assert.equal(existsSync(b!.path), false);
    assert.ok(await archives.existing(A));
  });
});
