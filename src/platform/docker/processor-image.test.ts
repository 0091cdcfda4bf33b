import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths.js';
import { imageTag, importClosure, packageOf, processorContext } from './processor-image.js';

describe('packageOf()', () => {
  for (const [spec, want] of [
    ['croner', 'croner'],
    ['@scope/pkg/sub/x.js', '@scope/pkg'],
    ['undici/lib/x', 'undici'],
    ['./x.js', undefined],
    ['../y.js', undefined],
    ['node:fs', undefined],
    ['/abs.js', undefined],
    ['data:text/javascript,1', undefined],
  ] as const) {
    it(`${spec} → ${want}`, () => assert.equal(packageOf(spec), want));
  }
});

describe("the processor image's context (from this checkout's build)", () => {
  it("holds every file the processor and the fetcher import, and none of the dashboard's", async () => {
    const { files, packages } = await importClosure(PACKAGE_ROOT, [
      'dist/src/processor/main.js',
      'dist/src/processor/fetch-artifact.js',
    ]);
    for (const f of [
      'dist/src/processor/main.js',
      'dist/src/processor/fetch-artifact.js',
      'dist/src/processor/triggers/http-trigger.js',
      'dist/src/processor/runtimes/python-runtime.js',
      'dist/src/util/connection-guard.js',
    ])
      assert.ok(files.includes(f), `${f} is in it`);
    for (const f of ['dist/src/dashboard.js', 'dist/src/api/server.js', 'dist/src/store/sqlite-store.js'])
      assert.ok(!files.includes(f), `${f} is not`);
    for (const f of files) assert.ok(existsSync(join(PACKAGE_ROOT, f)), f);
    assert.deepEqual(
      packages,
      ['amqplib', 'croner', 'kafkajs', 'mqtt', 'nats'],
      'the packages of the cron and broker triggers',
    );
  });

  it('lays out the Dockerfile, the entry script, the python wrapper and the packages; the tag follows the files and the base', async () => {
    const files = await processorContext(PACKAGE_ROOT);
    const rels = files.map((f) => f.rel);
    for (const r of [
      'Dockerfile',
      'protium/bin/processor',
      'protium/package.json',
      'protium/src/processor/runtimes/python/wrapper.py',
      'protium/src/processor/runtimes/python/protium_wire.py',
      'protium/node_modules/croner/package.json',
    ])
      assert.ok(rels.includes(r), r);
    assert.equal(files.find((f) => f.rel === 'protium/bin/processor')!.mode, 0o755);
    const pkg = JSON.parse(files.find((f) => f.rel === 'protium/package.json')!.content.toString()) as { type: string };
    assert.equal(pkg.type, 'module');
    const tag = imageTag(files, 'node:20-bookworm-slim', '0.1.0');
    assert.match(tag, /^protium-processor:0\.1\.0-[0-9a-f]{16}$/);
    assert.equal(imageTag(files, 'node:20-bookworm-slim', '0.1.0'), tag);
    assert.notEqual(imageTag(files, 'localhost/protium-base:bookworm', '0.1.0'), tag, 'another base, another image');
    const changed = files.map((f) =>
      f.rel === 'protium/dist/src/processor/main.js'
        ? { ...f, content: Buffer.concat([f.content, Buffer.from('\n')]) }
        : f,
    );
    assert.notEqual(imageTag(changed, 'node:20-bookworm-slim', '0.1.0'), tag, 'another processor, another image');
  });
});
