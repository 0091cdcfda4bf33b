/**
 * The trigger table: kind → factory. Kinds missing here are reported and skipped by the processor.
 */
import { cronTrigger } from './cron-trigger.js';
import { httpTrigger } from './http-trigger.js';
import type { TriggerFactory } from './trigger.js';
import { v3ioStreamTrigger } from './v3io-stream-trigger.js';

/** Broker triggers load their client library only when a function has one (it costs start time otherwise). */
const lazy =
  (load: () => Promise<TriggerFactory>): TriggerFactory =>
  (ctx) => {
    let trigger: ReturnType<TriggerFactory> | undefined;
    return {
      kind: ctx.spec.kind,
      name: ctx.name,
      async start() {
        trigger = (await load())(ctx);
        await trigger.start();
      },
      stop: (graceMs, drainMs) => trigger?.stop(graceMs, drainMs) ?? Promise.resolve(),
    };
  };

export const triggerFactories: Record<string, TriggerFactory> = {
  http: httpTrigger,
  cron: cronTrigger,
  v3ioStream: v3ioStreamTrigger,
  nats: lazy(async () => (await import('./nats-trigger.js')).natsTrigger),
  mqtt: lazy(async () => (await import('./mqtt-trigger.js')).mqttTrigger),
  'rabbit-mq': lazy(async () => (await import('./rabbitmq-trigger.js')).rabbitTrigger),
  rabbitMq: lazy(async () => (await import('./rabbitmq-trigger.js')).rabbitTrigger),
  'kafka-cluster': lazy(async () => (await import('./kafka-trigger.js')).kafkaTrigger),
  kafka: lazy(async () => (await import('./kafka-trigger.js')).kafkaTrigger),
};
