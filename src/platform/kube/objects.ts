/**
 * The Kubernetes objects of one function, pure: from the function's record, what its pods run (the
 * processor image with the artifact fetched at start, or the user's own image) and the platform's
 * settings, the Service, the processor's ConfigMap, the Deployment, and when the spec asks for them an
 * Ingress and a CPU HorizontalPodAutoscaler. The platform applies them (kube-platform.ts); `protium kube
 * manifests` prints them; checks.ts and the OpenAPI schemas (kubernetes-models) validate them in tests.
 *
 * The model is Fission's pool manager rather than Nuclio's image per function: one processor image for
 * every function, whose init container fetches the artifact from the dashboard and checks its digest
 * (processor/fetch-artifact.ts) before the processor starts, so a deploy builds and pushes no image.
 *
 * Ownership: the Service is the function's root object (created first, never replaced); the ConfigMaps,
 * the Deployment, the Ingress and the HPA carry an ownerReference to it, so deleting the Service deletes
 * the rest (Kubernetes' garbage collector). Owner references need the Service's uid, which only a cluster
 * knows: `withOwner` adds them at apply time, and printed manifests have none.
 */
import { createHash } from 'node:crypto';
import { CONTAINER_HEALTH_PORT, CONTAINER_HTTP_PORT, type ProcessorConfig } from '../../processor/config.js';
import type { EnvVar, FunctionRecord, Trigger } from '../../resources/types.js';
import { ANNOTATIONS, configMapName, LABELS, labelsOf, objectName, refOf, selectorOf } from './names.js';

/** The processor's ports in its image: the http trigger and the health port (as Nuclio's processor). */
export const HTTP_PORT = CONTAINER_HTTP_PORT;
export const HEALTH_PORT = CONTAINER_HEALTH_PORT;
/** Where the artifact cache (an emptyDir the init container fills) and the processor's config are mounted. */
export const ARTIFACT_CACHE = '/var/lib/protium/artifacts';
export const CONFIG_DIR = '/etc/protium';
export const CONFIG_FILE = 'processor.json';
/** Seconds a stopping pod gets: events in flight (30 s), idle keep-alive clients (6 s), and a margin. */
export const TERMINATION_GRACE_S = 40;
/** The processor's user in its image: nobody. */
export const RUN_AS_USER = 65534;

/** A Kubernetes object as plain data (what the API takes and kubernetes-models validates). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** What the processor image's pods run: the processor's config and environment, and the artifact to fetch. */
export interface ProcessorRun {
  /** The processor's config, but `replica` (the object name: a pod's own name is its HOSTNAME). */
  config: Omit<ProcessorConfig, 'replica'>;
  /** The processor container's environment (the function's own env entries come from the spec as given). */
  env: Record<string, string>;
  artifact: {
    id: string;
    /** The artifact's URL on the dashboard, as pods reach it. */
    url: string;
    /** The credential for that URL (processor/fetch-artifact.ts sends it as a bearer token). */
    token: string;
    /** `sha256:<hex>` of the archive: the fetcher refuses anything else. */
    digest: string;
  };
}

/** The platform's settings that shape every function's objects. */
export interface KubeSettings {
  /** The Kubernetes namespace functions run in. */
  namespace: string;
  /** The processor image (every function's, unless spec.image names a user's own). */
  processorImage: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

/** One function's objects, in the order they are applied. */
export interface FunctionObjects {
  service: KubeObject;
  configMap?: KubeObject;
  deployment: KubeObject;
  ingress?: KubeObject;
  hpa?: KubeObject;
}

export interface FunctionObjectsInput {
  fn: FunctionRecord;
  settings: KubeSettings;
  /** The processor image's run; absent when the function runs a user's image (`spec.image`), as given. */
  processor?: ProcessorRun;
  /** The Deployment's replicas when created (the scaler owns them after: apply never resets them). */
  replicas: number;
}

/** The resources Kubernetes takes in spec.resources (Nuclio's spec.resources is a ResourceRequirements). */
const RESOURCE_KEYS = ['requests', 'limits'] as const;

/** spec.resources as the container's: requests and limits of quantities, nothing else. */
export function containerResources(resources: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, Record<string, string>> = {};
  for (const key of RESOURCE_KEYS) {
    const v = resources?.[key];
    if (!v || typeof v !== 'object') continue;
    const q: Record<string, string> = {};
    for (const [name, amount] of Object.entries(v as Record<string, unknown>)) {
      if (typeof amount === 'string' || typeof amount === 'number') q[name] = String(amount);
    }
    if (Object.keys(q).length) out[key] = q;
  }
  return out;
}

/** The function's http trigger (the one the Service and the Ingress serve), if it has an enabled one. */
export function httpTriggerOf(fn: FunctionRecord): Trigger | undefined {
  return Object.values(fn.spec.triggers ?? {}).find((t) => t.kind === 'http' && !t.disabled);
}

/** One ingress of an http trigger, as Nuclio declares them (`attributes.ingresses.<name>`). */
interface IngressDecl {
  host?: string;
  paths?: string[];
  pathType?: string;
  secretName?: string;
}

function ingressesOf(t: Trigger | undefined): IngressDecl[] {
  const raw = t?.attributes?.ingresses;
  if (!raw || typeof raw !== 'object') return [];
  return Object.values(raw as Record<string, unknown>).filter(
    (v): v is IngressDecl => typeof v === 'object' && v !== null,
  );
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The function's environment entries as Kubernetes takes them (valueFrom passes through: secrets work). */
function specEnv(env: EnvVar[] | undefined): Array<Record<string, unknown>> {
  return (env ?? [])
    .filter((e) => typeof e.name === 'string' && e.name.length > 0)
    .map((e) =>
      e.valueFrom !== undefined ? { name: e.name, valueFrom: e.valueFrom } : { name: e.name, value: e.value ?? '' },
    );
}

/** The objects of a function. Pure: the same input gives the same objects, byte for byte. */
export function functionObjects(input: FunctionObjectsInput): FunctionObjects {
  const { fn, settings, processor } = input;
  const ref = refOf(fn);
  const name = objectName(ref);
  const labels = labelsOf(fn);
  const selector = selectorOf(ref);
  const meta = (n: string, extra: Record<string, unknown> = {}) => ({
    name: n,
    namespace: settings.namespace,
    labels: { ...labels },
    ...extra,
  });
  const http = httpTriggerOf(fn);
  const nodePort = http?.attributes?.serviceType === 'NodePort' ? Number(http.attributes.port) || undefined : undefined;

  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name),
    spec: {
      type: http?.attributes?.serviceType === 'NodePort' ? 'NodePort' : 'ClusterIP',
      selector: { ...selector },
      ports: [
        {
          name: 'http',
          port: HTTP_PORT,
          targetPort: 'http',
          protocol: 'TCP',
          ...(nodePort && nodePort >= 30000 && nodePort <= 32767 ? { nodePort } : {}),
        },
      ],
    },
  };

  let configMap: KubeObject | undefined;
  const volumes: Array<Record<string, unknown>> = [{ name: 'tmp', emptyDir: {} }];
  const initContainers: Array<Record<string, unknown>> = [];
  let container: Record<string, unknown>;
  const securityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    capabilities: { drop: ['ALL'] },
  };
  const resources = containerResources(fn.spec.resources);
  const readinessS = fn.spec.readinessTimeoutSeconds || 120;

  if (processor) {
    const config = JSON.stringify({ replica: name, ...processor.config }, null, 2);
    configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(configMapName(ref, sha(config))),
      immutable: true,
      data: { [CONFIG_FILE]: config },
    };
    volumes.push(
      { name: 'artifacts', emptyDir: {} },
      { name: 'config', configMap: { name: configMap.metadata.name, defaultMode: 0o444 } },
    );
    initContainers.push({
      name: 'fetch-artifact',
      image: settings.processorImage,
      ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
      args: ['fetch'],
      env: [
        { name: 'PROTIUM_ARTIFACT_URL', value: processor.artifact.url },
        { name: 'PROTIUM_ARTIFACT_TOKEN', value: processor.artifact.token },
        { name: 'PROTIUM_ARTIFACT_DIGEST', value: processor.artifact.digest },
        { name: 'PROTIUM_ARTIFACT_CACHE', value: ARTIFACT_CACHE },
      ],
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      securityContext,
      volumeMounts: [
        { name: 'artifacts', mountPath: ARTIFACT_CACHE },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });
    const env = Object.entries(processor.env)
      .filter(([k]) => !(fn.spec.env ?? []).some((e) => e.name === k))
      .map(([k, v]) => ({ name: k, value: v }));
    container = {
      name: 'processor',
      image: settings.processorImage,
      ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
      env: [
        ...env,
        ...specEnv(fn.spec.env),
        { name: 'PROTIUM_PROCESSOR_CONFIG', value: `${CONFIG_DIR}/${CONFIG_FILE}` },
        { name: 'PROTIUM_PROCESSOR_HOST', value: '0.0.0.0' },
        { name: 'PROTIUM_PROCESSOR_PORT', value: String(HTTP_PORT) },
        { name: 'PROTIUM_PROCESSOR_HEALTH_PORT', value: String(HEALTH_PORT) },
      ],
      ports: [
        { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
        { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
      ],
      // Readiness answers "may I get requests"; liveness only "is the event loop alive". A slow start is
      // the startup probe's: it allows readinessTimeoutSeconds before liveness counts.
      startupProbe: {
        httpGet: { path: '/live', port: 'health' },
        periodSeconds: 1,
        failureThreshold: readinessS,
      },
      readinessProbe: { httpGet: { path: '/ready', port: 'health' }, periodSeconds: 1, failureThreshold: 1 },
      livenessProbe: {
        httpGet: { path: '/live', port: 'health' },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 3,
      },
      workingDir: processor.config.artifactDir,
      securityContext,
      volumeMounts: [
        { name: 'artifacts', mountPath: ARTIFACT_CACHE, readOnly: true },
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    };
  } else {
    // A user's image runs as given: its own entry point and user; it must serve HTTP on 8080.
    container = {
      name: 'function',
      image: fn.spec.image,
      ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
      env: specEnv(fn.spec.env),
      ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
      startupProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: readinessS },
      readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
      livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    };
  }
  if (Object.keys(resources).length) container.resources = resources;

  const podLabels: Record<string, string> = { ...labels };
  if (processor) podLabels[LABELS.artifact] = processor.artifact.id;
  const podSpec: Record<string, unknown> = {
    ...(initContainers.length ? { initContainers } : {}),
    containers: [container],
    volumes,
    terminationGracePeriodSeconds: TERMINATION_GRACE_S,
    // Functions do not talk to the Kubernetes API: no token in their pods, no Service variables in their env.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  };
  const template = { metadata: { labels: podLabels }, spec: podSpec };
  const specHash = sha(JSON.stringify(template)).slice(0, 16);
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, { annotations: { [ANNOTATIONS.specHash]: specHash } }),
    spec: {
      replicas: input.replicas,
      selector: { matchLabels: { ...selector } },
      // A new version's pods start beside the old ones, which go only once the new ones are ready.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      revisionHistoryLimit: 2,
      progressDeadlineSeconds: Math.max(readinessS + 60, 600),
      template,
    },
  };

  const decls = ingressesOf(http);
  let ingress: KubeObject | undefined;
  if (decls.length) {
    const backend = { service: { name, port: { name: 'http' } } };
    const tls = decls
      .filter((d) => d.secretName && d.host)
      .map((d) => ({ hosts: [d.host!], secretName: d.secretName! }));
    ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(name),
      spec: {
        rules: decls.map((d) => ({
          ...(d.host ? { host: d.host } : {}),
          http: {
            paths: (d.paths?.length ? d.paths : ['/']).map((path) => ({
              path,
              pathType: d.pathType ?? 'ImplementationSpecific',
              backend,
            })),
          },
        })),
        ...(tls.length ? { tls } : {}),
      },
    };
  }

  let hpa: KubeObject | undefined;
  const min = fn.spec.minReplicas ?? fn.spec.replicas ?? 1;
  const max = fn.spec.maxReplicas ?? Math.max(min, 1);
  if (fn.spec.targetCPU && fn.spec.targetCPU > 0 && max > Math.max(min, 1)) {
    hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta(name),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        // An HPA cannot go below one: scale to zero stays the platform's (at zero replicas Kubernetes
        // turns the HPA off until the platform wakes the function).
        minReplicas: Math.max(min, 1),
        maxReplicas: max,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: fn.spec.targetCPU } },
          },
        ],
      },
    };
  }
  return {
    service,
    ...(configMap ? { configMap } : {}),
    deployment,
    ...(ingress ? { ingress } : {}),
    ...(hpa ? { hpa } : {}),
  };
}

/** The objects in the order they are applied (the root, the Service, first). */
export function objectList(o: FunctionObjects): KubeObject[] {
  return [o.service, o.configMap, o.deployment, o.ingress, o.hpa].filter((x): x is KubeObject => x !== undefined);
}

/** `obj` owned by `owner` (which must exist: its uid is the cluster's), so deleting the owner deletes it. */
export function withOwner(
  obj: KubeObject,
  owner: { apiVersion: string; kind: string; name: string; uid: string },
): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
    },
  };
}
