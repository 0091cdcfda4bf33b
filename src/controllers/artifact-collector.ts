/**
 * The artifact collector: removes artifacts nothing keeps any more — no stored function refers to them,
 * no replica runs or drains from them, no deploy in progress holds them (build/artifact-gc.ts says which,
 * build/artifact-store.ts removes them without racing builds). It runs after a function is deleted or
 * updated, after replicas stop (an update's old version drained), after every deploy, and once at start
 * (what a previous run left). Runs are coalesced: one at a time, and at most one more queued; and a run
 * waits at least ten times as long as the last one took, so that during a burst of a thousand deploys the
 * collector — which reads the artifacts folder under the artifact store's lock that builds wait on —
 * takes a tenth of the time at most. The images functions refer to are kept in memory from the store's
 * changes (listing a thousand functions per run was tens of milliseconds of the event loop).
 */
import type { Logger } from '../log.js';
import { referencedArtifacts } from '../builder/artifact-gc.js';
import type { FunctionRecord } from '../resources/types.js';
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

const imagesOf = (fn: FunctionRecord) => ({ spec: { image: fn.spec?.image, build: { image: fn.spec?.build?.image } } });

/** A run waits this many times as long as the last one took. */
const DUTY = 10;

export class ArtifactCollector {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private unwatch?: () => void;
  /** How long the last run took (ms). */
  private lastRunMs = 0;
  /**
   * The images each stored function refers to, kept from the store's changes: a run used to list (and
   * parse) every function, tens of milliseconds of the event loop with a thousand of them.
   */
  private readonly images = new Map<string, { spec: { image?: string; build: { image?: string } } }>();
  /** The first load of `images` (start()); until then nothing is known to be unreferenced. */
  private loaded?: Promise<void>;

  constructor(private readonly deps: ArtifactCollectorDeps) {}

  /** Collects on function changes from now on, and once now. */
  start(): void {
    this.unwatch = this.deps.store.watch((c) => {
      if (c.kind !== 'function' || c.type === 'status') return;
      const key = `${c.namespace}/${c.name}`;
      if (c.type === 'deleted') this.images.delete(key);
      else this.images.set(key, imagesOf(c.object as FunctionRecord));
      this.schedule();
    });
    // Watching first, so that no change falls between the list and the watch.
    this.loaded = this.deps.store.list('function', undefined).then((fns) => {
      for (const fn of fns) {
        const key = `${fn.metadata.namespace}/${fn.metadata.name}`;
        if (!this.images.has(key)) this.images.set(key, imagesOf(fn));
      }
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
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const started = Date.now();
        this.running = this.run().finally(() => {
          this.running = undefined;
          this.lastRunMs = Date.now() - started;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
      },
      Math.max(this.deps.delayMs ?? 100, DUTY * this.lastRunMs),
    );
    this.timer.unref();
  }

  /** One collection now; resolves when it is done (errors are logged, never thrown). */
  async run(): Promise<void> {
    try {
      const removed = await this.deps.collect(async () => {
        if (!this.loaded) throw new Error('Refusing to collect artifacts before the collector has started');
        await this.loaded;
        const keep = referencedArtifacts(this.images.values());
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
