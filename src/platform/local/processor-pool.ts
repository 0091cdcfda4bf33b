/**
 * Pre-started generic processors (--prewarm N): processes that have started Node and loaded the
 * processor's modules (runtimes, triggers), and run the request path once (processor/pooled.ts), but no
 * function, kept so that a replica — above all one waking a function from zero — skips the interpreter's
 * start. A replica takes one (`take`), tells it which function to become (the `specialise` message: its
 * config, environment, working folder; see processor/pooled.ts), and the pool starts a replacement once
 * that one has started as its replica. A taken process never comes back: it has run a function's code.
 *
 * Pooled processes run in the same confinement as replicas (its command must not depend on the function:
 * the PID namespace or the process group, not the bwrap sandbox, which mounts the function's own
 * folders), with the base environment only (no function's env or secrets), in `/`. They end with the
 * dashboard as replicas do (IPC disconnect, the namespace's parent-death signal), and have pid files, so a
 * dashboard killed with -9 cleans them up on its next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { FromReplica } from '../../processor/config.js';
import type { Logger } from '../../log.js';
import type { PrewarmStats } from '../platform.js';
import { removePidFile, writePidFile } from '../../util/pid-files.js';

export interface ProcessorPoolOptions {
  /** Processes kept started (0: none). */
  size: number;
  /** The processor program (dist/src/processor/main.js). */
  program: string;
  /** The confinement's command prefix ([program, ...args]; empty: none). */
  wrap: string[];
  /** The environment every replica starts from (replica-spec.ts adds the function's on specialisation). */
  baseEnv: Record<string, string>;
  /** The interpreter of `python` functions and the wrapper's folder: each pooled processor starts one too. */
  python?: { path: string; runtimeDir: string };
  /** Where pid files go (the replicas' folder). */
  pidDir: string;
  /** A nodejs handler each process runs once before it is pooled (processor/pooled.ts warmUp). */
  warmUpHandler?: string;
  log: Logger;
}

interface Pooled {
  child: ChildProcess;
  ready: boolean;
  pidFile?: string;
}

/** Give up refilling after this many processes in a row exit before they are ready (a broken install). */
const MAX_EARLY_EXITS = 5;
/** A replacement starts this long after the taken process started as its replica (see refillAfter). */
const REFILL_DELAY_MS = 50;

export class ProcessorPool {
  private readonly idle = new Set<Pooled>();
  private earlyExits = 0;
  private seq = 0;
  /** Replica starts that took a process, and those that found none ready (they started cold). */
  private taken = 0;
  private missed = 0;
  private closed = false;

  constructor(private readonly opts: ProcessorPoolOptions) {}

  /** Starts processes up to the pool's size. */
  fill(): void {
    while (!this.closed && this.idle.size < this.opts.size && this.earlyExits < MAX_EARLY_EXITS) this.startOne();
  }

  /** A started process for a replica to specialise, or undefined when none is ready (start one cold). */
  take(): ChildProcess | undefined {
    for (const p of this.idle) {
      if (!p.ready || p.child.exitCode !== null || !p.child.connected) continue;
      this.idle.delete(p);
      if (p.pidFile) removePidFile(p.pidFile);
      // The replica takes the process's output, messages and exit from here.
      p.child.stdout!.removeAllListeners('data');
      p.child.stderr!.removeAllListeners('data');
      p.child.removeAllListeners('message');
      p.child.removeAllListeners('exit');
      this.refillAfter(p.child);
      this.taken++;
      return p.child;
    }
    this.missed++;
    return undefined;
  }

  /** The pool's counters (GET /metrics: protium_prewarm_*). */
  stats(): PrewarmStats {
    return { size: this.opts.size, ready: this.readyCount, taken: this.taken, missed: this.missed };
  }

  /** Processes started and ready now. */
  get readyCount(): number {
    let n = 0;
    for (const p of this.idle) if (p.ready) n++;
    return n;
  }

  /** Pids (the confinement's wrapper, as Replica.pid) of the processes ready to be taken. */
  readyPids(): number[] {
    return [...this.idle].filter((p) => p.ready && p.child.pid).map((p) => p.child.pid!);
  }

  /** Resident memory of the idle processes, in bytes (what the pool costs while nothing wakes). */
  idleRssBytes(): number {
    let total = 0;
    for (const p of this.idle) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
        if (m) total += Number(m[1]) * 1024;
      } catch {
        /* gone */
      }
    }
    return total;
  }

  /** Stops every idle process. */
  close(): void {
    this.closed = true;
    for (const p of this.idle) this.kill(p);
    this.idle.clear();
  }

  /**
   * Starts the replacement of a taken process once that process has started as its replica (ready,
   * failed or gone): a process starting beside it would compete with the wake for the CPU — Node's start
   * costs tens of milliseconds of CPU, the wake a few.
   */
  private refillAfter(child: ChildProcess): void {
    let done = false;
    const refill = () => {
      if (done) return;
      done = true;
      child.off('message', onMessage);
      child.off('exit', refill);
      // After the ready message the replica still takes its first connection: let that go first.
      setTimeout(() => this.fill(), REFILL_DELAY_MS).unref();
    };
    const onMessage = (m: FromReplica) => {
      if (m.t === 'ready' || m.t === 'failed') refill();
    };
    child.on('message', onMessage);
    child.once('exit', refill);
  }

  private startOne(): void {
    const argv = [process.execPath, this.opts.program];
    const [command, ...args] = this.opts.wrap.length ? [...this.opts.wrap, ...argv] : argv;
    const child = spawn(command, args, {
      cwd: '/',
      env: {
        ...this.opts.baseEnv,
        PROTIUM_PROCESSOR_POOL: '1',
        ...(this.opts.python
          ? { PROTIUM_PREWARM_PYTHON: this.opts.python.path, PROTIUM_PYTHON_RUNTIME_DIR: this.opts.python.runtimeDir }
          : {}),
        ...(this.opts.warmUpHandler ? { PROTIUM_WARM_UP_HANDLER: this.opts.warmUpHandler } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
      serialization: 'json',
    });
    const p: Pooled = { child, ready: false };
    this.idle.add(p);
    if (child.pid) p.pidFile = writePidFile(this.opts.pidDir, `pool-${process.pid}-${++this.seq}`, child.pid);
    let output = '';
    const keep = (c: Buffer) => {
      output = (output + c.toString('utf8')).slice(-2000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('message', (m: FromReplica) => {
      if (m.t !== 'pooled') return;
      p.ready = true;
      this.earlyExits = 0;
    });
    child.once('error', () => {
      /* the exit handler reports */
    });
    child.once('exit', (code, signal) => {
      if (p.pidFile) removePidFile(p.pidFile);
      if (!this.idle.delete(p) || this.closed) return;
      if (!p.ready) this.earlyExits++;
      this.opts.log.warn(
        { code, signal, output: output.trim() || undefined },
        p.ready ? 'a pre-started processor exited; starting another' : 'a pre-started processor failed to start',
      );
      if (this.earlyExits >= MAX_EARLY_EXITS)
        this.opts.log.error('pre-started processors keep failing to start: the pool stays empty (--prewarm)');
      else setTimeout(() => this.fill(), 1000).unref();
    });
  }

  private kill(p: Pooled): void {
    try {
      process.kill(-p.child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    if (p.pidFile) removePidFile(p.pidFile);
  }
}
