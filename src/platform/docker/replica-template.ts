/**
 * A function's replica template (container-spec.ts) from its record and artifact: the processor's config
 * and the environment as the local platform gives them (function-instance.ts), with the container's
 * paths. Pure.
 */
import { join } from 'node:path';
import type { Artifact } from '../../builder/builder.js';
import { cachedArtifactDir } from '../../processor/artifact-cache.js';
import { CONTAINER_HEALTH_PORT, CONTAINER_HTTP_PORT } from '../../processor/config.js';
import { resourceLimits } from '../../resources/quantity.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import { processorConfigOf, readsStreams } from '../processor-config.js';
import { ARTIFACT_MOUNT, type ReplicaTemplate } from './container-spec.js';
import { IMAGE_PYTHON_RUNTIME_DIR } from './processor-image.js';

/** Seconds a stopping replica gets: events in flight (30 s), idle keep-alive clients (6 s), and a margin. */
export const STOP_GRACE_MS = 30_000;
export const DRAIN_MS = 6_000;
export const STOP_TIMEOUT_S = Math.ceil((STOP_GRACE_MS + DRAIN_MS) / 1000) + 4;

/** The programs' search path in the processor image. */
const IMAGE_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface TemplateInput {
  dashboardId: string;
  fn: FunctionRecord;
  artifact: Artifact;
  /** The image: the processor's, or the user's own (then `cache` is absent). */
  image: string;
  /** The artifact's cache volume and the digest it was fetched by (processor image). */
  cache?: { volume: string; digest: string };
  /** The dashboard as containers reach it: given only to replicas with a v3ioStream trigger. */
  dashboardUrl?: string;
  /** The stream credential, likewise. */
  streamToken?: string;
  connectionLimits: ConnectionLimits;
}

const refOf = (fn: FunctionRecord): FunctionRef => ({ namespace: fn.metadata.namespace!, name: fn.metadata.name! });

export function replicaTemplate(i: TemplateInput): ReplicaTemplate {
  const { fn, artifact } = i;
  const ref = refOf(fn);
  const spec = fn.spec;
  const fnEnv: Record<string, string> = {};
  for (const e of spec.env ?? []) if (e.name && typeof e.value === 'string') fnEnv[e.name] = e.value;
  const nuclio = {
    NUCLIO_FUNCTION_NAME: ref.name,
    NUCLIO_NAMESPACE: ref.namespace,
    NUCLIO_FUNCTION_HANDLER: spec.handler ?? '',
    NUCLIO_RUNTIME: spec.runtime ?? artifact.runtime,
  };
  const base = {
    dashboardId: i.dashboardId,
    ref,
    project: fn.metadata.labels?.['nuclio.io/project-name'] ?? 'default',
    image: i.image,
    limits: resourceLimits(spec.resources),
    stopTimeoutS: STOP_TIMEOUT_S,
  };
  if (!i.cache) return { ...base, env: { ...nuclio, ...fnEnv } };

  const dir = cachedArtifactDir(ARTIFACT_MOUNT, i.cache.digest);
  const npmGlobal = join(dir, '.protium', 'npm-global');
  const sitePackages = join(dir, '.protium', 'site-packages');
  const streams = readsStreams(fn);
  const env: Record<string, string> = {
    PATH: `${join(npmGlobal, 'bin')}:${join(sitePackages, 'bin')}:${IMAGE_PATH}`,
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    ...nuclio,
    NODE_PATH: join(npmGlobal, 'lib', 'node_modules'),
    PYTHONPATH: [dir, sitePackages, IMAGE_PYTHON_RUNTIME_DIR].join(':'),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...(streams && i.dashboardUrl ? { PROTIUM_DASHBOARD_URL: i.dashboardUrl } : {}),
    ...fnEnv,
    PROTIUM_PROCESSOR_HOST: '0.0.0.0',
    PROTIUM_PROCESSOR_PORT: String(CONTAINER_HTTP_PORT),
    PROTIUM_PROCESSOR_HEALTH_PORT: String(CONTAINER_HEALTH_PORT),
    PROTIUM_PROCESSOR_STOP_GRACE_MS: String(STOP_GRACE_MS),
    PROTIUM_PROCESSOR_DRAIN_MS: String(DRAIN_MS),
  };
  return {
    ...base,
    artifactId: artifact.id,
    volume: i.cache.volume,
    artifactDir: dir,
    env,
    // The container's memory limit governs (an OOM kill, reported as such), not a per-worker one.
    config: processorConfigOf(fn, artifact, {
      artifactDir: dir,
      pythonRuntimeDir: IMAGE_PYTHON_RUNTIME_DIR,
      connectionLimits: i.connectionLimits,
      streamToken: i.streamToken,
    }),
  };
}
