import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecords, encodeRecords, HEADER_BYTES, scanRecords } from './record-format.js';

const datas = ['a', '', 'hello world', '\u00e9\u00e9'].map((s) => Buffer.from(s));

describe('record format', () => {
  it('encodeRecords() and decodeRecords() round-trip consecutive sequence numbers', () => {
    const { buf, offsets } = encodeRecords(41, 1_700_000_000_123.5, datas);
    assert.equal(offsets.length, 4);
    assert.equal(offsets[1], HEADER_BYTES + 1);
    const back = decodeRecords(buf, 10);
    assert.deepEqual(
      back.map((r) => r.seq),
      [41, 42, 43, 44],
    );
    assert.deepEqual(
      back.map((r) => r.data.toString()),
      ['a', '', 'hello world', '\u00e9\u00e9'],
    );
    assert.ok(back.every((r) => r.arrivalMs === 1_700_000_000_123.5));
    assert.equal(decodeRecords(buf, 2).length, 2);
  });

  it('scanRecords() accepts a clean segment', () => {
    const { buf, offsets } = encodeRecords(1, 5, datas);
    const scan = scanRecords(buf, 1);
    assert.deepEqual(scan.offsets, offsets);
    assert.equal(scan.validBytes, buf.length);
    assert.equal(scan.lastArrivalMs, 5);
    assert.equal(scan.problem, undefined);
  });

  const cases: [string, (b: Buffer) => Buffer, number, RegExp][] = [
    ['a torn header', (b) => b.subarray(0, b.length - 12 - HEADER_BYTES + 10), 3, /torn record header|torn record/],
    ['a torn record', (b) => b.subarray(0, b.length - 2), 3, /torn record/],
    [
      'a flipped data bit',
      (b) => {
        const c = Buffer.from(b);
        c[c.length - 1] ^= 1;
        return c;
      },
      3,
      /CRC mismatch/,
    ],
    [
      'an impossible length',
      (b) => {
        const c = Buffer.from(b);
        c.writeUInt32LE(0xffffffff, HEADER_BYTES + 1);
        return c;
      },
      1,
      /impossible record length/,
    ],
  ];
  for (const [what, damage, good, problem] of cases) {
    it(`scanRecords() stops at ${what} and keeps the records before it`, () => {
      const { buf, offsets } = encodeRecords(1, 5, datas);
      const scan = scanRecords(damage(buf), 1);
      assert.equal(scan.offsets.length, good);
      assert.equal(scan.validBytes, good < offsets.length ? offsets[good] : buf.length);
      assert.match(scan.problem!, problem);
    });
  }

  it('scanRecords() refuses a sequence that does not continue the file name', () => {
    const { buf } = encodeRecords(7, 5, datas);
    const scan = scanRecords(buf, 1);
    assert.equal(scan.offsets.length, 0);
    assert.match(scan.problem!, /sequence number 7 where 1 was expected/);
  });
});
