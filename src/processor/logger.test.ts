import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogCapture, logRecord } from './logger.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');

describe('logRecord()', () => {
  it("puts a structured call's fields at the top level, as Nuclio's processor and runtime tests have them", () => {
    assert.deepEqual(logRecord('handler', 'error', 'Error message', { source: 'rabbit', weight: 7 }, NOW), {
      time: '2024-05-01T12:00:00.000Z',
      level: 'error',
      name: 'handler',
      message: 'Error message',
      source: 'rabbit',
      weight: 7,
    });
  });

  it('a plain call has only the four fields', () => {
    assert.deepEqual(logRecord('handler', 'info', 'hello', undefined, NOW), {
      time: '2024-05-01T12:00:00.000Z',
      level: 'info',
      name: 'handler',
      message: 'hello',
    });
  });

  it("fields named like the record's own go under `with` instead of replacing them", () => {
    const r = logRecord(
      'handler',
      'warn',
      'real message',
      { message: 'field', level: 'debug', with: 1, ok: true },
      NOW,
    );
    assert.equal(r.message, 'real message');
    assert.equal(r.level, 'warn');
    assert.equal(r.ok, true);
    assert.deepEqual(r.with, { message: 'field', level: 'debug', with: 1 });
  });

  it('undefined field values are left out', () => {
    assert.equal('a' in logRecord('h', 'info', 'm', { a: undefined }, NOW), false);
  });
});

describe('LogCapture', () => {
  it('keeps the records at or above its level, fields at the top level', () => {
    const c = new LogCapture('warn');
    c.add(logRecord('h', 'info', 'skipped', undefined, NOW));
    c.add(logRecord('h', 'error', 'Error message', { source: 'rabbit', weight: 7 }, NOW));
    assert.deepEqual(
      c.records.map((r) => ({ message: r.message, source: r.source, weight: r.weight })),
      [{ message: 'Error message', source: 'rabbit', weight: 7 }],
    );
  });
});
