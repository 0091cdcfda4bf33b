import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { contentHash, listFiles } from './content-hash.js';

describe('contentHash', () => {
  let root: string;
  let n = 0;
  /** Writes `files` (in the given order) into a fresh folder. */
  const tree = (files: [string, string | Buffer][]) => {
    const d = join(root, `t${++n}`);
    mkdirSync(d);
    for (const [name, data] of files) {
      mkdirSync(dirname(join(d, name)), { recursive: true });
      writeFileSync(join(d, name), data);
    }
    return d;
  };
  const inputs = { runtime: 'python:3.9', handler: 'main:handler', commands: ['pip install x'] };
  const files: [string, string][] = [
    ['main.py', 'print(1)\n'],
    ['lib/util.py', 'x = 1\n'],
    ['requirements.txt', 'x\n'],
  ];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'protium-hash-test-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('contentHash() is a 32-character hex id', async () => {
    assert.match(await contentHash(inputs, tree(files)), /^[0-9a-f]{32}$/);
  });

  it('contentHash() is stable across file creation order', async () => {
    const a = await contentHash(inputs, tree(files));
    const b = await contentHash(inputs, tree([...files].reverse()));
    const c = await contentHash(inputs, tree([files[1], files[0], files[2]]));
    assert.equal(a, b);
    assert.equal(a, c);
  });

  it('contentHash() ignores empty folders', async () => {
    const plain = tree(files);
    const withEmpty = tree(files);
    mkdirSync(join(withEmpty, 'empty', 'deeper'), { recursive: true });
    assert.equal(await contentHash(inputs, withEmpty), await contentHash(inputs, plain));
  });

  const variants: [string, () => [unknown, [string, string | Buffer][]]][] = [
    ['a file content changes', () => [inputs, [['main.py', 'print(2)\n'], files[1], files[2]]]],
    ['a file name changes', () => [inputs, [['main2.py', 'print(1)\n'], files[1], files[2]]]],
    ['a file moves to another folder', () => [inputs, [['main.py', 'print(1)\n'], ['util.py', 'x = 1\n'], files[2]]]],
    ['a file is added', () => [inputs, [...files, ['extra.txt', '']]]],
    ['a file is removed', () => [inputs, files.slice(1)]],
    ['the runtime changes', () => [{ ...inputs, runtime: 'python:3.11' }, files]],
    ['the handler changes', () => [{ ...inputs, handler: 'main:other' }, files]],
    ['the build commands change', () => [{ ...inputs, commands: [] }, files]],
    ['the inputs are empty', () => [{}, files]],
    [
      'bytes move from one file to the next',
      () => [inputs, [['main.py', 'print(1)\nx'], ['lib/util.py', ' = 1\n'], files[2]]],
    ],
  ];
  for (const [what, make] of variants) {
    it(`contentHash() changes when ${what}`, async () => {
      const [otherInputs, otherFiles] = make();
      const a = await contentHash(inputs, tree(files));
      const b = await contentHash(otherInputs, tree(otherFiles));
      assert.notEqual(a, b);
    });
  }

  it('contentHash() tells one file with NUL bytes from two files', async () => {
    const one = await contentHash(inputs, tree([['x', Buffer.from('y\0z\0w')]]));
    const two = await contentHash(
      inputs,
      tree([
        ['x', 'y'],
        ['z', 'w'],
      ]),
    );
    assert.notEqual(one, two);
  });

  it('contentHash() accepts undefined inputs', async () => {
    assert.match(await contentHash(undefined, tree(files)), /^[0-9a-f]{32}$/);
  });

  it('listFiles() lists files only, with relative sorted paths, skipping symlinks', async () => {
    const d = tree([
      ['b.txt', ''],
      ['a/z.txt', ''],
      ['a/b/c.txt', ''],
      ['A.txt', ''],
    ]);
    mkdirSync(join(d, 'empty'));
    symlinkSync(join(d, 'b.txt'), join(d, 'link'));
    assert.deepEqual(await listFiles(d), ['A.txt', 'a/b/c.txt', 'a/z.txt', 'b.txt']);
  });
});
