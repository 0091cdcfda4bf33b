/**
 * Waking from zero with pre-started processors (--prewarm, issue 19), through the real dashboard: GET
 * /metrics says how many are ready and how many replica starts took one or found none (the bench waits on
 * the first and reports the second), and a dashboard that stops leaves none of them running.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deploy, functionBody, sleep, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import { parsePrometheus, select } from '../helpers/prometheus-text.js';
import type { LocalPlatform } from '../../src/platform/local/local-platform.js';
import { alive, processesInGroup } from '../helpers/proc.js';

const SRC = "exports.handler = (context, event) => context.callback('awake');\n";

async function metric(d: TestDashboard, name: string): Promise<number | undefined> {
  const res = await d.api('GET', '/metrics');
  assert.equal(res.status, 200, res.text);
  return select(parsePrometheus(res.text), name)[0]?.value;
}

describe('waking from zero with --prewarm', () => {
  let d: TestDashboard;
  before(async () => {
    d = await startTestDashboard({ prewarm: '1' });
  });
  after(async () => {
    await d?.close();
  });

  async function poolReady(): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if ((await metric(d, 'protium_prewarm_processors_ready')) === 1) return;
      await sleep(50);
    }
    assert.fail('the pool never had a processor ready');
  }

  it('GET /metrics counts the ready processors, the replica starts that took one, and those that found none', async () => {
    await poolReady();
    const taken = (await metric(d, 'protium_prewarm_processors_taken_total')) ?? -1;
    const missed = (await metric(d, 'protium_prewarm_misses_total')) ?? -1;
    assert.ok(taken >= 0 && missed >= 0, 'both counters are there');
    const fn = await deploy(
      d,
      functionBody('wake-counted', 'nodejs', SRC, { spec: { minReplicas: 0, maxReplicas: 1 } }),
    );
    const port = fn.status.httpPort ?? 0;
    for (let round = 0; round < 2; round++) {
      const parked = await d.api('PATCH', '/api/functions/wake-counted', {
        body: { desiredState: 'scaledToZero' },
        headers: { 'x-nuclio-wait-function-action': 'true' },
      });
      assert.ok(parked.status < 300, parked.text);
      await poolReady();
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      assert.equal(await res.text(), 'awake');
    }
    // The deploy took one too, unless it found none ready (then it is a miss).
    const takenNow = (await metric(d, 'protium_prewarm_processors_taken_total')) ?? 0;
    const missedNow = (await metric(d, 'protium_prewarm_misses_total')) ?? 0;
    assert.equal(takenNow + missedNow - taken - missed, 3, 'the deploy and two wakes each took one or found none');
    assert.ok(takenNow - taken >= 2, 'each wake, waiting for a ready one, took one');
  });

  it('a dashboard without --prewarm has no such series', async () => {
    const plain = await startTestDashboard();
    try {
      assert.equal(await metric(plain, 'protium_prewarm_processors_ready'), undefined);
      assert.equal(await metric(plain, 'protium_prewarm_misses_total'), undefined);
    } finally {
      await plain.close();
    }
  });

  it('leaves no pre-started processor (nor its python worker) running once the dashboard stops', async () => {
    const other = await startTestDashboard({ prewarm: '2' });
    let members: number[];
    try {
      const pool = (other.dashboard.platform as LocalPlatform).pool!;
      for (let i = 0; i < 600 && pool.readyCount < 2; i++) await sleep(50);
      assert.equal(pool.readyCount, 2);
      members = pool.readyPids().flatMap(processesInGroup);
      assert.ok(members.length >= 2, `the pool's processes (${members.join(', ')})`);
    } finally {
      await other.close();
    }
    for (let i = 0; i < 100 && members.some(alive); i++) await sleep(50);
    assert.deepEqual(members.filter(alive), [], 'every process of the pool is gone');
  });
});
