import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWrk } from './wrk.js';

const REPORT = `Running 2s test @ http://127.0.0.1:18390/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   730.14us  305.17us   9.02ms   93.10%
    Req/Sec    44.33k     2.31k   46.75k    85.00%
  Latency Distribution
     50%  681.00us
     75%  760.00us
     90%  0.88ms
     99%    2.04ms
  88226 requests in 2.00s, 9.34MB read
Requests/sec:  44087.23
Transfer/sec:      4.67MB
`;

test('parseWrk: wrk reports, with and without errors', () => {
  const cases: { name: string; out: string; want: Partial<ReturnType<typeof parseWrk>> }[] = [
    { name: 'clean', out: REPORT, want: { rps: 44087.23, requests: 88226, errors: 0, non2xx: 0, p50: 0.681 } },
    {
      name: 'errors and non-2xx',
      out: REPORT.replace(
        'Requests/sec',
        '  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 17\nRequests/sec',
      ).replace('681.00us', '1.50ms'),
      want: { errors: 10, non2xx: 17, p50: 1.5 },
    },
    { name: 'seconds', out: REPORT.replace('681.00us', '1.20s'), want: { p50: 1200 } },
  ];
  for (const c of cases) {
    const got = parseWrk(c.out);
    for (const [k, v] of Object.entries(c.want)) assert.equal(got[k as keyof typeof got], v, `${c.name}: ${k}`);
  }
  assert.throws(() => parseWrk('wrk: unable to connect'), /Cannot read wrk's report/);
});
