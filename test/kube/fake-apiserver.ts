/**
 * An in-process Kubernetes API server, faithful to the parts the kube platform uses, for running the
 * platform contract without a cluster (none is to be had here: no API server in Debian or on npm).
 *
 * Storage and API: objects keyed by resource, namespace and name; one resourceVersion counter for the
 * whole store (as etcd's revision), written into each object and each list; list with label and field
 * selectors; watch from a resourceVersion (events replayed from a bounded history; an older version is
 * `410 Gone` as an ERROR event, as the real server answers), bookmarks when asked; create (409
 * AlreadyExists, generateName), get (404 NotFound), update (409 Conflict on a stale resourceVersion),
 * patch (merge, strategic — as merge, enough for the objects patched here — and JSON patch), delete with
 * ownerReference cascade (the garbage collector: background and foreground alike delete dependents), the
 * scale subresource of Deployments, status subresources, and pod logs (follow, sinceSeconds, tailLines)
 * — every error a Kubernetes `Status` body.
 *
 * Controllers: Deployments → ReplicaSets (one per pod template hash; a rolling update keeps the old
 * ReplicaSet until the new one's pods are ready) → Pods; EndpointSlices for each Service from its pods'
 * readiness; and a kubelet (fake-kubelet.ts) that runs each Pod's containers as real processes.
 *
 * Only what a client running as the dashboard needs: no authentication beyond an optional bearer token,
 * and RBAC as given (`rules`: the Role of deploy/kubernetes, so a request the Role does not allow is 403).
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeKubelet, type KubeletOptions } from './fake-kubelet.js';
import { FakeProxy } from './fake-proxy.js';

export type Obj = Record<string, any>;

/** A resource the server serves. */
interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const TYPES: ResourceType[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', namespaced: true },
  {
    group: 'autoscaling',
    version: 'v2',
    plural: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
    namespaced: true,
  },
];
export const typeOf = (plural: string, group: string) => TYPES.find((t) => t.plural === plural && t.group === group);
const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);

/** A Kubernetes Status error. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
  body(): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
  }
}

/** One RBAC rule, as a Role's. */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** An event of the store, as watch streams send it. */
interface StoreEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  t: ResourceType;
  object: Obj;
}

const HISTORY = 2000;
const clone = <T>(v: T): T => structuredClone(v);

export interface FakeApiServerOptions {
  /** RBAC rules every request is checked against (both the Role's and the ClusterRole's); none: all allowed. */
  rules?: Rule[];
  kubelet: KubeletOptions;
}

/** The store, the controllers and the HTTP face. */
export class FakeApiServer {
  private readonly objects = new Map<string, { t: ResourceType; obj: Obj }>();
  private rv = 1;
  private readonly history: StoreEvent[] = [];
  private readonly watchers = new Set<(e: StoreEvent) => void>();
  private server?: http.Server;
  /** Requests refused by RBAC (a test asserts there are none). */
  readonly forbidden: string[] = [];
  /** Every verb/resource pair used, as `verb group/resource` (what the Role must allow). */
  readonly used = new Set<string>();
  readonly kubelet: FakeKubelet;
  /** kube-proxy: each Service's cluster IP, forwarding to its ready endpoints. */
  readonly proxy = new FakeProxy(this);
  private reconciling = false;
  private again = false;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: FakeApiServerOptions) {
    this.kubelet = new FakeKubelet(this, opts.kubelet);
    this.create(typeOf('nodes', '')!, undefined, {
      metadata: { name: 'fake-node', labels: { 'kubernetes.io/hostname': 'fake-node' } },
      status: {
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'ExternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: 'fake-node' },
        ],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
  }

  /** http://127.0.0.1:port */
  url = '';

  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await this.kubelet.close();
    await this.proxy.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- the store ----------------------------------------------------------------------------------

  private key(t: ResourceType, ns: string | undefined, name: string) {
    return `${t.group}/${t.plural}/${t.namespaced ? ns : ''}/${name}`;
  }

  private emit(type: StoreEvent['type'], t: ResourceType, obj: Obj): void {
    const e: StoreEvent = { rv: Number(obj.metadata.resourceVersion), type, t, object: clone(obj) };
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const w of this.watchers) w(e);
    this.schedule();
  }

  get(t: ResourceType, ns: string | undefined, name: string): Obj {
    const hit = this.objects.get(this.key(t, ns, name));
    if (!hit) throw new StatusError(404, 'NotFound', `${t.plural}${t.group ? `.${t.group}` : ''} "${name}" not found`);
    return clone(hit.obj);
  }

  find(t: ResourceType, ns: string | undefined, name: string): Obj | undefined {
    const hit = this.objects.get(this.key(t, ns, name));
    return hit ? clone(hit.obj) : undefined;
  }

  list(t: ResourceType, ns: string | undefined, labelSelector?: string, fieldSelector?: string): Obj[] {
    const labels = parseSelector(labelSelector);
    const fields = parseSelector(fieldSelector);
    return [...this.objects.values()]
      .filter((o) => o.t === t && (!t.namespaced || !ns || o.obj.metadata.namespace === ns))
      .map((o) => o.obj)
      .filter((o) =>
        labels.every(([k, op, v]) => (op === '=' ? o.metadata.labels?.[k] === v : o.metadata.labels?.[k] !== v)),
      )
      .filter((o) => fields.every(([k, op, v]) => (op === '=' ? fieldOf(o, k) === v : fieldOf(o, k) !== v)))
      .map(clone);
  }

  create(t: ResourceType, ns: string | undefined, input: Obj): Obj {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = `${obj.metadata.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    if (!obj.metadata.name)
      throw new StatusError(422, 'Invalid', `${t.kind} is invalid: metadata.name: Required value`);
    if (t.namespaced) {
      if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns)
        throw new StatusError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      obj.metadata.namespace = ns ?? obj.metadata.namespace;
    }
    const key = this.key(t, obj.metadata.namespace, obj.metadata.name);
    if (this.objects.has(key))
      throw new StatusError(
        409,
        'AlreadyExists',
        `${t.plural}${t.group ? `.${t.group}` : ''} "${obj.metadata.name}" already exists`,
      );
    for (const ref of obj.metadata.ownerReferences ?? [])
      if (![...this.objects.values()].some((o) => o.obj.metadata.uid === ref.uid)) {
        // The garbage collector deletes dependents of an owner that is gone (here: at once).
        queueMicrotask(() => this.collect(ref.uid));
      }
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString();
    obj.metadata.generation = 1;
    obj.metadata.resourceVersion = String(++this.rv);
    if (t.kind === 'Service') {
      obj.spec ??= {};
      obj.spec.clusterIP ??= this.proxy.allocate();
      obj.spec.clusterIPs = [obj.spec.clusterIP];
    }
    if (t.kind === 'Deployment') obj.status ??= {};
    this.objects.set(key, { t, obj });
    this.emit('ADDED', t, obj);
    return clone(obj);
  }

  /** Replaces an object (or only its status); a given resourceVersion must be the current one. */
  update(t: ResourceType, ns: string | undefined, name: string, input: Obj, subresource?: 'status'): Obj {
    const current = this.get(t, ns, name);
    const rv = input.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion)
      throw new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.plural} "${name}": the object has been modified; please apply your ` +
          `changes to the latest version and try again`,
      );
    if (input.metadata?.name && input.metadata.name !== name)
      throw new StatusError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    let next: Obj;
    if (subresource === 'status') next = { ...current, status: clone(input.status) };
    else {
      next = { ...clone(input), apiVersion: current.apiVersion, kind: current.kind };
      next.metadata = {
        ...clone(input.metadata ?? {}),
        name,
        namespace: current.metadata.namespace,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: current.metadata.generation,
        ...(current.metadata.deletionTimestamp ? { deletionTimestamp: current.metadata.deletionTimestamp } : {}),
      };
      if ('status' in current) next.status = current.status;
      if (t.kind === 'Service' && current.spec?.clusterIP)
        next.spec = { ...next.spec, clusterIP: current.spec.clusterIP };
      if (
        t.kind === 'Deployment' &&
        current.spec?.selector &&
        JSON.stringify(current.spec.selector) !== JSON.stringify(next.spec?.selector)
      )
        throw new StatusError(
          422,
          'Invalid',
          `Deployment.apps "${name}" is invalid: spec.selector: Invalid value: field is immutable`,
        );
      if (t.kind === 'ConfigMap' && current.immutable && JSON.stringify(current.data) !== JSON.stringify(next.data))
        throw new StatusError(
          422,
          'Invalid',
          `ConfigMap "${name}" is invalid: data: Forbidden: field is immutable when \`immutable\` is set`,
        );
      if (JSON.stringify(current.spec) !== JSON.stringify(next.spec))
        next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    }
    if (JSON.stringify(next) === JSON.stringify(current)) return current;
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(t, ns, name), { t, obj: next });
    this.emit('MODIFIED', t, next);
    return clone(next);
  }

  patch(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    contentType: string,
    patch: unknown,
    subresource?: 'status',
  ): Obj {
    const current = this.get(t, ns, name);
    let next: Obj;
    if (contentType.startsWith('application/json-patch+json')) next = jsonPatch(current, patch as Obj[]);
    else if (
      contentType.startsWith('application/merge-patch+json') ||
      contentType.startsWith('application/strategic-merge-patch+json')
    )
      next = mergePatch(current, patch) as Obj;
    else
      throw new StatusError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ` +
          `application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ` +
          `${contentType})`,
      );
    return this.update(
      t,
      ns,
      name,
      { ...next, metadata: { ...next.metadata, resourceVersion: patchRv(patch, contentType) } },
      subresource,
    );
  }

  delete(t: ResourceType, ns: string | undefined, name: string, opts: { graceful?: boolean } = {}): Obj {
    const current = this.get(t, ns, name);
    if (t.kind === 'Pod' && opts.graceful !== false && !current.metadata.deletionTimestamp) {
      // A pod goes once its kubelet stopped it (grace period): until then it is terminating.
      current.metadata.deletionTimestamp = new Date().toISOString();
      current.metadata.deletionGracePeriodSeconds = current.spec?.terminationGracePeriodSeconds ?? 30;
      current.metadata.resourceVersion = String(++this.rv);
      this.objects.set(this.key(t, ns, name), { t, obj: current });
      this.emit('MODIFIED', t, current);
      return clone(current);
    }
    if (t.kind === 'Pod' && current.metadata.deletionTimestamp && opts.graceful !== false) return clone(current);
    this.objects.delete(this.key(t, ns, name));
    current.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', t, current);
    queueMicrotask(() => this.collect(current.metadata.uid as string));
    return clone(current);
  }

  /** The garbage collector: every object owned by `uid` goes (and what it owned, in turn). */
  private collect(uid: string): void {
    if ([...this.objects.values()].some((o) => o.obj.metadata.uid === uid)) return;
    for (const { t, obj } of [...this.objects.values()])
      if ((obj.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === uid))
        try {
          this.delete(t, obj.metadata.namespace, obj.metadata.name);
        } catch {
          /* gone already */
        }
  }

  // ---- controllers ----------------------------------------------------------------------------------

  /** Runs the controllers after a change (coalesced: one pass per burst of events). */
  private schedule(): void {
    if (this.closed) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    setImmediate(() => {
      try {
        do {
          this.again = false;
          this.reconcileDeployments();
          this.reconcileReplicaSets();
          this.reconcileEndpointSlices();
          this.proxy.sync();
          this.kubelet.sync();
        } while (this.again && !this.closed);
      } finally {
        this.reconciling = false;
      }
    });
  }

  /** A timer that reruns the controllers (progress deadlines). */
  later(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.schedule();
    }, ms);
    this.timers.add(t);
  }

  readonly T = {
    pod: typeOf('pods', '')!,
    service: typeOf('services', '')!,
    configMap: typeOf('configmaps', '')!,
    deployment: typeOf('deployments', 'apps')!,
    replicaSet: typeOf('replicasets', 'apps')!,
    endpointSlice: typeOf('endpointslices', 'discovery.k8s.io')!,
  };

  private owned(t: ResourceType, owner: Obj): Obj[] {
    return this.list(t, owner.metadata.namespace).filter((o) =>
      (o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === owner.metadata.uid && r.controller),
    );
  }

  private reconcileDeployments(): void {
    for (const d of this.list(this.T.deployment, undefined)) {
      const hash = templateHash(d.spec.template);
      const desired = d.spec.replicas ?? 1;
      const sets = this.owned(this.T.replicaSet, d);
      let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
      if (!current) {
        current = this.create(this.T.replicaSet, d.metadata.namespace, {
          metadata: {
            name: `${d.metadata.name}-${hash}`,
            labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
            annotations: { 'deployment.kubernetes.io/revision': String(sets.length + 1) },
            ownerReferences: [ownerRef(d)],
          },
          spec: {
            replicas: desired,
            selector: { matchLabels: { ...d.spec.selector.matchLabels, 'pod-template-hash': hash } },
            template: {
              ...clone(d.spec.template),
              metadata: {
                ...d.spec.template.metadata,
                labels: { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash },
              },
            },
          },
        });
      } else if (current.spec.replicas !== desired) {
        current = this.update(this.T.replicaSet, d.metadata.namespace, current.metadata.name, {
          ...current,
          spec: { ...current.spec, replicas: desired },
        });
      }
      const ready = (rs: Obj) => rs.status?.readyReplicas ?? 0;
      const newReady = ready(current) >= desired;
      // maxUnavailable 0: the old ReplicaSets keep their pods until the new one's are ready.
      for (const rs of sets)
        if (rs.metadata.uid !== current.metadata.uid && newReady && rs.spec.replicas !== 0)
          this.update(this.T.replicaSet, d.metadata.namespace, rs.metadata.name, {
            ...rs,
            spec: { ...rs.spec, replicas: 0 },
          });
      const all = this.owned(this.T.replicaSet, d);
      const sum = (f: (rs: Obj) => number) => all.reduce((n, rs) => n + f(rs), 0);
      const created = Date.parse(current.metadata.creationTimestamp as string);
      const deadline = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
      const progressing = newReady
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`,
          }
        : Date.now() - created > deadline
          ? {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: `ReplicaSet "${current.metadata.name}" has timed out progressing.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: 'ReplicaSetUpdated',
              message: `ReplicaSet "${current.metadata.name}" is progressing.`,
            };
      if (!newReady) this.later(Math.max(100, deadline - (Date.now() - created) + 50));
      const status = {
        observedGeneration: d.metadata.generation,
        replicas: sum((rs) => rs.status?.replicas ?? 0),
        updatedReplicas: current.status?.replicas ?? 0,
        readyReplicas: sum(ready),
        availableReplicas: sum(ready),
        ...(sum(ready) < desired ? { unavailableReplicas: desired - sum(ready) } : {}),
        conditions: [
          {
            type: 'Available',
            status: sum(ready) >= desired ? 'True' : 'False',
            reason: sum(ready) >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          },
          progressing,
        ],
      };
      if (JSON.stringify(stripTimes(d.status)) !== JSON.stringify(status))
        this.update(this.T.deployment, d.metadata.namespace, d.metadata.name, { ...d, status }, 'status');
    }
  }

  private reconcileReplicaSets(): void {
    for (const rs of this.list(this.T.replicaSet, undefined)) {
      const pods = this.owned(this.T.pod, rs).filter((p) => !p.metadata.deletionTimestamp);
      const want = rs.spec.replicas ?? 0;
      for (let i = pods.length; i < want; i++)
        this.create(this.T.pod, rs.metadata.namespace, {
          metadata: {
            generateName: `${rs.metadata.name}-`,
            labels: { ...rs.spec.template.metadata?.labels },
            ownerReferences: [ownerRef(rs)],
          },
          spec: clone(rs.spec.template.spec),
          status: { phase: 'Pending' },
        });
      // Not-ready pods go first, then the newest (as the ReplicaSet controller ranks them).
      const excess = pods
        .sort(
          (a, b) =>
            Number(isReady(a)) - Number(isReady(b)) ||
            String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
        )
        .slice(0, Math.max(0, pods.length - want));
      for (const p of excess) this.delete(this.T.pod, p.metadata.namespace, p.metadata.name);
      const live = this.owned(this.T.pod, rs).filter((p) => !p.metadata.deletionTimestamp);
      const status = {
        replicas: live.length,
        readyReplicas: live.filter(isReady).length,
        observedGeneration: rs.metadata.generation,
      };
      if (JSON.stringify(rs.status ?? {}) !== JSON.stringify(status))
        this.update(this.T.replicaSet, rs.metadata.namespace, rs.metadata.name, { ...rs, status }, 'status');
    }
  }

  private reconcileEndpointSlices(): void {
    for (const svc of this.list(this.T.service, undefined)) {
      const selector = svc.spec?.selector ?? {};
      const pods = this.list(this.T.pod, svc.metadata.namespace).filter(
        (p) =>
          Object.keys(selector).length &&
          Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v) &&
          p.status?.podIP,
      );
      const name = `${svc.metadata.name}-${createHash('sha256')
        .update(svc.metadata.uid as string)
        .digest('hex')
        .slice(0, 5)}`;
      const body = {
        metadata: {
          name,
          labels: {
            'kubernetes.io/service-name': svc.metadata.name,
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          },
          ownerReferences: [ownerRef(svc)],
        },
        addressType: 'IPv4',
        endpoints: pods
          .map((p) => {
            const terminating = !!p.metadata.deletionTimestamp;
            const ready = isReady(p) && !terminating;
            return {
              addresses: [p.status.podIP],
              conditions: { ready, serving: isReady(p), terminating },
              nodeName: p.spec.nodeName,
              targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid },
            };
          })
          .sort((a, b) => a.targetRef.name.localeCompare(b.targetRef.name)),
        ports: (svc.spec?.ports ?? []).map((p: Obj) => ({
          name: p.name ?? '',
          protocol: p.protocol ?? 'TCP',
          port: typeof p.targetPort === 'number' ? p.targetPort : (containerPort(pods[0], p.targetPort) ?? p.port),
        })),
      };
      const existing = this.find(this.T.endpointSlice, svc.metadata.namespace, name);
      if (!existing) this.create(this.T.endpointSlice, svc.metadata.namespace, body);
      else if (
        JSON.stringify({ e: existing.endpoints, p: existing.ports }) !==
        JSON.stringify({ e: body.endpoints, p: body.ports })
      )
        this.update(this.T.endpointSlice, svc.metadata.namespace, name, {
          ...existing,
          endpoints: body.endpoints,
          ports: body.ports,
        });
    }
  }

  /** Writes a pod's status (the kubelet's), if the pod still exists. */
  setPodStatus(ns: string, name: string, status: Obj): void {
    const pod = this.find(this.T.pod, ns, name);
    if (!pod || JSON.stringify(pod.status) === JSON.stringify(status)) return;
    this.update(this.T.pod, ns, name, { ...pod, status }, 'status');
  }

  /** Removes a pod its kubelet stopped. */
  podGone(ns: string, name: string): void {
    if (this.find(this.T.pod, ns, name)) this.delete(this.T.pod, ns, name, { graceful: false });
  }

  /** Services and EndpointSlices (for kube-proxy). */
  services(): Obj[] {
    return this.list(this.T.service, undefined);
  }
  slicesOf(ns: string, service: string): Obj[] {
    return this.list(this.T.endpointSlice, ns, `kubernetes.io/service-name=${service}`);
  }

  /** Pods of this server (for the kubelet). */
  pods(): Obj[] {
    return this.list(this.T.pod, undefined);
  }

  configMap(ns: string, name: string): Obj | undefined {
    return this.find(this.T.configMap, ns, name);
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  private allowed(verb: string, group: string, resource: string): boolean {
    this.used.add(`${verb} ${group}/${resource}`);
    const rules = this.opts.rules;
    if (!rules) return true;
    return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const discovery = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(url.pathname);
      if (discovery && req.method === 'GET') {
        const [group, version] = discovery[1] ? ['', 'v1'] : [discovery[2], discovery[3]];
        const types = TYPES.filter((t) => t.group === group && t.version === version);
        if (!types.length)
          throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
        return send(200, {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: group ? `${group}/${version}` : version,
          resources: types.map((t) => ({
            name: t.plural,
            singularName: t.kind.toLowerCase(),
            namespaced: t.namespaced,
            kind: t.kind,
            verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
          })),
        });
      }
      const m =
        /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
          url.pathname,
        );
      if (!m)
        throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      const group = m[2] ?? '';
      const [ns, plural, name, sub] = [m[4], m[5], m[6], m[7]];
      const t = typeOf(plural, group);
      if (!t) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${plural})`);
      const body = await readBody(req);
      const q = url.searchParams;
      const verbOf = () => {
        if (req.method === 'GET')
          return name ? 'get' : q.get('watch') === 'true' || q.get('watch') === '1' ? 'watch' : 'list';
        return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[req.method ?? ''] ?? 'unknown';
      };
      const verb = verbOf();
      const resource = sub ? `${plural}/${sub}` : plural;
      if (!this.allowed(verb, group, resource)) {
        this.forbidden.push(`${verb} ${group}/${resource}`);
        throw new StatusError(
          403,
          'Forbidden',
          `${plural}${group ? `.${group}` : ''} is forbidden: User "system:serviceaccount:protium:protium-dashboard" ` +
            `cannot ${verb} resource "${resource}" in API group "${group}"`,
        );
      }
      if (sub === 'log' && t.kind === 'Pod' && name) return await this.kubelet.serveLog(ns, name, q, req, res);
      if (sub === 'scale' && t.kind === 'Deployment' && name) {
        if (req.method === 'GET') return send(200, scaleOf(this.get(t, ns, name)));
        const d = this.get(t, ns, name);
        const scale =
          req.method === 'PATCH'
            ? (this.patch(
                t,
                ns,
                name,
                req.headers['content-type'] ?? '',
                scaleToDeploymentPatch(body, req.headers['content-type'] ?? ''),
              ),
              undefined)
            : (this.update(t, ns, name, {
                ...d,
                spec: { ...d.spec, replicas: (JSON.parse(body) as Obj).spec?.replicas },
              }),
              undefined);
        void scale;
        return send(200, scaleOf(this.get(t, ns, name)));
      }
      if (sub && sub !== 'status')
        throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${resource})`);
      const status = sub === 'status' ? ('status' as const) : undefined;
      switch (req.method) {
        case 'GET':
          if (name) return send(200, this.get(t, ns, name));
          if (verb === 'watch') return this.watch(t, ns, q, req, res);
          return send(200, {
            apiVersion: apiVersionOf(t),
            kind: `${t.kind}List`,
            metadata: { resourceVersion: String(this.rv) },
            items: this.list(t, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined),
          });
        case 'POST':
          return send(201, this.create(t, ns, JSON.parse(body) as Obj));
        case 'PUT':
          return send(200, this.update(t, ns, name, JSON.parse(body) as Obj, status));
        case 'PATCH':
          return send(200, this.patch(t, ns, name, req.headers['content-type'] ?? '', JSON.parse(body), status));
        case 'DELETE': {
          const d = this.delete(t, ns, name);
          return send(
            200,
            t.kind === 'Pod'
              ? d
              : {
                  kind: 'Status',
                  apiVersion: 'v1',
                  metadata: {},
                  status: 'Success',
                  details: { name, kind: plural, uid: d.metadata.uid },
                },
          );
        }
        default:
          throw new StatusError(405, 'MethodNotAllowed', `${req.method} is not supported`);
      }
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof StatusError) return send(e.code, e.body());
      if (e instanceof SyntaxError)
        return send(400, new StatusError(400, 'BadRequest', `the body is not JSON: ${e.message}`).body());
      send(500, new StatusError(500, 'InternalError', (e as Error).stack ?? String(e)).body());
    }
  }

  private watch(
    t: ResourceType,
    ns: string | undefined,
    q: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    const labels = parseSelector(q.get('labelSelector') ?? undefined);
    const fields = parseSelector(q.get('fieldSelector') ?? undefined);
    const match = (o: Obj) =>
      (!t.namespaced || !ns || o.metadata.namespace === ns) &&
      labels.every(([k, op, v]) => (op === '=' ? o.metadata.labels?.[k] === v : o.metadata.labels?.[k] !== v)) &&
      fields.every(([k, op, v]) => (op === '=' ? fieldOf(o, k) === v : fieldOf(o, k) !== v));
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const write = (type: string, object: Obj) => res.write(`${JSON.stringify({ type, object })}\n`);
    const from = q.get('resourceVersion');
    const since = from && from !== '0' ? Number(from) : undefined;
    if (since === undefined) {
      for (const o of this.list(t, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined))
        write('ADDED', o);
    } else {
      const oldest = this.history[0]?.rv ?? this.rv;
      if (since < oldest - 1) {
        write('ERROR', new StatusError(410, 'Expired', `too old resource version: ${since} (${oldest - 1})`).body());
        res.end();
        return;
      }
      for (const e of this.history) if (e.rv > since && e.t === t && match(e.object)) write(e.type, e.object);
    }
    const watcher = (e: StoreEvent) => {
      if (e.t === t && match(e.object)) write(e.type, e.object);
    };
    this.watchers.add(watcher);
    const bookmarks =
      q.get('allowWatchBookmarks') === 'true'
        ? setInterval(
            () =>
              write('BOOKMARK', {
                kind: t.kind,
                apiVersion: apiVersionOf(t),
                metadata: { resourceVersion: String(this.rv) },
              }),
            1_000,
          )
        : undefined;
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const stop = () => {
      this.watchers.delete(watcher);
      clearInterval(bookmarks);
      clearTimeout(timer);
    };
    req.on('close', stop);
    res.on('close', stop);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `a=b,c!=d` → [[a, '=', b], [c, '!=', d]] (equality-based selectors: all the platform sends). */
function parseSelector(s: string | undefined): Array<[string, '=' | '!=', string]> {
  if (!s) return [];
  return s.split(',').map((part) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(part.trim());
    if (!m) throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${part}`);
    return [m[1], m[2] === '!=' ? '!=' : '=', m[3]];
  });
}

function fieldOf(o: Obj, path: string): string | undefined {
  const v = path.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Obj)[k] : undefined), o);
  return v === undefined ? undefined : String(v);
}

function ownerRef(o: Obj): Obj {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    uid: o.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function templateHash(template: Obj): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}

export function isReady(p: Obj): boolean {
  return (p.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
}

function containerPort(pod: Obj | undefined, port: unknown): number | undefined {
  for (const c of pod?.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === port) return p.containerPort as number;
  return undefined;
}

function stripTimes(status: Obj | undefined): Obj {
  return status ?? {};
}

function scaleOf(d: Obj): Obj {
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: d.metadata.name,
      namespace: d.metadata.namespace,
      uid: d.metadata.uid,
      resourceVersion: d.metadata.resourceVersion,
    },
    spec: { replicas: d.spec.replicas ?? 1 },
    status: {
      replicas: d.status?.replicas ?? 0,
      selector: Object.entries(d.spec.selector.matchLabels ?? {})
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(','),
    },
  };
}

/** A patch of a Scale as the patch of its Deployment. */
function scaleToDeploymentPatch(body: string, contentType: string): unknown {
  const patch = JSON.parse(body) as unknown;
  if (contentType.startsWith('application/json-patch+json'))
    return (patch as Obj[]).filter((op) => op.path === '/spec/replicas');
  const replicas = (patch as Obj).spec?.replicas;
  const rv = (patch as Obj).metadata?.resourceVersion;
  return { spec: { replicas }, ...(rv ? { metadata: { resourceVersion: rv } } : {}) };
}

/** The resourceVersion a patch carries (a precondition), if any. */
function patchRv(patch: unknown, contentType: string): string | undefined {
  if (contentType.startsWith('application/json-patch+json')) return undefined;
  return ((patch as Obj)?.metadata as Obj | undefined)?.resourceVersion as string | undefined;
}

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Obj = target && typeof target === 'object' && !Array.isArray(target) ? clone(target as Obj) : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902: add, replace, remove, test. */
export function jsonPatch(target: Obj, ops: Obj[]): Obj {
  let doc = clone(target);
  if (!Array.isArray(ops)) throw new StatusError(400, 'BadRequest', 'a JSON patch must be an array of operations');
  for (const op of ops) {
    const path = String(op.path ?? '')
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (!path.length) {
      doc = clone(op.value as Obj);
      continue;
    }
    const parent = path.slice(0, -1).reduce<any>((x, k) => (x == null ? x : x[k]), doc);
    const last = path[path.length - 1];
    if (parent == null || typeof parent !== 'object')
      throw new StatusError(422, 'Invalid', `the JSON patch path ${String(op.path)} does not exist`);
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, clone(op.value));
        else parent[last] = clone(op.value);
        break;
      case 'replace':
        if (!(last in parent))
          throw new StatusError(422, 'Invalid', `the JSON patch path ${String(op.path)} does not exist`);
        parent[last] = clone(op.value);
        break;
      case 'remove':
        if (!(last in parent))
          throw new StatusError(422, 'Invalid', `the JSON patch path ${String(op.path)} does not exist`);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
        break;
      case 'test':
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
          throw new StatusError(422, 'Invalid', `the JSON patch test of ${String(op.path)} failed`);
        break;
      default:
        throw new StatusError(422, 'Invalid', `the JSON patch operation ${String(op.op)} is not supported`);
    }
  }
  return doc;
}
