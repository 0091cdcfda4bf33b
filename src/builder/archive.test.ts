import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { archiveKindOf, extractArchive, safeEntryPath, sniffArchive, type ArchiveKind } from './archive.js';
import { BuildError } from './builder.js';

/** Generous bounds: these tests are about paths and links (archive-limits.test.ts is about the bounds). */
const LIMITS = { maxBytes: 64 * 2 ** 20, maxFiles: 1000 };

describe('archiveKindOf', () => {
  const cases: [string, ArchiveKind | undefined][] = [
    ['f.zip', 'zip'],
    ['F.ZIP', 'zip'],
    ['f.tar.gz', 'tgz'],
    ['f.TGZ', 'tgz'],
    ['f.tar', 'tar'],
    ['https://example.com/path/f.zip?token=abc', 'zip'],
    ['https://example.com/f.tar.gz?x=1&y=.zip', 'tgz'],
    ['f.gz', undefined],
    ['f.py', undefined],
    ['zip', undefined],
    ['f.zip.bak', undefined],
    ['', undefined],
  ];
  for (const [name, kind] of cases) {
    it(`archiveKindOf() answers ${kind} for ${JSON.stringify(name)}`, () => {
      assert.equal(archiveKindOf(name), kind);
    });
  }
});

describe('sniffArchive', () => {
  const tarHeader = Buffer.alloc(512);
  tarHeader.write('ustar', 257, 'ascii');
  const cases: [string, Buffer, ArchiveKind | undefined][] = [
    ['a zip local header', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), 'zip'],
    ['an empty zip', Buffer.from([0x50, 0x4b, 0x05, 0x06]), 'zip'],
    ['a gzip header', Buffer.from([0x1f, 0x8b, 0x08, 0x00]), 'tgz'],
    ['a ustar header', tarHeader, 'tar'],
    ['"PK" too short to be a zip', Buffer.from([0x50, 0x4b, 0x03]), undefined],
    ['one gzip byte', Buffer.from([0x1f]), undefined],
    ['a truncated tar header', tarHeader.subarray(0, 261), undefined],
    ['text', Buffer.from('print("hello")\n'), undefined],
    ['nothing', Buffer.alloc(0), undefined],
  ];
  for (const [what, head, kind] of cases) {
    it(`sniffArchive() answers ${kind} for ${what}`, () => {
      assert.equal(sniffArchive(head), kind);
    });
  }
});

describe('safeEntryPath', () => {
  const ok: [string, string][] = [
    ['a.txt', 'a.txt'],
    ['dir/a.txt', 'dir/a.txt'],
    ['dir/', 'dir'],
    ['./a.txt', 'a.txt'],
    ['.', ''],
    ['a/../b.txt', 'b.txt'],
    ['a//b', 'a/b'],
    ['..foo', '..foo'],
    ['a/..b/c', 'a/..b/c'],
    ['dir\\sub\\a.txt', 'dir/sub/a.txt'],
  ];
  for (const [name, want] of ok) {
    it(`safeEntryPath() maps ${JSON.stringify(name)} to ${JSON.stringify(want)}`, () => {
      assert.equal(safeEntryPath(name), want);
    });
  }

  const refused: [string, RegExp][] = [
    ['/etc/passwd', /^absolute path/],
    ['/', /^absolute path/],
    ['\\windows\\evil', /^absolute path/],
    ['C:\\evil.txt', /^absolute path/],
    ['c:/evil.txt', /^absolute path/],
    ['D:evil', /^absolute path/],
    ['..', /leaves the archive/],
    ['../evil', /leaves the archive/],
    ['a/../../evil', /leaves the archive/],
    ['a/b/../../../evil', /leaves the archive/],
    ['..\\evil', /leaves the archive/],
    ['a\\..\\..\\evil', /leaves the archive/],
    ['./../evil', /leaves the archive/],
  ];
  for (const [name, reason] of refused) {
    it(`safeEntryPath() refuses ${JSON.stringify(name)}`, () => {
      const got = safeEntryPath(name);
      assert.equal(typeof got, 'object');
      assert.match((got as { refused: string }).refused, reason);
      assert.ok((got as { refused: string }).refused.includes(JSON.stringify(name)));
    });
  }
});

/** One entry of an archive crafted with python (tarfile/zipfile write what node-tar would refuse to write). */
interface Entry {
  name: string;
  type?: 'file' | 'dir' | 'hardlink' | 'symlink' | 'fifo';
  data?: string;
  mode?: number;
  link?: string;
}

/** Builds every crafted archive in one python run (python starts in ~100 ms; one run keeps the file fast). */
const CRAFT = `
import io, json, sys, tarfile, zipfile
for spec in json.loads(sys.argv[1]):
    if spec['format'] == 'zip':
        with zipfile.ZipFile(spec['file'], 'w', zipfile.ZIP_DEFLATED) as z:
            for e in spec['entries']:
                i = zipfile.ZipInfo('x'); i.filename = e['name']
                kind = e.get('type', 'file')
                if kind == 'symlink':
                    i.external_attr = 0o120777 << 16; i.create_system = 3
                    z.writestr(i, e['link'])
                elif kind == 'dir':
                    i.external_attr = (0o40755 << 16) | 0x10; i.create_system = 3
                    z.writestr(i, '')
                else:
                    if 'mode' in e:
                        i.external_attr = (0o100000 | e['mode']) << 16; i.create_system = 3
                    z.writestr(i, e.get('data', ''))
    else:
        with tarfile.open(spec['file'], 'w:gz' if spec['format'] == 'tgz' else 'w') as t:
            for e in spec['entries']:
                i = tarfile.TarInfo(e['name'])
                kind = e.get('type', 'file')
                if kind == 'hardlink':
                    i.type = tarfile.LNKTYPE; i.linkname = e['link']; t.addfile(i)
                elif kind == 'symlink':
                    i.type = tarfile.SYMTYPE; i.linkname = e['link']; t.addfile(i)
                elif kind == 'fifo':
                    i.type = tarfile.FIFOTYPE; t.addfile(i)
                else:
                    data = e.get('data', '').encode()
                    i.size = len(data); i.mode = e.get('mode', 0o644)
                    t.addfile(i, io.BytesIO(data))
`;

describe('extractArchive', () => {
  let root: string;
  let archives: string;
  let n = 0;
  /** A fresh destination two levels deep, so "../" and "../../" entries would land inside `root`. */
  const freshDest = () => {
    const d = join(root, `w${++n}`, 'dest');
    mkdirSync(d, { recursive: true });
    return d;
  };
  /** Anything that appeared in `root` outside the archives, the sources and the destinations. */
  const strays = () => {
    const out: string[] = [];
    for (const w of readdirSync(root)) {
      if (!/^w\d+$/.test(w)) {
        if (w !== 'archives' && w !== 'src') out.push(w);
        continue;
      }
      for (const e of readdirSync(join(root, w))) if (e !== 'dest') out.push(`${w}/${e}`);
    }
    return out;
  };
  const isBuildError = (text: string | RegExp) => (e: unknown) => {
    assert.ok(e instanceof BuildError, `expected a BuildError, got ${String(e)}`);
    if (typeof text === 'string') assert.ok(e.message.includes(text), e.message);
    else assert.match(e.message, text);
    return true;
  };
  const crafted: { name: string; format: 'tgz' | 'tar' | 'zip'; entries: Entry[] }[] = [];
  const craft = (name: string, format: 'tgz' | 'tar' | 'zip', entries: Entry[]) => {
    crafted.push({ name, format, entries });
    return () => join(archives, name);
  };
  const absTarget = () => join(root, 'abs-evil.txt');

  // Crafted archives (built once, in before()).
  const tarHardlink = craft('hardlink.tgz', 'tgz', [{ name: 'hard', type: 'hardlink', link: '../../../etc/passwd' }]);
  const tarSymlink = craft('py-symlink.tar', 'tar', [
    { name: 'ok.txt', data: 'ok' },
    { name: 'link', type: 'symlink', link: '../../evil.txt' },
  ]);
  const tarFifo = craft('fifo.tar', 'tar', [{ name: 'pipe', type: 'fifo' }]);
  const evilTarNames = ['../evil.txt', 'a/../../evil.txt', '../../evil.txt', 'ABSOLUTE'];
  const evilTars = evilTarNames.map(
    (name, i) =>
      [
        name,
        craft(`evil-${i}.tgz`, 'tgz', [
          { name: 'ok.txt', data: 'ok' },
          { name, data: 'evil' },
        ]),
      ] as const,
  );
  const goodZip = craft('good.zip', 'zip', [
    { name: 'main.py', data: 'print(1)\n' },
    { name: 'pkg/', type: 'dir' },
    { name: 'pkg/mod.py', data: 'x = 1\n' },
    { name: 'run.sh', data: '#!/bin/sh\n', mode: 0o755 },
    { name: 'plain.txt', data: 'plain', mode: 0o644 },
  ]);
  const evilZipNames = ['../evil.txt', 'a/../../evil.txt', '../../evil.txt', 'C:/evil.txt', 'ABSOLUTE'];
  const evilZips = evilZipNames.map(
    (name, i) =>
      [
        name,
        craft(`evil-${i}.zip`, 'zip', [
          { name: 'ok.txt', data: 'ok' },
          { name, data: 'evil' },
        ]),
      ] as const,
  );
  const zipSymlink = craft('symlink.zip', 'zip', [{ name: 'link', type: 'symlink', link: '/etc/passwd' }]);

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'protium-archive-test-'));
    archives = join(root, 'archives');
    mkdirSync(archives);
    const src = join(root, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'main.py'), 'def handler(c, e):\n    return "hi"\n');
    writeFileSync(join(src, 'sub', 'data.txt'), 'data');
    writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    symlinkSync('/etc/passwd', join(src, 'link'));
    const specs = crafted.map((c) => ({
      file: join(archives, c.name),
      format: c.format,
      entries: c.entries.map((e) => (e.name === 'ABSOLUTE' ? { ...e, name: absTarget() } : e)),
    }));
    execFileSync('python3', ['-c', CRAFT, JSON.stringify(specs)], { stdio: ['ignore', 'ignore', 'pipe'] });
  });

  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  for (const kind of ['tgz', 'tar'] as const) {
    it(`extractArchive() extracts a normal ${kind} made by node-tar`, async () => {
      const file = join(archives, `good.${kind}`);
      await tar.c({ gzip: kind === 'tgz', file, cwd: join(root, 'src') }, ['main.py', 'sub', 'run.sh']);
      const dest = freshDest();
      await extractArchive(file, kind, dest, LIMITS);
      assert.equal(readFileSync(join(dest, 'main.py'), 'utf8'), 'def handler(c, e):\n    return "hi"\n');
      assert.equal(readFileSync(join(dest, 'sub', 'data.txt'), 'utf8'), 'data');
      assert.ok(statSync(join(dest, 'run.sh')).mode & 0o100, 'run.sh keeps its executable bit');
      assert.deepEqual(readdirSync(dest).sort(), ['main.py', 'run.sh', 'sub']);
    });
  }

  it('extractArchive() refuses a tar.gz containing a symlink made by node-tar and creates no link', async () => {
    const file = join(archives, 'symlink.tgz');
    await tar.c({ gzip: true, file, cwd: join(root, 'src') }, ['main.py', 'link']);
    const dest = freshDest();
    await assert.rejects(
      extractArchive(file, 'tgz', dest, LIMITS),
      isBuildError(/The archive was refused: link "link"/),
    );
    assert.throws(() => lstatSync(join(dest, 'link')), /ENOENT/);
    assert.deepEqual(strays(), []);
  });

  it('extractArchive() refuses a tar containing a symlink that points outside, and creates no link', async () => {
    const dest = freshDest();
    await assert.rejects(extractArchive(tarSymlink(), 'tar', dest, LIMITS), isBuildError('links are not allowed'));
    assert.throws(() => lstatSync(join(dest, 'link')), /ENOENT/);
    assert.deepEqual(strays(), []);
  });

  it('extractArchive() refuses a tar.gz containing a hard link', async () => {
    const dest = freshDest();
    await assert.rejects(extractArchive(tarHardlink(), 'tgz', dest, LIMITS), isBuildError('links are not allowed'));
    assert.equal(existsSync(join(dest, 'hard')), false);
  });

  for (const [name, file] of evilTars) {
    it(`extractArchive() refuses a tar.gz with the entry ${name === 'ABSOLUTE' ? 'of an absolute path' : JSON.stringify(name)} and writes nothing outside the destination`, async () => {
      const dest = freshDest();
      await assert.rejects(
        extractArchive(file(), 'tgz', dest, LIMITS),
        isBuildError(name === 'ABSOLUTE' ? 'absolute path' : 'leaves the archive'),
      );
      assert.deepEqual(strays(), []);
      assert.equal(existsSync(absTarget()), false);
    });
  }

  it('extractArchive() refuses a tar with a FIFO entry', async () => {
    const dest = freshDest();
    await assert.rejects(extractArchive(tarFifo(), 'tar', dest, LIMITS), isBuildError('of type'));
    assert.equal(existsSync(join(dest, 'pipe')), false);
  });

  it('extractArchive() wraps a corrupt tar.gz in a BuildError', async () => {
    const file = join(archives, 'corrupt.tgz');
    writeFileSync(file, Buffer.from('this is not a gzip stream at all, just text'.repeat(20)));
    await assert.rejects(
      extractArchive(file, 'tgz', freshDest(), LIMITS),
      isBuildError('Failed to extract the archive'),
    );
  });

  it('extractArchive() extracts a normal zip made by python, keeping the executable bit', async () => {
    const dest = freshDest();
    await extractArchive(goodZip(), 'zip', dest, LIMITS);
    assert.equal(readFileSync(join(dest, 'main.py'), 'utf8'), 'print(1)\n');
    assert.equal(readFileSync(join(dest, 'pkg', 'mod.py'), 'utf8'), 'x = 1\n');
    assert.ok(statSync(join(dest, 'run.sh')).mode & 0o100, 'run.sh is executable');
    assert.equal(statSync(join(dest, 'plain.txt')).mode & 0o111, 0, 'plain.txt is not executable');
    assert.deepEqual(readdirSync(dest).sort(), ['main.py', 'pkg', 'plain.txt', 'run.sh']);
  });

  for (const [name, file] of evilZips) {
    it(`extractArchive() refuses a zip with the entry ${name === 'ABSOLUTE' ? 'of an absolute path' : JSON.stringify(name)} and writes nothing outside the destination`, async () => {
      const dest = freshDest();
      await assert.rejects(extractArchive(file(), 'zip', dest, LIMITS), isBuildError(/./));
      assert.deepEqual(strays(), []);
      assert.equal(existsSync(absTarget()), false);
      assert.equal(existsSync(join(dest, 'C:')), false);
    });
  }

  it('extractArchive() refuses a zip containing a symlink and creates no link', async () => {
    const dest = freshDest();
    await assert.rejects(
      extractArchive(zipSymlink(), 'zip', dest, LIMITS),
      isBuildError('The archive was refused: link "link"'),
    );
    assert.throws(() => lstatSync(join(dest, 'link')), /ENOENT/);
  });

  it('extractArchive() wraps a file that is not a zip in a BuildError', async () => {
    const file = join(archives, 'notzip.zip');
    writeFileSync(file, 'not a zip');
    await assert.rejects(
      extractArchive(file, 'zip', freshDest(), LIMITS),
      isBuildError('Failed to open the zip archive'),
    );
  });
});
