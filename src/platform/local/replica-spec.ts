/**
 * What a replica of a function runs, pure: the settings a function record asks of its replicas
 * (`deploymentOf`), and from them one replica's processor config, environment, node options and
 * confinement command (`replicaSpec`). The function instance writes the config file, makes the home
 * folder and starts the process (function-instance.ts, replica.ts); everything it passes is decided here.
 */
import { join } from 'node:path';
import { installedPaths } from '../../builder/artifact-layout.js';
import type { Artifact } from '../../builder/builder.js';
import type { ProcessorConfig } from '../../processor/config.js';
import { memoryLimitBytes } from '../../resources/quantity.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import type { ConnectionLimits } from '../../util/connection-guard.js';
import { scalingOf } from '../replica-scaling.js';
import { processorConfigOf } from '../processor-config.js';
import type { Confinement } from './confinement.js';

/** Replica names follow Nuclio's container names plus a pod-like suffix. */
export function replicaPrefix(ref: FunctionRef): string {
  return `nuclio-${ref.namespace}-${ref.name}-`;
}

/** One version of a function as its replicas run it. */
export interface Deployment {
  fn: FunctionRecord;
  artifact: Artifact;
  /** The artifact's folder on this machine. */
  dir: string;
  min: number;
  max: number;
  readinessMs: number;
  /**
   * The shortest spec.scaleToZero window; undefined: never idle to zero — nor with a broker trigger, since
   * a broker does not knock on the port to wake the function.
   */
  idleWindowMs?: number;
  /** Target in-flight events per replica before another is added. */
  targetInflight: number;
  disabled: boolean;
  /** spec.resources.limits.memory in bytes. */
  memoryLimit?: number;
}

/** The deployment a function record asks for, running `artifact` from `dir`. */
export function deploymentOf(fn: FunctionRecord, artifact: Artifact, dir: string): Deployment {
  return { fn, artifact, dir, ...scalingOf(fn), memoryLimit: memoryLimitBytes(fn.spec.resources) };
}

/** What every replica of the platform shares. */
export interface ReplicaHost {
  /** Where configs (`configs/`), homes (`home/<ns>/<fn>`) and pid files (`replicas/`) go. */
  runDir: string;
  /** Where replica logs go (`<ns>/<fn>/<replica>.log`). */
  logsDir: string;
  /** Environment every replica starts from (PATH, LANG...): never the dashboard's own. */
  baseEnv: Record<string, string>;
  /** The interpreter of a python runtime name (interpreters.ts). */
  pythonFor: (runtime: string | undefined) => string | undefined;
  pythonRuntimeDir: string;
  /** The dashboard's URL, given as PROTIUM_DASHBOARD_URL (stream triggers use its stream service). */
  dashboardUrl?: string;
  /** The credential for the dashboard's stream service, given only to replicas with a v3ioStream trigger. */
  streamToken?: string;
  connectionLimits: ConnectionLimits;
  confinement: Confinement;
}

/** Everything a replica process is started with. */
export interface ReplicaSpec {
  name: string;
  /** The processor's config file (holds the function's env: written readable by this user only). */
  configPath: string;
  config: ProcessorConfig;
  /** HOME of the function's replicas (kept across restarts and versions). */
  homeDir: string;
  cwd: string;
  env: Record<string, string>;
  /** Options for node itself (a heap limit). */
  nodeArgs: string[];
  /** The confinement command the processor runs inside ([program, ...args]; empty: none). */
  wrap: string[];
  logPath: string;
  pidDir: string;
  readinessTimeoutMs: number;
}

/** The spec of replica `name` of `d`. */
export function replicaSpec(ref: FunctionRef, d: Deployment, name: string, host: ReplicaHost): ReplicaSpec {
  const configPath = join(host.runDir, 'configs', `${name}.json`);
  const homeDir = join(host.runDir, 'home', ref.namespace, ref.name);
  return {
    name,
    configPath,
    config: processorConfig(d, name, host),
    homeDir,
    cwd: d.dir,
    env: replicaEnv(ref, d, name, homeDir, host),
    // A memory limit bounds the processor's heap (a leaking nodejs handler then dies and is restarted).
    nodeArgs: d.memoryLimit ? [`--max-old-space-size=${Math.max(16, Math.floor(d.memoryLimit / 2 ** 20))}`] : [],
    wrap: host.confinement.replicaPrefix({ artifactDir: d.dir, configPath, homeDir }),
    logPath: join(host.logsDir, ref.namespace, ref.name, `${name}.log`),
    pidDir: join(host.runDir, 'replicas'),
    readinessTimeoutMs: d.readinessMs,
  };
}

function processorConfig(d: Deployment, replica: string, host: ReplicaHost): ProcessorConfig {
  const runtime = d.fn.spec.runtime ?? d.artifact.runtime;
  return {
    replica,
    ...processorConfigOf(d.fn, d.artifact, {
      artifactDir: d.dir,
      pythonPath: d.artifact.family === 'python' ? host.pythonFor(runtime) : undefined,
      pythonRuntimeDir: host.pythonRuntimeDir,
      connectionLimits: host.connectionLimits,
      memoryLimitBytes: d.memoryLimit,
      // A file readable by this user only, not the environment its handler's children inherit.
      streamToken: host.streamToken,
    }),
  };
}

/** A curated environment: the function's env on top of a small base, plus what the runtime needs. */
function replicaEnv(
  ref: FunctionRef,
  d: Deployment,
  replica: string,
  home: string,
  host: ReplicaHost,
): Record<string, string> {
  const installed = installedPaths(d.dir);
  const env: Record<string, string> = {
    ...host.baseEnv,
    HOME: home,
    // The replica's name, as a pod's HOSTNAME is: pids are its namespace's own (the processor is PID 2).
    HOSTNAME: replica,
    NUCLIO_FUNCTION_NAME: ref.name,
    NUCLIO_NAMESPACE: ref.namespace,
    NUCLIO_FUNCTION_HANDLER: d.fn.spec.handler ?? '',
    NUCLIO_RUNTIME: d.artifact.runtime,
    NODE_PATH: installed.nodeModules,
    PYTHONPATH: [d.dir, installed.sitePackages, host.pythonRuntimeDir].join(':'),
    PYTHONUNBUFFERED: '1',
    ...(host.dashboardUrl ? { PROTIUM_DASHBOARD_URL: host.dashboardUrl } : {}),
    PATH: [...installed.bin, host.baseEnv.PATH ?? '/usr/bin:/bin'].join(':'),
  };
  for (const e of d.fn.spec.env ?? []) if (e.name && typeof e.value === 'string') env[e.name] = e.value;
  return env;
}
