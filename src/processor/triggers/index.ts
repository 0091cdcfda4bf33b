/**
 * The trigger table: kind → factory. Kinds missing here are reported and skipped by the processor.
 */
import { cronTrigger } from './cron-trigger.js';
import { httpTrigger } from './http-trigger.js';
import type { TriggerFactory } from './trigger.js';
import { v3ioStreamTrigger } from './v3io-stream-trigger.js';

export const triggerFactories: Record<string, TriggerFactory> = {
  http: httpTrigger,
  cron: cronTrigger,
  v3ioStream: v3ioStreamTrigger,
};
