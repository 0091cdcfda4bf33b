/**
 * A function's triggers as table rows for `protium get function NAME`: name, kind, where it consumes
 * from (credentials hidden) and what (subject, subscriptions, queue and routing keys, topics and group,
 * schedule), workers. Pure.
 */
import { redactUrl } from '../resources/broker-triggers/attributes.js';

type TriggerLike = { kind?: unknown; url?: unknown; numWorkers?: unknown; attributes?: Record<string, unknown> };

/** A field as a cell: lists joined with commas, strings as they are, anything else as JSON. */
const text = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : Array.isArray(v)
      ? v.map(text).join(',')
      : typeof v === 'string'
        ? v
        : (JSON.stringify(v) ?? '');

/** One row per trigger, sorted by name. */
export function triggerRows(triggers: unknown): string[][] {
  if (!triggers || typeof triggers !== 'object') return [];
  return Object.entries(triggers as Record<string, TriggerLike>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, t]) => {
      const a = t.attributes ?? {};
      const kind = text(t.kind);
      let source = t.url ? redactUrl(text(t.url)) : '';
      let consumes = '';
      switch (kind) {
        case 'nats':
          consumes = `subject ${text(a.topic)}${a.queueName ? `, queue ${text(a.queueName)}` : ''}`;
          break;
        case 'mqtt':
          consumes = Array.isArray(a.subscriptions)
            ? a.subscriptions
                .map((s: { topic?: unknown; qos?: unknown }) => `${text(s?.topic)} (qos ${text(s?.qos ?? 0)})`)
                .join(', ')
            : '';
          break;
        case 'rabbit-mq':
        case 'rabbitMq':
          consumes = [
            a.queueName ? `queue ${text(a.queueName)}` : 'queue (default)',
            a.exchangeName ? `exchange ${text(a.exchangeName)}` : '',
            a.topics ? `keys ${text(a.topics)}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          break;
        case 'kafka-cluster':
          source = text(a.brokers) || source;
          consumes = `topics ${text(a.topics)}, group ${text(a.consumerGroup)}`;
          break;
        case 'cron':
          consumes = a.schedule ? `schedule ${text(a.schedule)}` : `every ${text(a.interval)}`;
          break;
        case 'v3ioStream':
          consumes = `${text(a.containerName)}/${text(a.streamPath)}`;
          break;
        default:
          break;
      }
      return [name, kind, source || '-', consumes || '-', text(t.numWorkers) || '-'];
    });
}
