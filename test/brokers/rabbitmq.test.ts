/**
 * The `rabbit-mq` trigger against a real RabbitMQ (Debian's rabbitmq-server), started once for this file
 * on free 127.0.0.1 ports with its own node name, data and epmd: messages routed through a topic exchange
 * to two competing replicas, each handled once; Nuclio's error semantics (nack without requeue, requeue,
 * ack); a replica killed with -9 mid-stream; an update while messages are in flight (the old replicas
 * finish and acknowledge theirs); the broker restarting (the status says so meanwhile); deletion leaving
 * no consumer; and a Nuclio function.yaml deployed with the CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import {
  CONSUMER,
  cli,
  deployConsumer,
  eventually,
  functionFolder,
  handledCounts,
  records,
  replicaLog,
  replicaNames,
  replicaPids,
  starts,
  untilHandled,
} from '../helpers/broker-functions.js';
import { skipUnlessInstalled, startRabbit, type Broker } from '../helpers/brokers.js';
import { b64, startTestDashboard, waitFor, type TestDashboard } from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const skip = skipUnlessInstalled('rabbitmq');

describe('rabbit-mq trigger (real rabbitmq-server)', { skip }, () => {
  let d: TestDashboard;
  let rabbit: Broker;
  let conn: ChannelModel;
  let ch: ConfirmChannel;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'protium-rabbit-out-'));
    rabbit = await startRabbit();
    d = await startTestDashboard();
    await connectPublisher();
  });
  after(async () => {
    await conn?.close().catch(() => {});
    await d?.close();
    await rabbit?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function connectPublisher(): Promise<void> {
    conn = await amqp.connect(rabbit.url);
    conn.on('error', () => {});
    ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
  }
  const trigger = (queue: string, extra: Record<string, unknown> = {}) => ({
    in: {
      kind: 'rabbit-mq',
      url: rabbit.url,
      numWorkers: 4,
      attributes: { exchangeName: 'orders', queueName: queue, topics: ['orders.*'], ...extra },
    },
  });
  async function publish(
    routingKey: string,
    bodies: string[],
    opts: amqp.Options.Publish = {},
    exchange = 'orders',
  ): Promise<void> {
    for (const b of bodies) ch.publish(exchange, routingKey, Buffer.from(b), opts);
    await ch.waitForConfirms();
  }
  const queueState = (queue: string) => ch.checkQueue(queue);

  it("300 messages through a topic exchange to 2 replicas: each handled exactly once, both take a share; events carry Nuclio's fields", async () => {
    const out = join(work, 'share.jsonl');
    await deployConsumer(d, 'rmq-share', out, trigger('q-share'), { replicas: 2 });
    assert.equal((await queueState('q-share')).consumerCount, 2);
    await publish('orders.new', ['first'], {
      contentType: 'application/json',
      headers: { tenant: 'acme', n: 7 },
      messageId: 'mid-1',
      type: 'created',
      replyTo: 'answers',
      timestamp: 1_700_000_000,
    });
    const bodies = Array.from({ length: 300 }, (_, i) => `m${i}`);
    await publish('orders.new', bodies);
    await publish('other.key', ['not-routed']);
    const counts = await untilHandled(out, ['first', ...bodies]);
    assert.deepEqual(
      [...counts.values()].filter((n) => n !== 1),
      [],
      'no message handled twice',
    );
    assert.equal(counts.has('not-routed'), false, 'a routing key outside the topics is not bound');
    const recs = records(out);
    assert.equal(new Set(recs.map((r) => r.replica)).size, 2, 'both replicas handled messages');
    const first = recs.find((r) => r.body === 'first')!;
    assert.deepEqual(
      [
        first.kind,
        first.name,
        first.path,
        first.topic,
        first.ct,
        first.headers.tenant,
        first.headers.n,
        first.id,
        first.method,
        first.url,
      ],
      [
        'rabbit-mq',
        'in',
        'orders/orders.new',
        'orders.new',
        'application/json',
        'acme',
        '7',
        'mid-1',
        'created',
        'answers',
      ],
    );
    await eventually(
      'the queue is empty (all acknowledged)',
      async () => (await queueState('q-share')).messageCount === 0,
      30_000,
    );
  });

  it("a failing handler, per Nuclio's onError and requeueOnError: nack drops it, requeue brings it back until it succeeds, ack drops it too", async () => {
    const drop = join(work, 'nack.jsonl');
    await deployConsumer(d, 'rmq-nack', drop, trigger('q-nack'));
    await publish('orders.x', ['fail-always-1', 'after-1']);
    await untilHandled(drop, ['after-1']);
    await eventually('the failure is recorded', () => records(drop).some((r) => r.body === 'fail-always-1'), 30_000);
    await eventually(
      'q-nack is empty (nothing requeued)',
      async () => (await queueState('q-nack')).messageCount === 0,
      30_000,
    );
    assert.equal(records(drop).filter((r) => r.body === 'fail-always-1').length, 1, 'rejected once, never redelivered');
    assert.match(await replicaLog(d, 'rmq-nack'), /failing on purpose/);

    const requeue = join(work, 'requeue.jsonl');
    await deployConsumer(
      d,
      'rmq-requeue',
      requeue,
      trigger('q-requeue', { topics: ['requeue.*'], requeueOnError: true }),
    );
    await publish('requeue.x', ['fail-once-2']);
    await untilHandled(requeue, ['fail-once-2']);
    assert.deepEqual(
      records(requeue).map((r) => r.failed === true),
      [true, false],
      'failed, requeued, then handled',
    );

    const ack = join(work, 'ack.jsonl');
    await deployConsumer(
      d,
      'rmq-ack',
      ack,
      trigger('q-ack', { topics: ['ack.*'], onError: 'ack', requeueOnError: true }),
    );
    await publish('ack.x', ['fail-always-3', 'after-3']);
    await untilHandled(ack, ['after-3']);
    await eventually('q-ack is empty', async () => (await queueState('q-ack')).messageCount === 0, 30_000);
    assert.equal(records(ack).filter((r) => r.body === 'fail-always-3').length, 1, 'acknowledged despite the failure');
  });

  it('a replica killed with -9 mid-stream: no message is lost (its unacknowledged ones go to the other replica)', async () => {
    const out = join(work, 'kill.jsonl');
    await deployConsumer(d, 'rmq-kill', out, trigger('q-kill', { topics: ['kill.*'] }), { replicas: 2, delayMs: 20 });
    const bodies = Array.from({ length: 300 }, (_, i) => `k${i}`);
    await publish('kill.x', bodies);
    await eventually('some messages handled', () => records(out).length >= 40, 60_000);
    const victim = (await replicaPids(d, 'rmq-kill'))[0];
    process.kill(victim, 'SIGKILL');
    const counts = await untilHandled(out, bodies, 120_000);
    assert.equal(bodies.filter((b) => !counts.has(b)).length, 0);
    await eventually('q-kill is empty', async () => (await queueState('q-kill')).messageCount === 0, 60_000);
  });

  it('an update while messages are in flight: the old replica finishes and acknowledges what it started, so each is handled exactly once', async () => {
    const out = join(work, 'update.jsonl');
    const triggers = { in: { ...trigger('q-update', { topics: ['update.*'] }).in, numWorkers: 2 } };
    const fn = await deployConsumer(d, 'rmq-update', out, triggers, { replicas: 1, delayMs: 1_000 });
    const oldReplica = (await replicaNames(d, 'rmq-update'))[0];
    const bodies = Array.from({ length: 10 }, (_, i) => `u${i}`);
    await publish('update.x', bodies);
    await eventually('handling started', () => starts(out).length >= 2, 30_000);
    // A new version (another env value) replaces the replica while it is in the middle of two messages.
    const spec = {
      ...fn.spec,
      env: [...(fn.spec.env ?? []), { name: 'VERSION', value: '2' }],
      build: { ...fn.spec.build, functionSourceCode: b64(CONSUMER) },
    };
    delete spec.image;
    assert.equal(
      (await d.api('PUT', '/api/functions/rmq-update', { body: { metadata: { name: 'rmq-update' }, spec } })).status,
      202,
    );
    const counts = await untilHandled(out, bodies, 90_000);
    assert.deepEqual(
      [...counts.entries()].filter(([, n]) => n !== 1),
      [],
      'each handled exactly once across the update',
    );
    const recs = records(out);
    const abandoned = starts(out).filter((s) => !recs.some((r) => r.body === s.body && r.replica === s.replica));
    assert.deepEqual(abandoned, [], 'no message was started and left unfinished by a replica that stopped');
    assert.ok(
      recs.some((r) => r.replica === oldReplica) && recs.some((r) => r.replica !== oldReplica),
      'both versions handled messages',
    );
    await eventually('q-update is empty', async () => (await queueState('q-update')).messageCount === 0, 30_000);
  });

  it('the broker restarting: the status says the trigger cannot reach it, the replica keeps retrying and consumes again afterwards', async () => {
    const out = join(work, 'restart.jsonl');
    await deployConsumer(
      d,
      'rmq-restart',
      out,
      trigger('q-restart', {
        topics: ['restart.*'],
        durableQueue: true,
        durableExchange: true,
        exchangeName: 'durable-orders',
      }),
    );
    await publish('restart.x', ['before'], { persistent: true }, 'durable-orders');
    await untilHandled(out, ['before']);
    const pids = await replicaPids(d, 'rmq-restart');
    const states: { state: string; message?: string }[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const f = (await d.api<FunctionRecord>('GET', '/api/functions/rmq-restart')).json;
        states.push({ state: f.status.state ?? '', message: f.status.message });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await conn.close().catch(() => {});
    await rabbit.restart();
    await connectPublisher();
    await publish('restart.x', ['after'], { persistent: true }, 'durable-orders');
    await untilHandled(out, ['after'], 90_000);
    await waitFor(d, 'rmq-restart', (f) => f.status.state === 'ready' && !f.status.message, 60_000);
    watching = false;
    await watch;
    const down = states.find((s) => s.state === 'unhealthy');
    assert.ok(down, `the status showed the outage: ${JSON.stringify(states.slice(0, 5))}`);
    assert.match(
      down.message ?? '',
      /^Trigger in \(rabbit-mq\) cannot reach amqp:\/\/127\.0\.0\.1:\d+ \(queue q-restart, exchange durable-orders, routing keys restart\.\*\): .+; retrying with back-off$/,
    );
    assert.ok(!JSON.stringify(states).includes('guest:guest'), 'no credentials in the status');
    assert.deepEqual(await replicaPids(d, 'rmq-restart'), pids, 'the same replica process');
  });

  it('deleting the function leaves no consumer on its queue', async () => {
    const out = join(work, 'delete.jsonl');
    await deployConsumer(d, 'rmq-delete', out, trigger('q-delete', { topics: ['delete.*'] }), { replicas: 2 });
    assert.equal((await queueState('q-delete')).consumerCount, 2);
    assert.equal((await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'rmq-delete' } } })).status, 204);
    await eventually('no consumer on q-delete', async () => (await queueState('q-delete')).consumerCount === 0, 30_000);
  });

  it('a Nuclio function.yaml with a rabbit-mq trigger (credentials as fields) deploys with the CLI and consumes', async () => {
    const out = join(work, 'cli.jsonl');
    const dir = functionFolder(
      join(work, 'cli-fn'),
      `apiVersion: "nuclio.io/v1"
kind: "NuclioFunction"
metadata:
  name: rmq-cli
spec:
  runtime: nodejs
  handler: handler:handler
  env:
    - name: OUT
      value: ${out}
  triggers:
    myRabbit:
      kind: "rabbit-mq"
      url: "amqp://127.0.0.1:${rabbit.port}"
      username: "guest"
      password: "guest"
      attributes:
        exchangeName: "myExchangeName"
        queueName: "myQueueName"
        topics: ["invoices.#"]
        prefetchCount: 1
        onError: "nack"
        requeueOnError: true
`,
    );
    const run = await cli(d.url, ['deploy', dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Function rmq-cli is ready/);
    await publish('invoices.2024.march', ['from-cli'], {}, 'myExchangeName');
    await untilHandled(out, ['from-cli']);
    assert.equal(handledCounts(out).get('from-cli'), 1);
  });
});
