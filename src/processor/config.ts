/**
 * What the dashboard tells a replica: written as JSON to a file named by PROTIUM_PROCESSOR_CONFIG before
 * the processor starts. The processor shares only resource types with the dashboard.
 */
import type { RuntimeFamily } from '../resources/runtimes.js';
import type { EnvVar, Trigger } from '../resources/types.js';
import type { ConnectionLimits } from '../util/connection-guard.js';

export interface ProcessorConfig {
  /** Replica name, e.g. nuclio-nuclio-hello-7x2kq. */
  replica: string;
  namespace: string;
  functionName: string;
  /** The function's labels and annotations (NATS queue names and Kafka settings may come from them). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  family: RuntimeFamily;
  runtime: string;
  /** `module:entry` as in spec.handler. */
  handler: string;
  /** The artifact folder (sources, installed dependencies). */
  artifactDir: string;
  triggers: Record<string, Trigger>;
  env: EnvVar[];
  /** spec.eventTimeout in ms (0: none). */
  eventTimeoutMs: number;
  runtimeAttributes: Record<string, unknown>;
  /** Real path of the python interpreter (python family). */
  pythonPath?: string;
  /** Folder holding the python wrapper and the nuclio_sdk shim. */
  pythonRuntimeDir?: string;
  /** spec.resources.limits.memory in bytes: each python worker process gets it as its address-space limit. */
  memoryLimitBytes?: number;
  /** Bounds on the http trigger's connections (the dashboard's --max-connections and timeouts). */
  connectionLimits?: ConnectionLimits;
  /** The credential v3ioStream triggers send to the dashboard's own stream service (when it has a token). */
  streamToken?: string;
  /** Minimum level of the replica's own log lines. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Messages on the IPC channel between the dashboard and a replica. */
export type ToReplica =
  /** A connection (the handle) to serve; the replica acknowledges it before reading from it. */
  | { t: 'conn'; id: number }
  /** Stop: events in flight get `graceMs`; idle keep-alive clients get `drainMs` to leave on their own. */
  | { t: 'stop'; graceMs: number; drainMs: number }
  /**
   * To a pre-started processor (processor-pool.ts): become this replica — its config file, its whole
   * environment (PROTIUM_PROCESSOR_CONFIG included) and its working folder.
   */
  | { t: 'specialise'; env: Record<string, string>; cwd: string };

export type FromReplica =
  | { t: 'ready' }
  /** A pre-started processor has loaded its modules and waits for `specialise`. */
  | { t: 'pooled' }
  | { t: 'ack'; id: number }
  | { t: 'failed'; message: string }
  | { t: 'load'; inflight: number; handled: number }
  /** A broker trigger reaches its broker, or not (`message` says why); sent on every change, before `ready` too. */
  | { t: 'trigger'; name: string; kind: string; connected: boolean; message?: string };
