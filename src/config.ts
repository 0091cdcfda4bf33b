/**
 * The dashboard's configuration: flags and environment variables turned into one validated Config, with
 * every default in one place. Pure: `loadConfig` reads only what it is given.
 */
import { resolve } from 'node:path';
import { parseAllowList } from './async/callback-allow.js';
import { parseQuantity } from './resources/quantity.js';
import type { ConnectionLimits } from './util/connection-guard.js';
import { parseDuration } from './util/duration.js';
import { DEFAULT_PROCESSOR_IMAGE } from './platform/kube/kube-defaults.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  /** Where the dashboard API listens (--listen-addr, PROTIUM_LISTEN_ADDR). */
  listen: HostPort;
  /** Where API gateways are served (--gateway-listen-addr, PROTIUM_GATEWAY_LISTEN_ADDR). */
  gatewayListen: HostPort;
  /** Store, artifacts, logs and run files (--data-dir, PROTIUM_DATA_DIR). */
  dataDir: string;
  /** The default namespace (--namespace, PROTIUM_NAMESPACE). */
  namespace: string;
  /** Addresses reported by /api/external_ip_addresses; undefined → this host's IPv4 addresses. */
  externalIps?: string[];
  /** The address function ports bind to (--function-host); defaults to the dashboard's host. */
  functionHost: string;
  /** Function ports are taken from this inclusive range (--port-range 30000-32767). */
  portRange: [number, number];
  /** File of platform access keys, one per line, for `accessKey` gateways (--access-keys-file). */
  accessKeysFile?: string;
  /** File holding the bearer token every /api route but versions requires (--auth-token-file). */
  authTokenFile?: string;
  /** Folders a local spec.build.path may point into (--source-root, repeatable); none → local paths refused. */
  sourceRoots: string[];
  /** pino level of the dashboard's own log (--log-level). */
  logLevel: string;
  /** Run replicas inside a bubblewrap sandbox (--sandbox bwrap), or not (none, the default). */
  sandbox: 'none' | 'bwrap';
  /** Interpreters of python runtime versions (--runtime-interpreter python:3.9=PATH, repeatable). */
  runtimeInterpreters?: Record<string, string>;
  /**
   * What a function's source may grow to once fetched: an archive expanded, a folder copied, a download,
   * inline code decoded (--max-source-size, --max-source-files).
   */
  sourceLimits: SourceLimits;
  /**
   * Bounds on every listener's connections — the dashboard, the gateway listener, each replica's share of a
   * function port, and the connections held while a function wakes (--max-connections, --headers-timeout,
   * --request-timeout).
   */
  connectionLimits: ConnectionLimits;
  /** Asynchronous invocations (src/async/): queue bound, retention, retries, callback hosts. */
  async: AsyncConfig;
  /** Where replicas run (--platform): processes on this machine, or containers of a Docker Engine API. */
  platform: PlatformConfig;
  /**
   * Count what functions, gateways and the API do, serve `GET /metrics` and the charts (--metrics on, the
   * default), or count nothing at all (off).
   */
  metrics: boolean;
  /** A second address serving only `GET /metrics`, without the token, for scrapers (--metrics-listen-addr). */
  metricsListen?: HostPort;
  /**
   * The kube platform's cluster, namespace and processor image (--kubeconfig, --kube-namespace,
   * --kube-processor-image).
   */
  kube: KubePlatformConfig;
  /**
   * Functions whose minReplicas is 0 deploy without a replica: ready once built and routable, the first
   * request starts one (--deploy-to-zero). Off: a deploy starts one and waits for it, as Nuclio's does.
   */
  deployToZero: boolean;
  /** Generic processors kept started for replicas to take, e.g. on a wake from zero (--prewarm; 0: none). */
  prewarm: number;
}

/** Settings of asynchronous invocations. */
export interface AsyncConfig {
  /** Queued and running invocations per function; more answer 429 (--async-queue-size). */
  queueSize: number;
  /** How long an ended invocation (its answer, a dead letter) is kept (--async-retention). */
  retentionMs: number;
  /** The first retry's delay, doubling after each failed attempt (--async-retry-delay). */
  retryDelayMs: number;
  /** Hosts X-Callback-Url may name (--async-callback-allow, repeatable); none: no callbacks. */
  callbackHosts: string[];
}

/** Settings of --platform kube; the cluster and namespace are resolved at start (platform/kube/kube-connection.ts). */
export interface KubePlatformConfig {
  kubeconfig?: string;
  namespace?: string;
  processorImage: string;
  /** The dashboard's URL as pods reach it (--kube-dashboard-url); default: its Service in a pod, else its own URL. */
  dashboardUrl?: string;
}

/** The platform replicas run on (--platform, --docker-host, --base-image; kube's settings are Config.kube). */
export type PlatformConfig =
  | { kind: 'local' }
  | { kind: 'kube' }
  /** `dockerHost`: the engine's URL (unix:///…, tcp://…); `baseImage`: what the processor image is built FROM. */
  | { kind: 'docker'; dockerHost: string; baseImage: string };

/** Bounds of one function's source files. */
export interface SourceLimits {
  /** Total bytes of the files (--max-source-size). */
  maxBytes: number;
  /** Number of files and folders (--max-source-files). */
  maxFiles: number;
}

/** Raw option values as commander gives them (strings, or lists for repeatable options). */
export interface RawOptions {
  listenAddr?: string;
  gatewayListenAddr?: string;
  dataDir?: string;
  namespace?: string;
  externalIp?: string[];
  functionHost?: string;
  portRange?: string;
  accessKeysFile?: string;
  authTokenFile?: string;
  sourceRoot?: string[];
  logLevel?: string;
  sandbox?: string;
  runtimeInterpreter?: string[];
  maxSourceSize?: string;
  maxSourceFiles?: string;
  maxConnections?: string;
  headersTimeout?: string;
  requestTimeout?: string;
  asyncQueueSize?: string;
  asyncRetention?: string;
  asyncRetryDelay?: string;
  asyncCallbackAllow?: string[];
  platform?: string;
  dockerHost?: string;
  baseImage?: string;
  metrics?: string;
  metricsListenAddr?: string;
  kubeconfig?: string;
  kubeNamespace?: string;
  kubeProcessorImage?: string;
  kubeDashboardUrl?: string;
  /** A flag: true when given (commander), or the environment's text. */
  deployToZero?: boolean | string;
  prewarm?: string;
}

/** Each option's environment variable. */
export const ENV_NAMES: Record<keyof RawOptions, string> = {
  listenAddr: 'PROTIUM_LISTEN_ADDR',
  gatewayListenAddr: 'PROTIUM_GATEWAY_LISTEN_ADDR',
  dataDir: 'PROTIUM_DATA_DIR',
  namespace: 'PROTIUM_NAMESPACE',
  externalIp: 'PROTIUM_EXTERNAL_IPS',
  functionHost: 'PROTIUM_FUNCTION_HOST',
  portRange: 'PROTIUM_PORT_RANGE',
  accessKeysFile: 'PROTIUM_ACCESS_KEYS_FILE',
  authTokenFile: 'PROTIUM_AUTH_TOKEN_FILE',
  sourceRoot: 'PROTIUM_SOURCE_ROOTS',
  logLevel: 'PROTIUM_LOG_LEVEL',
  sandbox: 'PROTIUM_SANDBOX',
  runtimeInterpreter: 'PROTIUM_RUNTIME_INTERPRETERS',
  maxSourceSize: 'PROTIUM_MAX_SOURCE_SIZE',
  maxSourceFiles: 'PROTIUM_MAX_SOURCE_FILES',
  maxConnections: 'PROTIUM_MAX_CONNECTIONS',
  headersTimeout: 'PROTIUM_HEADERS_TIMEOUT',
  requestTimeout: 'PROTIUM_REQUEST_TIMEOUT',
  asyncQueueSize: 'PROTIUM_ASYNC_QUEUE_SIZE',
  asyncRetention: 'PROTIUM_ASYNC_RETENTION',
  asyncRetryDelay: 'PROTIUM_ASYNC_RETRY_DELAY',
  asyncCallbackAllow: 'PROTIUM_ASYNC_CALLBACK_ALLOW',
  platform: 'PROTIUM_PLATFORM',
  dockerHost: 'PROTIUM_DOCKER_HOST',
  baseImage: 'PROTIUM_BASE_IMAGE',
  metrics: 'PROTIUM_METRICS',
  metricsListenAddr: 'PROTIUM_METRICS_LISTEN_ADDR',
  kubeconfig: 'PROTIUM_KUBECONFIG',
  kubeNamespace: 'PROTIUM_KUBE_NAMESPACE',
  kubeProcessorImage: 'PROTIUM_KUBE_PROCESSOR_IMAGE',
  kubeDashboardUrl: 'PROTIUM_KUBE_DASHBOARD_URL',
  deployToZero: 'PROTIUM_DEPLOY_TO_ZERO',
  prewarm: 'PROTIUM_PREWARM',
};

export const DEFAULTS = {
  listenAddr: '127.0.0.1:8070',
  gatewayListenAddr: '127.0.0.1:8071',
  dataDir: './.protium',
  namespace: 'nuclio',
  portRange: '30000-32767',
  logLevel: 'info',
  sandbox: 'none',
  maxSourceSize: '512Mi',
  maxSourceFiles: '50000',
  maxConnections: '1024',
  headersTimeout: '10s',
  requestTimeout: '2m',
  asyncQueueSize: '10000',
  asyncRetention: '24h',
  asyncRetryDelay: '1s',
  platform: 'local',
  dockerHost: 'unix:///var/run/docker.sock',
  baseImage: 'node:20-bookworm-slim',
  metrics: 'on',
  kubeProcessorImage: DEFAULT_PROCESSOR_IMAGE,
  prewarm: '0',
};

/** The longest --async-retention: the journal's stream keeps at most a year. */
const MAX_ASYNC_RETENTION_MS = 8760 * 3_600_000;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A configuration error: the message names the flag and the value. */
export class ConfigError extends Error {}

/** Parses `HOST:PORT` (or `:PORT`, `[::1]:PORT`); port 0 means "any free port". */
export function parseHostPort(value: string, flag: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65_535) throw new ConfigError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:8070), got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function parseRange(value: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value.trim());
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65_535 || lo > hi)
    throw new ConfigError(`--port-range must be LOW-HIGH within 1-65535 (e.g. 30000-32767), got "${value}"`);
  return [lo, hi];
}

/** `python:3.9=/usr/bin/python3.9` entries → a map; only versioned python runtimes can be mapped. */
function parseInterpreters(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const i = entry.indexOf('=');
    const runtime = i > 0 ? entry.slice(0, i).trim() : '';
    const path = i > 0 ? entry.slice(i + 1).trim() : '';
    if (!/^python:3\.\d+$/.test(runtime) || !path) {
      throw new ConfigError(
        `--runtime-interpreter must be python:3.X=PATH (e.g. python:3.9=/usr/bin/python3.9; nodejs functions ` +
          `run in the processor's own Node.js), got "${entry}"`,
      );
    }
    out[runtime] = path;
  }
  return out;
}

function parseSourceLimits(size: string, files: string): SourceLimits {
  const maxBytes = parseQuantity(size);
  if (maxBytes === undefined || maxBytes < 1 || !Number.isSafeInteger(Math.floor(maxBytes))) {
    throw new ConfigError(`--max-source-size must be a size in bytes such as 512Mi, 1Gi or 100000000, got "${size}"`);
  }
  const maxFiles = Number(files.trim());
  if (!/^\d+$/.test(files.trim()) || maxFiles < 1 || !Number.isSafeInteger(maxFiles)) {
    throw new ConfigError(`--max-source-files must be a whole number of at least 1, got "${files}"`);
  }
  return { maxBytes: Math.floor(maxBytes), maxFiles };
}

function parseCount(value: string, flag: string): number {
  const n = /^\d{1,7}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 1 && n <= 1_000_000))
    throw new ConfigError(`${flag} must be a whole number from 1 to 1000000, got "${value}"`);
  return n;
}

function parsePositiveDuration(value: string, flag: string): number {
  const ms = parseDuration(value.trim());
  if (ms === undefined || ms < 1)
    throw new ConfigError(`${flag} must be a duration such as "10s" or "2m", got "${value}"`);
  return ms;
}

const list = (v: string | undefined): string[] | undefined =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(raw: RawOptions, env: Record<string, string | undefined>): Config {
  const pick = (
    k: Exclude<
      keyof RawOptions,
      'externalIp' | 'sourceRoot' | 'runtimeInterpreter' | 'deployToZero' | 'asyncCallbackAllow'
    >,
  ): string | undefined => raw[k] ?? env[ENV_NAMES[k]] ?? undefined;
  const listen = parseHostPort(pick('listenAddr') ?? DEFAULTS.listenAddr, '--listen-addr');
  const gatewayListen = parseHostPort(pick('gatewayListenAddr') ?? DEFAULTS.gatewayListenAddr, '--gateway-listen-addr');
  const namespace = pick('namespace') ?? DEFAULTS.namespace;
  if (namespace.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace))
    throw new ConfigError(`--namespace must be a DNS-1123 label, got "${namespace}"`);
  const logLevel = pick('logLevel') ?? DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const externalIps = raw.externalIp?.length ? raw.externalIp : list(env[ENV_NAMES.externalIp]);
  const sourceRoots = (raw.sourceRoot?.length ? raw.sourceRoot : (list(env[ENV_NAMES.sourceRoot]) ?? [])).map((p) =>
    resolve(p),
  );
  const sandbox = pick('sandbox') ?? DEFAULTS.sandbox;
  if (sandbox !== 'none' && sandbox !== 'bwrap')
    throw new ConfigError(`--sandbox must be none or bwrap, got "${sandbox}"`);
  const connectionLimits: ConnectionLimits = {
    maxConnections: parseCount(pick('maxConnections') ?? DEFAULTS.maxConnections, '--max-connections'),
    headersTimeoutMs: parsePositiveDuration(pick('headersTimeout') ?? DEFAULTS.headersTimeout, '--headers-timeout'),
    requestTimeoutMs: parsePositiveDuration(pick('requestTimeout') ?? DEFAULTS.requestTimeout, '--request-timeout'),
  };
  if (connectionLimits.requestTimeoutMs < connectionLimits.headersTimeoutMs) {
    throw new ConfigError(
      `--request-timeout (${pick('requestTimeout') ?? DEFAULTS.requestTimeout}) must be at least ` +
        `--headers-timeout (${pick('headersTimeout') ?? DEFAULTS.headersTimeout}): it covers the headers and the body`,
    );
  }
  const kubeNamespace = pick('kubeNamespace');
  if (
    kubeNamespace !== undefined &&
    (kubeNamespace.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(kubeNamespace))
  )
    throw new ConfigError(`--kube-namespace must be a DNS-1123 label, got "${kubeNamespace}"`);
  const kube: KubePlatformConfig = {
    ...(pick('kubeconfig') ? { kubeconfig: resolve(pick('kubeconfig')!) } : {}),
    ...(kubeNamespace ? { namespace: kubeNamespace } : {}),
    processorImage: pick('kubeProcessorImage') ?? DEFAULTS.kubeProcessorImage,
    ...(pick('kubeDashboardUrl') !== undefined ? { dashboardUrl: parseDashboardUrl(pick('kubeDashboardUrl')!) } : {}),
  };
  const dataDir = pick('dataDir') ?? DEFAULTS.dataDir;
  if (!dataDir.trim()) throw new ConfigError('--data-dir must not be empty');
  const platform = parsePlatform(
    pick('platform') ?? DEFAULTS.platform,
    pick('dockerHost') ?? env.DOCKER_HOST ?? DEFAULTS.dockerHost,
    pick('baseImage') ?? DEFAULTS.baseImage,
  );
  const metricsValue = pick('metrics') ?? DEFAULTS.metrics;
  if (metricsValue !== 'on' && metricsValue !== 'off')
    throw new ConfigError(`--metrics must be on or off, got "${metricsValue}"`);
  const metricsAddr = pick('metricsListenAddr');
  const metricsListen = metricsAddr ? parseHostPort(metricsAddr, '--metrics-listen-addr') : undefined;
  if (metricsListen && metricsValue === 'off')
    throw new ConfigError('--metrics-listen-addr serves metrics, which --metrics off turns off: drop one of them');
  const interpreterEntries = raw.runtimeInterpreter?.length
    ? raw.runtimeInterpreter
    : (list(env[ENV_NAMES.runtimeInterpreter]) ?? []);
  const callbackHosts = raw.asyncCallbackAllow?.length
    ? raw.asyncCallbackAllow
    : (list(env[ENV_NAMES.asyncCallbackAllow]) ?? []);
  try {
    parseAllowList(callbackHosts);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const asyncRetention = pick('asyncRetention') ?? DEFAULTS.asyncRetention;
  const retentionMs = parsePositiveDuration(asyncRetention, '--async-retention');
  if (retentionMs > MAX_ASYNC_RETENTION_MS)
    throw new ConfigError(`--async-retention must be at most 8760h (a year), got "${asyncRetention}"`);
  const asyncRetryDelay = pick('asyncRetryDelay') ?? DEFAULTS.asyncRetryDelay;
  const retryDelayMs = parsePositiveDuration(asyncRetryDelay, '--async-retry-delay');
  if (retryDelayMs > 300_000)
    throw new ConfigError(
      `--async-retry-delay must be at most 5m (the longest wait between attempts), got "${asyncRetryDelay}"`,
    );
  return {
    listen,
    gatewayListen,
    dataDir: resolve(dataDir),
    namespace,
    ...(externalIps ? { externalIps } : {}),
    functionHost: pick('functionHost') ?? listen.host,
    portRange: parseRange(pick('portRange') ?? DEFAULTS.portRange),
    ...(pick('accessKeysFile') ? { accessKeysFile: resolve(pick('accessKeysFile')!) } : {}),
    ...(pick('authTokenFile') ? { authTokenFile: resolve(pick('authTokenFile')!) } : {}),
    sourceRoots,
    logLevel,
    sandbox,
    ...(interpreterEntries.length ? { runtimeInterpreters: parseInterpreters(interpreterEntries) } : {}),
    sourceLimits: parseSourceLimits(
      pick('maxSourceSize') ?? DEFAULTS.maxSourceSize,
      pick('maxSourceFiles') ?? DEFAULTS.maxSourceFiles,
    ),
    connectionLimits,
    async: {
      queueSize: parseCount(pick('asyncQueueSize') ?? DEFAULTS.asyncQueueSize, '--async-queue-size'),
      retentionMs,
      retryDelayMs,
      callbackHosts,
    },
    platform,
    metrics: metricsValue === 'on',
    ...(metricsListen ? { metricsListen } : {}),
    kube,
    deployToZero: parseSwitch(raw.deployToZero ?? env[ENV_NAMES.deployToZero], '--deploy-to-zero'),
    prewarm: parsePrewarm(pick('prewarm') ?? DEFAULTS.prewarm),
  };
}

/** An on/off option: given as a flag (true), or as text in the environment (true/false, 1/0, empty: off). */
function parseSwitch(value: boolean | string | undefined, flag: string): boolean {
  if (typeof value === 'boolean') return value;
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new ConfigError(`${flag} must be true or false, got "${value}"`);
}

/** --prewarm: 0 to 16 processes (each idles at about 78 MB with its python worker). */
function parsePrewarm(value: string): number {
  const n = /^\d{1,2}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 0 && n <= 16)) throw new ConfigError(`--prewarm must be a whole number from 0 to 16, got "${value}"`);
  return n;
}

/** The platform flags; the docker host is checked for its form only (the engine is asked at start). */
function parsePlatform(kind: string, dockerHost: string, baseImage: string): PlatformConfig {
  if (kind === 'local' || kind === 'kube') return { kind };
  if (kind !== 'docker') throw new ConfigError(`--platform must be local, docker or kube, got "${kind}"`);
  if (!/^(unix|tcp|http|https):\/\/./.test(dockerHost)) {
    throw new ConfigError(
      `--docker-host must be a unix://, tcp://, http:// or https:// URL (e.g. unix:///var/run/docker.sock), got "${dockerHost}"`,
    );
  }
  // An image reference: [registry[:port]/]path[:tag][@digest].
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._:/@-]*$/.test(baseImage) || /[/:]$/.test(baseImage)) {
    throw new ConfigError(`--base-image must be an image reference such as node:20-bookworm-slim, got "${baseImage}"`);
  }
  return { kind, dockerHost, baseImage };
}

/** --kube-dashboard-url: an http(s) URL with no path, query or credentials (pods append /api/artifacts/<id>). */
function parseDashboardUrl(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    !/^https?:$/.test(url.protocol) ||
    url.username ||
    url.password ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.hash
  )
    throw new ConfigError(
      `--kube-dashboard-url must be an http(s) URL of the dashboard without a path, e.g. http://protium-dashboard.protium.svc:8070, got "${raw}"`,
    );
  return url.origin;
}
