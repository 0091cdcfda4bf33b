/**
 * Trigger kinds: the kinds Nuclio registers, and which of them this platform runs. A function
 * with another kind is refused at the API (a typo like `htp` would otherwise deploy as ready, beside the
 * default http trigger, and never fire); the kinds Nuclio knows but this platform does not run are
 * accepted (a function exported from Nuclio keeps them) and reported by the replica as not running.
 */

/** Kinds the processor runs (processor/triggers/index.ts). */
export const RUN_TRIGGER_KINDS = [
  'http',
  'cron',
  'v3ioStream',
  'nats',
  'mqtt',
  'rabbit-mq',
  'rabbitMq',
  'kafka-cluster',
  'kafka',
] as const;

/** Kinds Nuclio registers (with its aliases) that this platform accepts but does not run. */
export const OTHER_NUCLIO_TRIGGER_KINDS = [
  'iotCoreMqtt',
  'kinesis',
  'eventhub',
  'pubsub',
  'v3ioItemPoller',
  'kickstart',
] as const;

const KNOWN = new Set<string>([...RUN_TRIGGER_KINDS, ...OTHER_NUCLIO_TRIGGER_KINDS]);

/** Why `kind` is not a trigger kind (naming the field and the kinds), or undefined when it is one. Pure. */
export function triggerKindError(field: string, kind: unknown): string | undefined {
  if (typeof kind === 'string' && KNOWN.has(kind)) return undefined;
  const got = kind === undefined || kind === '' ? 'is missing' : `${JSON.stringify(kind)} is not a trigger kind`;
  return (
    `${field} ${got}: use one of ${RUN_TRIGGER_KINDS.join(', ')} (run here), ` +
    `or ${OTHER_NUCLIO_TRIGGER_KINDS.join(', ')} (Nuclio's, accepted but not run here)`
  );
}
