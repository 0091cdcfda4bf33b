/**
 * What a pre-started processor container (--prewarm on the docker platform: container-pool.ts) is made of,
 * and what it is told to become. Pure, so the rules are in one place and tested as a table.
 *
 * A pool container is a replica's container without the function: the processor image in pool mode
 * (processor/pool-specialise.ts), the same confinement (nobody, no capabilities, no new privileges, a
 * read-only root with a private tmpfs /tmp, a bounded number of processes, an init), but no artifact
 * volume — its artifact folder is a tmpfs of its own, which the processor fills on specialisation by
 * fetching the function's artifact by digest. So a pool container can read no function's code before it
 * becomes one, and then only its own. What differs from a replica made cold, because an engine fixes it
 * at creation: the container's labels (it keeps role `pool`: see docker-platform.ts for what that means
 * after a kill -9), its host name, and its resource limits, which are applied with the engine's update
 * when the engine can (limitsConfig), else the function is not served from the pool.
 */
import type Docker from 'dockerode';
import { CONTAINER_HEALTH_PORT, CONTAINER_HTTP_PORT } from '../../processor/config.js';
import { POOL_TOKEN_ENV, type SpecialiseRequest } from '../../processor/pool-specialise.js';
import {
  ARTIFACT_MOUNT,
  hostnameOf,
  limitsConfig,
  LOG_OPTIONS,
  PIDS_LIMIT,
  REPLICA_USER,
  replicaEnv,
  type ReplicaTemplate,
} from './container-spec.js';
import { LABELS, ROLES } from './labels.js';
import { STOP_TIMEOUT_S } from './replica-template.js';

export interface PoolContainerInput {
  dashboardId: string;
  /** The processor image's tag. */
  image: string;
  /** The container's name. */
  name: string;
  /** The token its specialise request must carry (known to the dashboard and the container only). */
  token: string;
}

/** The engine's create request for a pool container. Pure. */
export function poolCreateOptions(i: PoolContainerInput): Docker.ContainerCreateOptions {
  return {
    name: i.name,
    Hostname: hostnameOf(i.name),
    Image: i.image,
    User: REPLICA_USER,
    WorkingDir: '/tmp',
    Env: Object.entries({
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/tmp',
      LANG: 'C.UTF-8',
      PROTIUM_PROCESSOR_POOL: '1',
      [POOL_TOKEN_ENV]: i.token,
      PROTIUM_PROCESSOR_HOST: '0.0.0.0',
      PROTIUM_PROCESSOR_HEALTH_PORT: String(CONTAINER_HEALTH_PORT),
    }).map(([k, v]) => `${k}=${v}`),
    Labels: { [LABELS.dashboard]: i.dashboardId, [LABELS.role]: ROLES.pool },
    StopSignal: 'SIGTERM',
    StopTimeout: STOP_TIMEOUT_S,
    ExposedPorts: { [`${CONTAINER_HTTP_PORT}/tcp`]: {}, [`${CONTAINER_HEALTH_PORT}/tcp`]: {} },
    HostConfig: {
      Init: true,
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: PIDS_LIMIT,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: LOG_OPTIONS },
      ReadonlyRootfs: true,
      // Engines mount a tmpfs noexec by default: the artifact's folder holds the function's programs
      // (installed packages' bin/), as a replica's cache volume does.
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,mode=1777', [ARTIFACT_MOUNT]: 'rw,exec,nosuid,nodev,mode=1777' },
    },
  };
}

/** Where and how a specialising pool container fetches its function's artifact. */
export interface ArtifactFetch {
  url: string;
  /** A short-lived credential for that artifact alone (api/artifact-tokens.ts). */
  token: string;
  /** The digest the archive must have. */
  digest: string;
}

/** The specialise request that makes a pool container replica `name` of a template. Pure. */
export function specialiseRequest(t: ReplicaTemplate, name: string, artifact: ArtifactFetch): SpecialiseRequest {
  if (!t.config || !t.artifactDir) throw new Error('Only a template of the processor image can be specialised');
  return { env: replicaEnv(t, name), cwd: t.artifactDir, artifact: { ...artifact, cache: ARTIFACT_MOUNT } };
}

/** The engine's update request for a template's resource limits; undefined when it has none. Pure. */
export function limitsUpdate(t: ReplicaTemplate): Docker.HostConfig | undefined {
  const h = limitsConfig(t.limits);
  return Object.keys(h).length ? h : undefined;
}
