import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { triggerRows } from './trigger-rows.js';

describe('triggerRows()', () => {
  it("shows each trigger's source (passwords hidden) and what it consumes", () => {
    assert.deepEqual(
      triggerRows({
        r: {
          kind: 'rabbit-mq',
          url: 'amqp://guest:s3cret@h:5672',
          numWorkers: 4,
          attributes: { exchangeName: 'x', topics: ['a.*'] },
        },
        n: { kind: 'nats', url: 'nats://tok@h:4222', attributes: { topic: 'orders.*' } },
        m: { kind: 'mqtt', url: 'tcp://h:1883', attributes: { subscriptions: [{ topic: 'a/+', qos: 1 }] } },
        k: { kind: 'kafka-cluster', attributes: { brokers: ['b:9092'], topics: ['t'], consumerGroup: 'g' } },
        c: { kind: 'cron', attributes: { interval: '10s' } },
      }),
      [
        ['c', 'cron', '-', 'every 10s', '-'],
        ['k', 'kafka-cluster', 'b:9092', 'topics t, group g', '-'],
        ['m', 'mqtt', 'tcp://h:1883', 'a/+ (qos 1)', '-'],
        ['n', 'nats', 'nats://***@h:4222', 'subject orders.*', '-'],
        ['r', 'rabbit-mq', 'amqp://guest:***@h:5672', 'queue (default), exchange x, keys a.*', '4'],
      ],
    );
  });
});
