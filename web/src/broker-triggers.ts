/**
 * The message triggers in the configuration form: for each broker kind (nats, mqtt, rabbit-mq,
 * kafka-cluster) the fields a person edits, where each lives in the trigger (`url`, `attributes.topic`,
 * `attributes.sasl.user`, ...), and how its text becomes the value Nuclio's function.yaml holds. Fields the
 * form does not show are kept as they were. Validation is the API's: its 400 names the field, which the
 * form shows next to it.
 */
import type { Trigger } from './api';

export type FieldType = 'text' | 'password' | 'number' | 'select' | 'checkbox' | 'list' | 'subscriptions';

export interface BrokerField {
  /** Path in the trigger: ['url'], ['attributes', 'topic'], ['attributes', 'sasl', 'user']. */
  path: string[];
  label: string;
  type: FieldType;
  hint?: string;
  options?: string[];
}

export interface BrokerKind {
  kind: string;
  /** Key prefix of new triggers of this kind. */
  prefix: string;
  title: string;
  fields: BrokerField[];
  /** A new trigger of this kind. */
  template: () => Trigger;
}

const workers: BrokerField = {
  path: ['numWorkers'],
  label: 'Workers',
  type: 'number',
  hint: 'Messages handled at once by a replica.',
};

export const BROKER_KINDS: BrokerKind[] = [
  {
    kind: 'nats',
    prefix: 'nats',
    title: 'NATS',
    fields: [
      { path: ['url'], label: 'URL', type: 'text', hint: 'nats://[user:password@]host:4222' },
      { path: ['attributes', 'topic'], label: 'Subject', type: 'text', hint: 'e.g. orders.* (wildcards allowed)' },
      {
        path: ['attributes', 'queueName'],
        label: 'Queue group',
        type: 'text',
        hint: 'Empty: {{.Namespace}}.{{.Name}}-{{.Id}} (the replicas share it)',
      },
      workers,
    ],
    template: () => ({ kind: 'nats', url: 'nats://127.0.0.1:4222', attributes: { topic: '' } }),
  },
  {
    kind: 'mqtt',
    prefix: 'mqtt',
    title: 'MQTT',
    fields: [
      { path: ['url'], label: 'URL', type: 'text', hint: 'tcp://host:1883 (mqtts:// for TLS)' },
      {
        path: ['attributes', 'subscriptions'],
        label: 'Subscriptions',
        type: 'subscriptions',
        hint: 'One per line: topic qos (e.g. sensors/+/temp 1)',
      },
      { path: ['attributes', 'clientID'], label: 'Client ID', type: 'text', hint: 'Each replica adds its own suffix' },
      { path: ['attributes', 'username'], label: 'Username', type: 'text' },
      { path: ['attributes', 'password'], label: 'Password', type: 'password' },
      {
        path: ['attributes', 'protocolVersion'],
        label: 'Protocol version',
        type: 'select',
        options: ['', '4', '5', '3'],
        hint: 'Empty: 4 (MQTT 3.1.1)',
      },
      workers,
    ],
    template: () => ({ kind: 'mqtt', url: 'tcp://127.0.0.1:1883', attributes: { subscriptions: [] } }),
  },
  {
    kind: 'rabbit-mq',
    prefix: 'rabbitmq',
    title: 'RabbitMQ',
    fields: [
      { path: ['url'], label: 'URL', type: 'text', hint: 'amqp://[user:password@]host:5672[/vhost]' },
      {
        path: ['attributes', 'exchangeName'],
        label: 'Exchange',
        type: 'text',
        hint: 'A topic exchange, needed with routing keys',
      },
      { path: ['attributes', 'queueName'], label: 'Queue', type: 'text', hint: 'Empty: nuclio-<namespace>-<function>' },
      {
        path: ['attributes', 'topics'],
        label: 'Routing keys',
        type: 'list',
        hint: 'Comma-separated, e.g. orders.*, invoices.#',
      },
      {
        path: ['attributes', 'prefetchCount'],
        label: 'Prefetch',
        type: 'number',
        hint: 'Empty: the worker count; 0: no limit',
      },
      {
        path: ['attributes', 'onError'],
        label: 'On handler error',
        type: 'select',
        options: ['', 'nack', 'ack'],
        hint: 'Empty: nack',
      },
      { path: ['attributes', 'requeueOnError'], label: 'Requeue failed messages', type: 'checkbox' },
      { path: ['attributes', 'durableQueue'], label: 'Durable queue', type: 'checkbox' },
      { path: ['attributes', 'durableExchange'], label: 'Durable exchange', type: 'checkbox' },
      workers,
    ],
    template: () => ({ kind: 'rabbit-mq', url: 'amqp://127.0.0.1:5672', attributes: {} }),
  },
  {
    kind: 'kafka-cluster',
    prefix: 'kafka',
    title: 'Kafka',
    fields: [
      { path: ['attributes', 'brokers'], label: 'Brokers', type: 'list', hint: 'Comma-separated host:port' },
      { path: ['attributes', 'topics'], label: 'Topics', type: 'list', hint: 'Comma-separated' },
      { path: ['attributes', 'consumerGroup'], label: 'Consumer group', type: 'text' },
      {
        path: ['attributes', 'initialOffset'],
        label: 'Initial offset',
        type: 'select',
        options: ['', 'latest', 'earliest'],
        hint: 'Empty: latest',
      },
      { path: ['attributes', 'sasl', 'enable'], label: 'SASL', type: 'checkbox' },
      { path: ['attributes', 'sasl', 'user'], label: 'SASL user', type: 'text' },
      { path: ['attributes', 'sasl', 'password'], label: 'SASL password', type: 'password' },
      { path: ['attributes', 'sessionTimeout'], label: 'Session timeout', type: 'text', hint: 'Empty: 10s' },
      { path: ['attributes', 'heartbeatInterval'], label: 'Heartbeat interval', type: 'text', hint: 'Empty: 3s' },
      workers,
    ],
    template: () => ({ kind: 'kafka-cluster', attributes: { brokers: [], topics: [], consumerGroup: '' } }),
  },
];

export const brokerKind = (kind: string): BrokerKind | undefined =>
  BROKER_KINDS.find(
    (k) =>
      k.kind === kind ||
      (kind === 'rabbitMq' && k.kind === 'rabbit-mq') ||
      (kind === 'kafka' && k.kind === 'kafka-cluster'),
  );

/** The error field of a broker field: spec.triggers.<key>.<path>. */
export const fieldPath = (key: string, f: BrokerField) => `spec.triggers.${key}.${f.path.join('.')}`;

function get(obj: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

/** A value as text: a string as it is, a number or anything else as JSON. */
const text = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

/** A field's value as the form's text. */
export function fieldText(t: Trigger, f: BrokerField): string {
  const v = get(t, f.path);
  if (v === undefined || v === null) return '';
  if (f.type === 'list') return Array.isArray(v) ? v.join(', ') : text(v);
  if (f.type === 'checkbox') return v === true || v === 'true' ? 'true' : '';
  if (f.type === 'subscriptions') {
    return Array.isArray(v)
      ? v
          .map((s) =>
            s && typeof s === 'object'
              ? `${text((s as { topic?: unknown }).topic ?? '')} ${text((s as { qos?: unknown }).qos ?? 0)}`
              : text(s),
          )
          .join('\n')
      : JSON.stringify(v);
  }
  return text(v);
}

/**
 * The value a field's text stands for; undefined removes it. Text that is not a number stays text, for the API to name.
 */
function fieldValue(f: BrokerField, text: string): unknown {
  const s = text.trim();
  switch (f.type) {
    case 'checkbox':
      return s === 'true' ? true : undefined;
    case 'number':
      return s === '' ? undefined : /^-?\d+$/.test(s) ? Number(s) : s;
    case 'list':
      return s === ''
        ? undefined
        : s
            .split(/[,\n]/)
            .map((x) => x.trim())
            .filter(Boolean);
    case 'subscriptions':
      return s === ''
        ? []
        : s
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
            .map((l) => {
              const m = /^(\S+)(?:\s+(\S+))?$/.exec(l);
              if (!m) return { topic: l };
              const qos = m[2] === undefined ? 0 : /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
              return { topic: m[1], qos };
            });
    case 'select':
      return s === '' ? undefined : f.path[f.path.length - 1] === 'protocolVersion' ? Number(s) : s;
    default:
      return s === '' ? undefined : s;
  }
}

/** The trigger with the form's values written in (a copy; other fields kept). */
export function withFields(t: Trigger, kind: BrokerKind, values: Record<string, string>): Trigger {
  const out = JSON.parse(JSON.stringify(t)) as Record<string, unknown>;
  for (const f of kind.fields) {
    const value = fieldValue(f, values[f.path.join('.')] ?? '');
    let obj = out;
    for (const p of f.path.slice(0, -1)) {
      if (!obj[p] || typeof obj[p] !== 'object') obj[p] = {};
      obj = obj[p] as Record<string, unknown>;
    }
    const last = f.path[f.path.length - 1];
    if (value === undefined) delete obj[last];
    else obj[last] = value;
  }
  const sasl = (out.attributes as Record<string, unknown> | undefined)?.sasl;
  if (sasl && typeof sasl === 'object' && !Object.keys(sasl).length)
    delete (out.attributes as Record<string, unknown>).sasl;
  return out as Trigger;
}

/** The form's text of each field of a broker trigger. */
export function fieldsOf(t: Trigger, kind: BrokerKind): Record<string, string> {
  return Object.fromEntries(kind.fields.map((f) => [f.path.join('.'), fieldText(t, f)]));
}
