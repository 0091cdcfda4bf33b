/**
 * The Platform seam: running functions. Sized like faas-provider's interfaces, not nuclio's: resources
 * live in the Store, validation in resources/, builds and build logs with the Builder and the controller;
 * a platform only runs, routes to, scales, reports on, tails and removes replicas.
 *
 * Every implementation must pass `platform.contract.ts`. `local/` runs replicas as processes on this
 * machine. A container platform (a Docker/Podman container per replica, the processor fetching its
 * artifact from the dashboard by id) and a Kubernetes platform (a Deployment and a Service per function;
 * the dashboard holding a request while it scales from zero) implement the same interface: nothing here
 * names a process, a port the dashboard binds, or a path on this machine.
 */
import type { Artifact } from '../builder/builder.js';
import type { HandedConnection } from '../gateway/handed-route.js';
import type { ReplicaStats } from '../processor/stats.js';
import type { FunctionRecord, FunctionRef, FunctionStatus } from '../resources/types.js';

/** Where a replica is in its life: only a `ready` one takes requests. */
export type ReplicaState = 'starting' | 'ready' | 'restarting' | 'stopping';

/** One replica of a function's serving version, as the replicas endpoint lists it. */
export interface ReplicaInfo {
  /** Unique among the function's replicas; the name its log is read by. */
  name: string;
  state: ReplicaState;
  /** The process id where the platform has one (on this machine: the replica's confinement wrapper). */
  pid?: number;
  /** How many times the platform restarted it after it exited on its own. */
  restarts: number;
  /** ISO time the current process (container, pod) started. */
  startedAt: string;
}

/** Where a deployed function answers, as status reports it (clients read its `host:port` lists). */
export interface Endpoint {
  /** The function's port (the http trigger's), stable across updates and restarts. */
  httpPort: number;
  /** host:port, no scheme, reachable from the dashboard's machine. */
  internalInvocationUrls: string[];
  /** host:port, no scheme, reachable from outside. */
  externalInvocationUrls: string[];
  /**
   * What is wrong while the new version runs (from `apply`): a broker trigger that cannot reach its
   * broker, with the reason. The function serves but is `unhealthy`; later changes come as status events.
   */
  problem?: string;
}

/** Which lines of a log to read, and whether to keep reading (the logs endpoint's query). */
export interface LogQuery {
  /** Keep the stream open and send new lines until the signal aborts. */
  follow: boolean;
  /** Only lines written in the last `sinceMs` milliseconds. */
  sinceMs?: number;
  /** Only the last N lines of the existing log. */
  tailLines?: number;
  signal: AbortSignal;
}

/** What a platform reports on its own, without being asked: `subscribe` delivers these. */
export type PlatformEvent =
  /** A function's state changed by itself: a replica crashed or came back, it woke or went idle. */
  | { type: 'status'; ref: FunctionRef; status: Partial<FunctionStatus> }
  /**
   * The replicas behind these host:port targets were replaced by a new version, or removed. A client
   * that keeps connections open to them (the Invoker's pools) drops them, or its next request is
   * answered by the old version while it drains.
   */
  | { type: 'routeChanged'; ref: FunctionRef; targets: string[] }
  /** Replicas of a function stopped: the artifacts they ran from may be collectable now. */
  | { type: 'replicasStopped'; ref: FunctionRef }
  /** Something measured about the function's replicas (the dashboard's metrics and charts). */
  | { type: 'metrics'; ref: FunctionRef; metrics: PlatformMetrics };

/**
 * What a platform measures and reports as `metrics` events:
 * - `replica`: a replica's counters as its processor reports them (processor/stats.ts), cumulative since
 *   that process started — a platform passes each snapshot on as it gets it (IPC here; a container
 *   platform polls the processor's stats address). Counters restart with the process (`stats.boot`); the
 *   dashboard keeps totals monotonic.
 * - `coldStart`: a request found no replica running (scaled to zero) and waited `durationMs` for one.
 * - `restart`: the platform restarted a replica that exited on its own.
 */
export type PlatformMetrics =
  | { kind: 'replica'; replica: string; stats: ReplicaStats }
  | { kind: 'coldStart'; durationMs: number }
  | { kind: 'restart'; replica: string }
  /**
   * Requests replicas served on connections the API gateway handed them (`handOverGateway`), since their
   * last report, as they sent them: the gateway reads them with readRequestCounts (gateway/handed-route.ts).
   */
  | { kind: 'gatewayRequests'; rows: unknown };

/** Receives every PlatformEvent; it must not throw (a throw is logged and ignored). */
export type PlatformListener = (event: PlatformEvent) => void;

/** Options of `Platform.apply`. */
export interface ApplyOptions {
  /** Aborts waiting for the new version (the caller has newer work). */
  signal?: AbortSignal;
  /** Deploy parked: make the function routable, start no replica until a request arrives. */
  parked?: boolean;
}

/** Options of `Platform.route`. */
export interface RouteOptions {
  /** Gives up waiting for a replica to wake (the client left). */
  signal?: AbortSignal;
}

/** Why `apply` failed; `endpoint` is where the function still answers (a previous version serves) or is bound. */
export class ApplyError extends Error {
  constructor(
    message: string,
    readonly endpoint?: Endpoint,
  ) {
    super(message);
    this.name = 'ApplyError';
  }
}

/** How replicas reach the dashboard: every platform is built with it (the local one: LocalPlatformOptions). */
export interface DashboardAccess {
  /**
   * The dashboard's URL as replicas reach it — its stream service, and on a remote platform the
   * artifacts it fetches by id. Known once the API listens, so read at each replica start.
   */
  url: () => string | undefined;
  /** The credential replicas present there: good for /v3io only, never the dashboard's own token. */
  replicaToken?: string;
}

/** Runs functions: see the module comment, and platform.contract.ts for what every implementation must pass. */
/** A platform's pre-started processors (--prewarm; the local platform's processor-pool.ts). */
export interface PrewarmStats {
  /** Processes the pool keeps started. */
  size: number;
  /** Processes started and ready to be taken now. */
  ready: number;
  /** Replica starts that took one, since the platform started. */
  taken: number;
  /** Replica starts that found none ready and started cold. */
  missed: number;
}

export interface Platform {
  readonly name: string;
  /**
   * Converges `fn` to run `artifact`: new replicas start beside the old ones, the switch is atomic, the
   * old ones drain. Resolves once the new version serves (or, parked, is routable); rejects with an
   * ApplyError saying why, and then the previous version, if any, keeps serving.
   */
  apply(fn: FunctionRecord, artifact: Artifact, opts?: ApplyOptions): Promise<Endpoint>;
  /** Stops every replica but keeps the function routable: the next request through its route wakes it. */
  scaleToZero(ref: FunctionRef): Promise<void>;
  /** Stops the function's replicas, frees what it held and drops its replica logs. Idempotent. */
  remove(ref: FunctionRef): Promise<void>;
  /**
   * A host:port that serves the function now: a connection there is answered by a replica of the
   * serving version — the previous one while a new version starts or after it failed to, one woken from
   * zero if needed. Resolves when a connection will be answered (a platform that must start a replica
   * first waits for it); rejects with an ApiError 503 naming the reason when no version serves (never
   * deployed, first deploy still running, disabled, removed) or the wake failed.
   */
  route(ref: FunctionRef, opts?: RouteOptions): Promise<string>;
  /** The serving version's replicas, live (never cached). */
  replicas(ref: FunctionRef): Promise<ReplicaInfo[]>;
  /**
   * The log of one replica: its existing lines, then with `follow` new ones until the signal aborts.
   * Rejects with an ApiError 400 for a name that is not one of the function's replicas and 404 for one
   * that has no log (any more).
   */
  logs(ref: FunctionRef, replica: string, query: LogQuery): Promise<AsyncIterable<string>>;
  /** Artifact ids the platform may still start or serve replicas from (running, draining, waking). */
  artifactsInUse(): Promise<Set<string>>;
  /** Delivers every PlatformEvent to `listener` until the returned function is called. */
  subscribe(listener: PlatformListener): () => void;
  /** Stops every replica; the platform takes no more work. */
  close(): Promise<void>;
  /** Its pre-started processors, when it keeps some (--prewarm). */
  prewarm?(): PrewarmStats | undefined;
  /**
   * Hands a client's connection to the API gateway, with the bytes of its first request already read, to
   * a ready replica of `ref`, which serves the route's requests on it (gateway/handed-route.ts) and sends
   * the others back. False when no replica can take it now: the gateway serves the connection itself.
   * Only a platform whose replicas take connections from the dashboard has it (the local one).
   */
  handOverGateway?(ref: FunctionRef, conn: HandedConnection): boolean;
  /** Tells the replicas holding connections of the routes `keys` name that those changed; resolves once they know. */
  revokeGatewayRoutes?(keys: readonly string[]): Promise<void>;
}
