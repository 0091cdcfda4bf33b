import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACT_META_FILE } from './artifact-layout.js';
import { ArtifactStore } from './artifact-store.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('ArtifactStore', () => {
  let dir: string;
  let store: ArtifactStore;
  const make = (id: string) => {
    mkdirSync(join(dir, id, '.protium'), { recursive: true });
    writeFileSync(
      join(dir, id, '.protium', 'artifact.json'),
      JSON.stringify({ id, image: `protium/processor-f:${id}`, runtime: 'nodejs', family: 'nodejs', handler: 'h:h' }),
    );
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'protium-store-test-'));
    store = new ArtifactStore(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('collect() removes what keep() leaves out, keeps the rest and staging folders, and says what it removed', async () => {
    make(A);
    make(B);
    const staging = await store.staging();
    assert.deepEqual(await store.collect(() => new Set([A])), [B]);
    assert.equal(existsSync(join(dir, A)), true);
    assert.equal(existsSync(join(dir, B)), false);
    assert.equal(existsSync(staging), true);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('.trash')),
      [],
      'trash is emptied',
    );
    rmSync(staging, { recursive: true });
  });

  for (const first of ['reuse', 'collect'] as const) {
    it(`reuse() racing collect() (${first} called first) never hands out an artifact that is being removed`, async () => {
      for (let i = 0; i < 25; i++) {
        make(A);
        const pins = new Set<string>();
        const reuse = () => store.reuse(A, (id) => pins.add(id));
        const collect = () => store.collect(() => new Set(pins));
        const [got, removed] =
          first === 'reuse'
            ? await Promise.all([reuse(), collect()])
            : await Promise.all([collect(), reuse()]).then(([r, g]) => [g, r] as const);
        if (got) {
          assert.equal(existsSync(join(store.dirOf(got.id), ARTIFACT_META_FILE)), true, 'a reused artifact is on disk');
          assert.deepEqual(removed, []);
        } else {
          assert.deepEqual(removed, [A]);
          assert.equal(existsSync(join(dir, A)), false);
        }
        assert.equal(first === 'reuse' ? got?.id : removed[0], A, 'the first caller wins');
      }
    });
  }

  it('removeLeftovers() removes staging and trash folders only', async () => {
    make(A);
    mkdirSync(join(dir, '.staging-000000000000'));
    mkdirSync(join(dir, `.trash-${B}-0000`));
    assert.deepEqual((await store.removeLeftovers()).sort(), ['.staging-000000000000', `.trash-${B}-0000`]);
    assert.deepEqual(readdirSync(dir), [A]);
  });
});
