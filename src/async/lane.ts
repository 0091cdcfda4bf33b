/**
 * One function's dispatch queue: the ids of its queued invocations that are due now (first in, first
 * out), those waiting for a retry's time (earliest first), and what bounds its attempts in flight. Pure
 * data: the service (async-invocations.ts) owns the timers and the calls. An id whose invocation was
 * discarded meanwhile may still be in here; the service skips it when it comes out.
 */

/** Replicas × workers below this long ago is still the function's bound. */
export const LIMIT_TTL_MS = 1_000;

export class Lane {
  private ready: string[] = [];
  private head = 0;
  /** A binary min-heap on `at`. */
  private readonly delayed: { at: number; id: string }[] = [];

  /** Attempts in flight. */
  inflight = 0;
  /** The most attempts in flight: ready replicas × the http trigger's workers (at least the workers). */
  limit: number;
  /** When `limit` was last computed (0: never). */
  limitAt = 0;
  /** Waiting for the function to be provisioned (no version serves yet): no attempt starts. */
  paused = false;
  /** Enqueues admitted whose record is not written yet (they count toward the queue bound). */
  reserved = 0;

  constructor(workers: number) {
    this.limit = Math.max(1, workers);
  }

  /** Ids waiting, due or not. */
  get waiting(): number {
    return this.ready.length - this.head + this.delayed.length;
  }

  /** Queues `id`: at the back when it is due by `now`, else until `at`. */
  push(id: string, at: number | undefined, now: number): void {
    if (at === undefined || at <= now) this.ready.push(id);
    else this.heapPush({ at, id });
  }

  /** Puts `id` back at the front (an attempt that could not start). */
  unshift(id: string): void {
    if (this.head > 0) this.ready[--this.head] = id;
    else this.ready.unshift(id);
  }

  /** Moves every delayed id due by `now` to the back of the due ones, earliest first. */
  promote(now: number): void {
    while (this.delayed.length && this.delayed[0].at <= now) this.ready.push(this.heapPop().id);
  }

  /** The next due id, or undefined. */
  take(): string | undefined {
    if (this.head >= this.ready.length) return undefined;
    const id = this.ready[this.head++];
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    return id;
  }

  /** True when an attempt may start now: not paused, under the limit, and something is due. */
  canStart(): boolean {
    return !this.paused && this.inflight < this.limit && this.head < this.ready.length;
  }

  /** When the earliest delayed id is due, or undefined. */
  nextDue(): number | undefined {
    return this.delayed[0]?.at;
  }

  /** Sets the bound from the function's ready replicas and workers. */
  setLimit(readyReplicas: number, workers: number, now: number): void {
    this.limit = Math.max(1, readyReplicas) * Math.max(1, workers);
    this.limitAt = now;
  }

  private heapPush(x: { at: number; id: string }): void {
    const h = this.delayed;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private heapPop(): { at: number; id: string } {
    const h = this.delayed;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
