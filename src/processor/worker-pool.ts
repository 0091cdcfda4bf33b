/**
 * Workers of one trigger (Nuclio's worker allocator): at most `size` events run at once; an event waits
 * for a free worker up to the availability timeout, then is refused (503 for http). With `allocations`
 * it counts allocations as Nuclio's allocator does (immediate, after a wait, timed out; time waited; the
 * share of workers free): a clock is read only when an event has to wait.
 */
import { performance } from 'node:perf_hooks';
import type { AllocationCounters } from './stats.js';

export class WorkerUnavailableError extends Error {
  constructor(ms: number) {
    super(`No worker became available within ${ms} ms`);
    this.name = 'WorkerUnavailableError';
  }
}

export class WorkerPool {
  private readonly free: number[];
  private readonly waiters: { resolve: (id: number) => void; timer?: NodeJS.Timeout }[] = [];
  /** Events running now. */
  inflight = 0;

  /** `offset`: the first worker id of this pool, so pools of different triggers map to distinct runtime workers. */
  constructor(
    readonly size: number,
    offset = 0,
    private readonly allocations?: AllocationCounters,
  ) {
    this.free = Array.from({ length: size }, (_, i) => offset + size - 1 - i);
  }

  /** Events waiting for a worker. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Runs `fn` with a worker id; rejects with WorkerUnavailableError after `timeoutMs` without a worker. */
  async run<T>(timeoutMs: number, fn: (workerId: number) => Promise<T>): Promise<T> {
    const id = await this.acquire(timeoutMs);
    this.inflight++;
    try {
      return await fn(id);
    } finally {
      this.inflight--;
      this.release(id);
    }
  }

  private acquire(timeoutMs: number): Promise<number> {
    const a = this.allocations;
    if (a) a.availablePercentSum += (this.free.length / this.size) * 100;
    const id = this.free.pop();
    if (id !== undefined) {
      if (a) a.immediate++;
      return Promise.resolve(id);
    }
    const since = a ? performance.now() : 0;
    return new Promise((resolve, reject) => {
      const waiter: { resolve: (id: number) => void; timer?: NodeJS.Timeout } = {
        resolve: a
          ? (id) => {
              a.afterWait++;
              a.waitMsSum += performance.now() - since;
              resolve(id);
            }
          : resolve,
      };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          if (a) a.timeout++;
          reject(new WorkerUnavailableError(timeoutMs));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  private release(id: number): void {
    const next = this.waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(id);
    } else {
      this.free.push(id);
    }
  }
}
