/**
 * The message triggers (Nuclio's `nats`, `mqtt`, `rabbit-mq` and `kafka-cluster` kinds): which kinds they
 * are, and one entry point that resolves (and so validates) any of them. The API validates with it; each
 * trigger in the processor resolves its own settings with the same function. Pure.
 */
import type { Trigger } from '../types.js';
import type { FunctionIdentity } from './attributes.js';
import { kafkaTriggerConfig } from './kafka.js';
import { mqttTriggerConfig } from './mqtt.js';
import { natsTriggerConfig } from './nats.js';
import { rabbitTriggerConfig } from './rabbitmq.js';

/** Broker trigger kinds (with Nuclio's aliases `rabbitMq` and `kafka`) → the broker. */
export const BROKER_TRIGGER_KINDS = {
  nats: 'nats',
  mqtt: 'mqtt',
  'rabbit-mq': 'rabbitmq',
  rabbitMq: 'rabbitmq',
  'kafka-cluster': 'kafka',
  kafka: 'kafka',
} as const;

export type Broker = (typeof BROKER_TRIGGER_KINDS)[keyof typeof BROKER_TRIGGER_KINDS];

/** The broker of a trigger kind, or undefined for another kind. */
export function brokerOf(kind: unknown): Broker | undefined {
  return typeof kind === 'string' && Object.hasOwn(BROKER_TRIGGER_KINDS, kind)
    ? BROKER_TRIGGER_KINDS[kind as keyof typeof BROKER_TRIGGER_KINDS]
    : undefined;
}

/** Resolves a broker trigger's settings; throws a field error (INVALID_FIELD) naming the field at fault. */
export function validateBrokerTrigger(
  name: string,
  trigger: Trigger,
  fn: FunctionIdentity & { triggers?: Record<string, Trigger> },
): void {
  switch (brokerOf(trigger.kind)) {
    case 'nats':
      natsTriggerConfig(name, trigger, fn);
      return;
    case 'mqtt':
      mqttTriggerConfig(name, trigger, fn);
      return;
    case 'rabbitmq':
      rabbitTriggerConfig(name, trigger, fn);
      return;
    case 'kafka':
      kafkaTriggerConfig(name, trigger, fn);
      return;
    default:
      return;
  }
}
