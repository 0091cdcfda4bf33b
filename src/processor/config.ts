/**
 * What the dashboard tells a replica: JSON in a file named by PROTIUM_PROCESSOR_CONFIG (a replica process of
 * the local platform), or the JSON itself in PROTIUM_PROCESSOR_CONFIG_JSON (a container, which sees no file
 * of the dashboard's). The processor shares only resource types with the dashboard.
 */
import { readFileSync } from 'node:fs';
import type { HandedRoute, RequestCounts } from '../gateway/handed-route.js';
import type { RuntimeFamily } from '../resources/runtimes.js';
import type { EnvVar, Trigger } from '../resources/types.js';
import type { ConnectionLimits } from '../util/connection-guard.js';
import type { ReplicaStats } from './stats.js';

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
  /** false: count nothing and send no stats (the dashboard's `--metrics off`); default on. */
  metrics?: boolean;
}

/** Messages on the IPC channel between the dashboard and a replica. */
export type ToReplica =
  /** A connection (the handle) to serve; the replica acknowledges it before reading from it. */
  | { t: 'conn'; id: number }
  /**
   * A client's connection to the API gateway (the handle), with the bytes the gateway read of it (base64)
   * and the route it serves (gateway/handed-route.ts); acknowledged like `conn`.
   */
  | { t: 'gw-conn'; id: number; bytes: string; route: HandedRoute }
  /** The routes these keys name changed: their connections' requests go back to the gateway (`gw-revoked`). */
  | { t: 'gw-revoke'; id: number; keys: string[] }
  /** Stop: events in flight get `graceMs`; idle keep-alive clients get `drainMs` to leave on their own. */
  | { t: 'stop'; graceMs: number; drainMs: number }
  /**
   * To a pre-started processor (processor-pool.ts): become this replica — its config (the file's content,
   * so that the wake reads no file), its whole environment (PROTIUM_PROCESSOR_CONFIG included) and its
   * working folder.
   */
  | { t: 'specialise'; env: Record<string, string>; cwd: string; config?: ProcessorConfig };

export type FromReplica =
  | { t: 'ready' }
  /** A pre-started processor has loaded its modules and waits for `specialise`. */
  | { t: 'pooled' }
  | { t: 'ack'; id: number }
  | { t: 'gw-revoked'; id: number }
  /** Requests served on handed gateway connections since the last report: every second while there are some. */
  | { t: 'gw-requests'; rows: RequestCounts[] }
  | { t: 'failed'; message: string }
  | { t: 'load'; inflight: number; handled: number }
  /** The replica's cumulative counters (stats.ts): every second while they change, every 5 s anyway, at exit. */
  | { t: 'stats'; stats: ReplicaStats }
  /** A broker trigger reaches its broker, or not (`message` says why); sent on every change, before `ready` too. */
  | { t: 'trigger'; name: string; kind: string; connected: boolean; message?: string };

/** The processor's config from its environment (see the top of this file). */
export function readProcessorConfig(env: NodeJS.ProcessEnv): ProcessorConfig {
  const inline = env.PROTIUM_PROCESSOR_CONFIG_JSON;
  if (inline) return JSON.parse(inline) as ProcessorConfig;
  const path = env.PROTIUM_PROCESSOR_CONFIG;
  if (!path) throw new Error('Neither PROTIUM_PROCESSOR_CONFIG nor PROTIUM_PROCESSOR_CONFIG_JSON is set');
  return JSON.parse(readFileSync(path, 'utf8')) as ProcessorConfig;
}

/** Where a processor without an IPC channel (a container) serves, and how it stops. */
export interface ListenSettings {
  host: string;
  /** The http trigger's port. */
  port: number;
  /** The health port (health-server.ts). */
  healthPort: number;
  /** On SIGTERM or SIGINT, events in flight get this long. */
  stopGraceMs: number;
  /** On SIGTERM, idle keep-alive clients get this long to leave (each gets `Connection: close`). */
  drainMs: number;
}

/** The container's ports: the http trigger on 8080 and health on 8082, as Nuclio's processor image. */
export const CONTAINER_HTTP_PORT = 8080;
export const CONTAINER_HEALTH_PORT = 8082;

/**
 * Listen settings from the environment (PROTIUM_PROCESSOR_HOST, _PORT, _HEALTH_PORT, _STOP_GRACE_MS, _DRAIN_MS).
 * Pure.
 */
export function listenSettings(env: Record<string, string | undefined>): ListenSettings {
  const num = (name: string, fallback: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new Error(`${name} must be an integer from 0 to ${max}, not ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    host: env.PROTIUM_PROCESSOR_HOST || '127.0.0.1',
    port: num('PROTIUM_PROCESSOR_PORT', CONTAINER_HTTP_PORT, 65535),
    healthPort: num('PROTIUM_PROCESSOR_HEALTH_PORT', CONTAINER_HEALTH_PORT, 65535),
    stopGraceMs: num('PROTIUM_PROCESSOR_STOP_GRACE_MS', 30_000, 3_600_000),
    drainMs: num('PROTIUM_PROCESSOR_DRAIN_MS', 6_000, 3_600_000),
  };
}
