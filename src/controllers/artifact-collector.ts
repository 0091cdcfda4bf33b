/**
 * The artifact collector: removes artifacts nothing keeps any more — no stored function refers to them,
 * no replica runs or drains from them, no deploy in progress holds them (build/artifact-gc.ts says which,
 * build/artifact-store.ts removes them without racing builds). It runs after a function is deleted or
 * updated, after replicas stop (an update's old version drained), after every deploy, and once at start
 * (what a previous run left). Runs are coalesced: one at a time, and at most one more queued.
 */
import type { Logger } from '../log.js';
import { referencedArtifacts } from '../builder/artifact-gc.js';
import type { Store } from '../store/store.js';

export interface ArtifactCollectorDeps {
  store: Store;
  /** Removes the artifacts `keep()` leaves out; returns their ids (ArtifactStore.collect). */
  collect: (keep: () => Promise<ReadonlySet<string>>) => Promise<string[]>;
  /** Ids in use right now: replicas (running, starting, draining) and deploys in progress. */
  inUse: () => Promise<Iterable<string>>;
  log: Logger;
  /** How long to wait for more triggers before a run (a burst of changes makes one run). */
  delayMs?: number;
}

export class ArtifactCollector {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private unwatch?: () => void;

  constructor(private readonly deps: ArtifactCollectorDeps) {}

  /** Collects on function changes from now on, and once now. */
  start(): void {
    this.unwatch = this.deps.store.watch((c) => {
      if (c.kind === 'function' && c.type !== 'status') this.schedule();
    });
    this.schedule();
  }

  /** Asks for a run soon. */
  schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    }, this.deps.delayMs ?? 100);
    this.timer.unref();
  }

  /** One collection now; resolves when it is done (errors are logged, never thrown). */
  async run(): Promise<void> {
    try {
      const removed = await this.deps.collect(async () => {
        const keep = referencedArtifacts(await this.deps.store.list('function', undefined));
        for (const id of await this.deps.inUse()) keep.add(id);
        return keep;
      });
      if (removed.length) this.deps.log.info({ artifacts: removed }, 'collected artifacts no function uses');
    } catch (e) {
      this.deps.log.warn({ err: e }, 'artifact collection failed');
    }
  }

  /** Resolves when no run is queued or running. */
  async idle(): Promise<void> {
    while (this.timer || this.running) {
      await (this.running ?? new Promise((r) => setTimeout(r, 20)));
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.running ?? Promise.resolve();
  }
}
