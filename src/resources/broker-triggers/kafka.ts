/**
 * The `kafka-cluster` trigger's settings, from Nuclio's trigger reference and its configuration code:
 * `brokers` (else the trigger's `url`), `topics` (`topic` for one), `consumerGroup`, `initialOffset`
 * (`earliest` or `latest`; Nuclio's code defaults to `latest` — its page says `earliest`, its code wins
 * here), `sasl` (`enable`, `user`, `password`, `mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512), `tls`
 * (`enable`, `insecureSkipVerify`) with `caCert`, `sessionTimeout` (10s), `heartbeatInterval` (3s, below the
 * session timeout), `rebalanceTimeout` (60s), `maxWaitTime` (250ms), `retryBackoff` (2s), `fetchMin` (1),
 * `fetchDefault` (1 MiB, per partition), `fetchMax` (0: no limit), `balanceStrategy` and
 * `workerAllocationMode` (accepted; see the README). Each can also come from the function's
 * `nuclio.io/kafka-*` annotations, which the attributes override, as in Nuclio. Pure.
 */
import { quote } from '../../errors.js';
import type { Trigger } from '../types.js';
import { TriggerFields, type FunctionIdentity } from './attributes.js';

export interface KafkaTriggerConfig {
  brokers: string[];
  topics: string[];
  groupId: string;
  fromBeginning: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** TLS: off, or on with the CA to trust and whether to check the broker's certificate. */
  tls?: { rejectUnauthorized: boolean; ca?: string };
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  maxWaitTimeMs: number;
  retryBackoffMs: number;
  minBytes: number;
  maxBytesPerPartition: number;
  /** 0: no limit. */
  maxBytes: number;
  balanceStrategy: 'range' | 'roundrobin' | 'sticky';
  workerAllocationMode: 'pool' | 'static';
}

/** Annotation → attribute (the attribute path, dotted for sasl and tls). */
const ANNOTATIONS: Record<string, string> = {
  'nuclio.io/kafka-session-timeout': 'sessionTimeout',
  'nuclio.io/kafka-heartbeat-interval': 'heartbeatInterval',
  'nuclio.io/kafka-rebalance-timeout': 'rebalanceTimeout',
  'nuclio.io/kafka-retry-backoff': 'retryBackoff',
  'nuclio.io/kafka-max-wait-time': 'maxWaitTime',
  'nuclio.io/kafka-balance-strategy': 'balanceStrategy',
  'nuclio.io/kafka-worker-allocation-mode': 'workerAllocationMode',
  'nuclio.io/kafka-fetch-min': 'fetchMin',
  'nuclio.io/kafka-fetch-default': 'fetchDefault',
  'nuclio.io/kafka-fetch-max': 'fetchMax',
  'nuclio.io/kafka-ca-cert': 'caCert',
  'nuclio.io/kafka-sasl-enabled': 'sasl.enable',
  'nuclio.io/kafka-sasl-user': 'sasl.user',
  'nuclio.io/kafka-sasl-password': 'sasl.password',
  'nuclio.io/kafka-sasl-mechanism': 'sasl.mechanism',
  'nuclio.io/kafka-tls-enabled': 'tls.enable',
  'nuclio.io/kafka-tls-insecure-skip-verify': 'tls.insecureSkipVerify',
};

/** The trigger's attributes with the function's kafka annotations under them (attributes win). */
function withAnnotations(trigger: Trigger, annotations: Record<string, string>): Trigger {
  const attrs: Record<string, unknown> = {};
  const nested: Record<string, Record<string, unknown>> = { sasl: {}, tls: {} };
  for (const [key, path] of Object.entries(ANNOTATIONS)) {
    const value = annotations[key];
    if (value === undefined) continue;
    const [head, tail] = path.split('.');
    if (tail) nested[head][tail] = value;
    else attrs[head] = value;
  }
  const own = trigger.attributes ?? {};
  for (const [k, v] of Object.entries(own)) {
    const lower = k.toLowerCase();
    if ((lower === 'sasl' || lower === 'tls') && v && typeof v === 'object' && !Array.isArray(v))
      nested[lower] = { ...nested[lower], ...(v as Record<string, unknown>) };
    else attrs[k] = v;
  }
  for (const [k, v] of Object.entries(nested)) if (Object.keys(v).length) attrs[k] = v;
  return { ...trigger, attributes: attrs };
}

/** Resolves a `kafka-cluster` trigger; throws a field error (INVALID_FIELD) naming the field at fault. */
export function kafkaTriggerConfig(name: string, trigger: Trigger, fn: FunctionIdentity): KafkaTriggerConfig {
  const f: TriggerFields = new TriggerFields(name, withAnnotations(trigger, fn.annotations ?? {}));
  let brokers = f.strList('brokers');
  if (!brokers.length && f.top('url'))
    brokers = f
      .top('url')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (!brokers.length)
    f.fail(
      f.attrField('brokers'),
      `${f.attrField('brokers')} must list the brokers, e.g. ["127.0.0.1:9092"] (or set ${f.field}.url)`,
    );
  brokers = brokers.map((b) => b.replace(/^kafka:\/\//i, ''));
  for (const b of brokers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(b) || Number(b.slice(b.lastIndexOf(':') + 1)) > 65_535) {
      f.fail(f.attrField('brokers'), `${f.attrField('brokers')} must hold host:port addresses, got ${quote(b)}`);
    }
  }
  const topics = f.strList('topics').length ? f.strList('topics') : f.strList('topic');
  if (!topics.length)
    f.fail(f.attrField('topics'), `${f.attrField('topics')} must list the topics to consume, e.g. ["orders"]`);
  const groupId = f.str('consumerGroup');
  if (!groupId)
    f.fail(
      f.attrField('consumerGroup'),
      `${f.attrField('consumerGroup')} must be set: the replicas share the partitions as members of that ` +
        `consumer group`,
    );
  const initial = f.choice('initialOffset', ['earliest', 'latest'] as const, 'latest');

  const out: KafkaTriggerConfig = {
    brokers,
    topics,
    groupId,
    fromBeginning: initial === 'earliest',
    sessionTimeoutMs: f.duration('sessionTimeout', '10s'),
    heartbeatIntervalMs: f.duration('heartbeatInterval', '3s'),
    rebalanceTimeoutMs: f.duration('rebalanceTimeout', '60s'),
    maxWaitTimeMs: f.duration('maxWaitTime', '250ms'),
    retryBackoffMs: f.duration('retryBackoff', '2s'),
    minBytes: f.int('fetchMin', 1, 0, 2 ** 31 - 1),
    maxBytesPerPartition: f.int('fetchDefault', 1024 * 1024, 1, 2 ** 31 - 1),
    maxBytes: f.int('fetchMax', 0, 0, 2 ** 31 - 1),
    balanceStrategy: f.choice('balanceStrategy', ['range', 'roundrobin', 'sticky'] as const, 'range'),
    workerAllocationMode: f.choice('workerAllocationMode', ['pool', 'static'] as const, 'pool'),
  };
  if (out.heartbeatIntervalMs >= out.sessionTimeoutMs) {
    f.fail(
      f.attrField('heartbeatInterval'),
      `${f.attrField('heartbeatInterval')} must be shorter than sessionTimeout (${out.sessionTimeoutMs} ms), ` +
        `got ${quote(f.raw('heartbeatInterval') ?? '3s')}`,
    );
  }

  const sasl = nestedFields(f, 'sasl');
  if (sasl && sasl.bool('enable')) {
    const user = sasl.str('user');
    if (!user) sasl.fail(sasl.attrField('user'), `${sasl.attrField('user')} must be set when sasl.enable is true`);
    const mechanism = sasl.choice('mechanism', ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const, 'PLAIN');
    out.sasl = {
      mechanism: mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512',
      username: user,
      password: sasl.str('password'),
    };
  }
  const tls = nestedFields(f, 'tls');
  if (tls && tls.bool('enable')) {
    const ca = f.str('caCert');
    out.tls = { rejectUnauthorized: !tls.bool('insecureSkipVerify'), ...(ca ? { ca: unflattenPem(ca) } : {}) };
  }
  return out;
}

/** Fields of a nested attribute object (`sasl`, `tls`), with paths under the trigger's attributes. */
function nestedFields(f: TriggerFields, key: string): TriggerFields | undefined {
  const v = f.raw(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    f.fail(f.attrField(key), `${f.attrField(key)} must be an object, got ${quote(v)}`);
  // Errors name the nested path: spec.triggers.<name>.attributes.sasl.user.
  return new TriggerFields(
    f.name,
    { class: '', kind: '', name: f.name, attributes: v as Record<string, unknown> },
    f.attrField(key),
  );
}

/** Nuclio accepts a PEM flattened onto one line (annotations): "@" or spaces for the newlines. */
function unflattenPem(pem: string): string {
  if (pem.includes('\n')) return pem;
  if (pem.includes('@')) return pem.replaceAll('@', '\n');
  return pem
    .replace(/-----(BEGIN|END) ([A-Z ]+)-----/g, (m) => m.replaceAll(' ', '\u0000'))
    .replaceAll(' ', '\n')
    .replaceAll('\u0000', ' ');
}
