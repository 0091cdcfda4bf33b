/**
 * The Kubernetes platform: functions run as Deployments of the processor image in one namespace, each
 * behind its Service (objects.ts), driven through the API server with @kubernetes/client-node.
 *
 * - **apply**: the Service (the function's root: the rest is owned by it), the version's ConfigMap, the
 *   Deployment (a rolling update that keeps the old pods until the new ones are ready), the Ingress and
 *   the HPA; then it waits for the rollout — or fails on what the pods say (CrashLoopBackOff,
 *   ImagePullBackOff, OOMKilled, the readiness timeout) and rolls the Deployment back to the version that
 *   served, whose pods never left.
 * - **route** is the activator: a function with a ready endpoint answers at once with its Service's
 *   address; one at zero is scaled to one through the scale subresource, and the request is held until
 *   the Service's EndpointSlice lists a ready pod and a connection through the Service succeeds — so a
 *   request that arrives while it wakes gets an answer, not a 502 or 503.
 * - **scaling**: every second the platform asks each ready pod's health port how many events it has in
 *   flight (the processor's `/load`) and feeds the same pure policy as the local platform
 *   (local/scaling.ts); its decisions go to the scale subresource. With an HPA (spec.targetCPU) the HPA
 *   scales between min and max, and the platform only takes the function to zero and back.
 * - **states** come from the pods (a watch): a container waiting in CrashLoopBackOff or ImagePullBackOff,
 *   or last terminated OOMKilled, makes the function `unhealthy` with that reason; all ready again,
 *   `ready`. **replicas** are the pods, **logs** the pod log API, **remove** deletes the root Service.
 * - **cron triggers at zero**: while a function has no pod, the platform keeps its cron schedules and
 *   sends each tick's event through route() — the tick wakes it (cron-at-zero.ts).
 */
import { PassThrough } from 'node:stream';
import net from 'node:net';
import http from 'node:http';
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  Log,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Pod,
  type V1EndpointSlice,
  DiscoveryV1Api,
} from '@kubernetes/client-node';
import type { Artifact } from '../../builder/builder.js';
import { apiError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import { parseDuration } from '../../util/duration.js';
import { brokerOf } from '../../resources/broker-triggers/index.js';
import { decideScale, type ReplicaLoad } from '../local/scaling.js';
import { PlatformEvents } from '../platform-events.js';
import { loadOf, readHealth } from '../health-port.js';
import type { ReplicaStats } from '../../processor/stats.js';
import {
  ApplyError,
  type ApplyOptions,
  type DashboardAccess,
  type Endpoint,
  type LogQuery,
  type Platform,
  type PlatformEvent,
  type PlatformListener,
  type ReplicaInfo,
  type RouteOptions,
} from '../platform.js';
import { isUserImage } from './kube-defaults.js';
import { LABELS, objectName, refOf, selectorOf, selectorString } from './names.js';
import { functionObjects, HEALTH_PORT, HTTP_PORT, withOwner, type KubeObject } from './objects.js';
import { processorRun } from './processor-run.js';
import { CronAtZero, type CronTick } from './cron-at-zero.js';

/** Where pods fetch an artifact: the dashboard's artifact endpoint, a credential, the archive's digest. */
export interface ArtifactSource {
  /** The archive's digest (packing it first if need be); undefined when the artifact does not exist. */
  digest(id: string): Promise<string | undefined>;
  /** A credential for fetching artifact `id` that outlives dashboard restarts for as long as pods may start. */
  token(id: string): string;
}

export interface KubePlatformOptions {
  kubeConfig: KubeConfig;
  /** The namespace functions run in. */
  namespace: string;
  processorImage: string;
  dashboard: DashboardAccess;
  artifacts: ArtifactSource;
  connectionLimits: ConnectionLimits;
  log: Logger;
  /** --external-ip: the addresses reported instead of the nodes'. */
  externalIps?: string[];
  /** How often the in-flight scaler runs (ms). */
  scaleIntervalMs?: number;
  /** false (--metrics off): the pods' counters are not polled. */
  metrics?: boolean;
}

type Obj = Record<string, any>;

/** What the platform keeps of a function it applied. */
interface FunctionState {
  fn: FunctionRecord;
  artifact: Artifact;
  /** A version served (apply resolved once, or the function was parked): it may be routed to. */
  serving: boolean;
  /** The serving version's Deployment template, to roll back to when a new version fails. */
  servingTemplate?: Obj;
  servingArtifact?: Artifact;
  /** The waking in progress (route of a function at zero). */
  waking?: Promise<void>;
  lastActivity: number;
  lowSince: number;
  /** The last state reported by an event. */
  reported?: 'ready' | 'unhealthy';
  deploying: boolean;
}

const SCALE_DOWN_AFTER_MS = 30_000;
const keyOf = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;
const statusCode = (e: unknown): number | undefined => (e as { code?: number }).code;

export class KubePlatform implements Platform {
  readonly name = 'kube';
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly fns = new Map<string, FunctionState>();
  private readonly events: PlatformEvents;
  private readonly pods: Informer<V1Pod> & ObjectCache<V1Pod>;
  private readonly slices: Informer<V1EndpointSlice> & ObjectCache<V1EndpointSlice>;
  private readonly changed = new Set<() => void>();
  private scaler?: NodeJS.Timeout;
  private closed = false;
  /** Container restarts counted so far, per pod uid (metrics events). */
  private readonly restartsSeen = new Map<string, number>();
  private readonly cron: CronAtZero;

  private constructor(private readonly opts: KubePlatformOptions) {
    this.events = new PlatformEvents(opts.log);
    const kc = opts.kubeConfig;
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const ns = opts.namespace;
    const managed = `${LABELS.managedBy}=protium`;
    this.pods = makeInformer(
      kc,
      `/api/v1/namespaces/${ns}/pods`,
      () => this.core.listNamespacedPod({ namespace: ns, labelSelector: managed }),
      managed,
    );
    this.slices = makeInformer(kc, `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, () =>
      discovery.listNamespacedEndpointSlice({ namespace: ns }),
    );
    for (const inf of [this.pods, this.slices] as Array<Informer<KubernetesObject>>) {
      for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => this.notify());
      // A watch that ends with an error is started again (the informer relists on 410 Gone itself).
      inf.on('error', (e: unknown) => {
        if (this.closed) return;
        this.opts.log.debug({ err: String(e) }, 'kube watch ended; restarting');
        setTimeout(() => void inf.start().catch(() => {}), 1_000).unref();
      });
    }
    this.cron = new CronAtZero({
      atZero: (ref) => this.podsOf(ref).every((p) => !!p.metadata?.deletionTimestamp),
      fire: (ref, tick) => this.fireCron(ref, tick),
      onError: (ref, tick, err) =>
        this.opts.log.warn(
          { function: keyOf(ref), trigger: tick.trigger, err: err.message },
          'kube: a cron tick of a function at zero was not delivered',
        ),
    });
    this.pods.on('update', (pod) => this.podChanged(pod));
    this.pods.on('add', (pod) => this.podChanged(pod));
    this.pods.on('delete', (pod) => this.restartsSeen.delete(pod.metadata?.uid ?? ''));
  }

  /** A platform whose watches have their first lists. */
  static async start(opts: KubePlatformOptions): Promise<KubePlatform> {
    const p = new KubePlatform(opts);
    await Promise.all([p.pods.start(), p.slices.start()]);
    await p.externalIps().catch((e: unknown) => opts.log.warn({ err: String(e) }, 'kube: cannot list the nodes'));
    p.scaler = setInterval(() => void p.scaleAll(), opts.scaleIntervalMs ?? 1_000);
    p.scaler.unref();
    return p;
  }

  private notify(): void {
    for (const f of [...this.changed]) f();
  }

  /** Resolves when `cond` holds, re-checked on every pod or endpoint change (and each 500 ms). */
  private async until(
    cond: () => boolean | Promise<boolean>,
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    while (!(await cond())) {
      if (Date.now() > end || signal?.aborted || this.closed) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.changed.delete(done);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(done, Math.min(500, Math.max(1, end - Date.now())));
        this.changed.add(done);
      });
    }
    return true;
  }

  private emit(e: PlatformEvent): void {
    this.events.emit(e);
  }

  subscribe(listener: PlatformListener): () => void {
    return this.events.subscribe(listener);
  }

  // ---- objects ------------------------------------------------------------------------------------

  private async read(obj: KubeObject): Promise<Obj | undefined> {
    try {
      const header = {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace ?? this.opts.namespace },
      };
      return await this.objects.read<KubernetesObject>(header);
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  /** Creates `obj`, or replaces what is there with it (keeping what the cluster owns: `keep`). */
  private async put(obj: KubeObject, keep: (current: Obj, next: Obj) => void = () => {}): Promise<Obj> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.read(obj);
      try {
        if (!current) return await this.objects.create(obj);
        const next = structuredClone(obj) as Obj;
        next.metadata.resourceVersion = current.metadata.resourceVersion;
        keep(current, next);
        return await this.objects.replace(next);
      } catch (e) {
        // Someone else wrote it between our read and write (409): read again.
        if (statusCode(e) === 409 && attempt < 5) continue;
        throw e;
      }
    }
  }

  private async remove_(obj: KubeObject): Promise<void> {
    try {
      await this.objects.delete(obj, undefined, undefined, undefined, undefined, 'Background');
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
    }
  }

  private objectsFor(fn: FunctionRecord, artifact: Artifact, digest: string | undefined, replicas: number) {
    const base = this.opts.dashboard.url();
    const processor =
      isUserImage(fn.spec.image) || !digest
        ? undefined
        : processorRun({
            fn,
            artifact,
            fetch: {
              url: `${base}/api/artifacts/${artifact.id}`,
              token: this.opts.artifacts.token(artifact.id),
              digest,
            },
            connectionLimits: this.opts.connectionLimits,
            ...(base ? { dashboardUrl: base } : {}),
            ...(this.opts.dashboard.replicaToken ? { streamToken: this.opts.dashboard.replicaToken } : {}),
          });
    return functionObjects({
      fn,
      settings: { namespace: this.opts.namespace, processorImage: this.opts.processorImage },
      replicas,
      ...(processor ? { processor } : {}),
    });
  }

  // ---- apply --------------------------------------------------------------------------------------

  async apply(fn: FunctionRecord, artifact: Artifact, opts: ApplyOptions = {}): Promise<Endpoint> {
    const ref = refOf(fn);
    const key = keyOf(ref);
    const prev = this.fns.get(key);
    const state: FunctionState = prev ?? {
      fn,
      artifact,
      serving: false,
      lastActivity: Date.now(),
      lowSince: 0,
      deploying: true,
    };
    state.fn = fn;
    state.artifact = artifact;
    state.deploying = true;
    this.fns.set(key, state);
    try {
      return await this.applyNow(state, opts);
    } finally {
      state.deploying = false;
    }
  }

  private async applyNow(state: FunctionState, opts: ApplyOptions): Promise<Endpoint> {
    const { fn, artifact } = state;
    const ref = refOf(fn);
    const min = fn.spec.minReplicas ?? fn.spec.replicas ?? 1;
    const disabled = fn.spec.disable === true;
    const digest = isUserImage(fn.spec.image) ? undefined : await this.opts.artifacts.digest(artifact.id);
    if (!isUserImage(fn.spec.image) && !digest)
      throw new ApplyError(`Artifact ${artifact.id} of function ${ref.name} does not exist`);
    const wanted = disabled || opts.parked ? 0 : Math.max(min, 1);
    const objs = this.objectsFor(fn, artifact, digest, wanted);

    const service = await this.put(objs.service, (cur, next) => {
      next.spec.clusterIP = cur.spec?.clusterIP;
      next.spec.clusterIPs = cur.spec?.clusterIPs;
    });
    this.rememberService(service);
    const owner = {
      apiVersion: 'v1',
      kind: 'Service',
      name: service.metadata.name as string,
      uid: service.metadata.uid as string,
    };
    if (objs.configMap) {
      try {
        await this.objects.create(withOwner(objs.configMap, owner));
      } catch (e) {
        // Immutable and named by its content: one that exists is this one.
        if (statusCode(e) !== 409) throw e;
      }
    }
    const before = await this.read(objs.deployment);
    const deployment = await this.put(withOwner(objs.deployment, owner), (cur, next) => {
      // The scaler owns the replicas of a running function: an update keeps them (at least `wanted`).
      const running = Number(cur.spec?.replicas ?? 0);
      next.spec.replicas = wanted === 0 ? 0 : Math.max(wanted, running);
    });
    for (const [obj, kind] of [
      [objs.ingress, 'Ingress'],
      [objs.hpa, 'HorizontalPodAutoscaler'],
    ] as const) {
      const header: KubeObject = {
        apiVersion: kind === 'Ingress' ? 'networking.k8s.io/v1' : 'autoscaling/v2',
        kind,
        metadata: { name: objs.service.metadata.name, namespace: this.opts.namespace },
      };
      if (obj) await this.put(withOwner(obj, owner));
      else if (before) await this.remove_(header);
    }
    const endpoint = await this.endpointOf(service);
    if (disabled) {
      state.serving = false;
      this.cron.remove(ref);
      return endpoint;
    }
    if (opts.parked) {
      state.serving = true;
      state.servingTemplate = deployment.spec.template as Obj;
      state.servingArtifact = artifact;
      await this.cron.set(ref, fn);
      return endpoint;
    }
    const failure = await this.rollout(fn, deployment, opts.signal);
    if (failure) {
      await this.rollBack(state, objs.deployment);
      throw new ApplyError(failure, state.serving ? endpoint : undefined);
    }
    const hadServed = state.serving;
    state.serving = true;
    state.servingTemplate = deployment.spec.template as Obj;
    state.servingArtifact = artifact;
    state.lastActivity = Date.now();
    if (hadServed) this.emit({ type: 'routeChanged', ref, targets: [this.address(service)] });
    await this.collectConfigMaps(ref, objs.configMap?.metadata.name);
    await this.cron.set(ref, fn);
    this.emit({ type: 'replicasStopped', ref });
    state.reported = 'ready';
    return endpoint;
  }

  /** Waits until the Deployment's new pods serve; a reason when they will not. */
  private async rollout(fn: FunctionRecord, deployment: Obj, signal?: AbortSignal): Promise<string | undefined> {
    const ref = refOf(fn);
    const readinessMs = (fn.spec.readinessTimeoutSeconds || 120) * 1000;
    const hash = deployment.metadata.annotations?.['protium.io/spec-hash'] as string;
    let failure: string | undefined;
    const ok = await this.until(
      async () => {
        const d = (await this.apps.readNamespacedDeployment({
          name: deployment.metadata.name as string,
          namespace: this.opts.namespace,
        })) as Obj;
        const want = Number(d.spec.replicas ?? 1);
        const st = d.status ?? {};
        const fresh = this.podsOf(ref).filter((p) => !p.metadata?.deletionTimestamp && this.sameTemplate(p, d));
        failure = fresh.map((p) => podProblem(p)).find((x) => x !== undefined);
        if (failure) return true;
        const progressing = (st.conditions ?? []).find((c: Obj) => c.type === 'Progressing');
        if (progressing?.reason === 'ProgressDeadlineExceeded') {
          failure = `Function ${ref.name} did not become ready: ${String(progressing.message)}`;
          return true;
        }
        return (
          Number(st.observedGeneration ?? 0) >= Number(d.metadata.generation ?? 0) &&
          Number(st.updatedReplicas ?? 0) >= want &&
          fresh.filter(isReadyPod).length >= want &&
          !!hash
        );
      },
      readinessMs,
      signal,
    );
    if (failure) return `Function ${ref.name} did not become ready: ${failure}`;
    if (!ok)
      return `Function ${ref.name} did not become ready within ${readinessMs / 1000} s (spec.readinessTimeoutSeconds)`;
    return undefined;
  }

  /** True when pod `p` runs the Deployment's current template (its pod-template-hash's ReplicaSet). */
  private sameTemplate(p: V1Pod, d: Obj): boolean {
    const podArtifact = p.metadata?.labels?.[LABELS.artifact];
    const want = (d.spec.template.metadata?.labels ?? {})[LABELS.artifact];
    if (podArtifact !== want) return false;
    // The pod's containers are the template's (images and env: what a version changes).
    const a = JSON.stringify((p.spec?.containers ?? []).map((c) => [c.image, c.env]));
    const b = JSON.stringify((d.spec.template.spec.containers ?? []).map((c: Obj) => [c.image, c.env]));
    return a === b;
  }

  /** After a failed rollout: back to the template that served (its pods never left), or to zero. */
  private async rollBack(state: FunctionState, failed: KubeObject): Promise<void> {
    const current = await this.read(failed);
    if (!current) return;
    if (state.serving && state.servingTemplate) {
      current.spec.template = state.servingTemplate;
      state.fn = { ...state.fn };
      if (state.servingArtifact) state.artifact = state.servingArtifact;
    } else current.spec.replicas = 0;
    try {
      await this.objects.replace(current);
    } catch (e) {
      this.opts.log.warn({ err: String(e) }, 'kube: rolling back a failed version failed');
    }
  }

  /** Deletes the function's ConfigMaps but `keep` (older versions, once the new one serves). */
  private async collectConfigMaps(ref: FunctionRef, keep: string | undefined): Promise<void> {
    const list = await this.core.listNamespacedConfigMap({
      namespace: this.opts.namespace,
      labelSelector: selectorString(selectorOf(ref)),
    });
    for (const cm of list.items)
      if (cm.metadata?.name !== keep)
        await this.remove_({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: cm.metadata!.name!, namespace: this.opts.namespace },
        });
  }

  private address(service: Obj): string {
    return `${String(service.spec.clusterIP)}:${HTTP_PORT}`;
  }

  private async endpointOf(service: Obj): Promise<Endpoint> {
    const name = service.metadata.name as string;
    const internal = [`${name}.${this.opts.namespace}.svc:${HTTP_PORT}`];
    const port = (service.spec.ports ?? []).find((p: Obj) => p.name === 'http')?.nodePort as number | undefined;
    const ips = await this.externalIps();
    const external = port ? ips.map((ip) => `${ip}:${port}`) : internal;
    return { httpPort: port ?? HTTP_PORT, internalInvocationUrls: internal, externalInvocationUrls: external };
  }

  /** The nodes' external addresses (their internal ones where they have none), or --external-ip. */
  async externalIps(): Promise<string[]> {
    if (this.opts.externalIps) return this.opts.externalIps;
    const nodes = await this.core.listNode();
    const pick = (type: string) =>
      nodes.items.flatMap((n) => (n.status?.addresses ?? []).filter((a) => a.type === type).map((a) => a.address));
    const ext = pick('ExternalIP');
    this.nodeIps = [...new Set(ext.length ? ext : pick('InternalIP'))];
    return this.nodeIps;
  }

  private nodeIps: string[] = [];
  /** What /api/external_ip_addresses answers: the addresses last read from the nodes (at start, at each apply). */
  externalAddresses(): string[] {
    return this.opts.externalIps ?? this.nodeIps;
  }

  // ---- route: the activator -----------------------------------------------------------------------

  async route(ref: FunctionRef, opts: RouteOptions = {}): Promise<string> {
    const state = this.fns.get(keyOf(ref));
    if (!state || !state.serving)
      throw apiError(
        'FUNCTION_NOT_ROUTABLE',
        ref.name,
        state?.fn.spec.disable ? 'it is disabled' : 'no version of it serves',
      );
    state.lastActivity = Date.now();
    const name = objectName(ref);
    const service = this.serviceAddress(ref);
    if (this.readyEndpoints(name).length && service) return service;
    state.waking ??= this.wake(state).finally(() => (state.waking = undefined));
    const readinessMs = (state.fn.spec.readinessTimeoutSeconds || 120) * 1000;
    await Promise.race([
      state.waking,
      new Promise((_, reject) => {
        opts.signal?.addEventListener(
          'abort',
          () => reject(apiError('FUNCTION_NOT_ROUTABLE', ref.name, 'the client left while it woke')),
          { once: true },
        );
      }),
    ]);
    const ready = await this.until(
      async () => this.readyEndpoints(name).length > 0 && (await this.connects(this.serviceAddress(ref))),
      readinessMs,
      opts.signal,
    );
    const address = this.serviceAddress(ref);
    if (!ready || !address) {
      const why =
        this.podsOf(ref)
          .map(podProblem)
          .find((x) => x) ?? `no pod became ready within ${readinessMs / 1000} s`;
      throw apiError('FUNCTION_NOT_ROUTABLE', ref.name, why);
    }
    return address;
  }

  /** Delivers a cron tick of a function at zero: through the activator, to its http trigger. */
  private async fireCron(ref: FunctionRef, tick: CronTick): Promise<void> {
    const address = await this.route(ref);
    const timeoutMs = (parseDuration(this.fns.get(keyOf(ref))?.fn.spec.eventTimeout || '') || 60_000) + 5_000;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `http://${address}/`,
        {
          method: 'POST',
          agent: false,
          timeout: timeoutMs,
          headers: { ...tick.headers, 'content-length': Buffer.byteLength(tick.body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(tick.body);
    });
    if (status >= 500) throw new Error(`the function answered ${status}`);
  }

  /** Scales a function at zero to its minimum (at least one). */
  private async wake(state: FunctionState): Promise<void> {
    const ref = refOf(state.fn);
    const min = state.fn.spec.minReplicas ?? state.fn.spec.replicas ?? 1;
    const scale = await this.apps.readNamespacedDeploymentScale({
      name: objectName(ref),
      namespace: this.opts.namespace,
    });
    if (Number(scale.spec?.replicas ?? 0) === 0) {
      const started = Date.now();
      await this.setReplicas(ref, Math.max(min, 1));
      this.emit({ type: 'status', ref, status: { state: 'waitingForScaleResourceFromZero' } });
      const name = objectName(ref);
      void this.until(() => this.readyEndpoints(name).length > 0, 600_000).then((ok) => {
        if (ok) {
          this.emit({ type: 'metrics', ref, metrics: { kind: 'coldStart', durationMs: Date.now() - started } });
          state.reported = 'ready';
          this.emit({ type: 'status', ref, status: { state: 'ready', message: '' } });
        }
      });
    }
  }

  private async setReplicas(ref: FunctionRef, replicas: number): Promise<void> {
    await this.apps.patchNamespacedDeploymentScale(
      { name: objectName(ref), namespace: this.opts.namespace, body: { spec: { replicas } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** The ready addresses of Service `name` (its EndpointSlices). */
  private readyEndpoints(name: string): string[] {
    return this.slices
      .list(this.opts.namespace)
      .filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === name)
      .flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses));
  }

  private serviceIps = new Map<string, string>();
  private serviceAddress(ref: FunctionRef): string | undefined {
    return this.serviceIps.get(objectName(ref));
  }

  /** True when a connection to host:port is accepted (the Service's proxy has an endpoint). */
  private connects(address: string | undefined): Promise<boolean> {
    if (!address) return Promise.resolve(false);
    const i = address.lastIndexOf(':');
    return new Promise((resolve) => {
      const s = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)), timeout: 2_000 });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
  }

  // ---- scale --------------------------------------------------------------------------------------

  async scaleToZero(ref: FunctionRef): Promise<void> {
    const state = this.fns.get(keyOf(ref));
    if (!state) return;
    await this.setReplicas(ref, 0);
    this.emit({ type: 'routeChanged', ref, targets: this.serviceAddress(ref) ? [this.serviceAddress(ref)!] : [] });
    this.emit({ type: 'replicasStopped', ref });
  }

  /** One pass of the in-flight scaler over every function it drives. */
  private async scaleAll(): Promise<void> {
    for (const state of this.fns.values()) {
      if (!state.serving || state.deploying || state.waking || state.fn.spec.disable) continue;
      try {
        await this.scaleOne(state);
      } catch (e) {
        this.opts.log.debug({ err: String(e) }, 'kube: a scaling pass failed');
      }
    }
  }

  private async scaleOne(state: FunctionState): Promise<void> {
    const fn = state.fn;
    const ref = refOf(fn);
    const pods = this.podsOf(ref).filter((p) => !p.metadata?.deletionTimestamp);
    if (!pods.length) return;
    const loads: ReplicaLoad[] = await Promise.all(
      pods.map(async (p) => {
        const ready = isReadyPod(p);
        const ip = ready ? p.status?.podIP : undefined;
        const [load, stats] = ip
          ? await Promise.all([
              readHealth(ip, '/load', HEALTH_PORT).then(loadOf),
              this.opts.metrics !== false ? readHealth(ip, '/stats', HEALTH_PORT) : undefined,
            ])
          : [];
        // Checked by the dashboard before it counts (metrics/replica-totals.ts): the pod runs user code.
        if (stats !== undefined)
          this.emit({
            type: 'metrics',
            ref,
            metrics: { kind: 'replica', replica: p.metadata!.name!, stats: stats as ReplicaStats },
          });
        if (load && load.inflight > 0) state.lastActivity = Date.now();
        return { ready, inflight: load?.inflight ?? 0, lastActivity: state.lastActivity };
      }),
    );
    const min = fn.spec.minReplicas ?? fn.spec.replicas ?? 1;
    const max = Math.max(fn.spec.maxReplicas ?? Math.max(min, 1), 1);
    const windows = (fn.spec.scaleToZero?.scaleResources ?? [])
      .map((r) => parseDuration(r.windowSize ?? '') ?? 0)
      .filter((ms) => ms > 0);
    const broker = Object.values(fn.spec.triggers ?? {}).some((t) => brokerOf(t.kind) !== undefined && !t.disabled);
    const http = Object.values(fn.spec.triggers ?? {}).find((t) => t.kind === 'http');
    const decision = decideScale({ replicas: loads, held: 0, lowSince: state.lowSince }, Date.now(), {
      min,
      max,
      targetInflight: Math.max(1, http?.numWorkers ?? 1),
      ...(windows.length && !broker ? { idleWindowMs: Math.min(...windows) } : {}),
      scaleDownAfterMs: SCALE_DOWN_AFTER_MS,
    });
    state.lowSince = decision.lowSince;
    const hpa = !!(fn.spec.targetCPU && fn.spec.targetCPU > 0 && max > Math.max(min, 1));
    if (decision.action === 'toZero') {
      await this.scaleToZero(ref);
      this.emit({ type: 'status', ref, status: { state: 'scaledToZero' } });
    } else if (!hpa && decision.action === 'up') await this.setReplicas(ref, pods.length + 1);
    else if (!hpa && decision.action === 'down') await this.setReplicas(ref, pods.length - 1);
  }

  // ---- replicas, states, logs ---------------------------------------------------------------------

  private podsOf(ref: FunctionRef): V1Pod[] {
    const sel = selectorOf(ref);
    return this.pods
      .list(this.opts.namespace)
      .filter((p) => Object.entries(sel).every(([k, v]) => p.metadata?.labels?.[k] === v));
  }

  /** Reports crashes and recoveries as status events. */
  private podChanged(pod: V1Pod): void {
    const fnName = pod.metadata?.labels?.[LABELS.function];
    const ns = pod.metadata?.labels?.[LABELS.namespace];
    if (!fnName || !ns) return;
    const ref = { namespace: ns, name: fnName };
    const state = this.fns.get(keyOf(ref));
    if (!state || !state.serving) return;
    this.countRestarts(ref, pod);
    const pods = this.podsOf(ref).filter((p) => !p.metadata?.deletionTimestamp);
    const problem = pods.map(podProblem).find((x) => x !== undefined);
    const crashed = pods.some((p) => (p.status?.containerStatuses ?? []).some((c) => !c.ready && c.restartCount > 0));
    if ((problem || crashed) && state.reported !== 'unhealthy') {
      state.reported = 'unhealthy';
      const message = problem ?? `Replica ${pod.metadata?.name} exited and is restarting`;
      this.emit({ type: 'status', ref, status: { state: 'unhealthy', message } });
    } else if (!problem && state.reported === 'unhealthy' && pods.length > 0 && pods.every(isReadyPod)) {
      state.reported = 'ready';
      this.emit({ type: 'status', ref, status: { state: 'ready', message: '' } });
    }
  }

  /** Restarts of a pod's containers (the kubelet's restartCount) since it was last seen, as metrics events. */
  private countRestarts(ref: FunctionRef, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    const seen = this.restartsSeen.get(uid) ?? 0;
    this.restartsSeen.set(uid, restarts);
    for (let i = seen; i < restarts; i++)
      this.emit({ type: 'metrics', ref, metrics: { kind: 'restart', replica: pod.metadata!.name! } });
  }

  async replicas(ref: FunctionRef): Promise<ReplicaInfo[]> {
    if (!this.fns.has(keyOf(ref))) return [];
    const list = await this.core.listNamespacedPod({
      namespace: this.opts.namespace,
      labelSelector: selectorString(selectorOf(ref)),
    });
    return list.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => {
        const statuses = p.status?.containerStatuses ?? [];
        const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
        const started = statuses[0]?.state?.running?.startedAt ?? p.status?.startTime ?? p.metadata?.creationTimestamp;
        return {
          name: p.metadata!.name!,
          state: isReadyPod(p) ? 'ready' : restarts > 0 ? 'restarting' : 'starting',
          restarts,
          startedAt: new Date(started ?? Date.now()).toISOString(),
        } satisfies ReplicaInfo;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async logs(ref: FunctionRef, replica: string, query: LogQuery): Promise<AsyncIterable<string>> {
    const state = this.fns.get(keyOf(ref));
    if (!state) throw apiError('REPLICA_LOG_NOT_FOUND', replica, ref.name);
    const pod = (
      await this.core.listNamespacedPod({
        namespace: this.opts.namespace,
        labelSelector: selectorString(selectorOf(ref)),
      })
    ).items.find((p) => p.metadata?.name === replica);
    if (!pod) throw apiError('REPLICA_OF_OTHER_FUNCTION', replica, ref.name);
    const container = pod.spec?.containers[0]?.name ?? 'processor';
    const out = new PassThrough({ encoding: 'utf8' });
    if (query.tailLines === 0 && !query.follow) {
      out.end();
      return out;
    }
    const controller = await new Log(this.opts.kubeConfig).log(this.opts.namespace, replica, container, out, {
      follow: query.follow,
      ...(query.sinceMs !== undefined ? { sinceSeconds: Math.max(1, Math.ceil(query.sinceMs / 1000)) } : {}),
      // The client leaves out a falsy tailLines, so a follow from now (tailLines 0) would start with the
      // whole log: the string '0' is truthy and reaches the query as tailLines=0.
      ...(query.tailLines !== undefined ? { tailLines: String(query.tailLines) as unknown as number } : {}),
    });
    const stop = () => {
      controller.abort();
      out.end();
    };
    if (query.signal.aborted) stop();
    else query.signal.addEventListener('abort', stop, { once: true });
    out.once('close', () => query.signal.removeEventListener('abort', stop));
    return out;
  }

  async remove(ref: FunctionRef): Promise<void> {
    const state = this.fns.get(keyOf(ref));
    this.fns.delete(keyOf(ref));
    this.cron.remove(ref);
    const name = objectName(ref);
    const address = this.serviceAddress(ref);
    await this.remove_({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: this.opts.namespace } });
    await this.remove_({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: this.opts.namespace },
    });
    // Until the collector reaches the pods they would still be listed: wait for them to be terminating.
    await this.until(() => this.podsOf(ref).every((p) => !!p.metadata?.deletionTimestamp), 30_000);
    if (state) {
      if (address) this.emit({ type: 'routeChanged', ref, targets: [address] });
      this.emit({ type: 'replicasStopped', ref });
    }
  }

  async artifactsInUse(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const s of this.fns.values()) {
      ids.add(s.artifact.id);
      if (s.servingArtifact) ids.add(s.servingArtifact.id);
    }
    for (const p of this.pods.list(this.opts.namespace)) {
      const id = p.metadata?.labels?.[LABELS.artifact];
      if (id) ids.add(id);
    }
    return ids;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cron.close();
    clearInterval(this.scaler);
    await Promise.all([this.pods.stop(), this.slices.stop()]);
    this.notify();
  }

  /** Remembers each function Service's address (called with every Service the platform writes or reads). */
  rememberService(service: Obj): void {
    if (service.spec?.clusterIP) this.serviceIps.set(service.metadata.name as string, this.address(service));
  }
}

function isReadyPod(p: V1Pod): boolean {
  return (
    (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') &&
    !p.metadata?.deletionTimestamp
  );
}

/** What keeps a pod from serving, in words, as status.message says it: undefined when nothing does. */
export function podProblem(p: V1Pod): string | undefined {
  const all = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  for (const c of all) {
    const waiting = c.state?.waiting;
    const last = c.lastState?.terminated;
    if (last?.reason === 'OOMKilled')
      return (
        `Replica ${p.metadata?.name}: container ${c.name} was killed for using more memory than ` +
        `spec.resources.limits.memory allows (OOMKilled)`
      );
    if (
      waiting &&
      [
        'CrashLoopBackOff',
        'ImagePullBackOff',
        'ErrImagePull',
        'CreateContainerConfigError',
        'InvalidImageName',
      ].includes(waiting.reason ?? '')
    ) {
      const exit = last ? ` (exited with code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})` : '';
      return (
        `Replica ${p.metadata?.name}: container ${c.name} ${waiting.reason}${exit}` +
        `${waiting.message ? `: ${waiting.message}` : ''}`
      );
    }
  }
  return undefined;
}
