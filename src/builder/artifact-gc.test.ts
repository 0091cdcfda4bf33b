import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { artifactIdOfImage, artifactsToCollect, referencedArtifacts } from './artifact-gc.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = '0123456789abcdef0123456789abcdef';

describe('artifactIdOfImage', () => {
  const cases: [string | undefined, string | undefined][] = [
    [`protium/processor-hello:${A}`, A],
    [`localhost:5000/processor-x:${C}`, C],
    ['protium/processor-hello:latest', undefined],
    [`protium/processor-hello:${A.toUpperCase()}`, undefined],
    [`protium/processor-hello:${A}0`, undefined],
    [A, undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [image, id] of cases) {
    it(`artifactIdOfImage(${JSON.stringify(image)}) is ${id ?? 'undefined'}`, () =>
      assert.equal(artifactIdOfImage(image), id));
  }
});

describe('referencedArtifacts', () => {
  it('referencedArtifacts() takes spec.image and spec.build.image of every function, once each', () => {
    const got = referencedArtifacts([
      { spec: { image: `protium/processor-f:${A}`, build: {} } },
      { spec: { image: `protium/processor-g:${A}`, build: {} } },
      { spec: { build: { image: `protium/processor-h:${B}` } } },
      { spec: { image: 'nginx:latest', build: {} } },
      { spec: { build: {} } },
    ]);
    assert.deepEqual([...got].sort(), [A, B]);
  });
});

describe('artifactsToCollect', () => {
  const table: [string, string[], string[], string[]][] = [
    // what, present, keep, collected
    ['nothing present', [], [A], []],
    ['everything referenced', [A, B], [A, B], []],
    ['one no function refers to', [A, B], [A], [B]],
    ['all, when nothing keeps any', [B, A, C], [], [C, A, B]],
    ['never staging or trash folders of builds in progress', [`.staging-${'1'.repeat(12)}`, `.trash-${A}`, A], [], [A]],
    ['never other names', ['README', 'tmp', A.slice(1), `${A}x`], [], []],
    ['a kept id that is not present is ignored', [A], [B, C], [A]],
  ];
  for (const [what, present, keep, want] of table) {
    it(`artifactsToCollect() collects ${what}`, () => {
      assert.deepEqual(artifactsToCollect(present, new Set(keep)), want);
    });
  }
});
