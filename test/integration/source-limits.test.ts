/**
 * Bounds of a function's source (issue 12, item 5): an archive may expand to at most --max-source-size
 * bytes and --max-source-files entries, whatever it declares; so may a download, a local folder and
 * inline code. What the API can tell cheaply is a 400 naming the field and the limit; the rest ends the
 * build in state `error` with a message naming the limit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { deploy, startTestDashboard, waitFor, type ErrorBody, type TestDashboard } from '../helpers/start-dashboard.js';

const MiB = 2 ** 20;
const handler = 'exports.handler = (c) => c.callback("ok");';

describe('source limits (--max-source-size 1Mi, --max-source-files 50)', () => {
  let d: TestDashboard;
  let dir: string;
  let server: http.Server;
  let serverUrl: string;
  const archiveFn = (name: string, bytes: Buffer) => ({
    metadata: { name, labels: { 'nuclio.io/project-name': 'default' } },
    spec: {
      runtime: 'nodejs',
      handler: 'handler:handler',
      build: { codeEntryType: 'archive', functionSourceCode: bytes.toString('base64') },
    },
  });
  const pathFn = (name: string, path: string) => ({
    metadata: { name, labels: { 'nuclio.io/project-name': 'default' } },
    spec: { runtime: 'nodejs', handler: 'handler:handler', build: { path } },
  });
  const errorOf = async (name: string) => {
    const f = await waitFor(d, name, (x) => x.status?.state === 'error' || x.status?.state === 'ready');
    assert.equal(f.status.state, 'error', `${name} should not deploy`);
    return f.status.message as string;
  };
  const tgz = async (name: string, files: Record<string, string | Buffer>) => {
    const src = join(dir, `${name}-src`);
    mkdirSync(src, { recursive: true });
    for (const [f, data] of Object.entries(files)) writeFileSync(join(src, f), data);
    const file = join(dir, `${name}.tgz`);
    await tar.c({ gzip: true, file, cwd: src }, Object.keys(files));
    return readFileSync(file);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-source-limits-'));
    mkdirSync(join(dir, 'root', 'big'), { recursive: true });
    writeFileSync(join(dir, 'root', 'big', 'handler.js'), handler);
    writeFileSync(join(dir, 'root', 'big', 'zeros.bin'), Buffer.alloc(2 * MiB));
    // A download server: /big answers 2 MiB without announcing its length (chunked).
    server = http.createServer((req, res) => {
      if (req.url === '/big.js') {
        res.writeHead(200, { 'content-type': 'application/javascript' });
        for (let i = 0; i < 32; i++) res.write(Buffer.alloc(64 * 1024, 0x20));
        res.end(handler);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    d = await startTestDashboard({ maxSourceSize: '1Mi', maxSourceFiles: '50', sourceRoot: [join(dir, 'root')] });
  });
  after(async () => {
    await d.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 400 for an inline zip whose directory declares more than the limits (a 1 MB-style bomb)', async () => {
    const zips = join(dir, 'zips');
    mkdirSync(zips);
    execFileSync('python3', [
      '-c',
      `
import zipfile
with zipfile.ZipFile('${zips}/bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('handler.js', ${JSON.stringify(handler)})
    z.writestr('zeros.bin', b'\\0' * (8 * 1024 * 1024))
with zipfile.ZipFile('${zips}/many.zip', 'w') as z:
    for i in range(60): z.writestr('f%d.txt' % i, 'x')
`,
    ]);
    const bomb = readFileSync(join(zips, 'bomb.zip'));
    assert.ok(bomb.length < 64 * 1024, `the bomb is ${bomb.length} bytes`);
    const res = await d.api<ErrorBody>('POST', '/api/functions', { body: archiveFn('zip-bomb', bomb) });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.field, 'spec.build.functionSourceCode');
    assert.match(
      res.json.error,
      /The archive in spec\.build\.functionSourceCode \(expanded\) is over the size limit of 1 MiB \(1048576 bytes\) \(--max-source-size\)/,
    );
    const many = await d.api<ErrorBody>('POST', '/api/functions', {
      body: archiveFn('zip-many', readFileSync(join(zips, 'many.zip'))),
    });
    assert.equal(many.status, 400, many.text);
    assert.match(many.json.error, /more than 50 files and folders, the limit \(--max-source-files\)/);
  });

  it('answers 400 for inline code that decodes to more than --max-source-size', async () => {
    const res = await d.api<ErrorBody>('POST', '/api/functions', {
      body: {
        metadata: { name: 'too-long' },
        spec: {
          runtime: 'nodejs',
          handler: 'handler:handler',
          build: { functionSourceCode: Buffer.alloc(MiB + 10, 0x20).toString('base64') },
        },
      },
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.field, 'spec.build.functionSourceCode');
    assert.match(res.json.error, /decoded\) is over the size limit of 1 MiB/);
  });

  it('ends in state error naming the limit for a tar.gz bomb, a tar.gz of too many files, a big download and a big local folder', async () => {
    const bomb = await tgz('bomb', { 'handler.js': handler, 'zeros.bin': Buffer.alloc(4 * MiB) });
    assert.ok(bomb.length < 64 * 1024);
    const files: Record<string, string> = { 'handler.js': handler };
    for (let i = 0; i < 60; i++) files[`f${i}.txt`] = 'x';
    const many = await tgz('many', files);
    for (const [name, body] of [
      ['tgz-bomb', archiveFn('tgz-bomb', bomb)],
      ['tgz-many', archiveFn('tgz-many', many)],
      ['download', pathFn('download', `${serverUrl}/big.js`)],
      ['folder', pathFn('folder', join(dir, 'root', 'big'))],
    ] as const) {
      const res = await d.api('POST', '/api/functions', { body });
      assert.equal(res.status, 202, `${name}: ${res.text}`);
    }
    assert.match(
      await errorOf('tgz-bomb'),
      /The archive \(expanded\) is over the size limit of 1 MiB \(1048576 bytes\) \(--max-source-size\)/,
    );
    assert.match(
      await errorOf('tgz-many'),
      /The archive \(expanded\) holds more than 50 files and folders, the limit \(--max-source-files\)/,
    );
    assert.match(
      await errorOf('download'),
      /Failed to download http:\/\/127\.0\.0\.1:\d+\/big\.js: it is over the size limit of 1 MiB .*--max-source-size/,
    );
    assert.match(
      await errorOf('folder'),
      /The folder spec\.build\.path ".*big" is over the size limit of 1 MiB .*--max-source-size/,
    );
    // Nothing half-built stays behind.
    assert.deepEqual(
      readdirSync(join(d.dataDir, 'artifacts')).filter((n) => n.startsWith('.staging')),
      [],
    );
  });

  it('deploys an archive within the limits', async () => {
    await deploy(
      d,
      archiveFn('fits', await tgz('fits', { 'handler.js': handler, 'data.bin': Buffer.alloc(100 * 1024) })),
    );
  });
});
