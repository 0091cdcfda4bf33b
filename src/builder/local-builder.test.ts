import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { TEMPLATES_DIR } from '../paths.js';
import { PROCESS_GROUP_ONLY } from '../platform/local/confinement.js';
import type { FunctionConfig } from '../resources/types.js';
import { ArtifactStore } from './artifact-store.js';
import { BuildCommands } from './build-commands.js';
import { LocalBuilder } from './local-builder.js';
import { TemplateCatalog } from './template-catalog.js';

describe('LocalBuilder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-builder-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const artifacts = new ArtifactStore(join(dir, 'artifacts'));
  const builder = new LocalBuilder({
    artifacts,
    templates: TemplateCatalog.load(TEMPLATES_DIR),
    sourceRoots: { roots: [], forbidden: [dir] },
    sourceLimits: loadConfig({ dataDir: dir }, {}).sourceLimits,
    commands: new BuildCommands({
      baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      packageManagers: { env: {}, files: [] },
      jail: PROCESS_GROUP_ONLY('a test'),
      pidDir: join(dir, 'run', 'builds'),
    }),
  });
  const fn = (name: string): FunctionConfig =>
    ({
      metadata: { name, namespace: 'nuclio' },
      spec: {
        runtime: 'nodejs',
        handler: 'handler:handler',
        build: {
          functionSourceCode: Buffer.from('exports.handler = async () => "same";').toString('base64'),
          commands: ['sleep 1'],
        },
      },
    }) as FunctionConfig;

  it('build() of inputs another build published meanwhile keeps the published artifact: replicas may run from it', async () => {
    // Both builds miss the cache (the second starts while the first runs its command), so both publish.
    const first = builder.build(fn('one'));
    await new Promise((r) => setTimeout(r, 300));
    const second = builder.build(fn('two'));
    const a = await first;
    // A replica of the first function runs from the folder now; it must not be swapped from under it.
    const marker = join(artifacts.dirOf(a.id), 'in-use');
    writeFileSync(marker, 'a replica runs here');
    const b = await second;
    assert.equal(b.id, a.id, 'the same inputs make the same artifact');
    assert.ok(existsSync(marker), 'the published folder was kept, not replaced by the second build');
    assert.equal(b.image, 'protium/processor-two:' + a.id, 'each build names its own image');
  });
});
