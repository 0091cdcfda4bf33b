/**
 * A counting semaphore with a FIFO line: at most `limit` holders at once, the others served in the order
 * they asked. The function controller bounds replica starts and stops with one, the builder its builds.
 * Waiting can be given up (an AbortSignal): the place in line goes, nothing is held.
 */

/** Gives the slot back; calling it again does nothing. */
export type Release = () => void;

export class Limiter {
  private active = 0;
  private readonly line: { grant: (r: Release) => void; fail: (e: unknown) => void }[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`Limiter limit must be a whole number ≥ 1, got ${limit}`);
  }

  /** Holders now. */
  get running(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.line.length;
  }

  /** Waits for a slot (in line order); rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const entry = {
        grant: (r: Release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        fail: reject,
      };
      const onAbort = () => {
        const i = this.line.indexOf(entry);
        if (i >= 0) this.line.splice(i, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.line.push(entry);
    });
  }

  /** Runs `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.line.shift();
      // The slot passes straight to the next in line: the count stays, no newcomer can jump the line.
      if (next) next.grant(this.releaser());
      else this.active--;
    };
  }
}
