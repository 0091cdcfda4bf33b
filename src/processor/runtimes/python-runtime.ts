/**
 * The python runtime: a pool of `python3` worker processes running `python/wrapper.py`, one per worker
 * slot, with the `nuclio_sdk` shim on the path so Nuclio handlers run unchanged.
 *
 * Each worker talks to the processor over fd 3 (a socketpair) in the frames python-frames.ts documents:
 * one frame per event, its answer one frame back; raw bodies (no base64), a compact NUL-separated header
 * for events and answers, JSON for the rest:
 * - processor → worker: an event; and first, for a worker started ahead of its function (`--pooled`,
 *   prestartPython), {t: 'load', args: {--handler, --worker-id, ...}, cwd, env}: it becomes the
 *   function's worker;
 * - worker → processor: {t: 's'} started (handler loaded, init_context done); {t: 'f', message} failed to
 *   start (traceback), the worker exits; {t: 'l', seq, level, message, with?} a log record (seq: the event
 *   being handled, or null; the processor adds that event's request id to the record); an answer.
 * Events of one event-loop turn leave in one write, and a worker answers a burst with one write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { parseHandler } from '../../resources/runtimes.js';
import { errorResult, type HandlerResult, type NuclioEvent } from '../event.js';
import { LogCapture, parseLevel } from '../logger.js';
import {
  assembleFrames,
  encodeFrame,
  eventHeader,
  fieldText,
  FrameReader,
  parseCompactAnswer,
  parseJsonAnswer,
  type Answer,
  type Frame,
} from './python-frames.js';
import type { Runtime, RuntimeFactory, RuntimeOptions } from './runtime.js';

interface Pending {
  event: NuclioEvent;
  resolve: (r: HandlerResult) => void;
  capture?: LogCapture;
}

/**
 * A python worker started before the processor knows its function (a pre-started processor,
 * processor/main.ts): the interpreter is up and the wrapper's modules (nuclio_sdk, json, asyncio) are
 * loaded, so worker 0 of a python function that runs on the same interpreter skips that start.
 */
let prestarted: { python: string; child: ChildProcess } | undefined;

/** Starts a pooled python worker on `python` (the processor is not yet any function's). */
export function prestartPython(python: string, runtimeDir: string): void {
  const child = spawn(python, [join(runtimeDir, 'wrapper.py'), '--pooled', '1', '--socket-fd', '3'], {
    cwd: '/',
    stdio: ['ignore', 'inherit', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: runtimeDir, PYTHONUNBUFFERED: '1' },
  });
  child.once('error', () => {});
  child.once('exit', () => {
    if (prestarted?.child === child) prestarted = undefined;
  });
  prestarted = { python, child };
}

/** The pooled python worker when it runs `python`, once (a function of another runtime stops it). */
function takePrestarted(python: string | undefined): ChildProcess | undefined {
  const p = prestarted;
  prestarted = undefined;
  if (!p) return undefined;
  if (p.python === python && p.child.exitCode === null && p.child.signalCode === null) return p.child;
  p.child.kill('SIGKILL');
  return undefined;
}

/** Stops a pooled python worker the function does not use (it is not a python function). */
export function discardPrestartedPython(): void {
  takePrestarted(undefined);
}

/** One python process serving one worker slot. */
class PythonWorker {
  private child?: ChildProcess;
  private channel?: Socket;
  /** Events sent and not answered, by seq. */
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** Frames of this turn of the event loop, written together at its end. */
  private outbox: Frame[] = [];
  private started?: { resolve: () => void; reject: (e: Error) => void };
  private stopping = false;
  private stderrTail = '';
  /** Started once already (a restart starts a fresh interpreter). */
  private restarted = false;

  constructor(
    private readonly id: number,
    private readonly rt: PythonRuntime,
  ) {}

  start(): Promise<void> {
    const { config } = this.rt.opts;
    const trigger = Object.values(config.triggers)[0];
    const args = [
      join(config.pythonRuntimeDir!, 'wrapper.py'),
      '--handler',
      config.handler,
      '--socket-fd',
      '3',
      '--worker-id',
      String(this.id),
      '--namespace',
      config.namespace,
      '--trigger-kind',
      trigger?.kind ?? '',
      '--trigger-name',
      trigger?.name ?? '',
      ...(config.memoryLimitBytes ? ['--memory-limit', String(Math.floor(config.memoryLimitBytes))] : []),
    ];
    // Worker 0's first start may take the pooled interpreter; restarts and other workers start their own.
    const pooled = this.id === 0 && !this.restarted ? takePrestarted(config.pythonPath) : undefined;
    this.restarted = true;
    const child =
      pooled ??
      spawn(config.pythonPath ?? 'python3', args, {
        cwd: config.artifactDir,
        stdio: ['ignore', 'inherit', 'pipe', 'pipe'],
        env: process.env,
      });
    this.child = child;
    this.channel = child.stdio[3] as Socket;
    if (pooled) {
      const named: Record<string, string> = {};
      for (let i = 1; i + 1 < args.length; i += 2) named[args[i]] = args[i + 1]!;
      this.channel.write(
        encodeFrame({ t: 'load', args: named, cwd: config.artifactDir, env: process.env as Record<string, string> }),
      );
    }
    const reader = new FrameReader((h, b) => this.onFrame(h, b));
    this.channel.on('data', (c: Buffer) => reader.push(c));
    this.channel.on('error', () => {
      /* the exit handler reports */
    });
    child.stderr!.on('data', (c: Buffer) => {
      process.stderr.write(c);
      this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4000);
    });
    child.once('exit', (code, signal) => this.onExit(code, signal));
    child.once('error', (e) =>
      this.started?.reject(new Error(`Failed to start python (${config.pythonPath}): ${e.message}`)),
    );
    return new Promise((resolve, reject) => {
      this.started = { resolve, reject };
    });
  }

  private onFrame(text: string, body: Buffer): void {
    if (text[0] !== '{') return this.onAnswer(parseCompactAnswer(text, body));
    const h = JSON.parse(text) as Record<string, unknown>;
    switch (h.t) {
      case 'r':
        return this.onAnswer(parseJsonAnswer(h, body));
      case 's':
        this.started?.resolve();
        this.started = undefined;
        return;
      case 'f':
        this.started?.reject(new Error(fieldText(h.message ?? 'the python worker failed to start')));
        this.started = undefined;
        return;
      case 'l': {
        const level = parseLevel(String(h.level)) ?? 'info';
        const p = typeof h.seq === 'number' ? this.pending.get(h.seq) : undefined;
        const fields =
          h.with && typeof h.with === 'object' && !Array.isArray(h.with)
            ? (h.with as Record<string, unknown>)
            : undefined;
        const requestId = p?.event.requestId;
        const withId = requestId ? { ...fields, requestId } : fields;
        this.rt.opts.log.log(level, fieldText(h.message ?? ''), withId, p?.capture);
        return;
      }
    }
  }

  private onAnswer({ seq, result }: Answer): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (p.capture) result.logs = p.capture.records;
    p.resolve(result);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const why = signal ? `signal ${signal}` : `exit code ${code}`;
    this.started?.reject(
      new Error(
        `The python worker exited (${why}) before it was ready${this.stderrTail ? `:\n${this.stderrTail}` : ''}`,
      ),
    );
    this.started = undefined;
    for (const p of this.pending.values())
      p.resolve(errorResult(500, `The python worker exited (${why}) while handling the event`));
    this.pending.clear();
    this.child = undefined;
    if (!this.stopping && !this.rt.stopped) {
      this.rt.opts.log.warn(`python worker ${this.id} exited (${why}); starting a new one`);
      setTimeout(() => {
        if (!this.rt.stopped)
          this.start().catch((e) =>
            this.rt.opts.log.error(`python worker ${this.id} failed to restart: ${(e as Error).message}`),
          );
      }, 100).unref();
    }
  }

  invoke(event: NuclioEvent): Promise<HandlerResult> {
    if (!this.child || !this.channel) return Promise.resolve(errorResult(503, 'The python worker is restarting'));
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, {
        event,
        resolve,
        ...(event.logLevel ? { capture: new LogCapture(event.logLevel) } : {}),
      });
      // Events submitted in the same turn of the event loop (the requests of every connection read in one
      // poll) leave in one write: one syscall, and one wake-up of the worker, per burst instead of per event.
      if (this.outbox.length === 0) setImmediate(this.flush);
      this.outbox.push({ header: eventHeader(seq, event), body: event.body });
    });
  }

  private readonly flush = (): void => {
    const frames = this.outbox;
    this.outbox = [];
    const channel = this.channel;
    if (!channel || channel.destroyed) return;
    const chunks = assembleFrames(frames);
    if (chunks.length === 1) {
      channel.write(chunks[0]);
      return;
    }
    channel.cork();
    for (const c of chunks) channel.write(c);
    channel.uncork();
  };

  /** Drops a pending event (timed out): its late answer is ignored. */
  forget(event: NuclioEvent): void {
    for (const [seq, p] of this.pending) {
      if (p.event === event) {
        this.pending.delete(seq);
        return;
      }
    }
  }

  /** Events sent and not answered yet (a worker that is not running counts as full). */
  get load(): number {
    return this.child ? this.pending.size : Number.MAX_SAFE_INTEGER;
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    const deadline = Date.now() + graceMs;
    while (this.pending.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

class PythonRuntime implements Runtime {
  stopped = false;
  private readonly workers: PythonWorker[];

  constructor(readonly opts: RuntimeOptions) {
    this.workers = Array.from({ length: Math.max(1, opts.workers) }, (_, i) => new PythonWorker(i, this));
  }

  async start(): Promise<void> {
    const parsed = parseHandler('python', this.opts.config.handler);
    if (typeof parsed === 'string') throw new Error(parsed);
    await Promise.all(this.workers.map((w) => w.start()));
  }

  /** The least busy worker process takes the event (queued behind the one it runs, if any). */
  invoke(event: NuclioEvent): Promise<HandlerResult> {
    let best = this.workers[0];
    for (const w of this.workers) if (w.load < best.load) best = w;
    return best.invoke(event);
  }

  forget(event: NuclioEvent): void {
    for (const w of this.workers) w.forget(event);
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((w) => w.stop(graceMs)));
  }
}

/**
 * Events queued per python process: enough that one write carries a burst of events and one read their
 * answers, few enough that a slow handler does not strand many requests behind it.
 */
export const PIPELINE_DEPTH = 8;

export const pythonRuntime: RuntimeFactory = Object.assign(
  (opts: Parameters<RuntimeFactory>[0]) => new PythonRuntime(opts),
  { pipelineDepth: PIPELINE_DEPTH },
);
