/**
 * A pre-started processor (PROTIUM_PROCESSOR_POOL, platform/local/processor-pool.ts): Node is up with the
 * processor's modules loaded, and the code a replica's first request runs has run once already (warmUp),
 * so a function woken from zero pays neither Node's start nor the first-call compilation of the http
 * path. It waits for the replica it is to become (`specialise`): that replica's config, environment and
 * working folder.
 */
import { createRequire } from 'node:module';
import net, { type Socket } from 'node:net';
import { basename, dirname } from 'node:path';
import type { ProcessorConfig, ToReplica } from './config.js';
import type { HandlerResult, NuclioEvent } from './event.js';
import { ProcessorLogger } from './logger.js';
import { runtimeFactories } from './runtimes/index.js';
import { prestartPython } from './runtimes/python-runtime.js';
import { countedSubmit, ProcessStats } from './stats.js';
import type { HttpTrigger } from './triggers/http-trigger.js';
import { triggerFactories } from './triggers/index.js';
import { WorkerPool } from './worker-pool.js';

/** What a pooled processor is told to become. */
export interface Specialisation {
  /** The replica's config (sent with the message: no file to read on the wake's path). */
  config?: ProcessorConfig;
  /**
   * Stops queueing and passes what came since `specialise` — above all the connections of a wake, sent
   * while this process starts (ConnectionBroker.handOverEarly) — to the replica's own message handler.
   */
  replay(handler: (m: ToReplica, handle?: Socket) => void): void;
}

/**
 * Runs the warm-up, reports `pooled`, and resolves once the dashboard says which replica this process is:
 * by then the process has that replica's environment and working folder. Exits if the dashboard goes away.
 */
export function specialised(send: (m: { t: 'pooled' }) => void): Promise<Specialisation> {
  return new Promise((resolve) => {
    const leave = () => process.exit(0);
    process.on('disconnect', leave);
    const onMessage = (m: ToReplica) => {
      if (m.t !== 'specialise') return;
      process.off('message', onMessage);
      process.off('disconnect', leave);
      // Messages until the replica's handler runs wait here (unacknowledged connections: the dashboard
      // keeps its copy, and gives them to another process if this one dies first).
      const queued: [ToReplica, Socket | undefined][] = [];
      const queue = (q: ToReplica, handle?: Socket) => void queued.push([q, handle]);
      process.on('message', queue);
      process.chdir(m.cwd);
      for (const k of Object.keys(process.env)) delete process.env[k];
      Object.assign(process.env, m.env);
      // require() reads NODE_PATH once, at start: read it again for the function's installed packages.
      (createRequire(import.meta.url)('node:module') as { _initPaths?: () => void })._initPaths?.();
      resolve({
        ...(m.config ? { config: m.config } : {}),
        replay(handler) {
          process.off('message', queue);
          for (const [q, handle] of queued.splice(0)) handler(q, handle);
        },
      });
    };
    process.on('message', onMessage);
    // The likely python interpreter starts now too: a python function's first worker takes it.
    const python = process.env.PROTIUM_PREWARM_PYTHON;
    const runtimeDir = process.env.PROTIUM_PYTHON_RUNTIME_DIR;
    if (python && runtimeDir) prestartPython(python, runtimeDir);
    warmUp(process.env.PROTIUM_WARM_UP_HANDLER).then(
      () => send({ t: 'pooled' }),
      // Only a slower first request comes of a warm-up that failed: the process is still of use.
      () => send({ t: 'pooled' }),
    );
  });
}

const WARM_UP_REQUESTS = 2;

/**
 * Serves a few requests through the code a woken replica runs — a connection accepted paused and handed
 * to the http trigger, the event, the worker pool, the counters, and with `handlerFile` (a CommonJS module
 * exporting `handler`) the nodejs runtime loading it by require() and calling it — so that V8 has compiled
 * that code before the first real request: in a fresh process the first request costs several
 * milliseconds more than the next. Nothing of it stays: its port and trigger are closed, its module is
 * out of require's cache (a function's handler sees its own modules only), its counters are its own.
 */
export async function warmUp(handlerFile?: string): Promise<void> {
  const log = new ProcessorLogger('warm-up', 'error');
  const spec = { kind: 'http', attributes: {} } as ProcessorConfig['triggers'][string];
  const runtime = handlerFile
    ? runtimeFactories.nodejs({
        config: {
          replica: 'warm-up',
          namespace: 'warm-up',
          functionName: 'warm-up',
          family: 'nodejs',
          runtime: 'nodejs',
          handler: `${basename(handlerFile)}:handler`,
          artifactDir: dirname(handlerFile),
          triggers: { http: spec },
          env: [],
          eventTimeoutMs: 0,
          runtimeAttributes: {},
          logLevel: 'error',
        },
        log,
        workers: 1,
      })
    : undefined;
  const server = net.createServer({ pauseOnConnect: true });
  try {
    await runtime?.start();
    const counters = new ProcessStats().trigger('http', 'http');
    const pool = new WorkerPool(1, 0, counters.allocation);
    counters.pool = pool;
    const invoke = (event: NuclioEvent, worker: number): Promise<HandlerResult> =>
      runtime
        ? runtime.invoke(event, worker)
        : Promise.resolve({ status: 200, headers: {}, contentType: 'text/plain', body: 'ok' });
    const trigger = triggerFactories.http({
      name: 'http',
      spec,
      log,
      pool,
      stats: counters,
      submit: countedSubmit(invoke, counters),
    }) as HttpTrigger;
    await trigger.start();
    server.on('connection', (s: net.Socket) => trigger.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    for (let i = 0; i < WARM_UP_REQUESTS; i++) await request(port);
    await trigger.stop(0, 0);
    await runtime?.stop(0);
  } finally {
    server.close();
    if (handlerFile) {
      const require = createRequire(import.meta.url);
      delete require.cache[require.resolve(handlerFile)];
    }
  }
}

/** One GET on a connection of its own; resolves when the server closes it (after the answer). */
function request(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.end('GET /warm-up?a=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: warm-up\r\nConnection: close\r\n\r\n'),
    );
    socket.setTimeout(5_000, () => socket.destroy(new Error('The warm-up request timed out')));
    socket.on('data', () => {});
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}
