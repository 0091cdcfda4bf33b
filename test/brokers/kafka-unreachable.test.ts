/**
 * The `kafka-cluster` trigger with no broker to reach (runs everywhere, unlike kafka.test.ts): kafkajs is
 * loaded and tries the brokers, and the function deploys unhealthy with the reason while its replica
 * keeps running and retrying.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployConsumer, replicaPids } from '../helpers/broker-functions.js';
import { startTestDashboard } from '../helpers/start-dashboard.js';

describe('kafka-cluster trigger without a broker', () => {
  it('deploys unhealthy, saying which brokers it cannot reach and why (no password shown), and the replica keeps running', async () => {
    const d = await startTestDashboard();
    const work = mkdtempSync(join(tmpdir(), 'protium-kafka-none-'));
    try {
      const srv = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        });
      });
      const fn = await deployConsumer(
        d,
        'kafka-none',
        join(work, 'none.jsonl'),
        {
          in: {
            kind: 'kafka-cluster',
            attributes: {
              brokers: [`127.0.0.1:${srv}`],
              topics: ['t'],
              consumerGroup: 'g',
              sasl: { enable: true, user: 'u', password: 'hunter2-secret' },
            },
          },
        },
        { expect: 'unhealthy' },
      );
      assert.equal(fn.status.state, 'unhealthy', JSON.stringify(fn.status));
      assert.match(
        fn.status.message ?? '',
        new RegExp(
          `^Trigger in \\(kafka-cluster\\) cannot reach 127\\.0\\.0\\.1:${srv} \\(topics t, consumer group ` +
            `g\\): .+; retrying with back-off$`,
        ),
      );
      assert.ok(!JSON.stringify(fn.status).includes('hunter2-secret'));
      const pids = await replicaPids(d, 'kafka-none');
      assert.equal(pids.length, 1);
      process.kill(pids[0], 0);
    } finally {
      await d.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
