/**
 * The Trigger seam: a source of events (http requests, cron ticks) feeding the runtime through `submit`.
 */
import type { Trigger as TriggerSpec } from '../../resources/types.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import type { ProcessorLogger } from '../logger.js';
import type { WorkerPool } from '../worker-pool.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';

/** Runs an event on a worker of the trigger's pool and returns the handler's result. */
export type Submit = (event: NuclioEvent, workerId: number) => Promise<HandlerResult>;

export interface TriggerContext {
  name: string;
  spec: TriggerSpec;
  log: ProcessorLogger;
  pool: WorkerPool;
  submit: Submit;
  /** Bounds on an http trigger's connections (from the dashboard; defaults when standalone). */
  connectionLimits?: ConnectionLimits;
  /** The credential for the dashboard's own stream service, when it has one. */
  streamToken?: string;
}

export interface Trigger {
  readonly kind: string;
  readonly name: string;
  start(): Promise<void>;
  /**
   * Stops taking events; resolves when events in flight are done (or `graceMs` passed). `drainMs`: how
   * long idle keep-alive connections may stay (each gets `Connection: close` on its next answer).
   */
  stop(graceMs: number, drainMs?: number): Promise<void>;
}

export type TriggerFactory = (ctx: TriggerContext) => Trigger;
