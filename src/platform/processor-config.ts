/**
 * The processor configuration every platform gives a function's replicas: what the function record and
 * its artifact say, the same on each platform. Each platform adds only where things are on its replicas
 * (the artifact folder, the python interpreter and runtime folder) and its limits. Pure.
 */
import type { Artifact } from '../builder/builder.js';
import type { ProcessorConfig } from '../processor/config.js';
import type { FunctionRecord } from '../resources/types.js';
import type { ConnectionLimits } from '../util/connection-guard.js';
import { parseDuration } from '../util/duration.js';

/** Where a platform's replica finds things, and the limits it runs under. */
export interface ReplicaPlace {
  /** The artifact folder as the replica sees it. */
  artifactDir: string;
  /** The python interpreter (python family only). */
  pythonPath?: string;
  pythonRuntimeDir: string;
  connectionLimits: ConnectionLimits;
  /** The stream service's credential: given only to a function with a v3ioStream trigger. */
  streamToken?: string;
  /** A per-worker memory bound (the local platform; containers are bounded by their own limit). */
  memoryLimitBytes?: number;
}

/** True when one of the function's triggers reads the dashboard's stream service. */
export function readsStreams(fn: FunctionRecord): boolean {
  return Object.values(fn.spec.triggers ?? {}).some((t) => t.kind === 'v3ioStream');
}

/** The config of a replica of `fn` running `artifact`, but its name (the platform names replicas). */
export function processorConfigOf(
  fn: FunctionRecord,
  artifact: Artifact,
  place: ReplicaPlace,
): Omit<ProcessorConfig, 'replica'> {
  const spec = fn.spec;
  return {
    namespace: fn.metadata.namespace!,
    functionName: fn.metadata.name!,
    labels: fn.metadata.labels ?? {},
    annotations: fn.metadata.annotations ?? {},
    family: artifact.family,
    runtime: spec.runtime ?? artifact.runtime,
    handler: spec.handler || artifact.handler,
    artifactDir: place.artifactDir,
    triggers: spec.triggers ?? {},
    env: spec.env ?? [],
    eventTimeoutMs: parseDuration(spec.eventTimeout || '0') ?? 0,
    runtimeAttributes: spec.runtimeAttributes ?? {},
    ...(artifact.family === 'python' && place.pythonPath ? { pythonPath: place.pythonPath } : {}),
    pythonRuntimeDir: place.pythonRuntimeDir,
    ...(place.memoryLimitBytes ? { memoryLimitBytes: place.memoryLimitBytes } : {}),
    connectionLimits: place.connectionLimits,
    // Only a replica that reads the dashboard's streams gets the stream credential.
    ...(place.streamToken && readsStreams(fn) ? { streamToken: place.streamToken } : {}),
    logLevel: 'debug',
  };
}
