/**
 * The `rabbit-mq` trigger's settings, from Nuclio's trigger reference: `url` (`amqp://` or `amqps://`,
 * credentials in it win over the trigger's `username`/`password`), and the attributes `exchangeName`,
 * `queueName`, `topics` (routing keys: the queue is bound to a `topic` exchange with them), `durableExchange`,
 * `durableQueue`, `prefetchCount`, `onError` (`nack`, the default, or `ack`), `requeueOnError` (default
 * false), `reconnectInterval` (15s) and `reconnectDuration` (5m).
 *
 * The queue: `queueName`, else Nuclio's `nuclio-<namespace>-<function>`; a function with several rabbit-mq
 * triggers that name no queue gets one queue per trigger (`nuclio-<namespace>-<function>-<trigger>` for all
 * but the first by name), so their bindings do not mix. The prefetch: `prefetchCount` when given (0 is no
 * limit, as in Nuclio), else the trigger's worker count, so a replica holds no more unacknowledged
 * messages than it can run at once and the others get the rest. Pure.
 */
import type { Trigger } from '../types.js';
import { parseBrokerUrl, TriggerFields, type FunctionIdentity } from './attributes.js';

export interface RabbitTriggerConfig {
  /** amqp(s)://host:port[/vhost], without credentials. */
  url: string;
  username?: string;
  password?: string;
  exchange: string;
  queue: string;
  /** Routing keys the queue is bound with (none: no exchange is declared, the queue is consumed as it is). */
  topics: string[];
  durableExchange: boolean;
  durableQueue: boolean;
  /** Unacknowledged messages the broker may send this replica (0: no limit). */
  prefetch: number;
  onError: 'ack' | 'nack';
  requeueOnError: boolean;
  /** The longest wait between two connection attempts. */
  reconnectIntervalMs: number;
  /** How long Nuclio keeps reconnecting; here a note in the status past it (the trigger keeps trying). */
  reconnectDurationMs: number;
}

/** Resolves a `rabbit-mq` trigger; `fn.triggers` (the function's others) decides the default queue name. */
export function rabbitTriggerConfig(
  name: string,
  trigger: Trigger,
  fn: FunctionIdentity & { triggers?: Record<string, Trigger> },
): RabbitTriggerConfig {
  const f: TriggerFields = new TriggerFields(name, trigger);
  const rawUrl = f.top('url');
  if (!rawUrl)
    f.fail(`${f.field}.url`, `${f.field}.url must be set to the broker, e.g. amqp://user:password@127.0.0.1:5672`);
  const parsed = parseBrokerUrl(rawUrl, `${f.field}.url`, ['amqp', 'amqps'], 'amqp');
  const username = parsed.username ?? (f.top('username') || undefined);
  const password = parsed.password ?? (f.top('password') || undefined);

  const exchange = f.str('exchangeName');
  const topics = f.strList('topics');
  if (topics.length && !exchange)
    f.fail(
      f.attrField('exchangeName'),
      `${f.attrField('exchangeName')} must be set when topics are: the queue is bound to that exchange with them`,
    );
  let queue = f.str('queueName');
  if (!queue) {
    const unnamed = Object.entries(fn.triggers ?? { [name]: trigger })
      .filter(
        ([, t]) => (t.kind === 'rabbit-mq' || t.kind === 'rabbitMq') && !new TriggerFields('', t).str('queueName'),
      )
      .map(([k]) => k)
      .sort();
    queue =
      unnamed.length > 1 && unnamed[0] !== name
        ? `nuclio-${fn.namespace}-${fn.name}-${name}`
        : `nuclio-${fn.namespace}-${fn.name}`;
  }
  const workers = Math.max(1, trigger.numWorkers ?? trigger.maxWorkers ?? 1);
  return {
    url: parsed.url,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    exchange,
    queue,
    topics,
    durableExchange: f.bool('durableExchange'),
    durableQueue: f.bool('durableQueue'),
    prefetch: f.raw('prefetchCount') === undefined ? workers : f.int('prefetchCount', workers, 0, 65_535),
    onError: f.choice('onError', ['nack', 'ack'] as const, 'nack'),
    requeueOnError: f.bool('requeueOnError'),
    reconnectIntervalMs: f.duration('reconnectInterval', '15s'),
    reconnectDurationMs: f.duration('reconnectDuration', '5m'),
  };
}
