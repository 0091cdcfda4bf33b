/**
 * What a replica's container is made of, as the engine's create request: pure, so the rules are in one
 * place and tested as a table.
 *
 * - **The processor image** runs the processor in listen mode (processor/main.ts): the http trigger on
 *   8080, health on 8082. Its config travels in the environment (PROTIUM_PROCESSOR_CONFIG_JSON): the
 *   container sees no file of the dashboard's. The artifact is the node's cached copy (a volume per
 *   artifact, filled by the fetcher: artifact-volumes.ts), mounted read-only.
 * - **A user's image** (spec.image set to an image of their own) runs as given: its own entry point and
 *   user, the function's environment; it must serve HTTP on 8080.
 *
 * Either way: the function's labels, spec.resources as memory and CPU limits (no swap beyond the memory
 * limit), no capabilities, no new privileges, a bounded number of processes, an init as PID 1 (it reaps
 * what handlers orphan and passes signals on), the engine's default network. The processor image also
 * gets a read-only root file system with a private tmpfs `/tmp` (its HOME), and runs as nobody.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { ProcessorConfig } from '../../processor/config.js';
import { CONTAINER_HEALTH_PORT, CONTAINER_HTTP_PORT } from '../../processor/config.js';
import type { FunctionRef } from '../../resources/types.js';
import { LABELS, ROLES } from './labels.js';

/** Where an artifact cache volume is mounted in the processor image (images/processor/Dockerfile). */
export const ARTIFACT_MOUNT = '/var/lib/protium/artifacts';
/** The processor's user in its image: nobody, which owns nothing there. */
export const REPLICA_USER = '65534:65534';
/** Processes (and threads) a replica may run at once: a fork bomb stops here. */
export const PIDS_LIMIT = 4096;
/** Docker's json-file logs (and Podman's, where it honours them): as big as the local platform's log files. */
export const LOG_OPTIONS = { 'max-size': '4m', 'max-file': '2' };

export interface ResourceLimits {
  memory?: number;
  cpu?: number;
  memoryRequest?: number;
  cpuRequest?: number;
}

/** Everything a function's replicas share: each container is this plus its name. */
export interface ReplicaTemplate {
  dashboardId: string;
  ref: FunctionRef;
  project: string;
  image: string;
  /** The artifact the replicas run; undefined for a user's image. */
  artifactId?: string;
  /** The artifact's cache volume, and the folder of the artifact in it (processor image only). */
  volume?: string;
  artifactDir?: string;
  /** The processor's config, but `replica` (processor image only). */
  config?: Omit<ProcessorConfig, 'replica'>;
  /** The container's environment (the function's and the runtime's). */
  env: Record<string, string>;
  limits: ResourceLimits;
  /** How long the engine waits after SIGTERM before it kills (docker stop). */
  stopTimeoutS: number;
}

/** A container name an engine accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*) and a host name (at most 63). Pure. */
export function hostnameOf(name: string): string {
  return (
    name
      .slice(0, 63)
      .replace(/[^a-zA-Z0-9-]/g, '-')
      .replace(/-+$/, '') || 'replica'
  );
}

/** spec.resources as the engine's HostConfig fields (also an update request's body); {} for none. Pure. */
export function limitsConfig(limits: ResourceLimits): Docker.HostConfig {
  const h: Docker.HostConfig = {};
  if (limits.memory) {
    h.Memory = Math.floor(limits.memory);
    h.MemorySwap = Math.floor(limits.memory);
  }
  if (limits.memoryRequest) h.MemoryReservation = Math.floor(limits.memoryRequest);
  if (limits.cpu) h.NanoCpus = Math.round(limits.cpu * 1e9);
  if (limits.cpuRequest) h.CpuShares = Math.max(2, Math.round(limits.cpuRequest * 1024));
  return h;
}

/** The engine's HostConfig for a template. */
function hostConfig(t: ReplicaTemplate): Docker.HostConfig {
  const processor = t.config !== undefined;
  const h: Docker.HostConfig = {
    Init: true,
    Privileged: false,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: PIDS_LIMIT,
    RestartPolicy: { Name: 'no' },
    LogConfig: { Type: 'json-file', Config: LOG_OPTIONS },
  };
  Object.assign(h, limitsConfig(t.limits));
  if (processor) {
    h.ReadonlyRootfs = true;
    h.Tmpfs = { '/tmp': 'rw,nosuid,nodev,mode=1777' };
    if (t.volume) h.Mounts = [{ Type: 'volume', Source: t.volume, Target: ARTIFACT_MOUNT, ReadOnly: true }];
  }
  return h;
}

/** The environment of replica `name` of a template (the processor's config in it). Pure. */
export function replicaEnv(t: ReplicaTemplate, name: string): Record<string, string> {
  const env = { ...t.env };
  if (t.config) env.PROTIUM_PROCESSOR_CONFIG_JSON = JSON.stringify({ replica: name, ...t.config });
  return env;
}

/** The engine's create request for replica `name` of a template. Pure. */
export function replicaCreateOptions(t: ReplicaTemplate, name: string): Docker.ContainerCreateOptions {
  const env = replicaEnv(t, name);
  const labels: Record<string, string> = {
    [LABELS.dashboard]: t.dashboardId,
    [LABELS.role]: ROLES.replica,
    [LABELS.namespace]: t.ref.namespace,
    [LABELS.function]: t.ref.name,
    [LABELS.project]: t.project,
    [LABELS.spec]: templateHash(t),
  };
  if (t.artifactId) labels[LABELS.artifact] = t.artifactId;
  const opts: Docker.ContainerCreateOptions = {
    name,
    Hostname: hostnameOf(name),
    Image: t.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    StopSignal: 'SIGTERM',
    StopTimeout: t.stopTimeoutS,
    ExposedPorts: { [`${CONTAINER_HTTP_PORT}/tcp`]: {} },
    HostConfig: hostConfig(t),
  };
  if (t.config) {
    opts.User = REPLICA_USER;
    opts.WorkingDir = t.artifactDir;
    opts.ExposedPorts![`${CONTAINER_HEALTH_PORT}/tcp`] = {};
  }
  return opts;
}

/**
 * A hash of what a template's containers are made of (everything but their names): replicas whose
 * labels carry the same one are interchangeable, so a restarted dashboard may adopt them. Pure.
 */
export function templateHash(t: ReplicaTemplate): string {
  const canonical = JSON.stringify({ ...t, env: Object.entries(t.env).sort(), config: t.config ?? null });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
