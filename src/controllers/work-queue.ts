/**
 * A per-key work queue (the controller pattern's workqueue): a key is never reconciled twice at once; a key
 * changed while it is being reconciled runs again afterwards, behind the keys already waiting (one busy key
 * cannot starve the rest); at most `concurrency` keys run together, taken in the order they were added.
 */
export class WorkQueue {
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  /** Keys waiting, in order (a Set keeps insertion order and finds a key without a scan). */
  private readonly waiting = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<void>,
    private readonly concurrency = 8,
    private readonly onError: (key: string, err: unknown) => void = () => {},
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.waiting.size) {
      const key = this.waiting.values().next().value!;
      this.waiting.delete(key);
      this.running.add(key);
      void this.reconcile(key)
        .catch((e) => this.onError(key, e))
        .finally(() => {
          this.running.delete(key);
          if (this.dirty.delete(key)) this.waiting.add(key);
          this.pump();
          if (!this.running.size && !this.waiting.size) {
            for (const w of this.idleWaiters.splice(0)) w();
          }
        });
    }
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running.size && !this.waiting.size) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    this.waiting.clear();
  }
}
