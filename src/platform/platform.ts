/**
 * The Platform seam: running functions. Sized like faas-provider's interfaces, not nuclio's: resources
 * live in the Store, validation in resources/; the platform only starts, stops, scales, reports and tails
 * replicas. `local/` runs them as processes on this machine.
 */
import type { Artifact } from '../build/builder.js';
import type { FunctionRecord, FunctionRef, FunctionStatus } from '../resources/types.js';

export type ReplicaState = 'starting' | 'ready' | 'restarting' | 'stopping';

export interface ReplicaInfo {
  name: string;
  state: ReplicaState;
  pid?: number;
  restarts: number;
  /** ISO time the current process started. */
  startedAt: string;
}

/** Where a running (or parked) function answers. */
export interface Endpoint {
  httpPort: number;
  /** host:port, no scheme (spec §15). */
  internalInvocationUrls: string[];
  externalInvocationUrls: string[];
}

export interface LogQuery {
  /** Keep the stream open and send new lines until the signal aborts. */
  follow: boolean;
  /** Only lines written in the last `sinceMs` milliseconds. */
  sinceMs?: number;
  /** Only the last N lines of the existing log. */
  tailLines?: number;
  signal: AbortSignal;
}

/** Status changes a platform reports on its own (a replica crashed, a function woke up or went idle). */
export type StatusListener = (ref: FunctionRef, status: Partial<FunctionStatus>) => void;

export interface ApplyOptions {
  signal?: AbortSignal;
  /** The port the function had before (status.httpPort), kept when free so URLs stay stable. */
  previousPort?: number;
  /** Deploy parked: bind the port, start no replica until a request arrives. */
  parked?: boolean;
}

export interface Platform {
  readonly name: string;
  /** Converges `fn` to run `artifact`; resolves once replicas answer (or the port is parked), rejects with the reason. */
  apply(fn: FunctionRecord, artifact: Artifact, opts?: ApplyOptions): Promise<Endpoint>;
  /** Stops every replica but keeps the port, so the next request wakes the function. */
  scaleToZero(ref: FunctionRef): Promise<void>;
  /** Stops replicas and frees the port. Idempotent. */
  remove(ref: FunctionRef): Promise<void>;
  /** Live replicas (never cached). */
  replicas(ref: FunctionRef): ReplicaInfo[];
  /** Log lines of one replica (or the build log); throws ApiError 400 for a replica of another function. */
  logs(ref: FunctionRef, replica: string, query: LogQuery): AsyncIterable<string>;
  /** The port a function answers on, if it has one. */
  port(ref: FunctionRef): number | undefined;
  /**
   * The port, if a version of the function serves it: one whose replicas answer, restart, or wake from
   * zero — the previous version while a new one builds or rolls over, or after it failed to start.
   * Undefined when nothing serves (first deploy still running, disabled, removed). Invocation paths ask
   * this rather than the stored state, which says what is being done, not what answers.
   */
  servingPort(ref: FunctionRef): number | undefined;
  /**
   * Keeps stored ports (status.httpPort) for their functions: no other function is given one of them.
   * Called with every stored function's port before the first apply after a start.
   */
  reservePorts(ports: { ref: FunctionRef; port: number }[]): void;
  /**
   * What the serving replicas report is wrong while they run — a broker trigger that cannot reach its
   * broker, with the reason — or undefined. The deploy's status carries it; later changes come as reports.
   */
  triggerProblem(ref: FunctionRef): string | undefined;
  close(): Promise<void>;
}
