/**
 * The configuration mapping of the four message triggers, table-driven: Nuclio's attribute spellings and
 * URL forms in, the resolved settings out; bad input → a field error (INVALID_FIELD) naming the field and quoting the
 * value.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../errors.js';
import type { Trigger } from '../types.js';
import { parseBrokerUrl, redactUrl, renderNameTemplate } from './attributes.js';
import { kafkaTriggerConfig } from './kafka.js';
import { mqttTriggerConfig } from './mqtt.js';
import { natsTriggerConfig } from './nats.js';
import { rabbitTriggerConfig } from './rabbitmq.js';

const FN = { namespace: 'nuclio', name: 'orders', labels: { team: 'red' }, annotations: {} as Record<string, string> };
const t = (kind: string, extra: Partial<Trigger>): Trigger => ({ class: '', kind, name: 'in', ...extra });

/** Asserts a field error (INVALID_FIELD) on `field` whose message matches `msg`. */
function refuses(fn: () => unknown, field: string, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError && e.code === 'INVALID_FIELD', `expected a field error, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.message, msg);
    return true;
  });
}

describe('broker URLs', () => {
  const cases: [string, string[], string, { url: string; username?: string; password?: string }][] = [
    ['10.0.0.3:4222', ['nats'], 'nats', { url: 'nats://10.0.0.3:4222' }],
    ['nats://u:p%40ss@h:4222', ['nats'], 'nats', { url: 'nats://h:4222', username: 'u', password: 'p@ss' }],
    [
      'amqp://guest:guest@127.0.0.1:5672/vh',
      ['amqp'],
      'amqp',
      { url: 'amqp://127.0.0.1:5672/vh', username: 'guest', password: 'guest' },
    ],
    ['tcp://broker:1883', ['tcp', 'mqtt'], 'mqtt', { url: 'tcp://broker:1883' }],
  ];
  for (const [text, schemes, def, want] of cases) {
    it(`parseBrokerUrl(${JSON.stringify(text)}) takes the credentials out`, () =>
      assert.deepEqual(parseBrokerUrl(text, 'u', schemes, def), want));
  }
  it('refuses another scheme, naming the field, without echoing the password', () => {
    refuses(
      () => parseBrokerUrl('http://user:secret@h:1', 'spec.triggers.x.url', ['amqp'], 'amqp'),
      'spec.triggers.x.url',
      /must start with amqp:\/\/, got "http:\/\/user:\*\*\*@h:1"/,
    );
  });
  it('redactUrl() hides passwords and lone tokens', () => {
    assert.equal(redactUrl('amqp://u:pw@h:5672'), 'amqp://u:***@h:5672');
    assert.equal(redactUrl('nats://tok@h:4222'), 'nats://***@h:4222');
    assert.equal(redactUrl('nats://h:4222'), 'nats://h:4222');
  });
  it("renderNameTemplate() fills Nuclio's fields and refuses others", () => {
    const v = { Id: 'in', Namespace: 'ns', Name: 'fn', Labels: { team: 'red' }, Annotations: {} };
    assert.equal(
      renderNameTemplate('{{ .Namespace }}.{{.Name}}-{{ .Id }}.{{ .Labels.team }}.{{ index .Labels "team" }}', 'q', v),
      'ns.fn-in.red.red',
    );
    refuses(() => renderNameTemplate('{{ .Secret }}', 'q', v), 'q', /"\{\{ \.Secret \}\}", which is not one of/);
  });
});

describe('natsTriggerConfig()', () => {
  it("reads Nuclio's example: a bare host:port, topic and a queue template", () => {
    assert.deepEqual(
      natsTriggerConfig(
        'in',
        t('nats', {
          url: '10.0.0.3:4222',
          attributes: { topic: 'my.topic', queueName: '{{ .Namespace }}.{{ .Name }}.{{ .Id }}' },
        }),
        FN,
      ),
      { server: 'nats://10.0.0.3:4222', subject: 'my.topic', queue: 'nuclio.orders.in' },
    );
  });
  const ok: [Partial<Trigger>, Record<string, unknown>][] = [
    [
      { url: 'nats://u:p@h:4222', attributes: { topic: 'a.*' } },
      { user: 'u', pass: 'p', subject: 'a.*', queue: 'nuclio.orders-in' },
    ],
    [
      { url: 'nats://s3cret@h:4222', attributes: { Topic: 'a.>' } },
      { token: 's3cret', subject: 'a.>' },
    ],
    [
      { url: 'nats://h:4222', username: 'u2', password: 'p2', attributes: { topic: 'x' } },
      { user: 'u2', pass: 'p2' },
    ],
  ];
  for (const [spec, want] of ok) {
    it(`resolves ${JSON.stringify(spec)}`, () => {
      const got = natsTriggerConfig('in', t('nats', spec), FN) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, k);
    });
  }
  const bad: [Partial<Trigger>, string, RegExp][] = [
    [{ attributes: { topic: 'x' } }, 'spec.triggers.in.url', /must be set to the NATS server/],
    [{ url: 'amqp://h', attributes: { topic: 'x' } }, 'spec.triggers.in.url', /must start with nats:\/\/ or tls:\/\//],
    [{ url: 'h:4222', attributes: {} }, 'spec.triggers.in.attributes.topic', /must be set to the subject/],
    [
      { url: 'h:4222', attributes: { topic: 'a..b' } },
      'spec.triggers.in.attributes.topic',
      /not a valid NATS subject.*"a\.\.b"/,
    ],
    [{ url: 'h:4222', attributes: { topic: 7 } }, 'spec.triggers.in.attributes.topic', /must be a string, got 7/],
    [
      { url: 'h:4222', attributes: { topic: 'x', queueName: 'a b' } },
      'spec.triggers.in.attributes.queueName',
      /without spaces or wildcards, got "a b"/,
    ],
  ];
  for (const [spec, field, msg] of bad)
    it(`refuses ${JSON.stringify(spec)} naming ${field}`, () =>
      refuses(() => natsTriggerConfig('in', t('nats', spec), FN), field, msg));
});

describe('mqttTriggerConfig()', () => {
  it("reads Nuclio's example: shared subscriptions per function and trigger, MQTT 3.1.1", () => {
    assert.deepEqual(
      mqttTriggerConfig(
        'in',
        t('mqtt', {
          url: '10.0.0.3:1883',
          attributes: {
            subscriptions: [
              { topic: 'house/living-room/temperature', qos: 0 },
              { topic: 'weather/humidity', qos: 1 },
            ],
          },
        }),
        FN,
      ),
      {
        url: 'mqtt://10.0.0.3:1883',
        clientIdBase: 'nuclio-nuclio-orders-in',
        protocolVersion: 4,
        shareGroup: 'nuclio.orders.in',
        subscriptions: [
          {
            filter: '$share/nuclio.orders.in/house/living-room/temperature',
            topic: 'house/living-room/temperature',
            qos: 0,
          },
          { filter: '$share/nuclio.orders.in/weather/humidity', topic: 'weather/humidity', qos: 1 },
        ],
      },
    );
  });
  it('takes credentials from the URL first, then attributes, then the trigger; keeps a $share topic; reads clientID and protocolVersion', () => {
    const a = mqttTriggerConfig(
      'in',
      t('mqtt', {
        url: 'tcp://u:p@h:1883',
        username: 'x',
        attributes: {
          username: 'y',
          subscriptions: [{ Topic: '$share/g/a/#', QoS: '1' }],
          clientID: 'c1',
          protocolVersion: 5,
        },
      }),
      FN,
    );
    assert.deepEqual(
      [
        a.url,
        a.username,
        a.password,
        a.clientIdBase,
        a.protocolVersion,
        a.subscriptions[0].filter,
        a.subscriptions[0].qos,
      ],
      ['mqtt://h:1883', 'u', 'p', 'c1', 5, '$share/g/a/#', 1],
    );
    const b = mqttTriggerConfig(
      'in',
      t('mqtt', {
        url: 'ssl://h:8883',
        username: 'tu',
        password: 'tp',
        attributes: { subscriptions: [{ topic: 'a' }] },
      }),
      FN,
    );
    assert.deepEqual([b.url, b.username, b.password], ['mqtts://h:8883', 'tu', 'tp']);
    const c = mqttTriggerConfig(
      'in',
      t('mqtt', {
        url: 'h:1883',
        username: 'tu',
        attributes: { username: 'au', password: 'ap', subscriptions: [{ topic: 'a' }] },
      }),
      FN,
    );
    assert.deepEqual([c.username, c.password], ['au', 'ap']);
    // One subscription as topic + qos attributes.
    assert.deepEqual(
      mqttTriggerConfig('in', t('mqtt', { url: 'h:1883', attributes: { topic: 'x/y', qos: 1 } }), FN).subscriptions,
      [{ filter: '$share/nuclio.orders.in/x/y', topic: 'x/y', qos: 1 }],
    );
  });
  const bad: [Partial<Trigger>, string, RegExp][] = [
    [{ attributes: { subscriptions: [{ topic: 'a' }] } }, 'spec.triggers.in.url', /must be set to the MQTT broker/],
    [{ url: 'h:1', attributes: {} }, 'spec.triggers.in.attributes.subscriptions', /must be a list of \{topic, qos\}/],
    [{ url: 'h:1', attributes: { subscriptions: [] } }, 'spec.triggers.in.attributes.subscriptions', /must be a list/],
    [
      { url: 'h:1', attributes: { subscriptions: ['a'] } },
      'spec.triggers.in.attributes.subscriptions[0]',
      /must be an object \{topic, qos\}, got "a"/,
    ],
    [
      { url: 'h:1', attributes: { subscriptions: [{ topic: 'a/#/b' }] } },
      'spec.triggers.in.attributes.subscriptions[0].topic',
      /not a valid MQTT topic filter/,
    ],
    [
      { url: 'h:1', attributes: { subscriptions: [{ topic: 'a', qos: 3 }] } },
      'spec.triggers.in.attributes.subscriptions[0].qos',
      /must be 0, 1 or 2, got 3/,
    ],
    [
      { url: 'h:1', attributes: { subscriptions: [{ topic: 'a' }], protocolVersion: 6 } },
      'spec.triggers.in.attributes.protocolVersion',
      /from 3 to 5, got 6/,
    ],
    [
      { url: 'h:1', attributes: { subscriptions: [{ topic: 'a' }], clientID: 'a b' } },
      'spec.triggers.in.attributes.clientID',
      /got "a b"/,
    ],
    [
      { url: 'h:1', attributes: { subscriptions: [{ topic: 'a' }], shareGroup: 'a/b' } },
      'spec.triggers.in.attributes.shareGroup',
      /must not hold/,
    ],
  ];
  for (const [spec, field, msg] of bad)
    it(`refuses ${JSON.stringify(spec)} naming ${field}`, () =>
      refuses(() => mqttTriggerConfig('in', t('mqtt', spec), FN), field, msg));
});

describe('rabbitTriggerConfig()', () => {
  it("reads Nuclio's example (credentials in the URL win over username/password)", () => {
    assert.deepEqual(
      rabbitTriggerConfig(
        'in',
        t('rabbit-mq', {
          url: 'amqp://user:pass@10.0.0.1:5672',
          username: 'other',
          password: 'other',
          attributes: {
            exchangeName: 'myExchangeName',
            queueName: 'myQueueName',
            reconnectDuration: '10m',
            reconnectInterval: '60s',
            prefetchCount: 1,
            durableExchange: true,
            durableQueue: true,
            onError: 'nack',
            requeueOnError: true,
          },
        }),
        FN,
      ),
      {
        url: 'amqp://10.0.0.1:5672',
        username: 'user',
        password: 'pass',
        exchange: 'myExchangeName',
        queue: 'myQueueName',
        topics: [],
        durableExchange: true,
        durableQueue: true,
        prefetch: 1,
        onError: 'nack',
        requeueOnError: true,
        reconnectIntervalMs: 60_000,
        reconnectDurationMs: 600_000,
      },
    );
  });
  it("defaults: Nuclio's queue name, prefetch from the workers, nack without requeue", () => {
    const c = rabbitTriggerConfig(
      'in',
      t('rabbit-mq', {
        url: 'amqp://h',
        numWorkers: 4,
        username: 'u',
        password: 'p',
        attributes: { exchangeName: 'ex', topics: ['a.*', 'b.#'] },
      }),
      FN,
    );
    assert.deepEqual(
      [c.queue, c.prefetch, c.onError, c.requeueOnError, c.topics, c.username, c.password, c.reconnectIntervalMs],
      ['nuclio-nuclio-orders', 4, 'nack', false, ['a.*', 'b.#'], 'u', 'p', 15_000],
    );
    assert.equal(
      rabbitTriggerConfig('in', t('rabbit-mq', { url: 'amqp://h', attributes: { prefetchCount: 0 } }), FN).prefetch,
      0,
    );
  });
  it("gives each of several unnamed rabbit-mq triggers its own queue (the first by name keeps Nuclio's)", () => {
    const triggers = {
      a: t('rabbit-mq', { url: 'amqp://h' }),
      b: t('rabbitMq', { url: 'amqp://h' }),
      c: t('rabbit-mq', { url: 'amqp://h', attributes: { queueName: 'q' } }),
    };
    assert.equal(rabbitTriggerConfig('a', triggers.a, { ...FN, triggers }).queue, 'nuclio-nuclio-orders');
    assert.equal(rabbitTriggerConfig('b', triggers.b, { ...FN, triggers }).queue, 'nuclio-nuclio-orders-b');
    assert.equal(rabbitTriggerConfig('c', triggers.c, { ...FN, triggers }).queue, 'q');
  });
  const bad: [Partial<Trigger>, string, RegExp][] = [
    [{ attributes: {} }, 'spec.triggers.in.url', /must be set to the broker/],
    [{ url: 'nats://h' }, 'spec.triggers.in.url', /must start with amqp:\/\/ or amqps:\/\//],
    [
      { url: 'amqp://h', attributes: { topics: ['a'] } },
      'spec.triggers.in.attributes.exchangeName',
      /must be set when topics are/,
    ],
    [{ url: 'amqp://h', attributes: { exchangeName: 'e', topics: 'a' } }, '', /./],
    [
      { url: 'amqp://h', attributes: { exchangeName: 'e', topics: [''] } },
      'spec.triggers.in.attributes.topics',
      /list of non-empty strings/,
    ],
    [
      { url: 'amqp://h', attributes: { onError: 'drop' } },
      'spec.triggers.in.attributes.onError',
      /one of "nack", "ack", got "drop"/,
    ],
    [
      { url: 'amqp://h', attributes: { requeueOnError: 'yes' } },
      'spec.triggers.in.attributes.requeueOnError',
      /true or false, got "yes"/,
    ],
    [
      { url: 'amqp://h', attributes: { prefetchCount: -1 } },
      'spec.triggers.in.attributes.prefetchCount',
      /from 0 to 65535, got -1/,
    ],
    [
      { url: 'amqp://h', attributes: { reconnectInterval: 'soon' } },
      'spec.triggers.in.attributes.reconnectInterval',
      /duration such as "15s", got "soon"/,
    ],
  ];
  for (const [spec, field, msg] of bad) {
    if (!field) {
      it('accepts one routing key written as a string', () =>
        assert.deepEqual(rabbitTriggerConfig('in', t('rabbit-mq', spec), FN).topics, ['a']));
      continue;
    }
    it(`refuses ${JSON.stringify(spec)} naming ${field}`, () =>
      refuses(() => rabbitTriggerConfig('in', t('rabbit-mq', spec), FN), field, msg));
  }
});

describe('kafkaTriggerConfig()', () => {
  it("reads Nuclio's configuration example", () => {
    assert.deepEqual(
      kafkaTriggerConfig(
        'in',
        t('kafka-cluster', {
          attributes: {
            initialOffset: 'earliest',
            topics: ['mytopic'],
            brokers: ['10.0.0.2:9092'],
            consumerGroup: 'my-consumer-group',
            sasl: { enable: true, user: 'nuclio', password: 's3rv3rl3ss', handshake: true, mechanism: 'SCRAM-SHA-256' },
            tls: { enable: true, insecureSkipVerify: true },
          },
        }),
        FN,
      ),
      {
        brokers: ['10.0.0.2:9092'],
        topics: ['mytopic'],
        groupId: 'my-consumer-group',
        fromBeginning: true,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 3_000,
        rebalanceTimeoutMs: 60_000,
        maxWaitTimeMs: 250,
        retryBackoffMs: 2_000,
        minBytes: 1,
        maxBytesPerPartition: 1_048_576,
        maxBytes: 0,
        balanceStrategy: 'range',
        workerAllocationMode: 'pool',
        sasl: { mechanism: 'scram-sha-256', username: 'nuclio', password: 's3rv3rl3ss' },
        tls: { rejectUnauthorized: false },
      },
    );
  });
  it("defaults to latest (Nuclio's code), takes brokers from url, and reads nuclio.io/kafka-* annotations under the attributes", () => {
    const c = kafkaTriggerConfig(
      'in',
      t('kafka-cluster', {
        url: 'b1:9092, b2:9093',
        attributes: { topic: 'one', consumerGroup: 'g', sessionTimeout: '30s' },
      }),
      {
        ...FN,
        annotations: {
          'nuclio.io/kafka-session-timeout': '20s',
          'nuclio.io/kafka-heartbeat-interval': '5s',
          'nuclio.io/kafka-sasl-enabled': 'true',
          'nuclio.io/kafka-sasl-user': 'au',
          'nuclio.io/kafka-sasl-password': 'ap',
          'nuclio.io/kafka-fetch-min': '10',
        },
      },
    );
    assert.deepEqual(
      [c.brokers, c.topics, c.fromBeginning, c.sessionTimeoutMs, c.heartbeatIntervalMs, c.sasl, c.minBytes],
      [
        ['b1:9092', 'b2:9093'],
        ['one'],
        false,
        30_000,
        5_000,
        { mechanism: 'plain', username: 'au', password: 'ap' },
        10,
      ],
    );
  });
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ topics: ['t'], consumerGroup: 'g' }, 'spec.triggers.in.attributes.brokers', /must list the brokers/],
    [
      { brokers: ['nohost'], topics: ['t'], consumerGroup: 'g' },
      'spec.triggers.in.attributes.brokers',
      /host:port addresses, got "nohost"/,
    ],
    [{ brokers: ['h:9092'], consumerGroup: 'g' }, 'spec.triggers.in.attributes.topics', /must list the topics/],
    [{ brokers: ['h:9092'], topics: ['t'] }, 'spec.triggers.in.attributes.consumerGroup', /must be set/],
    [
      { brokers: ['h:9092'], topics: ['t'], consumerGroup: 'g', initialOffset: 'oldest' },
      'spec.triggers.in.attributes.initialOffset',
      /one of "earliest", "latest", got "oldest"/,
    ],
    [
      { brokers: ['h:9092'], topics: ['t'], consumerGroup: 'g', heartbeatInterval: '20s' },
      'spec.triggers.in.attributes.heartbeatInterval',
      /shorter than sessionTimeout/,
    ],
    [
      { brokers: ['h:9092'], topics: ['t'], consumerGroup: 'g', sasl: { enable: true } },
      'spec.triggers.in.attributes.sasl.user',
      /must be set when sasl.enable is true/,
    ],
    [
      {
        brokers: ['h:9092'],
        topics: ['t'],
        consumerGroup: 'g',
        sasl: { enable: true, user: 'u', mechanism: 'GSSAPI' },
      },
      'spec.triggers.in.attributes.sasl.mechanism',
      /"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", got "GSSAPI"/,
    ],
    [
      { brokers: ['h:9092'], topics: ['t'], consumerGroup: 'g', fetchMin: 'lots' },
      'spec.triggers.in.attributes.fetchMin',
      /integer from 0/,
    ],
    [
      { brokers: ['h:9092'], topics: ['t'], consumerGroup: 'g', sessionTimeout: '-1s' },
      'spec.triggers.in.attributes.sessionTimeout',
      /duration such as "10s"/,
    ],
  ];
  for (const [attributes, field, msg] of bad)
    it(`refuses ${JSON.stringify(attributes)} naming ${field}`, () =>
      refuses(() => kafkaTriggerConfig('in', t('kafka-cluster', { attributes }), FN), field, msg));
});
