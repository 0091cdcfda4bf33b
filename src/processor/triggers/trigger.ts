/**
 * The Trigger seam: a source of events (http requests, cron ticks, stream records, broker messages) feeding
 * the runtime through `submit`.
 */
import type { Trigger as TriggerSpec } from '../../resources/types.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import type { ProcessorLogger } from '../logger.js';
import type { WorkerPool } from '../worker-pool.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import type { TriggerStats } from '../stats.js';

/** Runs an event on a worker of the trigger's pool and returns the handler's result. */
export type Submit = (event: NuclioEvent, workerId: number) => Promise<HandlerResult>;

/** Whether a trigger reaches its source (a broker); `message` says why not. */
export interface TriggerState {
  connected: boolean;
  message?: string;
}

/** The function a replica runs, as triggers that derive names from it see it. */
export interface TriggerFunction {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The replica's name (stable across its restarts). */
  replica: string;
  /** Every trigger of the function (a trigger's defaults may depend on its siblings). */
  triggers: Record<string, TriggerSpec>;
}

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
  /** The function (broker triggers need it; others may run without). */
  fn?: TriggerFunction;
  /** Tells the dashboard whether the trigger reaches its broker (the function's status shows it). */
  report?: (state: TriggerState) => void;
  /**
   * The trigger's counters (absent when metrics are off). `submit` already counts handled events; stream
   * and Kafka triggers set `stats.readLag` to say how far behind they are.
   */
  stats?: TriggerStats;
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
