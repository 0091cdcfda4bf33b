/**
 * The composition root: builds every part from a Config, wires them, starts them, and stops them in
 * reverse order. Used by `npm start` (main.ts), `protium dashboard`, and the integration tests (which
 * start whole dashboards in-process on port 0).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ArtifactTokens } from './api/artifact-tokens.js';
import { listenForReplicas, type ReplicaListener } from './api/replica-listener.js';
import { buildApi } from './api/server.js';
import { AsyncInvocations } from './async/async-invocations.js';
import { serveEnqueue } from './async/enqueue-http.js';
import { ArtifactArchives } from './builder/artifact-archive.js';
import { ArtifactStore } from './builder/artifact-store.js';
import { BuildCommands } from './builder/build-commands.js';
import { cleanUpBuildLeftovers } from './builder/build-leftovers.js';
import { LocalBuilder } from './builder/local-builder.js';
import { currentPackageManagerConfig } from './builder/package-manager-config.js';
import { TemplateCatalog } from './builder/template-catalog.js';
import type { Config } from './config.js';
import { ArtifactCollector } from './controllers/artifact-collector.js';
import { BuildLogs } from './controllers/build-log.js';
import { FunctionController } from './controllers/function-controller.js';
import { GatewayController } from './controllers/gateway-controller.js';
import { Gateway } from './gateway/gateway.js';
import { Invoker } from './invoke/invoker.js';
import { FunctionDirectory } from './invoke/function-directory.js';
import { FunctionList } from './api/function-list.js';
import type { Logger } from './log.js';
import { DashboardMetrics } from './metrics/dashboard-metrics.js';
import { MetricsServer } from './metrics/metrics-server.js';
import {
  dataLayout,
  PACKAGE_ROOT,
  PROCESSOR_MAIN,
  NODEJS_WARM_UP_HANDLER,
  PYTHON_RUNTIME_DIR,
  TEMPLATES_DIR,
  type DataLayout,
} from './paths.js';
import { bwrapConfinement, detectPidNamespace, type Confinement } from './platform/local/confinement.js';
import { baseReplicaEnv, LocalPlatform } from './platform/local/local-platform.js';
import { Interpreters } from './platform/local/interpreters.js';
import { findBwrap, homeFoldersToKeep } from './platform/local/sandbox.js';
import { DockerPlatform } from './platform/docker/docker-platform.js';
import { dashboardServiceUrl } from './platform/kube/kube-defaults.js';
import type { KubePlatform } from './platform/kube/kube-platform.js';
import { deriveKey, loadOrCreateSecret } from './api/persisted-secret.js';
import type { Platform } from './platform/platform.js';
import { StreamService } from './streams/stream-service.js';
import { DEFAULT_PROJECT } from './resources/types.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

export interface Dashboard {
  config: Config;
  layout: DataLayout;
  /** http://host:port of the API. */
  url: string;
  /** http://host:port of the API gateway listener. */
  gatewayUrl: string;
  /** http://host:port of the unguarded metrics listener (--metrics-listen-addr), when there is one. */
  metricsUrl?: string;
  /** The metrics; undefined with --metrics off. */
  metrics?: DashboardMetrics;
  store: Store;
  platform: Platform;
  /** With --platform docker: this dashboard's id on the engine, and where containers reach it (once they needed to). */
  containers?: { dashboardId: string; replicaUrl: () => string | undefined };
  controller: FunctionController;
  gateways: GatewayController;
  api: FastifyInstance;
  /** Asynchronous invocations (src/async/). */
  asyncInvocations: AsyncInvocations;
  close(): Promise<void>;
}

/** A start-up failure with a message for a person (port taken, data dir not writable). */
export class StartupError extends Error {}

function ensureWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
  } catch (e) {
    throw new StartupError(
      `The data directory ${dir} is not writable ` +
        `(${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another with --data-dir`,
    );
  }
}

/** Access keys: one per line; blank lines and # comments are skipped. */
function readAccessKeys(path: string | undefined): string[] {
  if (!path) return [];
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
  } catch (e) {
    throw new StartupError(`Cannot read the access keys file ${path}: ${(e as Error).message}`);
  }
}

function readSecretFile(path: string | undefined, what: string): string | undefined {
  if (!path) return undefined;
  try {
    const v = readFileSync(path, 'utf8').trim();
    if (!v) throw new Error('the file is empty');
    return v;
  } catch (e) {
    throw new StartupError(`Cannot read the ${what} file ${path}: ${(e as Error).message}`);
  }
}

/**
 * How replicas and build commands are confined (confinement.ts): the sandbox when asked for, else a PID
 * namespace each when this machine allows it.
 */
function chooseConfinement(config: Config, pythonPath: string | undefined): Confinement {
  if (config.sandbox !== 'bwrap') return detectPidNamespace();
  const bwrap = findBwrap();
  if (!bwrap) throw new StartupError('--sandbox bwrap needs bubblewrap (apt-get install bubblewrap)');
  const home = homedir();
  // The home folder is hidden but for the folders holding programs: PATH entries, node's and python's installs.
  const programs = [
    dirname(dirname(process.execPath)),
    ...(pythonPath ? [dirname(dirname(pythonPath))] : []),
    ...(process.env.PATH ?? '').split(delimiter),
  ];
  try {
    return bwrapConfinement(bwrap, {
      packageRoot: PACKAGE_ROOT,
      dataDir: config.dataDir,
      hiddenFiles: [config.authTokenFile, config.accessKeysFile].filter((f): f is string => !!f),
      home,
      homeKeep: homeFoldersToKeep(home, programs),
    });
  } catch (e) {
    throw new StartupError((e as Error).message);
  }
}

async function listen(app: FastifyInstance, host: string, port: number, flag: string): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(
        `Port ${port} on ${host} is already in use (${flag}): stop the other program or choose another address`,
      );
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`Address ${host} is not an address of this machine (${flag})`);
    if (code === 'EACCES')
      throw new StartupError(`Not allowed to listen on ${host}:${port} (${flag}): ports below 1024 need privileges`);
    throw e;
  }
}

export async function startDashboard(config: Config, log: Logger): Promise<Dashboard> {
  ensureWritable(config.dataDir);
  const layout = dataLayout(config.dataDir);
  for (const dir of [layout.artifacts, layout.logs, layout.run]) mkdirSync(dir, { recursive: true });
  const authToken = readSecretFile(config.authTokenFile, 'auth token');
  // On a cluster, credentials written into a function's objects must outlive this process (a pod may start
  // days later, and a credential that changed at every start would roll every function over): they are
  // derived from a secret kept in the data dir.
  let lasting: Buffer | undefined;
  if (config.platform.kind === 'kube') {
    try {
      lasting = loadOrCreateSecret(join(config.dataDir, 'kube-secret'));
    } catch (e) {
      throw new StartupError((e as Error).message);
    }
  }
  // With a token, replicas whose v3ioStream triggers read this dashboard's stream service get a credential
  // of their own, good for /v3io only and new on every start (lasting on a cluster) — never the dashboard's token.
  const credentials = authToken
    ? {
        token: authToken,
        streamToken: (lasting ? deriveKey(lasting, 'stream-token') : randomBytes(32)).toString('base64url'),
      }
    : undefined;
  const accessKeys = readAccessKeys(config.accessKeysFile);
  const interpreters = new Interpreters(config.runtimeInterpreters);
  const confinement = chooseConfinement(config, interpreters.python('python').path);
  if (confinement.kind === 'process-group') log.warn({ containment: confinement.kind }, confinement.description);
  else log.info({ containment: confinement.kind }, confinement.description);
  // A dashboard killed with -9 mid-build left its build commands running and its staging folders behind.
  const leftovers = cleanUpBuildLeftovers({ pidDir: join(layout.run, 'builds'), artifactsDir: layout.artifacts });
  if (leftovers.killed || leftovers.removed.length)
    log.warn(
      { killed: leftovers.killed, removed: leftovers.removed.length },
      'ended builds left behind by a previous run',
    );

  let store: SqliteStore;
  try {
    store = new SqliteStore(layout.store);
  } catch (e) {
    throw new StartupError(`Cannot open the store ${layout.store}: ${(e as Error).message}`);
  }
  // Shutdown order: stop taking work (controllers), then stop replicas — while the API and the stream
  // service still answer, so stream triggers commit their last offsets —, then the rest. Each step runs
  // only if that part was started.
  const steps: Record<string, () => Promise<void> | void> = {};
  const ORDER = [
    'metricsServer',
    'gateways',
    'collector',
    'controller',
    'gateway',
    // Before the platform: attempts in flight may end while their replicas still run.
    'async',
    'platform',
    'replicas',
    'api',
    'streams',
    'directory',
    'metrics',
    'functionList',
    'invoker',
    'store',
  ];
  steps.store = () => store.close();
  const closeAll = async () => {
    for (const name of ORDER) {
      const step = steps[name];
      delete steps[name];
      if (!step) continue;
      try {
        await step();
      } catch (e) {
        log.warn({ err: e, part: name }, 'error while stopping');
      }
    }
  };
  try {
    if (!(await store.get('project', config.namespace, DEFAULT_PROJECT))) {
      await store.create('project', {
        metadata: { name: DEFAULT_PROJECT, namespace: config.namespace },
        spec: { description: 'The default project' },
        status: {},
      });
    }
    const templates = TemplateCatalog.load(TEMPLATES_DIR, (folder, err) =>
      log.warn({ folder, err: err.message }, 'skipping a broken template'),
    );
    const artifacts = new ArtifactStore(layout.artifacts);
    // Before any build starts: staging and trash folders a previous run left half done.
    await artifacts.removeLeftovers();
    const buildLogs = new BuildLogs(layout.builds);
    const invoker = new Invoker();
    steps.invoker = () => invoker.close();
    let collector: ArtifactCollector | undefined;
    let apiUrl: string | undefined;
    // Artifacts as archives, and the credentials their fetchers present: a platform whose replicas do
    // not share this disk (containers) has them fetch GET /api/artifacts/<id>.
    const archived = {
      archives: new ArtifactArchives((id) => artifacts.dirOf(id), layout.archives),
      tokens: new ArtifactTokens(lasting ? deriveKey(lasting, 'artifact-tokens') : undefined),
    };
    let api: FastifyInstance | undefined;
    let replicaListener: ReplicaListener | undefined;
    // Functions bind concurrently after a restart: every stored port is claimed before any is given out.
    const stored = await store.list('function', undefined);
    const refOf = (fn: (typeof stored)[number]) => ({ namespace: fn.metadata.namespace!, name: fn.metadata.name! });
    const reservedPorts = stored
      .filter((fn) => fn.status.httpPort)
      .map((fn) => ({ ref: refOf(fn), port: fn.status.httpPort! }));
    const packageManagers = currentPackageManagerConfig();
    let platform: Platform & { externalAddresses(): string[] };
    let docker: DockerPlatform | undefined;
    let kube: KubePlatform | undefined;
    if (config.platform.kind === 'docker') {
      try {
        docker = await DockerPlatform.start({
          dockerHost: config.platform.dockerHost,
          baseImage: config.platform.baseImage,
          packageRoot: PACKAGE_ROOT,
          dataDir: config.dataDir,
          host: config.functionHost,
          portRange: config.portRange,
          ...(config.externalIps ? { externalIps: config.externalIps } : {}),
          reservedPorts,
          knownFunctions: stored.map(refOf),
          log: log.child({ component: 'platform' }),
          connectionLimits: config.connectionLimits,
          metrics: config.metrics,
          prewarm: config.prewarm,
          ...(credentials ? { dashboard: { replicaToken: credentials.streamToken } } : {}),
          artifacts: archived,
          // Containers reach the dashboard on a listener of their own, opened on first need.
          replicaEndpoint: async (host) => {
            if (!api) throw new Error("The dashboard's API is not listening yet");
            replicaListener ??= await listenForReplicas(api, host, config.connectionLimits);
            return replicaListener.url;
          },
        });
      } catch (e) {
        throw new StartupError((e as Error).message);
      }
      platform = docker;
    } else if (config.platform.kind === 'kube') {
      try {
        // Loaded only here: the Kubernetes client is hundreds of modules, which the ESM loader opens at
        // once — a cost (and, under a low descriptor limit, an EMFILE) every other dashboard need not pay.
        const { loadKubeConfig } = await import('./platform/kube/kube-connection.js');
        const { KubePlatform } = await import('./platform/kube/kube-platform.js');
        const cluster = loadKubeConfig({
          ...(config.kube.kubeconfig ? { kubeconfig: config.kube.kubeconfig } : {}),
          ...(config.kube.namespace ? { namespace: config.kube.namespace } : {}),
        });
        // Pods fetch artifacts (and read streams) from the dashboard: its Service when it runs in the
        // cluster (deploy/kubernetes/), else its own URL unless --kube-dashboard-url says otherwise.
        const podUrl =
          config.kube.dashboardUrl ?? (cluster.podNamespace ? dashboardServiceUrl(cluster.podNamespace) : undefined);
        kube = await KubePlatform.start({
          kubeConfig: cluster.kubeConfig,
          namespace: cluster.namespace,
          processorImage: config.kube.processorImage,
          dashboard: {
            url: () => podUrl ?? apiUrl,
            ...(credentials ? { replicaToken: credentials.streamToken } : {}),
          },
          artifacts: {
            digest: async (id) => (await archived.archives.archive(id))?.digest,
            token: (id) => archived.tokens.issueLasting(id),
          },
          ...(config.externalIps ? { externalIps: config.externalIps } : {}),
          connectionLimits: config.connectionLimits,
          metrics: config.metrics,
          log: log.child({ component: 'platform' }),
        });
        log.info(
          { namespace: cluster.namespace, source: cluster.source, processorImage: config.kube.processorImage },
          'running functions on Kubernetes',
        );
      } catch (e) {
        throw new StartupError(`Failed to start the Kubernetes platform: ${(e as Error).message}`);
      }
      platform = kube;
    } else {
      platform = new LocalPlatform({
        interpreters,
        layout,
        host: config.functionHost,
        portRange: config.portRange,
        ...(config.externalIps ? { externalIps: config.externalIps } : {}),
        program: PROCESSOR_MAIN,
        pythonRuntimeDir: PYTHON_RUNTIME_DIR,
        warmUpHandler: NODEJS_WARM_UP_HANDLER,
        log: log.child({ component: 'platform' }),
        dashboard: { url: () => apiUrl, ...(credentials ? { replicaToken: credentials.streamToken } : {}) },
        connectionLimits: config.connectionLimits,
        confinement,
        metrics: config.metrics,
        prewarm: config.prewarm,
        reservedPorts,
      });
    }
    steps.replicas = () => replicaListener?.close();
    // Build commands run where replicas do: confined on this machine, or in the processor image.
    const commands = docker
      ? docker.buildCommands(packageManagers)
      : new BuildCommands({
          baseEnv: baseReplicaEnv(process.env),
          packageManagers,
          jail: confinement,
          pidDir: join(layout.run, 'builds'),
        });
    const localBuilder = new LocalBuilder({
      artifacts,
      templates,
      sourceRoots: { roots: config.sourceRoots, forbidden: [config.dataDir] },
      sourceLimits: config.sourceLimits,
      commands,
    });
    const builder = docker ? docker.builder(localBuilder) : localBuilder;
    steps.platform = () => platform.close();
    // Metrics follow the store and the platform from here on (--metrics off: nothing is counted).
    const metrics = config.metrics
      ? new DashboardMetrics({ store, platform, log: log.child({ component: 'metrics' }) })
      : undefined;
    if (metrics) {
      await metrics.start();
      steps.metrics = () => metrics.stop();
    }
    const controller = new FunctionController({
      store,
      builder,
      platform,
      log: log.child({ component: 'function-controller' }),
      buildLogs,
      ...(docker || kube ? {} : { runtimeNote: (runtime: string | undefined) => interpreters.note(runtime) }),
      onRemoved: () => collector?.schedule(),
      onDeployEnded: () => collector?.schedule(),
      ...(metrics ? { onBuildEnded: (ref, ok, seconds) => metrics.build(ref, ok, seconds) } : {}),
      deployToZero: config.deployToZero,
    });
    steps.controller = () => controller.stop();
    collector = new ArtifactCollector({
      store,
      // On a cluster the archives pods fetch are the only copies platform code keeps besides the artifact:
      // those of collected artifacts go with them (the docker platform prunes its own with its volumes).
      collect: async (keep) => {
        const removed = await artifacts.collect(keep);
        if (kube) await archived.archives.pruneCollected();
        return removed;
      },
      inUse: async () => [...(await platform.artifactsInUse()), ...controller.pinnedArtifacts()],
      log: log.child({ component: 'artifact-collector' }),
    });
    steps.collector = () => collector.stop();
    // What the platform reports on its own: status to the store (through the controller), new versions
    // and removals to the invoker's pools, stopped replicas to the artifact collector.
    platform.subscribe((e) => {
      if (e.type === 'status')
        void controller.platformStatus(e.ref, e.status).catch((err) => log.warn({ err }, 'status update failed'));
      else if (e.type === 'routeChanged') for (const target of e.targets) invoker.forget(target);
      else if (e.type === 'replicasStopped') collector?.schedule();
    });

    // Asynchronous invocations: a journal of their own (the stream service's code, not its /v3io instance).
    const asyncInvocations = new AsyncInvocations({
      dir: layout.async,
      store,
      platform,
      invoker,
      log: log.child({ component: 'async' }),
      settings: config.async,
    });
    steps.async = () => asyncInvocations.close();
    await asyncInvocations.start();

    const gateway = new Gateway({
      invoker,
      route: (ref) => platform.route(ref),
      accessKeys: () => accessKeys,
      log: log.child({ component: 'gateway' }),
      connectionLimits: config.connectionLimits,
      ...(metrics ? { metrics } : {}),
      enqueue: (req, res, target) => serveEnqueue(req, res, asyncInvocations, target),
      // Connections go to the function's replicas where the platform's take connections (gateway/handed-route.ts).
      ...(platform.handOverGateway && platform.revokeGatewayRoutes
        ? {
            handOver: (ref, conn) => platform.handOverGateway!(ref, conn),
            revoke: (keys) => platform.revokeGatewayRoutes!(keys),
          }
        : {}),
    });
    const stopGatewayEvents = platform.subscribe((e) => gateway.onPlatformEvent(e));
    const gateways = new GatewayController({
      store,
      gateway,
      accessKeys: () => accessKeys,
      log: log.child({ component: 'gateway-controller' }),
    });
    steps.gateway = () => {
      stopGatewayEvents();
      return gateway.close();
    };
    steps.gateways = () => gateways.stop();

    const directory = new FunctionDirectory(store);
    await directory.start();
    steps.directory = () => directory.stop();
    const functionList = new FunctionList(store);
    await functionList.start();
    steps.functionList = () => functionList.stop();
    // The embedded stream service (v3ioStream triggers, /v3io/…, get_shard_lags).
    const streams = new StreamService({
      dir: join(config.dataDir, 'streams'),
      onRepair: (message) => log.warn({ component: 'streams' }, message),
    });
    steps.streams = () => streams.close();
    let gatewayUrl: string | undefined;
    api = buildApi({
      config,
      store,
      platform,
      buildLogs,
      invoker,
      templates,
      directory,
      functionList,
      streams,
      asyncInvocations,
      log,
      credentials,
      artifacts: archived,
      externalIps: () => platform.externalAddresses(),
      gatewayUrl: () => gatewayUrl,
      ...(metrics ? { metrics } : {}),
    });
    steps.api = () => api.close();
    await listen(api, config.listen.host, config.listen.port, '--listen-addr');
    const addr = api.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
    apiUrl = `http://${config.listen.host === '0.0.0.0' || config.listen.host === '::' ? '127.0.0.1' : config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${port}`;
    let gatewayAddr;
    try {
      gatewayAddr = await gateway.listen(config.gatewayListen.host, config.gatewayListen.port);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new StartupError(
          `Port ${config.gatewayListen.port} on ${config.gatewayListen.host} is already in use ` +
            `(--gateway-listen-addr): stop the other program or choose another address`,
        );
      throw new StartupError(
        `Cannot listen on ${config.gatewayListen.host}:${config.gatewayListen.port} ` +
          `(--gateway-listen-addr): ${(e as Error).message}`,
      );
    }
    const show = (h: string, p: number) => {
      const host = h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h;
      return `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
    };
    gatewayUrl = show(config.gatewayListen.host, gatewayAddr.port);
    let metricsUrl: string | undefined;
    if (metrics && config.metricsListen) {
      const { host, port: metricsPort } = config.metricsListen;
      const server = new MetricsServer(metrics, config.connectionLimits, log.child({ component: 'metrics' }));
      steps.metricsServer = () => server.close();
      try {
        metricsUrl = show(host, (await server.listen(host, metricsPort)).port);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new StartupError(
          code === 'EADDRINUSE'
            ? `Port ${metricsPort} on ${host} is already in use (--metrics-listen-addr): ` +
                'stop the other program or choose another address'
            : `Cannot listen on ${host}:${metricsPort} (--metrics-listen-addr): ${(e as Error).message}`,
        );
      }
    }
    await controller.start();
    // After the controller marked restored functions as being deployed: their queues wait for them.
    asyncInvocations.run();
    collector.start();
    await gateways.start();

    return {
      config,
      layout,
      store,
      platform,
      controller,
      gateways,
      api,
      asyncInvocations,
      ...(docker ? { containers: { dashboardId: docker.dashboardId, replicaUrl: () => replicaListener?.url } } : {}),
      url: show(config.listen.host, port),
      gatewayUrl,
      ...(metricsUrl ? { metricsUrl } : {}),
      ...(metrics ? { metrics } : {}),
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
