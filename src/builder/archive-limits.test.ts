import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { extractArchive, type ArchiveKind } from './archive.js';
import { BuildError } from './builder.js';
import { formatBytes, SourceBudget } from './source-limits.js';

const MiB = 2 ** 20;
const LIMITS = { maxBytes: MiB, maxFiles: 20 };

/** Bytes written under `dir`, files only. */
function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? bytesUnder(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

/**
 * Zips made with python's zipfile (deflated). `lie` rewrites every declared uncompressed size to 10 bytes,
 * in the local headers and the central directory, as a zip bomb would.
 */
const ZIP = `
import json, struct, sys, zipfile
for spec in json.loads(sys.argv[1]):
    with zipfile.ZipFile(spec['file'], 'w', zipfile.ZIP_DEFLATED) as z:
        for name, size in spec['entries']:
            z.writestr(name, b'\\0' * size)
    if spec.get('lie'):
        data = bytearray(open(spec['file'], 'rb').read())
        i = 0
        while i < len(data) - 4:
            sig = bytes(data[i:i+4])
            if sig == b'PK\\x03\\x04': struct.pack_into('<I', data, i + 22, 10)
            if sig == b'PK\\x01\\x02': struct.pack_into('<I', data, i + 24, 10)
            i += 1
        open(spec['file'], 'wb').write(data)
`;

describe('extractArchive() within --max-source-size and --max-source-files', () => {
  let root: string;
  let n = 0;
  const dest = () => {
    const d = join(root, `dest-${++n}`);
    mkdirSync(d);
    return d;
  };
  const file = (name: string) => join(root, name);
  const isLimit = (flag: string) => (e: unknown) => {
    assert.ok(e instanceof BuildError, String(e));
    assert.ok(e.message.includes(flag), e.message);
    return true;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'protium-limits-test-'));
    const zips = [
      { file: file('bomb.zip'), entries: [['zeros.bin', 3 * MiB]] },
      { file: file('liar.zip'), entries: [['zeros.bin', 3 * MiB]], lie: true },
      { file: file('many.zip'), entries: Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, 1]) },
      {
        file: file('split.zip'),
        entries: [
          ['a.bin', 600 * 1024],
          ['b.bin', 600 * 1024],
        ],
      },
      {
        file: file('fits.zip'),
        entries: [
          ['main.py', 100],
          ['lib/util.py', 200 * 1024],
        ],
      },
    ];
    execFileSync('python3', ['-c', ZIP, JSON.stringify(zips)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const src = join(root, 'src');
    mkdirSync(join(src, 'big'), { recursive: true });
    writeFileSync(join(src, 'big', 'zeros.bin'), Buffer.alloc(3 * MiB));
    mkdirSync(join(src, 'many'));
    for (let i = 0; i < 30; i++) writeFileSync(join(src, 'many', `f${i}.txt`), 'x');
    mkdirSync(join(src, 'fits'));
    writeFileSync(join(src, 'fits', 'main.py'), 'print(1)\n');
    for (const kind of ['tgz', 'tar'] as const) {
      for (const what of ['big', 'many', 'fits'])
        await tar.c(
          { gzip: kind === 'tgz', file: file(`${what}.${kind}`), cwd: join(src, what) },
          readdirSync(join(src, what)),
        );
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('extractArchive() stops a zip bomb at --max-source-size (3 MiB of zeros in a few KB) and writes at most the limit', async () => {
    assert.ok(statSync(file('bomb.zip')).size < 64 * 1024);
    const d = dest();
    await assert.rejects(extractArchive(file('bomb.zip'), 'zip', d, LIMITS), isLimit('--max-source-size'));
    assert.ok(bytesUnder(d) <= LIMITS.maxBytes, `${bytesUnder(d)} bytes written`);
  });

  it('extractArchive() does not believe a zip that declares 10 bytes and holds 3 MiB', async () => {
    const d = dest();
    await assert.rejects(extractArchive(file('liar.zip'), 'zip', d, LIMITS), BuildError);
    assert.ok(bytesUnder(d) <= LIMITS.maxBytes, `${bytesUnder(d)} bytes written`);
  });

  it('extractArchive() counts bytes across entries: two entries of 600 KiB are over 1 MiB', async () => {
    const d = dest();
    await assert.rejects(
      extractArchive(file('split.zip'), 'zip', d, LIMITS),
      isLimit('over the size limit of 1 MiB (1048576 bytes) (--max-source-size)'),
    );
    assert.ok(bytesUnder(d) <= LIMITS.maxBytes);
  });

  it('extractArchive() refuses a zip of more entries than --max-source-files', async () => {
    await assert.rejects(
      extractArchive(file('many.zip'), 'zip', dest(), LIMITS),
      isLimit('more than 20 files and folders, the limit (--max-source-files)'),
    );
  });

  for (const kind of ['tgz', 'tar'] as ArchiveKind[]) {
    it(`extractArchive() stops a ${kind} that expands over --max-source-size while it streams`, async () => {
      const d = dest();
      await assert.rejects(extractArchive(file(`big.${kind}`), kind, d, LIMITS), isLimit('--max-source-size'));
      assert.ok(bytesUnder(d) <= LIMITS.maxBytes, `${bytesUnder(d)} bytes written`);
    });

    it(`extractArchive() refuses a ${kind} of more entries than --max-source-files, writing at most that many`, async () => {
      const d = dest();
      await assert.rejects(extractArchive(file(`many.${kind}`), kind, d, LIMITS), isLimit('--max-source-files'));
      assert.ok(readdirSync(d).length <= LIMITS.maxFiles);
    });

    it(`extractArchive() extracts a ${kind} within the limits`, async () => {
      const d = dest();
      await extractArchive(file(`fits.${kind}`), kind, d, LIMITS);
      assert.equal(readFileSync(join(d, 'main.py'), 'utf8'), 'print(1)\n');
    });
  }

  it('extractArchive() extracts a zip within the limits', async () => {
    const d = dest();
    await extractArchive(file('fits.zip'), 'zip', d, LIMITS);
    assert.equal(statSync(join(d, 'lib', 'util.py')).size, 200 * 1024);
  });
});

describe('SourceBudget', () => {
  const cases: [string, (b: SourceBudget) => void, RegExp | undefined][] = [
    [
      'bytes up to the limit',
      (b) => {
        b.addBytes(600);
        b.addBytes(400);
      },
      undefined,
    ],
    [
      'one byte over the limit',
      (b) => {
        b.addBytes(1000);
        b.addBytes(1);
      },
      /^The source is over the size limit of 1000 bytes \(--max-source-size\)$/,
    ],
    [
      'entries up to the limit',
      (b) => {
        b.addEntry();
        b.addEntry();
      },
      undefined,
    ],
    [
      'one entry over the limit',
      (b) => {
        b.addEntry();
        b.addEntry();
        b.addEntry();
      },
      /^The source holds more than 2 files and folders, the limit \(--max-source-files\)$/,
    ],
  ];
  for (const [what, act, error] of cases) {
    it(`SourceBudget ${error ? 'throws a BuildError naming the limit for' : 'accepts'} ${what}`, () => {
      const b = new SourceBudget({ maxBytes: 1000, maxFiles: 2 }, 'The source');
      if (error)
        assert.throws(
          () => act(b),
          (e: unknown) => e instanceof BuildError && error.test(e.message),
        );
      else act(b);
    });
  }
});

describe('formatBytes', () => {
  const cases: [number, string][] = [
    [0, '0 bytes'],
    [1000, '1000 bytes'],
    [1024, '1 KiB (1024 bytes)'],
    [1536, '1.5 KiB (1536 bytes)'],
    [MiB, '1 MiB (1048576 bytes)'],
    [512 * MiB, '512 MiB (536870912 bytes)'],
    [2 ** 40, '1 TiB (1099511627776 bytes)'],
  ];
  for (const [n, want] of cases) {
    it(`formatBytes(${n}) is ${JSON.stringify(want)}`, () => assert.equal(formatBytes(n), want));
  }
});
