import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { engineLogOptions, storedLine } from './container-logs.js';

describe('storedLine()', () => {
  it('keeps a processor line (JSON with its own time) as written', () => {
    const line = '{"time":"2026-01-01T10:00:00.123Z","level":"info","name":"handler","message":"hi"}';
    assert.equal(storedLine(`2026-01-01T10:00:00Z ${line}`, 'stdout'), line);
  });

  it("wraps any other line with the engine's time; stderr as a warning", () => {
    assert.deepEqual(JSON.parse(storedLine('2026-01-01T10:00:05.5Z plain words', 'stderr')!), {
      time: '2026-01-01T10:00:05.500Z',
      level: 'warn',
      name: 'stderr',
      message: 'plain words',
    });
    assert.deepEqual(JSON.parse(storedLine('2026-01-01T10:00:05Z {"level":"info","message":"no time"}', 'stdout')!), {
      time: '2026-01-01T10:00:05.000Z',
      level: 'info',
      message: 'no time',
    });
  });

  it('a line without a timestamp is still stored; an empty one is not', () => {
    assert.equal((JSON.parse(storedLine('no stamp here', 'stdout')!) as { message: string }).message, 'no stamp here');
    assert.equal(storedLine('2026-01-01T10:00:05Z ', 'stdout'), undefined);
  });
});

describe('engineLogOptions()', () => {
  const now = Date.parse('2026-01-01T10:00:10.900Z');
  for (const [q, want] of [
    [{ follow: false }, { follow: false }],
    [
      { follow: true, tailLines: 5 },
      { follow: true, tail: 5 },
    ],
    [
      { follow: false, sinceMs: 1_000 },
      { follow: false, since: (Date.parse('2026-01-01T10:00:09.900Z') / 1000).toFixed(3) },
    ],
    // Following only new lines: those after now (a time has no gap between the request and the engine's start).
    [
      { follow: true, tailLines: 0 },
      { follow: true, since: (now / 1000).toFixed(3) },
    ],
    [
      { follow: true, tailLines: 0, sinceMs: 60_000 },
      { follow: true, since: (now / 1000).toFixed(3) },
    ],
  ] as const) {
    it(JSON.stringify(q), () =>
      assert.deepEqual(engineLogOptions(q, now), { stdout: true, stderr: true, timestamps: true, ...want }),
    );
  }
});
