import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { num, sparkline, topTable } from './commands/top.js';
import type { Series } from '../metrics/series.js';

describe('sparkline', () => {
  const cases: [number[], number, string][] = [
    [[], 5, ''],
    [[0, 0, 0], 3, '▁▁▁'],
    [[0, 1, 2, 3, 4, 5, 6, 7], 8, '▁▂▃▄▅▆▇█'],
    [[1, 1, 9, 9], 2, '▂█'],
    // More columns than points: each point repeats.
    [[0, 4], 4, '▁▁██'],
  ];
  for (const [values, width, want] of cases)
    it(`sparkline(${JSON.stringify(values)}, ${width}) is ${want || 'empty'}`, () =>
      assert.equal(sparkline(values, width), want));
});

describe('num', () => {
  const cases: [number | null, string][] = [
    [null, '-'],
    [0, '0'],
    [0.5, '0.5'],
    [1.234, '1.23'],
    [12.34, '12.3'],
    [20, '20'],
    [1234.5, '1235'],
  ];
  for (const [v, want] of cases) it(`num(${v}) is ${want}`, () => assert.equal(num(v), want));
});

describe('topTable', () => {
  const series = (requests: number[], p50: (number | null)[]): Series => ({
    start: 1_800_000_000,
    step: 10,
    requests,
    errors: requests.map(() => 0),
    p50,
    p95: p50,
    p99: p50,
    replicas: requests.map(() => 1),
  });
  it('topTable() lists the busiest function first with its latest point and a sparkline', () => {
    const out = topTable(
      {
        namespace: 'nuclio',
        step: 10,
        functions: { quiet: series([0, 0], [null, null]), busy: series([3, 12.5], [1, 2.25]) },
      },
      0,
    );
    const lines = out.trim().split('\n');
    assert.match(lines[0], /namespace nuclio/);
    assert.match(lines[2], /^NAME\s+REQ\/S\s+P50 MS/);
    assert.match(lines[3], /^busy\s+12\.5\s+2\.25\s+2\.25\s+2\.25\s+0\s+1\s+[▁-█]+$/);
    assert.match(lines[4], /^quiet\s+0\s+-\s+-\s+-\s+0\s+1\s+▁+$/);
  });
  it('topTable() says how to deploy when there are no functions', () => {
    assert.match(topTable({ namespace: 'nuclio', step: 10, functions: {} }, 0), /No functions\. Deploy one/);
  });
});
