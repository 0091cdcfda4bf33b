/**
 * The dashboard's command line, shared by `npm start` and `protium dashboard`: options, config loading,
 * the one "listening" line, clean shutdown on SIGINT/SIGTERM, and one clear line for start-up errors.
 */
import type { Command } from 'commander';
import { ConfigError, DEFAULTS, ENV_NAMES, loadConfig, type RawOptions } from './config.js';
import { startDashboard, StartupError } from './dashboard.js';
import { createLogger } from './log.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addDashboardOptions(cmd: Command): Command {
  return cmd
    .option(
      '--listen-addr <host:port>',
      `dashboard API address (env ${ENV_NAMES.listenAddr}, default ${DEFAULTS.listenAddr})`,
    )
    .option(
      '--gateway-listen-addr <host:port>',
      `API gateway address (env ${ENV_NAMES.gatewayListenAddr}, default ${DEFAULTS.gatewayListenAddr})`,
    )
    .option('--data-dir <dir>', `store, artifacts and logs (env ${ENV_NAMES.dataDir}, default ${DEFAULTS.dataDir})`)
    .option('--namespace <name>', `default namespace (env ${ENV_NAMES.namespace}, default ${DEFAULTS.namespace})`)
    .option(
      '--external-ip <address>',
      `address reported by /api/external_ip_addresses, repeatable (env ${ENV_NAMES.externalIp}, comma-separated)`,
      collect,
    )
    .option(
      '--function-host <address>',
      `address function ports bind to (env ${ENV_NAMES.functionHost}, default: the dashboard's host)`,
    )
    .option('--port-range <low-high>', `function ports (env ${ENV_NAMES.portRange}, default ${DEFAULTS.portRange})`)
    .option(
      '--access-keys-file <file>',
      `access keys for accessKey API gateways, one per line (env ${ENV_NAMES.accessKeysFile})`,
    )
    .option(
      '--auth-token-file <file>',
      `require "Authorization: Bearer <token>" on every route but /api/versions and the web UI's files, /v3io ` +
        `included (env ${ENV_NAMES.authTokenFile})`,
    )
    .option(
      '--source-root <dir>',
      `allow local spec.build.path inside this folder, repeatable (env ${ENV_NAMES.sourceRoot}, comma-separated)`,
      collect,
    )
    .option(
      '--runtime-interpreter <runtime=path>',
      `interpreter of a python runtime version, e.g. python:3.9=/usr/bin/python3.9, repeatable ` +
        `(env ${ENV_NAMES.runtimeInterpreter}, comma-separated)`,
      collect,
    )
    .option(
      '--sandbox <kind>',
      `run replicas and build commands in a bubblewrap sandbox: none or bwrap (env ${ENV_NAMES.sandbox}, ` +
        `default ${DEFAULTS.sandbox})`,
    )
    .option(
      '--max-source-size <size>',
      `bound of a function's source once fetched: archive expanded, folder copied, download ` +
        `(env ${ENV_NAMES.maxSourceSize}, default ${DEFAULTS.maxSourceSize})`,
    )
    .option(
      '--max-source-files <n>',
      `bound of the files and folders in a function's source (env ${ENV_NAMES.maxSourceFiles}, ` +
        `default ${DEFAULTS.maxSourceFiles})`,
    )
    .option(
      '--max-connections <n>',
      `connections open at once per listener (dashboard, gateways, each function port); slow clients make room ` +
        `for new ones (env ${ENV_NAMES.maxConnections}, default ${DEFAULTS.maxConnections})`,
    )
    .option(
      '--headers-timeout <duration>',
      `a client must send a request's headers within this (env ${ENV_NAMES.headersTimeout}, ` +
        `default ${DEFAULTS.headersTimeout})`,
    )
    .option(
      '--request-timeout <duration>',
      `a client must send a whole request, headers and body, within this (env ${ENV_NAMES.requestTimeout}, ` +
        `default ${DEFAULTS.requestTimeout})`,
    )
    .option(
      '--async-queue-size <n>',
      'queued and running async invocations per function; more answer 429 ' +
        `(env ${ENV_NAMES.asyncQueueSize}, default ${DEFAULTS.asyncQueueSize})`,
    )
    .option(
      '--async-retention <duration>',
      'how long an ended async invocation (answer, dead letter) is kept ' +
        `(env ${ENV_NAMES.asyncRetention}, default ${DEFAULTS.asyncRetention})`,
    )
    .option(
      '--async-retry-delay <duration>',
      "an async invocation's first retry delay, doubling with jitter up to 5m " +
        `(env ${ENV_NAMES.asyncRetryDelay}, default ${DEFAULTS.asyncRetryDelay})`,
    )
    .option(
      '--async-callback-allow <host>',
      'a host X-Callback-Url may name: host, host:port or *.domain, repeatable; none by default ' +
        `(env ${ENV_NAMES.asyncCallbackAllow}, comma-separated)`,
      collect,
    )
    .option(
      '--platform <kind>',
      'where replicas run: local (processes on this machine), docker (containers of a Docker or Podman engine) ' +
        `or kube (pods of a Kubernetes cluster) (env ${ENV_NAMES.platform}, default ${DEFAULTS.platform})`,
    )
    .option(
      '--docker-host <url>',
      `the container engine of --platform docker (env ${ENV_NAMES.dockerHost}, else DOCKER_HOST, default ` +
        `${DEFAULTS.dockerHost})`,
    )
    .option(
      '--base-image <image>',
      `the image the processor image is built from, with node on PATH (env ${ENV_NAMES.baseImage}, default ` +
        `${DEFAULTS.baseImage})`,
    )
    .option(
      '--metrics <on|off>',
      'count what functions, gateways and the API do, for GET /metrics and the charts ' +
        `(env ${ENV_NAMES.metrics}, default ${DEFAULTS.metrics})`,
    )
    .option(
      '--metrics-listen-addr <host:port>',
      `also serve GET /metrics here, without the token, for scrapers (env ${ENV_NAMES.metricsListenAddr})`,
    )
    .option(
      '--kubeconfig <path>',
      `the cluster of --platform kube (env ${ENV_NAMES.kubeconfig}; default: in-cluster in a pod, else KUBECONFIG, ` +
        `else ~/.kube/config)`,
    )
    .option(
      '--kube-namespace <ns>',
      `the namespace functions run in on --platform kube (env ${ENV_NAMES.kubeNamespace}; default: the dashboard's ` +
        `own)`,
    )
    .option(
      '--kube-processor-image <image>',
      `the processor image pods of --platform kube run (env ${ENV_NAMES.kubeProcessorImage}, default ` +
        `${DEFAULTS.kubeProcessorImage})`,
    )
    .option(
      '--kube-dashboard-url <url>',
      'the dashboard as pods of --platform kube reach it, for artifacts and streams ' +
        `(env ${ENV_NAMES.kubeDashboardUrl}; default: its Service when the dashboard runs in a pod, else its own URL)`,
    )
    .option(
      '--deploy-to-zero',
      'functions with minReplicas 0 deploy without starting a replica: ready once built, the first request ' +
        `starts one (env ${ENV_NAMES.deployToZero}=true; default: a deploy starts one and waits for it, ` +
        "as Nuclio's does)",
    )
    .option(
      '--prewarm <n>',
      'generic processors kept started, so that a function waking from zero (or scaling up) skips starting one; ' +
        '0 to 16, about 75 MB each with its python worker, not with --sandbox bwrap ' +
        `(env ${ENV_NAMES.prewarm}, default ${DEFAULTS.prewarm})`,
    )
    .option('--log-level <level>', `dashboard log level (env ${ENV_NAMES.logLevel}, default ${DEFAULTS.logLevel})`);
}

export async function runDashboard(opts: RawOptions): Promise<void> {
  let config;
  try {
    config = loadConfig(opts, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`protium: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  let dashboard;
  try {
    dashboard = await startDashboard(config, log);
  } catch (e) {
    if (e instanceof StartupError) {
      process.stderr.write(`protium: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  log.info(
    { url: dashboard.url, gatewayUrl: dashboard.gatewayUrl, dataDir: config.dataDir, namespace: config.namespace },
    `Protium dashboard listening on ${dashboard.url} (API gateways on ${dashboard.gatewayUrl})`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await dashboard.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
