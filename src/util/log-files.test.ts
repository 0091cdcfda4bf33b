import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RotatingLog, lineTime, normaliseLine, readExisting, readLog } from './log-files.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');

describe('normaliseLine', () => {
  it('normaliseLine() keeps a JSON line that has a string time, as written', () => {
    const line = '{"time":"2024-01-01T00:00:00Z","level":"debug","message":"m"}';
    assert.equal(normaliseLine(line, 'stdout', NOW), line);
    assert.equal(normaliseLine(`${line}  \r`, 'stderr', NOW), line);
  });

  it('normaliseLine() adds a time to a JSON line without one, first, keeping the other fields', () => {
    const out = normaliseLine('{"level":"error","message":"boom","with":{"a":1}}', 'stdout', NOW);
    assert.equal(out, '{"time":"2024-05-01T12:00:00.000Z","level":"error","message":"boom","with":{"a":1}}');
  });

  const wrapped: [string, 'stdout' | 'stderr', string][] = [
    ['plain text', 'stdout', 'info'],
    ['plain text', 'stderr', 'warn'],
    ['{not json}', 'stdout', 'info'],
    ['[1,2,3]', 'stderr', 'warn'],
    ['{"a":1} trailing', 'stdout', 'info'],
  ];
  for (const [line, stream, level] of wrapped) {
    it(`normaliseLine() wraps ${JSON.stringify(line)} from ${stream} with level ${level}`, () => {
      assert.deepEqual(JSON.parse(normaliseLine(line, stream, NOW)), {
        time: NOW.toISOString(),
        level,
        name: stream,
        message: line,
      });
    });
  }

  it('normaliseLine() trims trailing whitespace of plain text', () => {
    assert.equal((JSON.parse(normaliseLine('  hello \t\r', 'stdout', NOW)) as { message: string }).message, '  hello');
  });
});

describe('lineTime', () => {
  const cases: [string, number | undefined][] = [
    ['{"time":"2024-05-01T12:00:00.000Z","message":"x"}', Date.parse('2024-05-01T12:00:00.000Z')],
    ['{"message":"x"}', undefined],
    ['{"time":"not a date"}', undefined],
    ['{"time":12345}', undefined],
  ];
  for (const [line, want] of cases) {
    it(`lineTime() reads ${JSON.stringify(line)} as ${want}`, () => {
      assert.equal(lineTime(line), want);
    });
  }
});

describe('RotatingLog and readers', () => {
  let root: string;
  let n = 0;
  const fresh = () => join(root, `d${++n}`, 'replica.log');
  const lines = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'protium-log-test-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('RotatingLog creates its folder and stores complete lines of a chunk', () => {
    const path = fresh();
    const log = new RotatingLog(path);
    log.writeChunk('one\ntwo\n', 'stdout');
    log.close();
    assert.deepEqual(
      lines(path).map((l) => [l.message, l.level, l.name]),
      [
        ['one', 'info', 'stdout'],
        ['two', 'info', 'stdout'],
      ],
    );
  });

  it('RotatingLog joins a line split across chunks, per stream', () => {
    const path = fresh();
    const log = new RotatingLog(path);
    log.writeChunk('hel', 'stdout');
    log.writeChunk('oops\n', 'stderr');
    assert.equal(
      readFileSync(path, 'utf8').split('\n').filter(Boolean).length,
      1,
      'only the complete stderr line so far',
    );
    log.writeChunk(Buffer.from('lo wor'), 'stdout');
    log.writeChunk('ld\nnext', 'stdout');
    log.close();
    assert.deepEqual(
      lines(path).map((l) => [l.message, l.name]),
      [
        ['oops', 'stderr'],
        ['hello world', 'stdout'],
        ['next', 'stdout'],
      ],
    );
  });

  it('RotatingLog skips blank lines and keeps JSON lines with a time as written', () => {
    const path = fresh();
    const log = new RotatingLog(path);
    const json = '{"time":"2024-01-01T00:00:00.000Z","level":"debug","name":"h","message":"j"}';
    log.writeChunk(`\n   \n${json}\n\n`, 'stdout');
    log.close();
    assert.equal(readFileSync(path, 'utf8'), `${json}\n`);
  });

  it('RotatingLog flushes a pending partial line on close', () => {
    const path = fresh();
    const log = new RotatingLog(path);
    log.writeChunk('no newline', 'stderr');
    log.close();
    assert.deepEqual(
      lines(path).map((l) => [l.message, l.level]),
      [['no newline', 'warn']],
    );
  });

  it('RotatingLog appends to an existing file', () => {
    const path = fresh();
    const a = new RotatingLog(path);
    a.writeChunk('first\n', 'stdout');
    a.close();
    const b = new RotatingLog(path);
    b.writeChunk('second\n', 'stdout');
    b.close();
    assert.deepEqual(
      lines(path).map((l) => l.message),
      ['first', 'second'],
    );
  });

  it('RotatingLog rotates to .1 at the cap, keeping one generation', () => {
    const path = fresh();
    const line = (i: number) => `{"time":"2024-01-01T00:00:00.000Z","message":"line-${i}"}`;
    const cap = 200;
    const log = new RotatingLog(path, cap);
    for (let i = 0; i < 10; i++) log.writeLine(line(i));
    log.close();
    assert.ok(existsSync(`${path}.1`));
    assert.ok(statSync(path).size <= cap, `current file ${statSync(path).size} bytes`);
    assert.ok(statSync(`${path}.1`).size <= cap);
    assert.equal(existsSync(`${path}.2`), false);
    assert.equal(Buffer.byteLength(`${line(0)}\n`), 55);
    // 55-byte lines, 200-byte cap: each generation holds 3 lines; rotations after lines 2, 5 and 8.
    assert.deepEqual(
      lines(`${path}.1`).map((l) => l.message),
      ['line-6', 'line-7', 'line-8'],
    );
    assert.deepEqual(
      lines(path).map((l) => l.message),
      ['line-9'],
    );
    const all = ['line-6', 'line-7', 'line-8', 'line-9'];
    assert.deepEqual(
      readExisting(path, {}).map((l) => (JSON.parse(l) as { message: string }).message),
      all,
    );
  });

  it('RotatingLog writes one over-long line rather than rotating an empty file', () => {
    const path = fresh();
    const log = new RotatingLog(path, 10);
    log.writeLine('{"message":"a line longer than the cap"}');
    log.close();
    assert.equal(existsSync(`${path}.1`), false);
    assert.equal(lines(path).length, 1);
  });

  describe('readExisting', () => {
    const now = Date.parse('2024-05-01T12:00:00.000Z');
    const at = (secondsAgo: number, msg: string) =>
      JSON.stringify({ time: new Date(now - secondsAgo * 1000).toISOString(), message: msg });
    let path: string;
    before(() => {
      path = fresh();
      const log = new RotatingLog(path);
      log.close();
      writeFileSync(`${path}.1`, `${at(600, 'old-1')}\n${at(300, 'old-2')}\n`);
      writeFileSync(path, `${at(120, 'cur-1')}\n${at(30, 'cur-2')}\n{"message":"no time"}\n${at(5, 'cur-3')}\n`);
    });
    const msgs = (ls: string[]) => ls.map((l) => (JSON.parse(l) as { message: string }).message);

    const cases: [string, { sinceMs?: number; tailLines?: number }, string[]][] = [
      ['everything, rotated generation first', {}, ['old-1', 'old-2', 'cur-1', 'cur-2', 'no time', 'cur-3']],
      ['tailLines 2', { tailLines: 2 }, ['no time', 'cur-3']],
      ['tailLines larger than the log', { tailLines: 100 }, ['old-1', 'old-2', 'cur-1', 'cur-2', 'no time', 'cur-3']],
      ['tailLines 0', { tailLines: 0 }, []],
      ['sinceMs 60 s (lines without a time count as now)', { sinceMs: 60_000 }, ['cur-2', 'no time', 'cur-3']],
      ['sinceMs 400 s', { sinceMs: 400_000 }, ['old-2', 'cur-1', 'cur-2', 'no time', 'cur-3']],
      ['sinceMs 1 s', { sinceMs: 1000 }, ['no time']],
      ['sinceMs then tailLines', { sinceMs: 400_000, tailLines: 2 }, ['no time', 'cur-3']],
    ];
    for (const [what, q, want] of cases) {
      it(`readExisting() returns ${what}`, () => {
        assert.deepEqual(msgs(readExisting(path, q, now)), want);
      });
    }

    it('readExisting() returns [] for a log that does not exist', () => {
      assert.deepEqual(readExisting(join(root, 'nope', 'x.log'), {}), []);
    });
  });

  describe('readLog', { concurrency: true }, () => {
    /** Rejects when `p` has not settled within `ms`, so a stuck generator fails the test instead of hanging it. */
    const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const t = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no chunk within ${ms} ms`)), ms);
      });
      return Promise.race([p, t]).finally(() => clearTimeout(timer));
    };
    const collect = async (gen: AsyncGenerator<string>) => {
      const out: string[] = [];
      for await (const c of gen) out.push(c);
      return out;
    };

    it('readLog() without follow yields the existing lines as one chunk and ends', async () => {
      const path = fresh();
      const log = new RotatingLog(path);
      log.writeChunk('a\nb\nc\n', 'stdout');
      log.close();
      const chunks = await collect(readLog(path, { follow: false, signal: new AbortController().signal }));
      assert.equal(chunks.length, 1);
      assert.ok(chunks[0].endsWith('\n'));
      assert.deepEqual(
        chunks[0]
          .trimEnd()
          .split('\n')
          .map((l) => (JSON.parse(l) as { message: string }).message),
        ['a', 'b', 'c'],
      );
    });

    it('readLog() without follow applies tailLines', async () => {
      const path = fresh();
      const log = new RotatingLog(path);
      log.writeChunk('a\nb\nc\n', 'stdout');
      log.close();
      const chunks = await collect(
        readLog(path, { follow: false, tailLines: 1, signal: new AbortController().signal }),
      );
      assert.deepEqual(
        chunks.map((c) =>
          c
            .trimEnd()
            .split('\n')
            .map((l) => (JSON.parse(l) as { message: string }).message),
        ),
        [['c']],
      );
    });

    it('readLog() without follow yields one empty chunk for a missing or empty log', async () => {
      assert.deepEqual(
        await collect(readLog(join(root, 'missing.log'), { follow: false, signal: new AbortController().signal })),
        [''],
      );
      const path = fresh();
      new RotatingLog(path).close();
      assert.deepEqual(await collect(readLog(path, { follow: false, signal: new AbortController().signal })), ['']);
    });

    it('readLog() with follow yields whole lines appended while it waits, and stops on abort', async () => {
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, '{"message":"before"}\n');
      const ac = new AbortController();
      const gen = readLog(path, { follow: true, signal: ac.signal });
      try {
        assert.equal((await gen.next()).value, '{"message":"before"}\n');
        const pending = gen.next();
        await new Promise((r) => setTimeout(r, 20));
        appendFileSync(path, '{"message":"after"}\n{"message":"part');
        assert.equal((await withTimeout(pending, 2000)).value, '{"message":"after"}\n', 'only the whole line');
      } finally {
        ac.abort();
      }
      assert.equal((await withTimeout(gen.next(), 2000)).done, true);
    });

    it('readLog() with follow yields lines appended between the first chunk and the next read', async () => {
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, '{"message":"before"}\n');
      const ac = new AbortController();
      const gen = readLog(path, { follow: true, signal: ac.signal });
      try {
        assert.equal((await gen.next()).value, '{"message":"before"}\n');
        appendFileSync(path, '{"message":"in between"}\n');
        assert.equal((await withTimeout(gen.next(), 450)).value, '{"message":"in between"}\n');
      } finally {
        ac.abort();
        await withTimeout(gen.next(), 2000).catch(() => undefined);
      }
    });
  });
});
