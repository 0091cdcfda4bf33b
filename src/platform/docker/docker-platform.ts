/**
 * The docker Platform: every replica a container of a Docker Engine API (Docker, or Podman's
 * Docker-compatible service), one DockerFunction per function. What it owns:
 *
 * - **Ports.** Each function's port is bound by the dashboard and forwarded to its containers
 *   (port-proxy.ts), so it stays stable, wakes a function scaled to zero, balances replicas and rolls
 *   over without dropping a request, as on the local platform. A function's route is that port.
 * - **The processor image** (processor-image.ts), built on first need, and the node's **artifact cache**
 *   (artifact-volumes.ts): replicas get their code the way a cluster's pods will, fetched from the
 *   dashboard by id and verified by digest — never a bind mount of the data dir.
 * - **What it made.** Everything it creates in the engine carries this dashboard's id (kept in the data
 *   dir: `dashboard-id`). At start it removes the build, fetch, probe and pool containers an earlier run left,
 *   and keeps that run's replicas for the functions to adopt when they are applied again (kill -9 of the
 *   dashboard, then a start: the same containers serve on); those of functions the store no longer holds
 *   go at once, those not adopted within ADOPT_WINDOW_MS after.
 *   It never touches a container without its id.
 * - **Pre-started containers** (--prewarm: container-pool.ts) that replicas take instead of creating one.
 * - **Logs** are the containers' own (container-logs.ts): they survive the dashboard and go with the
 *   container.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import type { ArtifactTokens } from '../../api/artifact-tokens.js';
import type { ArtifactArchives } from '../../builder/artifact-archive.js';
import type { Artifact, Builder } from '../../builder/builder.js';
import type { BuildCommandRunner } from '../../builder/build-commands.js';
import type { PackageManagerConfig } from '../../builder/package-manager-config.js';
import { apiError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import { hostAddresses } from '../local/host-addresses.js';
import { candidatePorts, listenOnFree } from '../local/port-pool.js';
import { fixedPortOf, HostPorts } from '../host-endpoints.js';
import { PlatformEvents } from '../platform-events.js';
import {
  ApplyError,
  type ApplyOptions,
  type DashboardAccess,
  type Endpoint,
  type LogQuery,
  type Platform,
  type PlatformEvent,
  type PlatformListener,
  type PrewarmStats,
  type ReplicaInfo,
} from '../platform.js';
import { ArtifactVolumes } from './artifact-volumes.js';
import { ContainerBuildCommands } from './container-build-commands.js';
import { openContainerLog } from './container-logs.js';
import { bridgeAddress } from './container-network.js';
import { ContainerPool } from './container-pool.js';
import type { ReplicaTemplate } from './container-spec.js';
import { DockerBuilder, isUserImage } from './docker-builder.js';
import { DockerFunction, leftoverOf, replicaPrefix, type Leftover } from './docker-function.js';
import { connectEngine, engineMessage, engineStatus } from './engine.js';
import { functionOf, LABELS, ownFilter, ROLES } from './labels.js';
import { ProcessorImage } from './processor-image.js';
import { replicaTemplate } from './replica-template.js';

/** How long the credential a specialising pool container fetches its artifact with lasts. */
const POOL_FETCH_TOKEN_TTL_MS = 2 * 60_000;

/** Replicas an earlier run left are removed when no apply adopted them within this long of the start. */
export const ADOPT_WINDOW_MS = 120_000;

const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
};

export interface DockerPlatformOptions {
  /** The engine's URL (--docker-host). */
  dockerHost: string;
  /** What the processor image is built from (--base-image). */
  baseImage: string;
  /** This package's root: the processor image is assembled from its build. */
  packageRoot: string;
  /** The data dir: this dashboard's id is kept there. */
  dataDir: string;
  /** Address function ports bind to. */
  host: string;
  portRange: [number, number];
  /** Addresses that make external invocation URLs when functions bind every interface (default: this host's). */
  externalIps?: string[];
  /** Stored ports (status.httpPort), each kept for its function until it binds (see LocalPlatformOptions). */
  reservedPorts?: { ref: FunctionRef; port: number }[];
  /** The functions the store holds: replicas an earlier run left for any other function go at start. */
  knownFunctions?: FunctionRef[];
  log: Logger;
  /**
   * Processor containers kept started for replicas to take, e.g. on a wake from zero (--prewarm;
   * container-pool.ts); 0 or absent: none.
   */
  prewarm?: number;
  /** How long a connection waits for a replica (wake, restart) before a 503. */
  holdTimeoutMs?: number;
  connectionLimits?: ConnectionLimits;
  /** The stream credential replicas with a v3ioStream trigger present to the dashboard. */
  dashboard?: Pick<DashboardAccess, 'replicaToken'>;
  /** Packs artifacts and issues the credentials their fetchers present (api/routes/artifacts.ts serves them). */
  artifacts: { archives: ArtifactArchives; tokens: ArtifactTokens };
  /**
   * Makes the dashboard reachable from containers: it listens on `host` (this machine's address on the
   * container network: api/replica-listener.ts) and answers that listener's URL. Called once, on first need.
   */
  replicaEndpoint: (host: string) => Promise<string>;
  /** false (--metrics off): the replicas' counters are not polled. */
  metrics?: boolean;
}

const key = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;

/** This dashboard's id in `dataDir` (made on first use): what it labels its containers with. */
export function dashboardIdOf(dataDir: string): string {
  const file = join(dataDir, 'dashboard-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{12}$/.test(id)) return id;
  } catch {
    /* first start */
  }
  const id = randomBytes(6).toString('hex');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

export class DockerPlatform implements Platform {
  readonly name = 'docker';
  private readonly functions = new Map<string, DockerFunction>();
  /** Functions removed whose replicas are still stopping (their artifacts are still in use). */
  private readonly closing = new Set<DockerFunction>();
  private readonly usedPorts = new Set<number>();
  private readonly reserved = new Map<number, string>();
  /** Replicas an earlier run left, by function key, until adopted or removed. */
  private readonly leftovers = new Map<string, Leftover[]>();
  private readonly adoptTimer: NodeJS.Timeout;
  readonly image: ProcessorImage;
  private readonly volumes: ArtifactVolumes;
  private replicaUrl?: Promise<string>;
  private pruning?: NodeJS.Timeout;
  private readonly events: PlatformEvents;
  private readonly ports: HostPorts;
  /** Pre-started processor containers (--prewarm), undefined when there are none. */
  readonly pool?: ContainerPool;
  private closed = false;

  private constructor(
    private readonly docker: Docker,
    readonly dashboardId: string,
    readonly engine: string,
    private readonly opts: DockerPlatformOptions,
    leftovers: (Leftover & { ref: FunctionRef })[][],
  ) {
    this.events = new PlatformEvents(opts.log);
    this.ports = new HostPorts(opts.host, () => opts.externalIps ?? hostAddresses());
    for (const { ref, port } of opts.reservedPorts ?? [])
      if (!this.reserved.has(port)) this.reserved.set(port, key(ref));
    for (const list of leftovers) if (list.length) this.leftovers.set(key(list[0].ref), list);
    const say = (level: 'info' | 'warn' | 'error', message: string) =>
      opts.log[level]({ component: 'processor-image' }, message);
    this.image = new ProcessorImage(docker, { root: opts.packageRoot, baseImage: opts.baseImage, log: say });
    this.volumes = new ArtifactVolumes(docker, {
      dashboardId,
      image: (log) => this.image.ensure(log),
      archives: opts.artifacts.archives,
      tokens: opts.artifacts.tokens,
      dashboardUrl: () => this.dashboardUrl(),
      log: (level, message) => opts.log[level]({ component: 'artifact-cache' }, message),
    });
    this.adoptTimer = setTimeout(() => void this.removeUnadopted(), ADOPT_WINDOW_MS);
    this.adoptTimer.unref();
    if (opts.prewarm) {
      this.pool = new ContainerPool({
        docker,
        dashboardId,
        size: opts.prewarm,
        image: () => this.image.ensure(),
        artifactFetch: async (id) => {
          const archive = await opts.artifacts.archives.archive(id);
          if (!archive) throw new Error(`The artifact ${id} is not on the dashboard (any more)`);
          return {
            url: `${await this.dashboardUrl()}/api/artifacts/${id}`,
            token: opts.artifacts.tokens.issue(id, POOL_FETCH_TOKEN_TTL_MS),
            digest: archive.digest,
          };
        },
        log: opts.log.child({ component: 'container-pool' }),
      });
      this.pool.fill();
    }
  }

  /**
   * Connects to the engine (failing with a message a person can act on), reads this dashboard's id, and
   * sorts out what an earlier run of it left: build, fetch and probe containers go; replicas wait for
   * their functions to adopt them.
   */
  static async start(opts: DockerPlatformOptions): Promise<DockerPlatform> {
    const { docker, name } = await connectEngine(opts.dockerHost);
    const id = dashboardIdOf(opts.dataDir);
    const own = await docker.listContainers({ all: true, filters: ownFilter(id) });
    const known = opts.knownFunctions ? new Set(opts.knownFunctions.map(key)) : undefined;
    const byFunction = new Map<string, (Leftover & { ref: FunctionRef })[]>();
    let removed = 0;
    let pooled = 0;
    for (const c of own) {
      const ref = functionOf(c.Labels);
      if (c.Labels?.[LABELS.role] === ROLES.replica && ref && (!known || known.has(key(ref)))) {
        const list = byFunction.get(key(ref)) ?? [];
        list.push({ ...leftoverOf(c), ref });
        byFunction.set(key(ref), list);
      } else {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
        removed++;
        // A pool container, idle or taken (its labels still say pool): a taken one's function starts anew.
        if (c.Labels?.[LABELS.role] === ROLES.pool) pooled++;
      }
    }
    const replicas = [...byFunction.values()].reduce((n, l) => n + l.length, 0);
    opts.log.info(
      {
        engine: name,
        dockerHost: opts.dockerHost,
        dashboardId: id,
        leftoverReplicas: replicas,
        removedLeftovers: removed,
        ...(pooled ? { removedPoolContainers: pooled } : {}),
      },
      'container platform ready',
    );
    return new DockerPlatform(docker, id, name, opts, [...byFunction.values()]);
  }

  /** The builder for this platform: `inner` with the processor image made first, and users' images run as given. */
  builder(inner: Builder): Builder {
    return new DockerBuilder(inner, this.image);
  }

  /** What runs build commands: a container of the processor image. */
  buildCommands(packageManagers: PackageManagerConfig): BuildCommandRunner {
    return new ContainerBuildCommands(this.docker, {
      dashboardId: this.dashboardId,
      image: this.image,
      packageManagers,
    });
  }

  /** Its pre-started containers (--prewarm), for GET /metrics. */
  prewarm(): PrewarmStats | undefined {
    return this.pool?.stats();
  }

  subscribe(listener: PlatformListener): () => void {
    return this.events.subscribe(listener);
  }

  private emit(event: PlatformEvent): void {
    this.events.emit(event);
  }

  /** The dashboard's URL as containers reach it (its listener on the container network, opened once). */
  private dashboardUrl(): Promise<string> {
    this.replicaUrl ??= (async () => {
      const host = await bridgeAddress(this.docker, () => this.image.ensure(), this.dashboardId);
      const url = await this.opts.replicaEndpoint(host);
      this.opts.log.info({ url }, 'the dashboard listens for replicas in containers');
      return url;
    })().catch((e) => {
      this.replicaUrl = undefined;
      throw e;
    });
    return this.replicaUrl;
  }

  /** The template of a version's replicas: the image exists, the artifact is in the node's cache. */
  private async prepare(fn: FunctionRecord, artifact: Artifact): Promise<ReplicaTemplate> {
    const common = {
      dashboardId: this.dashboardId,
      fn,
      artifact,
      connectionLimits: this.opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS,
    };
    if (isUserImage(artifact)) return replicaTemplate({ ...common, image: artifact.image });
    const image = await this.image.ensure();
    // With a pool, the volume is filled only when a container that mounts it is made (FunctionEnv.beforeCreate).
    const cache = this.pool ? await this.volumes.planned(artifact.id) : await this.volumes.ensure(artifact.id);
    const streams = Object.values(fn.spec.triggers ?? {}).some((t) => t.kind === 'v3ioStream');
    return replicaTemplate({
      ...common,
      image,
      cache,
      ...(streams ? { dashboardUrl: await this.dashboardUrl() } : {}),
      ...(this.opts.dashboard?.replicaToken ? { streamToken: this.opts.dashboard.replicaToken } : {}),
    });
  }

  // ---------------------------------------------------------------- ports and routes

  /** Where functions are reached from outside (--external-ip, else this host's): /api/external_ip_addresses. */
  externalAddresses(): string[] {
    return this.ports.externalAddresses();
  }

  private async functionFor(fn: FunctionRecord): Promise<DockerFunction> {
    if (this.closed) throw new Error('The platform is shutting down');
    const ref = { namespace: fn.metadata.namespace!, name: fn.metadata.name! };
    const fixed = fixedPortOf(fn);
    let f = this.functions.get(key(ref));
    if (f && fixed && f.port !== fixed) {
      // The http trigger asks for another port: move.
      await this.stopFunction(ref);
      f = undefined;
    }
    if (f) return f;
    const own = key(ref);
    f = new DockerFunction(ref, {
      docker: this.docker,
      log: this.opts.log,
      holdTimeoutMs: this.opts.holdTimeoutMs ?? 60_000,
      connectionLimits: this.opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS,
      prepare: (record, artifact) => this.prepare(record, artifact),
      ...(this.pool
        ? {
            takePooled: this.pool.take.bind(this.pool),
            beforeCreate: async (t: ReplicaTemplate) => {
              if (t.artifactId && t.volume) await this.volumes.ensure(t.artifactId);
            },
          }
        : {}),
      takeLeftovers: () => {
        const list = this.leftovers.get(own) ?? [];
        this.leftovers.delete(own);
        return list;
      },
      onStatus: (status) => this.emit({ type: 'status', ref, status }),
      onRouteChanged: () => this.emit({ type: 'routeChanged', ref, targets: this.ports.targets(f!.port) }),
      onReplicasStopped: () => {
        this.emit({ type: 'replicasStopped', ref });
        this.schedulePrune();
      },
      onMetrics: (metrics) => this.emit({ type: 'metrics', ref, metrics }),
      stats: this.opts.metrics !== false,
    });
    const preferred = [...this.reserved].find(([, k]) => k === own)?.[0];
    const candidates = fixed ? [fixed] : candidatePorts(this.opts.portRange, own, preferred);
    const taken = new Set(this.usedPorts);
    for (const [port, k] of this.reserved) if (k !== own) taken.add(port);
    const onTaken = (port: number, err: Error) =>
      this.opts.log.debug({ function: own, port, err: err.message }, 'port taken; trying the next');
    try {
      f.port = await listenOnFree(f.proxy.server, this.opts.host, candidates, taken, {
        exact: fixed !== undefined,
        onTaken,
      });
    } catch (e) {
      await f.close();
      throw e;
    }
    if (this.closed) {
      await f.close();
      throw new Error('The platform is shutting down');
    }
    if (preferred && f.port !== preferred && !fixed)
      this.opts.log.info(
        { function: own, previousPort: preferred, port: f.port },
        "the function's previous port is taken by another program: it moved",
      );
    for (const [port, k] of this.reserved) if (k === own) this.reserved.delete(port);
    this.usedPorts.add(f.port);
    this.functions.set(own, f);
    return f;
  }

  async apply(fn: FunctionRecord, artifact: Artifact, opts: ApplyOptions = {}): Promise<Endpoint> {
    const f = await this.functionFor(fn);
    try {
      await f.deploy(fn, artifact, opts.parked === true);
    } catch (e) {
      throw new ApplyError((e as Error).message, this.ports.endpoint(f.port));
    }
    return this.ports.endpoint(f.port);
  }

  async scaleToZero(ref: FunctionRef): Promise<void> {
    await this.functions.get(key(ref))?.scaleToZero();
  }

  async remove(ref: FunctionRef): Promise<void> {
    const port = await this.stopFunction(ref);
    const left = this.leftovers.get(key(ref)) ?? [];
    this.leftovers.delete(key(ref));
    await Promise.all(
      left.map((l) =>
        this.docker
          .getContainer(l.id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
    if (port) this.emit({ type: 'routeChanged', ref, targets: this.ports.targets(port) });
  }

  /** Stops a function's replicas (removing their containers, logs with them) and frees its port. */
  private async stopFunction(ref: FunctionRef): Promise<number | undefined> {
    for (const [port, k] of this.reserved) if (k === key(ref)) this.reserved.delete(port);
    const f = this.functions.get(key(ref));
    if (!f) return undefined;
    this.functions.delete(key(ref));
    this.closing.add(f);
    try {
      await f.close();
    } finally {
      this.closing.delete(f);
    }
    this.usedPorts.delete(f.port);
    return f.port;
  }

  /**
   * The function's port while a version serves it: it resolves at once, the port holds a connection while
   * a replica wakes or restarts (port-proxy.ts).
   */
  route(ref: FunctionRef): Promise<string> {
    const f = this.functions.get(key(ref));
    if (f?.serving()) return Promise.resolve(this.ports.routeTo(f.port));
    const why = !f
      ? 'it is not deployed'
      : f.disabled()
        ? 'it is disabled (spec.disable)'
        : 'no version of it has started yet';
    return Promise.reject(apiError('FUNCTION_NOT_ROUTABLE', ref.name, why));
  }

  async replicas(ref: FunctionRef): Promise<ReplicaInfo[]> {
    return this.functions.get(key(ref))?.replicaInfos() ?? [];
  }

  async artifactsInUse(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const f of [...this.functions.values(), ...this.closing]) for (const id of f.artifactsInUse()) ids.add(id);
    return ids;
  }

  /** A replica's log: its container's. */
  async logs(ref: FunctionRef, replica: string, query: LogQuery): Promise<AsyncIterable<string>> {
    const prefix = replicaPrefix(ref);
    const lower = replica.toLowerCase();
    if (!lower.startsWith(prefix.toLowerCase())) throw apiError('REPLICA_OF_OTHER_FUNCTION', replica, ref.name);
    if (!/^[a-z0-9]{1,16}$/.test(lower.slice(prefix.length))) throw apiError('REPLICA_NAME_INVALID', replica, ref.name);
    const known = this.functions.get(key(ref))?.hasReplica(lower);
    let container = known?.container;
    if (!container) {
      // Not one of the function's replicas now: a container of ours by that name still has its log.
      const found = await this.docker.listContainers({
        all: true,
        filters: { ...ownFilter(this.dashboardId, { role: ROLES.replica, fn: ref }), name: [lower] },
      });
      const match = found.find((c) => (c.Names ?? []).some((n) => n.replace(/^\//, '') === lower));
      if (!match) throw apiError('REPLICA_LOG_NOT_FOUND', replica, ref.name);
      container = this.docker.getContainer(match.Id);
    }
    try {
      await container.inspect();
    } catch (e) {
      if (engineStatus(e) === 404) throw apiError('REPLICA_LOG_NOT_FOUND', replica, ref.name);
      throw new Error(`Failed to read the log of ${replica}: ${engineMessage(e)}`, { cause: e });
    }
    return openContainerLog(this.docker, container, query);
  }

  // ---------------------------------------------------------------- what it made

  /** Removes replicas an earlier run left that no function adopted (their function did not come back). */
  private async removeUnadopted(): Promise<void> {
    const all = [...this.leftovers.values()].flat();
    this.leftovers.clear();
    this.schedulePrune();
    if (!all.length) return;
    this.opts.log.info(
      { containers: all.map((l) => l.name) },
      'removing replicas an earlier run left that no function adopted',
    );
    await Promise.all(
      all.map((l) =>
        this.docker
          .getContainer(l.id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  }

  /** Soon after replicas stopped: cache volumes and archives of artifacts nothing runs go. */
  private schedulePrune(): void {
    if (this.pruning || this.closed) return;
    this.pruning = setTimeout(() => {
      this.pruning = undefined;
      void (async () => {
        const keep = await this.artifactsInUse();
        await this.volumes.prune(keep);
        await this.opts.artifacts.archives.pruneCollected();
      })().catch((e) => this.opts.log.warn({ err: (e as Error).message }, 'pruning the artifact cache failed'));
    }, 1_000);
    this.pruning.unref();
  }

  triggerProblem(_ref: FunctionRef): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.adoptTimer);
    if (this.pruning) clearTimeout(this.pruning);
    const all = [...this.functions.values()];
    this.functions.clear();
    await Promise.all([...all.map((f) => f.close()), this.pool?.close()]);
    await this.removeUnadopted();
  }
}
