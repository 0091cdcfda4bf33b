/**
 * The processor: the program one replica of a function runs. It reads its config (config.ts: a file named by
 * PROTIUM_PROCESSOR_CONFIG, or the JSON itself in PROTIUM_PROCESSOR_CONFIG_JSON), starts the runtime and
 * the triggers, then serves in one of two modes:
 *
 * - **IPC** (a replica process of the local platform): tells the dashboard it is ready over IPC and serves
 *   the connections the dashboard passes it. It exits when told to stop or when the dashboard goes away,
 *   so a dashboard killed with -9 leaves no replica behind.
 * - **listen** (no IPC channel: a container): the http trigger listens on a port of its own, and the
 *   health port (health-server.ts) says when it is ready and how busy. SIGTERM stops it gracefully and lets
 *   idle keep-alive clients leave (a rollover, a scale-down); SIGINT stops it without waiting for them (a
 *   removal). It outlives the dashboard, which adopts it when it starts again. The health port's
 *   `GET /stats` answers the counters IPC carries to a local dashboard (stats.ts).
 */
import type { Socket } from 'node:net';
import { listenSettings, readProcessorConfig, type FromReplica, type ToReplica } from './config.js';
import { errorResult, type HandlerResult, type NuclioEvent } from './event.js';
import { serveHealth } from './health-server.js';
import { awaitSpecialise, POOL_TOKEN_ENV } from './pool-specialise.js';
import { ProcessorLogger } from './logger.js';
import { runtimeFactories } from './runtimes/index.js';
import { discardPrestartedPython } from './runtimes/python-runtime.js';
import { specialised } from './pooled.js';
import type { HttpTrigger } from './triggers/http-trigger.js';
import { triggerFactories } from './triggers/index.js';
import type { Submit, Trigger } from './triggers/trigger.js';
import { countedSubmit, ProcessStats, type TriggerStats } from './stats.js';
import { WorkerPool } from './worker-pool.js';

/** Sends a message to the dashboard; `done` runs once it is written (or cannot be). */
const send = (m: FromReplica, done?: () => void) => {
  if (!process.send || !process.connected) return done?.();
  if (done) process.send(m, undefined, {}, () => done());
  else process.send(m);
};

/** Snapshots go out at most this often while counters change, and at least every STATS_IDLE_MS anyway. */
const STATS_EVERY_MS = 1_000;
const STATS_IDLE_MS = 5_000;

/** A pre-started processor in a container: specialised over its health port, guarded by its pool token. */
async function specialisedInContainer(): Promise<void> {
  const token = process.env[POOL_TOKEN_ENV] ?? '';
  if (!token) throw new Error(`${POOL_TOKEN_ENV} is not set: a pooled processor in a container needs its token`);
  const at = listenSettings(process.env);
  await awaitSpecialise(at.host, at.healthPort, token);
}

async function main(): Promise<void> {
  // A pre-started processor learns which replica it is first, and gets that replica's config with it.
  const pooled =
    !process.env.PROTIUM_PROCESSOR_CONFIG && process.env.PROTIUM_PROCESSOR_POOL && process.send
      ? await specialised(send)
      : undefined;
  // In a container (no IPC) it learns over its health port instead (pool-specialise.ts).
  if (process.env.PROTIUM_PROCESSOR_POOL && !process.send && !process.env.PROTIUM_PROCESSOR_CONFIG_JSON)
    await specialisedInContainer();
  const config = pooled?.config ?? readProcessorConfig(process.env);
  // The handler runs in this process (nodejs) or as its child: it has no use for the config's copy.
  delete process.env.PROTIUM_PROCESSOR_CONFIG_JSON;
  const log = new ProcessorLogger('processor', config.logLevel);

  const enabled = Object.entries(config.triggers).filter(([, t]) => !t.disabled);
  const factory = runtimeFactories[config.family];
  const depth = factory.pipelineDepth ?? 1;
  const pools = new Map<string, WorkerPool>();
  // Counters per trigger, unless the dashboard runs with --metrics off.
  const stats = config.metrics === false ? undefined : new ProcessStats();
  let workers = 0;
  for (const [name, t] of enabled) {
    const n = Math.max(1, Math.min(t.numWorkers ?? 1, 1024));
    const counters = stats?.trigger(t.kind, name);
    // A pool slot per queued event: worker w owns slots w·depth … w·depth + depth − 1.
    const pool = new WorkerPool(n * depth, workers * depth, counters?.allocation);
    if (counters) counters.pool = pool;
    pools.set(name, pool);
    workers += n;
  }
  if (config.family !== 'python') discardPrestartedPython();
  const runtime = factory({ config, log, workers: Math.max(1, workers) });
  try {
    await runtime.start();
  } catch (e) {
    const message = (e as Error).message;
    log.error(`Failed to start the ${config.runtime} runtime: ${message}`);
    send({ t: 'failed', message });
    setTimeout(() => process.exit(1), 50);
    return;
  }

  let handled = 0;
  const timeoutMs = config.eventTimeoutMs;
  /** Runs an event on a worker, bounded by spec.eventTimeout (408, as Nuclio answers). */
  const submit = (event: NuclioEvent, worker: number): Promise<HandlerResult> => {
    handled++;
    const run = runtime.invoke(event, worker);
    if (!timeoutMs) return run;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        runtime.forget?.(event, worker);
        log.warn(
          `Event ${event.id} timed out after ${timeoutMs} ms (spec.eventTimeout)`,
          event.requestId ? { requestId: event.requestId } : undefined,
        );
        resolve({
          ...errorResult(408, JSON.stringify({ error: 'handler timed out' })),
          contentType: 'application/json',
        });
      }, timeoutMs);
      void run.then((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  };
  /** `submit` that also counts the event and its duration in the trigger's counters. */
  const counting = (counters: TriggerStats | undefined): Submit =>
    counters ? countedSubmit(submit, counters) : submit;

  const triggers: Trigger[] = [];
  let httpTrigger: HttpTrigger | undefined;
  for (const [name, spec] of enabled) {
    const triggerFactory = triggerFactories[spec.kind];
    if (!triggerFactory) {
      log.warn(`Trigger ${name} of kind ${spec.kind} is not supported on this platform and does not run`);
      continue;
    }
    const counters = stats?.triggers.get(name);
    const trigger = triggerFactory({
      name,
      spec,
      log,
      pool: pools.get(name)!,
      submit: counting(counters),
      ...(counters ? { stats: counters } : {}),
      connectionLimits: config.connectionLimits,
      streamToken: config.streamToken,
      fn: {
        namespace: config.namespace,
        name: config.functionName,
        labels: config.labels ?? {},
        annotations: config.annotations ?? {},
        replica: config.replica,
        triggers: config.triggers,
      },
      report: (state) => send({ t: 'trigger', name, kind: spec.kind, ...state }),
    });
    await trigger.start();
    triggers.push(trigger);
    if (spec.kind === 'http') httpTrigger = trigger as HttpTrigger;
  }

  let stopping = false;
  const stop = async (graceMs: number, code: number, drainMs = 0) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(triggers.map((t) => t.stop(graceMs, drainMs).catch(() => {})));
    await runtime.stop(Math.min(graceMs, 2000)).catch(() => {});
    // The last counters, so that events handled while draining are counted; exit once they are sent.
    if (stats) {
      const rows = httpTrigger?.handed.takeCounts() ?? [];
      if (rows.length) send({ t: 'gw-requests', rows });
      await new Promise<void>((r) => send({ t: 'stats', stats: stats.snapshot(true) }, r));
    }
    process.exit(code);
  };

  const load = () => ({ inflight: [...pools.values()].reduce((n, p) => n + p.inflight + p.queued, 0), handled });

  if (process.send) {
    const onMessage = (m: ToReplica, handle?: Socket) => {
      if (m.t === 'conn') {
        // Acknowledge before reading: until then the dashboard may give the connection to another replica.
        send({ t: 'ack', id: m.id });
        if (handle && httpTrigger) httpTrigger.accept(handle);
        else handle?.destroy();
      } else if (m.t === 'gw-conn') {
        send({ t: 'ack', id: m.id });
        if (handle && httpTrigger) httpTrigger.acceptHanded(handle, Buffer.from(m.bytes, 'base64'), m.route);
        else handle?.destroy();
      } else if (m.t === 'gw-revoke') {
        httpTrigger?.handed.revoke(m.keys);
        send({ t: 'gw-revoked', id: m.id });
      } else if (m.t === 'stop') {
        void stop(m.graceMs, 0, m.drainMs);
      }
    };
    process.on('message', onMessage);
    // A pre-started processor: what the dashboard sent while it started (a wake's connections).
    pooled?.replay(onMessage);
    // The dashboard went away (even kill -9): this replica must not outlive it.
    process.on('disconnect', () => void stop(1000, 0));
    process.on('SIGTERM', () => void stop(5000, 0));
    let last = '';
    const report = () => {
      const { inflight } = load();
      const msg = `${inflight}/${handled}`;
      if (msg !== last) {
        last = msg;
        send({ t: 'load', inflight, handled });
      }
    };
    setInterval(report, 250).unref();
    send({ t: 'ready' });
    if (stats) reportStats(stats);
    if (stats && httpTrigger) reportGatewayRequests(httpTrigger);
  } else {
    const at = listenSettings(process.env);
    process.on('SIGTERM', () => void stop(at.stopGraceMs, 0, at.drainMs));
    process.on('SIGINT', () => void stop(at.stopGraceMs, 0, 0));
    if (httpTrigger) await httpTrigger.listen(at.port, at.host);
    await serveHealth(at.host, at.healthPort, {
      ready: () => !stopping,
      load,
      ...(stats ? { stats: () => stats.snapshot() } : {}),
    });
    log.info(`serving${httpTrigger ? ` on port ${at.port}` : ''}, health on port ${at.healthPort}`);
  }
  log.debug('processor started', { replica: config.replica, handler: config.handler, runtime: config.runtime });
}

/** Sends the counters over IPC every second while they change, and every 5 s even when they do not. */
function reportStats(stats: ProcessStats): void {
  let last = '';
  let lastAt = 0;
  const tick = () => {
    const snapshot = stats.snapshot();
    const text = JSON.stringify(snapshot.triggers);
    const now = Date.now();
    if (text === last && now - lastAt < STATS_IDLE_MS) return;
    last = text;
    lastAt = now;
    send({ t: 'stats', stats: snapshot });
  };
  setInterval(tick, STATS_EVERY_MS).unref();
  tick();
}

/** Sends what was served on handed gateway connections every second while there is some. */
function reportGatewayRequests(trigger: HttpTrigger): void {
  setInterval(() => {
    const rows = trigger.handed.takeCounts();
    if (rows.length) send({ t: 'gw-requests', rows });
  }, STATS_EVERY_MS).unref();
}

main().catch((e) => {
  const message = (e as Error).stack ?? String(e);
  process.stderr.write(`${message}\n`);
  send({ t: 'failed', message: (e as Error).message });
  setTimeout(() => process.exit(1), 50);
});
