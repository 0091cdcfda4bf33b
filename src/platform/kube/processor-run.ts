/**
 * What a function's pods run in the processor image, pure: the processor's config and environment with
 * the image's paths, and the artifact to fetch — the same config and environment the local platform gives
 * a replica process (replica-spec.ts), with the artifact in the pod's cache instead of the dashboard's
 * folder.
 */
import { posix } from 'node:path';
import { installedPaths } from '../../builder/artifact-layout.js';
import type { Artifact } from '../../builder/builder.js';
import { memoryLimitBytes } from '../../resources/quantity.js';
import type { FunctionRecord } from '../../resources/types.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import { processorConfigOf, readsStreams } from '../processor-config.js';
import { refOf } from './names.js';
import { ARTIFACT_CACHE, type ProcessorRun } from './objects.js';

/** Where the processor image keeps the python wrapper and its nuclio_sdk shim (images/processor). */
export const IMAGE_PYTHON_RUNTIME_DIR = '/opt/protium/src/processor/runtimes/python';
/** The programs' search path in the processor image. */
const IMAGE_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface ProcessorRunInput {
  fn: FunctionRecord;
  artifact: Artifact;
  /** Where pods fetch the artifact's archive, the credential, and the archive's digest. */
  fetch: { url: string; token: string; digest: string };
  connectionLimits: ConnectionLimits;
  /** The dashboard as pods reach it: given to functions with a v3ioStream trigger (its stream service). */
  dashboardUrl?: string;
  streamToken?: string;
}

/** The folder of an artifact in the pod's cache: keyed by the archive digest, as the fetcher extracts it. */
export function cachedDir(digest: string): string {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  if (!hex)
    throw new TypeError(`Failed to place the artifact: its digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  return posix.join(ARTIFACT_CACHE, hex);
}

export function processorRun(i: ProcessorRunInput): ProcessorRun {
  const { fn, artifact } = i;
  const ref = refOf(fn);
  const spec = fn.spec;
  const dir = cachedDir(i.fetch.digest);
  const installed = installedPaths(dir);
  const streams = readsStreams(fn);
  const runtime = spec.runtime ?? artifact.runtime;
  const memory = memoryLimitBytes(spec.resources);
  const env: Record<string, string> = {
    PATH: [...installed.bin, IMAGE_PATH].join(':'),
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    NUCLIO_FUNCTION_NAME: ref.name,
    NUCLIO_NAMESPACE: ref.namespace,
    NUCLIO_FUNCTION_HANDLER: spec.handler ?? '',
    NUCLIO_RUNTIME: runtime,
    NODE_PATH: installed.nodeModules,
    PYTHONPATH: [dir, installed.sitePackages, IMAGE_PYTHON_RUNTIME_DIR].join(':'),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...(streams && i.dashboardUrl ? { PROTIUM_DASHBOARD_URL: i.dashboardUrl } : {}),
    // A memory limit bounds the processor's heap below the container's, so a leak is a clean exit first.
    ...(memory ? { NODE_OPTIONS: `--max-old-space-size=${Math.max(16, Math.floor((memory * 0.75) / 2 ** 20))}` } : {}),
  };
  return {
    env,
    artifact: { id: artifact.id, ...i.fetch },
    config: processorConfigOf(fn, artifact, {
      artifactDir: dir,
      pythonPath: 'python3',
      pythonRuntimeDir: IMAGE_PYTHON_RUNTIME_DIR,
      connectionLimits: i.connectionLimits,
      ...(i.streamToken ? { streamToken: i.streamToken } : {}),
    }),
  };
}
