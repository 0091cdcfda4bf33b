/**
 * The Runtime seam of the processor: hosts a function's handler and runs one event at a time per worker.
 */
import type { ProcessorConfig } from '../config.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import type { ProcessorLogger } from '../logger.js';

export interface Runtime {
  /** Loads the handler (and runs its init-context hook); rejects with a message a user can act on. */
  start(): Promise<void>;
  /** Runs one event on worker `workerId` (0 ≤ id < workers). Never rejects: failures are 5xx results. */
  invoke(event: NuclioEvent, workerId: number): Promise<HandlerResult>;
  /** Stops accepting work and releases processes, waiting at most `graceMs` for events in flight. */
  stop(graceMs: number): Promise<void>;
  /** Drops a timed-out event so that its late answer is ignored (runtimes with worker processes). */
  forget?(event: NuclioEvent, workerId: number): void;
}

export interface RuntimeOptions {
  config: ProcessorConfig;
  log: ProcessorLogger;
  /** Total workers across triggers (Nuclio's numWorkers): the most handler calls that run at once. */
  workers: number;
}

export interface RuntimeFactory {
  (opts: RuntimeOptions): Runtime;
  /**
   * Events each worker may hold queued behind the one it runs (pipelining). Worker ids passed to invoke
   * then range over workers × depth; id / depth is the worker. 1 when the runtime takes no queue.
   */
  pipelineDepth?: number;
}
