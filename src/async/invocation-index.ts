/**
 * Every kept asynchronous invocation, in memory: a fold over the journal's records (journal-entry.ts).
 * The service applies each record once it is durable, and a restart replays the journal through the same
 * `apply`, so what a restarted dashboard knows is what the running one knew. Bodies stay in the journal:
 * the index holds where they lie (`Locator`). Per function it keeps the invocations in the order they
 * came, their counts by state, and the idempotency keys. Pure (no I/O).
 */
import type { DecodedEntry, PayloadSpan } from './journal-entry.js';
import {
  callbackEnded,
  endAttempt,
  interruptAttempt,
  isFinal,
  requeue,
  startAttempt,
  TransitionError,
  INVOCATION_STATES,
  type Invocation,
  type InvocationState,
} from './invocation.js';

/** Where a body lies: a record of the journal, the span inside its data, and when it was written. */
export interface Locator {
  shard: number;
  seq: number;
  offset: number;
  length: number;
  /** When the record was written (ms): the journal's retention counts from there. */
  at: number;
}

/** A kept invocation and where its bodies lie. */
export interface Indexed {
  inv: Invocation;
  body: Locator;
  answer?: Locator;
}

/** How many invocations of a function are in each state. */
export type Counts = Record<InvocationState, number>;

/** Where a record lies in the journal. */
export interface RecordPlace {
  shard: number;
  seq: number;
  at: number;
}

/** `namespace/name`: how the index names a function. */
export const functionKey = (namespace: string, name: string): string => `${namespace}/${name}`;

const zeroCounts = (): Counts => Object.fromEntries(INVOCATION_STATES.map((s) => [s, 0])) as Counts;
const locate = (place: RecordPlace, span: PayloadSpan): Locator => ({ ...place, ...span });

export class InvocationIndex {
  private readonly byId = new Map<string, Indexed>();
  private readonly byFunction = new Map<string, Map<string, Indexed>>();
  private readonly counts = new Map<string, Counts>();
  private readonly keys = new Map<string, string>();

  /** Records that could not be applied (out of order, unknown): a replay reports them. */
  rejected = 0;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Indexed | undefined {
    return this.byId.get(id);
  }

  /** The invocation a function's idempotency key names, if it is kept. */
  byIdempotencyKey(fnKey: string, key: string): Indexed | undefined {
    const id = this.keys.get(`${fnKey}\n${key}`);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** A function's kept invocations, in the order they came. */
  ofFunction(fnKey: string): Iterable<Indexed> {
    return this.byFunction.get(fnKey)?.values() ?? [];
  }

  /** Functions that have kept invocations. */
  functionKeys(): string[] {
    return [...this.byFunction.keys()];
  }

  /** A function's counts by state (all 0 for one without invocations). */
  countsOf(fnKey: string): Counts {
    return { ...(this.counts.get(fnKey) ?? zeroCounts()) };
  }

  /** Queued and running invocations of a function: what its queue bound counts. */
  active(fnKey: string): number {
    const c = this.counts.get(fnKey);
    return c ? c.queued + c.running : 0;
  }

  /**
   * Applies one record. Returns the invocation after it, or undefined when the record changes nothing
   * kept (an invocation already removed, or a record out of order — counted in `rejected`).
   */
  apply(decoded: DecodedEntry, place: RecordPlace): Indexed | undefined {
    const e = decoded.entry;
    switch (e.t) {
      case 'enqueued': {
        if (this.byId.has(e.inv.id) || !decoded.body) return this.reject();
        return this.put({ inv: e.inv, body: locate(place, decoded.body) });
      }
      case 'snapshot': {
        if (!decoded.body) return this.reject();
        const old = this.byId.get(e.inv.id);
        if (old) this.remove(e.inv.id);
        return this.put({
          inv: e.inv,
          body: locate(place, decoded.body),
          ...(decoded.answer ? { answer: locate(place, decoded.answer) } : {}),
        });
      }
      case 'dropped':
        for (const id of e.ids) this.remove(id);
        return undefined;
      default:
        break;
    }
    const cur = this.byId.get(e.id);
    if (!cur) return undefined;
    try {
      switch (e.t) {
        case 'started': {
          // A start over a running attempt: the dashboard stopped before it wrote the interruption.
          const inv = cur.inv.state === 'running' ? interruptAttempt(cur.inv, e.at) : cur.inv;
          return this.replace(cur, { ...cur, inv: startAttempt(inv, e.n, e.at) });
        }
        case 'ended': {
          const { answer: _, ...rest } = cur;
          const next: Indexed = { ...rest, inv: endAttempt(cur.inv, e.end) };
          if (decoded.answer) next.answer = locate(place, decoded.answer);
          return this.replace(cur, next);
        }
        case 'interrupted':
          return this.replace(cur, { ...cur, inv: interruptAttempt(cur.inv, e.at) });
        case 'requeued': {
          const { answer: _, ...rest } = cur;
          return this.replace(cur, { ...rest, inv: requeue(cur.inv, e.at, e.maxAttempts) });
        }
        case 'callback':
          return this.replace(cur, { ...cur, inv: callbackEnded(cur.inv, e.callback) });
      }
    } catch (err) {
      if (err instanceof TransitionError) return this.reject();
      throw err;
    }
  }

  /** Removes an invocation (and its idempotency key); false when it was not kept. */
  remove(id: string): boolean {
    const cur = this.byId.get(id);
    if (!cur) return false;
    const fnKey = functionKey(cur.inv.namespace, cur.inv.name);
    this.byId.delete(id);
    const list = this.byFunction.get(fnKey);
    list?.delete(id);
    if (list && !list.size) {
      this.byFunction.delete(fnKey);
      this.counts.delete(fnKey);
    } else {
      this.count(fnKey, cur.inv.state, -1);
    }
    if (cur.inv.idempotencyKey !== undefined) {
      const k = `${fnKey}\n${cur.inv.idempotencyKey}`;
      if (this.keys.get(k) === id) this.keys.delete(k);
    }
    return true;
  }

  /** Ended invocations whose retention is over at `now`. */
  expired(now: number, retentionMs: number): string[] {
    const out: string[] = [];
    for (const [id, x] of this.byId)
      if (x.inv.endedAt !== undefined && x.inv.endedAt + retentionMs <= now) out.push(id);
    return out;
  }

  /**
   * The oldest ended invocations of a function beyond `bound`: dead letters are bounded apart from the
   * other results, so that a flood of successes never pushes a dead letter out.
   */
  beyondBound(fnKey: string, bound: number): string[] {
    const c = this.counts.get(fnKey);
    if (!c || (c.dead <= bound && c.succeeded + c.failed <= bound)) return [];
    const dead: Indexed[] = [];
    const other: Indexed[] = [];
    for (const x of this.ofFunction(fnKey)) {
      if (x.inv.state === 'dead') dead.push(x);
      else if (isFinal(x.inv.state)) other.push(x);
    }
    const oldest = (list: Indexed[]) =>
      list
        .sort((a, b) => a.inv.endedAt! - b.inv.endedAt!)
        .slice(0, Math.max(0, list.length - bound))
        .map((x) => x.inv.id);
    return [...oldest(dead), ...oldest(other)];
  }

  /** Invocations holding a body written before `before`: they are re-written before the journal drops it. */
  olderThan(before: number): Indexed[] {
    const out: Indexed[] = [];
    for (const x of this.byId.values())
      if (x.body.at < before || (x.answer !== undefined && x.answer.at < before)) out.push(x);
    return out;
  }

  /** Every kept invocation in `state`. */
  inState(state: InvocationState): Indexed[] {
    return [...this.byId.values()].filter((x) => x.inv.state === state);
  }

  private reject(): undefined {
    this.rejected++;
    return undefined;
  }

  private put(x: Indexed): Indexed {
    const fnKey = functionKey(x.inv.namespace, x.inv.name);
    this.byId.set(x.inv.id, x);
    let list = this.byFunction.get(fnKey);
    if (!list) this.byFunction.set(fnKey, (list = new Map<string, Indexed>()));
    list.set(x.inv.id, x);
    this.count(fnKey, x.inv.state, 1);
    if (x.inv.idempotencyKey !== undefined) this.keys.set(`${fnKey}\n${x.inv.idempotencyKey}`, x.inv.id);
    return x;
  }

  private replace(cur: Indexed, next: Indexed): Indexed {
    const fnKey = functionKey(cur.inv.namespace, cur.inv.name);
    this.byId.set(cur.inv.id, next);
    this.byFunction.get(fnKey)!.set(cur.inv.id, next);
    if (cur.inv.state !== next.inv.state) {
      this.count(fnKey, cur.inv.state, -1);
      this.count(fnKey, next.inv.state, 1);
    }
    return next;
  }

  private count(fnKey: string, state: InvocationState, delta: number): void {
    let c = this.counts.get(fnKey);
    if (!c) this.counts.set(fnKey, (c = zeroCounts()));
    c[state] += delta;
  }
}
