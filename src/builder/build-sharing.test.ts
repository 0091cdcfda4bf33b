/**
 * Many builds at once (issue 21): at most `concurrency` run together, and builds of the same content hash
 * are computed once — the others wait for it and reuse its artifact.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { TEMPLATES_DIR } from '../paths.js';
import { PROCESS_GROUP_ONLY } from '../platform/local/confinement.js';
import type { FunctionConfig } from '../resources/types.js';
import { ArtifactStore } from './artifact-store.js';
import { BuildCommands } from './build-commands.js';
import { BuildError } from './builder.js';
import { LocalBuilder } from './local-builder.js';
import { TemplateCatalog } from './template-catalog.js';

describe('LocalBuilder with many builds at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-build-sharing-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const makeBuilder = (concurrency: number) =>
    new LocalBuilder({
      artifacts: new ArtifactStore(join(dir, `artifacts-${concurrency}-${Math.random()}`)),
      templates: TemplateCatalog.load(TEMPLATES_DIR),
      sourceRoots: { roots: [], forbidden: [dir] },
      sourceLimits: loadConfig({ dataDir: dir }, {}).sourceLimits,
      commands: new BuildCommands({
        baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        packageManagers: { env: {}, files: [] },
        jail: PROCESS_GROUP_ONLY('a test'),
        pidDir: join(dir, 'run', 'builds'),
      }),
      concurrency,
    });
  const fn = (name: string, source: string, commands: string[]): FunctionConfig =>
    ({
      metadata: { name, namespace: 'nuclio' },
      spec: {
        runtime: 'nodejs',
        handler: 'handler:handler',
        build: { functionSourceCode: Buffer.from(source).toString('base64'), commands },
      },
    }) as FunctionConfig;

  it('build() runs at most `concurrency` builds at once, and every one of them', async () => {
    const running = join(dir, 'running');
    const seen = join(dir, 'seen');
    mkdirSync(running);
    // Each build's command counts the builds running as it starts (marker files), then lingers.
    const command = `touch ${running}/$$ && ls ${running} | wc -l >> ${seen} && sleep 0.3 && rm ${running}/$$`;
    const builder = makeBuilder(2);
    const artifacts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => builder.build(fn(`f${i}`, `exports.handler = async () => ${i};`, [command]))),
    );
    assert.equal(new Set(artifacts.map((a) => a.id)).size, 6, 'six distinct artifacts');
    const counts = readFileSync(seen, 'utf8').trim().split('\n').map(Number);
    assert.equal(counts.length, 6, 'every build ran its command');
    assert.ok(Math.max(...counts) <= 2, `never more than 2 builds at once, saw ${counts.join(',')}`);
    assert.deepEqual(builder.load, { running: 0, waiting: 0 });
  });

  it('build() of one content hash asked for at once runs the build once; each caller gets its own image name', async () => {
    const ran = join(dir, 'ran-once');
    const builder = makeBuilder(4);
    const lines: string[][] = Array.from({ length: 5 }, () => []);
    const artifacts = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        builder.build(fn(`same-${i}`, 'exports.handler = async () => "same";', [`echo built >> ${ran}; sleep 0.2`]), {
          onLog: (l) => lines[i].push(l.message),
        }),
      ),
    );
    assert.equal(readFileSync(ran, 'utf8'), 'built\n', 'the build commands ran once');
    assert.equal(new Set(artifacts.map((a) => a.id)).size, 1, 'one artifact');
    assert.deepEqual(
      artifacts.map((a) => a.image.split(':')[0]),
      [0, 1, 2, 3, 4].map((i) => `protium/processor-same-${i}`),
    );
    assert.equal(lines.filter((l) => l.some((m) => m.startsWith('Waiting for an identical build'))).length, 4);
  });

  it('build() of inline code built before reuses its artifact without staging the source again', async () => {
    let stagings = 0;
    class CountingStore extends ArtifactStore {
      override async staging(): Promise<string> {
        stagings++;
        return super.staging();
      }
    }
    const builder = new LocalBuilder({
      artifacts: new CountingStore(join(dir, 'artifacts-counting')),
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
    const first = await builder.build(fn('inline-a', 'exports.handler = async () => "inline";', []));
    const again = await builder.build(fn('inline-b', 'exports.handler = async () => "inline";', []));
    assert.equal(again.id, first.id);
    assert.equal(again.image, `protium/processor-inline-b:${first.id}`);
    assert.equal(stagings, 1, 'the second build staged nothing');
    // Another handler, other commands, other code: each is built (a different id or a fresh staging).
    const other = await builder.build(fn('inline-c', 'exports.handler = async () => "other";', []));
    assert.notEqual(other.id, first.id);
    const withCommand = await builder.build(fn('inline-d', 'exports.handler = async () => "inline";', ['true']));
    assert.notEqual(withCommand.id, first.id);
    assert.equal(stagings, 3);
    // Its artifact gone (collected): built again from the source.
    rmSync(join(dir, 'artifacts-counting', first.id), { recursive: true, force: true });
    const rebuilt = await builder.build(fn('inline-e', 'exports.handler = async () => "inline";', []));
    assert.equal(rebuilt.id, first.id);
    assert.equal(stagings, 4);
  });

  it('build() waiting for an identical build that fails builds on its own, and fails with its own error', async () => {
    const ran = join(dir, 'ran-failing');
    const builder = makeBuilder(4);
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) =>
        builder.build(fn(`bad-${i}`, 'exports.handler = async () => "bad";', [`echo x >> ${ran}; sleep 0.2; exit 3`])),
      ),
    );
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof BuildError);
    }
    assert.equal(readFileSync(ran, 'utf8').split('\n').filter(Boolean).length, 3, 'each tried on its own');
    assert.deepEqual(builder.load, { running: 0, waiting: 0 });
  });
});
