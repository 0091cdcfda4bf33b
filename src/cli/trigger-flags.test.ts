/**
 * `--trigger` short forms for the message triggers: `[NAME:]<kind>=<url>?<attribute>=<value>&…`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrigger } from './function-yaml.js';

describe('parseTrigger() broker short forms', () => {
  const cases: [string, Record<string, unknown>][] = [
    [
      'nats=nats://127.0.0.1:4222?topic=orders.*',
      { nats: { kind: 'nats', url: 'nats://127.0.0.1:4222', attributes: { topic: 'orders.*' } } },
    ],
    [
      'in:nats=nats://u:p@h:4222?topic=a.b&queueName=q&numWorkers=4',
      { in: { kind: 'nats', url: 'nats://u:p@h:4222', numWorkers: 4, attributes: { topic: 'a.b', queueName: 'q' } } },
    ],
    [
      'mqtt=tcp://h:1883?topic=sensors/+/temp&qos=1',
      {
        mqtt: {
          kind: 'mqtt',
          url: 'tcp://h:1883',
          attributes: { subscriptions: [{ topic: 'sensors/+/temp', qos: 1 }] },
        },
      },
    ],
    [
      'rabbit-mq=amqp://guest:guest@h:5672?exchangeName=x&topics=a.*,b.%23&requeueOnError=true',
      {
        rabbitmq: {
          kind: 'rabbit-mq',
          url: 'amqp://guest:guest@h:5672',
          attributes: { exchangeName: 'x', topics: ['a.*', 'b.#'], requeueOnError: 'true' },
        },
      },
    ],
    [
      'k:kafka-cluster=h1:9092,h2:9092?topics=t&consumerGroup=g&initialOffset=earliest',
      {
        k: {
          kind: 'kafka-cluster',
          attributes: { brokers: ['h1:9092', 'h2:9092'], topics: ['t'], consumerGroup: 'g', initialOffset: 'earliest' },
        },
      },
    ],
  ];
  for (const [flag, want] of cases) it(`reads ${flag}`, () => assert.deepEqual(parseTrigger(flag), want));
  it('says which forms it takes for something else', () => {
    assert.throws(
      () => parseTrigger('kafka=h:9092'),
      /<kind>=<url>\?<attribute>=<value>&… for nats, mqtt, rabbit-mq and kafka-cluster/,
    );
  });
});
