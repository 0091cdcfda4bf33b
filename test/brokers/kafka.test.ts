/**
 * The `kafka-cluster` trigger against a real Kafka broker. Debian has no Kafka package, so these tests run
 * only where KAFKA_BROKERS names one (host:port[,host:port]) and are skipped, saying so, elsewhere; its
 * configuration mapping is unit-tested in src/resources/broker-triggers/. The same checks as the other
 * brokers: records spread over 2 replicas by the consumer group, each handled once, events carrying
 * topic, key, partition, offset and headers; a failing record retried until it succeeds (offsets are
 * committed only after success); a replica killed with -9 losing nothing; deletion leaving the group empty.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import {
  deployConsumer,
  eventually,
  handledCounts,
  records,
  replicaPids,
  untilHandled,
} from '../helpers/broker-functions.js';
import { startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const skip = BROKERS.length
  ? false
  : 'KAFKA_BROKERS is not set: no Kafka broker to test the kafka-cluster trigger against (Debian has no Kafka ' +
    'package); its configuration mapping is unit-tested';

describe('kafka-cluster trigger (real Kafka broker from KAFKA_BROKERS)', { skip }, () => {
  let d: TestDashboard;
  let work: string;
  let admin: Admin;
  let producer: Producer;
  const run = `${process.pid}-${Date.now()}`;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'protium-kafka-out-'));
    const kafka = new Kafka({ clientId: 'protium-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    d = await startTestDashboard();
  });
  after(async () => {
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await d?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function topic(name: string, partitions = 4): Promise<string> {
    const t = `protium-${name}-${run}`;
    await admin.createTopics({ topics: [{ topic: t, numPartitions: partitions }], waitForLeaders: true });
    return t;
  }
  const trigger = (t: string, group: string) => ({
    in: {
      kind: 'kafka-cluster',
      numWorkers: 4,
      attributes: {
        brokers: BROKERS,
        topics: [t],
        consumerGroup: group,
        initialOffset: 'earliest',
        sessionTimeout: '6s',
        heartbeatInterval: '1s',
      },
    },
  });
  const send = (t: string, bodies: string[]) =>
    producer.send({ topic: t, messages: bodies.map((b, i) => ({ key: `k${i % 8}`, value: b, headers: { seq: b } })) });

  it('400 records to 2 replicas: each handled exactly once, partitions shared; events carry topic, key, partition, offset, headers', async () => {
    const t = await topic('share');
    const out = join(work, 'share.jsonl');
    await deployConsumer(d, 'kafka-share', out, trigger(t, `g-share-${run}`), { replicas: 2 });
    const bodies = Array.from({ length: 400 }, (_, i) => `m${i}`);
    await send(t, bodies);
    const counts = await untilHandled(out, bodies, 120_000);
    assert.deepEqual(
      [...counts.values()].filter((n) => n !== 1),
      [],
    );
    const recs = records(out);
    assert.equal(new Set(recs.map((r) => r.replica)).size, 2, 'both replicas own partitions');
    const r = recs.find((x) => x.body === 'm9')!;
    assert.deepEqual(
      [r.kind, r.name, r.path, r.topic, r.key, r.headers.seq],
      ['kafka-cluster', 'in', t, t, 'k1', 'm9'],
    );
    assert.ok(r.shard >= 0 && r.shard < 4 && r.offset >= 0);
  });

  it('a failing record is retried until it succeeds, and records after it in its partition wait for it', async () => {
    const t = await topic('fail', 1);
    const out = join(work, 'fail.jsonl');
    await deployConsumer(d, 'kafka-fail', out, trigger(t, `g-fail-${run}`));
    await send(t, ['fail-once-x', 'after-x']);
    await untilHandled(out, ['fail-once-x', 'after-x']);
    assert.deepEqual(
      records(out).map((r) => [r.body, r.failed === true]),
      [
        ['fail-once-x', true],
        ['fail-once-x', false],
        ['after-x', false],
      ],
    );
  });

  it('a replica killed with -9 mid-stream: no record is lost', async () => {
    const t = await topic('kill');
    const out = join(work, 'kill.jsonl');
    await deployConsumer(d, 'kafka-kill', out, trigger(t, `g-kill-${run}`), { replicas: 2, delayMs: 10 });
    const bodies = Array.from({ length: 400 }, (_, i) => `k${i}`);
    await send(t, bodies);
    await eventually('some records handled', () => records(out).length >= 50, 60_000);
    process.kill((await replicaPids(d, 'kafka-kill'))[0], 'SIGKILL');
    const counts = await untilHandled(out, bodies, 180_000);
    assert.equal(bodies.filter((b) => !counts.has(b)).length, 0);
    assert.ok(handledCounts(out).size === bodies.length);
  });

  it('deleting the function leaves its consumer group without members', async () => {
    const t = await topic('delete');
    const group = `g-delete-${run}`;
    await deployConsumer(d, 'kafka-delete', join(work, 'delete.jsonl'), trigger(t, group), { replicas: 2 });
    await eventually(
      'two members',
      async () => (await admin.describeGroups([group])).groups[0].members.length === 2,
      60_000,
    );
    assert.equal(
      (await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'kafka-delete' } } })).status,
      204,
    );
    await eventually(
      'no member left',
      async () => (await admin.describeGroups([group])).groups[0].members.length === 0,
      60_000,
    );
  });
});
