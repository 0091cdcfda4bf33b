/**
 * Asynchronous invocations: the service behind `X-Protium-Invoke-Mode: async` and
 * `/api/function_invocations/ID`. It queues an invocation durably (the journal's record is fsync'd before
 * the caller hears 202), runs it through the Invoker with a bounded number of attempts in flight per
 * function (ready replicas × the http trigger's workers; a function scaled to zero is woken by its route),
 * retries failures with back-off (retry-policy.ts), keeps what finally failed as a dead letter, calls the
 * caller back (callback-sender.ts), and forgets ended invocations after the retention period.
 *
 * Durability: every change is a journal record (journal.ts) applied to the in-memory index
 * (invocation-index.ts) once it is on disk; a restart replays the journal into the same index. An
 * attempt's start is written without waiting, its end before the outcome is shown: an invocation shown
 * `succeeded` is never run again, and one that was running when the dashboard died is run again
 * (at-least-once; the function sees `X-Protium-Invocation-Id` and `X-Protium-Attempt` to tell).
 *
 * A function being provisioned with no version serving yet (its first deploy, or the redeploy after a
 * restart) holds its queue without spending attempts; its deletion discards its queue, lets the attempts
 * in flight end (their callbacks are sent), then discards them too.
 */
import { randomUUID } from 'node:crypto';
import { apiError, isApiError } from '../errors.js';
import type { Invoker } from '../invoke/invoker.js';
import type { Logger } from '../log.js';
import type { Platform } from '../platform/platform.js';
import { isProvisioning } from '../resources/function-state.js';
import type { FunctionRecord, FunctionRef } from '../resources/types.js';
import type { Store, StoreChange } from '../store/store.js';
import { callbackRefusal, parseAllowList, type AllowRule } from './callback-allow.js';
import { CallbackAborted, CallbackSender } from './callback-sender.js';
import {
  canDiscard,
  canRequeue,
  invocationSummary,
  invocationView,
  isFinal,
  nextAttemptNumber,
  type Answer,
  type AttemptEnd,
  type Invocation,
  type InvocationState,
} from './invocation.js';
import { functionKey, InvocationIndex, type Counts, type Indexed, type Locator } from './invocation-index.js';
import type { JournalEntry } from './journal-entry.js';
import { Journal, type NewEntry } from './journal.js';
import { Lane, LIMIT_TTL_MS } from './lane.js';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_STATUSES,
  nextStep,
  parseRetryAfter,
  parseRetryStatuses,
  queueFullRetryAfter,
  retryDelayMs,
  type AttemptOutcome,
  type StatusRule,
} from './retry-policy.js';

/** The largest request body queued: the synchronous path's limit. */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;
/** The bytes of an answer's body kept (the rest is cut, and the answer says so). */
export const MAX_ANSWER_BODY_BYTES = 1024 * 1024;
/** How long `close()` lets attempts in flight end before it stops waiting. */
const CLOSE_GRACE_MS = 10_000;
/** At most this many invocations are re-written per compaction round. */
const COMPACTION_BATCH = 500;

/** The service's settings (config.ts `AsyncConfig`). */
export interface AsyncSettings {
  queueSize: number;
  retentionMs: number;
  retryDelayMs: number;
  callbackHosts: readonly string[];
}

export interface AsyncInvocationsDeps {
  /** The journal's folder (`<data dir>/async`). */
  dir: string;
  store: Store;
  platform: Pick<Platform, 'route' | 'replicas'>;
  invoker: Pick<Invoker, 'call'>;
  log: Logger;
  settings: AsyncSettings;
}

/** An invocation to queue: what the function gets, and how it is run. */
export interface EnqueueRequest {
  ref: FunctionRef;
  method: string;
  path: string;
  /** The headers the function gets (the caller removed those that steer the call). */
  headers: Record<string, string | string[]>;
  timeoutMs: number;
  /** X-Protium-Max-Attempts. */
  maxAttempts?: number;
  /** X-Callback-Url. */
  callbackUrl?: string;
  /** X-Idempotency-Key. */
  idempotencyKey?: string;
}

/** What an enqueue answers: the invocation, and whether it was queued by an earlier request (idempotency). */
export interface Enqueued {
  id: string;
  state: InvocationState;
  existing: boolean;
}

/** What `GET /api/functions/NAME/invocations` answers (AsyncInvocations.list). */
export type InvocationList = ReturnType<AsyncInvocations['list']>;

/** Filters of a function's list. */
export interface ListFilter {
  state?: InvocationState;
  /** Created at or after (ms). */
  since?: number;
  /** Created before (ms). */
  until?: number;
  limit: number;
}

/** What the service knows of a function, from the store. */
interface FunctionInfo {
  ref: FunctionRef;
  state: string | undefined;
  workers: number;
  maxAttempts?: number;
  retryStatuses: readonly StatusRule[];
}

function infoOf(fn: FunctionRecord): FunctionInfo {
  const http = Object.values(fn.spec.triggers ?? {}).find((t) => t.kind === 'http');
  const spec = fn.spec.asyncInvocation;
  const statuses = spec?.retryStatuses ? parseRetryStatuses(spec.retryStatuses) : undefined;
  return {
    ref: { namespace: fn.metadata.namespace!, name: fn.metadata.name! },
    state: fn.status?.state,
    workers: Math.max(1, http?.numWorkers ?? 1),
    ...(spec?.maxAttempts ? { maxAttempts: spec.maxAttempts } : {}),
    retryStatuses: statuses && 'rules' in statuses ? statuses.rules : DEFAULT_RETRY_STATUSES,
  };
}

/** Whole hours the journal's stream keeps records: at least the retention, at least 1. */
const journalHours = (retentionMs: number) => Math.min(8760, Math.max(1, Math.ceil(retentionMs / 3_600_000)));

export class AsyncInvocations {
  private journal?: Journal;
  private readonly index = new InvocationIndex();
  private readonly functions = new Map<string, FunctionInfo>();
  private readonly lanes = new Map<string, Lane>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Running invocations of deleted functions: discarded once their attempt ends. */
  private readonly orphans = new Set<string>();
  /** Enqueues with an idempotency key whose record is being written. */
  private readonly pendingKeys = new Map<string, Promise<string>>();
  /** Recent ends per function, for the Retry-After of a full queue (an exponentially decaying rate). */
  private readonly endRate = new Map<string, { rate: number; at: number }>();
  private readonly rules: AllowRule[];
  private readonly callbacks: CallbackSender;
  private readonly attempts = new Set<Promise<void>>();
  private unwatch?: () => void;
  private sweeper?: NodeJS.Timeout;
  private lastCompaction = 0;
  private running = false;
  private closing = false;

  constructor(private readonly deps: AsyncInvocationsDeps) {
    this.rules = parseAllowList(deps.settings.callbackHosts);
    this.callbacks = new CallbackSender({ rules: this.rules, baseDelayMs: deps.settings.retryDelayMs, log: deps.log });
  }

  /**
   * Opens the journal and replays it: queued invocations are queued again, running ones were interrupted
   * (each gets an `interrupted` record and runs again), ended ones past their retention are forgotten.
   * Nothing runs until `run()`.
   */
  async start(): Promise<void> {
    const { log } = this.deps;
    this.journal = await Journal.open({
      dir: this.deps.dir,
      retentionHours: journalHours(this.deps.settings.retentionMs),
      onRepair: (message) => log.warn(message),
    });
    const t0 = Date.now();
    const dropped: string[] = [];
    const records = await this.journal.replay(
      (decoded, place) => {
        if (decoded.entry.t === 'dropped') dropped.push(...decoded.entry.ids);
        else this.index.apply(decoded, place);
      },
      (place, err) => log.warn({ ...place, err: err.message }, 'skipped a journal record'),
    );
    for (const id of dropped) this.index.remove(id);
    if (this.index.rejected) log.warn({ records: this.index.rejected }, 'journal records out of order were skipped');

    for (const fn of await this.deps.store.list('function', undefined)) {
      const info = infoOf(fn);
      this.functions.set(functionKey(info.ref.namespace, info.ref.name), info);
    }
    this.unwatch = this.deps.store.watch((c) => this.onStoreChange(c));
    // A function deleted while its `dropped` record was being written (the dashboard died): its queue goes now.
    const gone = this.index.functionKeys().filter((k) => !this.functions.has(k));
    for (const k of gone) {
      const ids = [...this.index.ofFunction(k)].map((x) => x.inv.id);
      await this.record([{ entry: { t: 'dropped', ids, reason: 'function deleted' } }]);
    }
    await this.forgetExpired();
    const interrupted = this.index.inState('running');
    if (interrupted.length)
      await this.record(interrupted.map((x) => ({ entry: { t: 'interrupted', id: x.inv.id, at: Date.now() } })));
    const queued = this.index.inState('queued').sort((a, b) => a.inv.createdAt - b.inv.createdAt);
    for (const x of queued) this.laneOf(functionKey(x.inv.namespace, x.inv.name))?.push(x.inv.id, x.inv.nextAt, 0);
    log.info(
      {
        records,
        kept: this.index.size,
        queued: queued.length,
        interrupted: interrupted.length,
        ms: Date.now() - t0,
      },
      'async invocations replayed',
    );
  }

  /** Starts running queued invocations and pending callbacks (after the function controller started). */
  run(): void {
    this.running = true;
    for (const key of this.lanes.keys()) this.pump(key);
    for (const x of this.index.inState('succeeded').concat(this.index.inState('failed'), this.index.inState('dead')))
      if (x.inv.callback?.state === 'pending') this.callBack(x);
    const every = Math.min(30_000, Math.max(250, Math.floor(this.deps.settings.retentionMs / 4)));
    this.sweeper = setInterval(
      () => void this.sweep().catch((e) => this.deps.log.warn({ err: e }, 'async sweep failed')),
      every,
    );
    this.sweeper.unref();
  }

  // ---------------------------------------------------------------- the API

  /**
   * Queues an invocation. `readBody` reads the request's body (bounded by the caller); it is called only
   * once the invocation is admitted — the function exists, its queue has room, the key is new — so a
   * refused request's body is never read. Rejects with the catalogue's errors: FUNCTION_NOT_FOUND,
   * ASYNC_QUEUE_FULL (429, Retry-After), CALLBACK_URL_NOT_ALLOWED, SHUTTING_DOWN, or what `readBody` threw.
   */
  async enqueue(req: EnqueueRequest, readBody: () => Promise<Buffer>): Promise<Enqueued> {
    if (this.closing || !this.journal) throw apiError('SHUTTING_DOWN');
    const fnKey = functionKey(req.ref.namespace, req.ref.name);
    const info = this.functions.get(fnKey);
    if (!info) throw apiError('FUNCTION_NOT_FOUND', req.ref);
    if (req.callbackUrl !== undefined) {
      const refusal = callbackRefusal(req.callbackUrl, this.rules);
      if (refusal) throw apiError('CALLBACK_URL_NOT_ALLOWED', refusal);
    }
    const keyId = req.idempotencyKey === undefined ? undefined : `${fnKey}\n${req.idempotencyKey}`;
    if (req.idempotencyKey !== undefined) {
      const known = this.index.byIdempotencyKey(fnKey, req.idempotencyKey);
      if (known) return { id: known.inv.id, state: known.inv.state, existing: true };
      const pending = this.pendingKeys.get(keyId!);
      if (pending) {
        const id = await pending.catch(() => undefined);
        const x = id === undefined ? undefined : this.index.get(id);
        if (x) return { id: x.inv.id, state: x.inv.state, existing: true };
        return this.enqueue(req, readBody);
      }
    }
    const lane = this.laneOf(fnKey)!;
    this.admit(fnKey, info, lane);
    lane.reserved++;
    const work = (async () => {
      let body: Buffer;
      try {
        body = await readBody();
      } finally {
        lane.reserved--;
      }
      const now = Date.now();
      const inv: Invocation = {
        id: randomUUID(),
        namespace: req.ref.namespace,
        name: req.ref.name,
        createdAt: now,
        state: 'queued',
        request: {
          method: req.method,
          path: req.path,
          headers: req.headers,
          timeoutMs: req.timeoutMs,
          bodyBytes: body.length,
        },
        maxAttempts: req.maxAttempts ?? info.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        used: 0,
        attempts: [],
        ...(req.callbackUrl !== undefined ? { callback: { url: req.callbackUrl, state: 'pending', attempts: 0 } } : {}),
        ...(req.idempotencyKey !== undefined ? { idempotencyKey: req.idempotencyKey } : {}),
      };
      await this.record([{ entry: { t: 'enqueued', inv }, payloads: [body] }]);
      // Deleted while the body was read or written: the caller is told, and the invocation goes.
      if (!this.functions.has(fnKey) || this.closing) {
        await this.record([{ entry: { t: 'dropped', ids: [inv.id], reason: 'function deleted' } }]).catch(() => {});
        throw this.closing ? apiError('SHUTTING_DOWN') : apiError('FUNCTION_NOT_FOUND', req.ref);
      }
      this.laneOf(fnKey)?.push(inv.id, undefined, now);
      this.pump(fnKey);
      return inv.id;
    })();
    if (keyId !== undefined) {
      this.pendingKeys.set(keyId, work);
      void work.finally(() => this.pendingKeys.delete(keyId)).catch(() => {});
    }
    // The state at the time it was queued: it may have started already.
    return { id: await work, state: 'queued', existing: false };
  }

  /** An invocation as the API shows it, its answer's body read from the journal; INVOCATION_NOT_FOUND. */
  async get(id: string) {
    const x = this.index.get(id);
    if (!x) throw apiError('INVOCATION_NOT_FOUND', id);
    const body = x.answer ? await this.readSpan(x.answer) : undefined;
    return invocationView(x.inv, body);
  }

  /** A function's invocations, newest first, with its counts by state. */
  list(ref: FunctionRef, filter: ListFilter) {
    const fnKey = functionKey(ref.namespace, ref.name);
    const matching: Invocation[] = [];
    for (const x of this.index.ofFunction(fnKey)) {
      const inv = x.inv;
      if (filter.state !== undefined && inv.state !== filter.state) continue;
      if (filter.since !== undefined && inv.createdAt < filter.since) continue;
      if (filter.until !== undefined && inv.createdAt >= filter.until) continue;
      matching.push(inv);
    }
    matching.sort((a, b) => b.createdAt - a.createdAt);
    return {
      invocations: matching.slice(0, filter.limit).map(invocationSummary),
      total: matching.length,
      counts: this.index.countsOf(fnKey),
    };
  }

  /** Counts by state of every function of a namespace that has invocations kept. */
  counts(namespace: string): Record<string, Counts> {
    const out: Record<string, Counts> = {};
    for (const k of this.index.functionKeys())
      if (k.startsWith(`${namespace}/`)) out[k.slice(namespace.length + 1)] = this.index.countsOf(k);
    return out;
  }

  /** Queues a dead letter (or a failure) again, with a new budget of attempts. */
  async retry(id: string, maxAttempts?: number): Promise<Enqueued> {
    if (this.closing) throw apiError('SHUTTING_DOWN');
    const x = this.index.get(id);
    if (!x) throw apiError('INVOCATION_NOT_FOUND', id);
    if (!canRequeue(x.inv.state)) throw apiError('INVOCATION_NOT_REQUEUEABLE', id, x.inv.state);
    const fnKey = functionKey(x.inv.namespace, x.inv.name);
    const info = this.functions.get(fnKey);
    if (!info) throw apiError('FUNCTION_NOT_FOUND', { name: x.inv.name, namespace: x.inv.namespace });
    const lane = this.laneOf(fnKey)!;
    this.admit(fnKey, info, lane);
    const at = Date.now();
    const attempts = maxAttempts ?? info.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const [applied] = await this.record([{ entry: { t: 'requeued', id, at, maxAttempts: attempts } }]);
    // Requeued (or discarded) by another request meanwhile.
    if (!applied || applied.inv.state !== 'queued') {
      const now = this.index.get(id);
      throw now ? apiError('INVOCATION_NOT_REQUEUEABLE', id, now.inv.state) : apiError('INVOCATION_NOT_FOUND', id);
    }
    lane.push(id, undefined, at);
    this.pump(fnKey);
    return { id, state: applied.inv.state, existing: false };
  }

  /** Discards an invocation that is not running (a queued one is cancelled). */
  async discard(id: string): Promise<void> {
    if (this.closing) throw apiError('SHUTTING_DOWN');
    const x = this.index.get(id);
    if (!x) throw apiError('INVOCATION_NOT_FOUND', id);
    if (!canDiscard(x.inv.state)) throw apiError('INVOCATION_RUNNING', id);
    await this.record([{ entry: { t: 'dropped', ids: [id], reason: 'discarded' } }]);
  }

  /** Stops running invocations: attempts in flight may end (for a while), then the journal closes. */
  async close(): Promise<void> {
    this.closing = true;
    this.unwatch?.();
    clearInterval(this.sweeper);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.callbacks.close();
    const inFlight = Promise.allSettled([...this.attempts]);
    await Promise.race([inFlight, new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]);
    await this.journal?.close();
  }

  // ---------------------------------------------------------------- queueing and running

  /** Throws ASYNC_QUEUE_FULL when the function's queue has no room. */
  private admit(fnKey: string, info: FunctionInfo, lane: Lane): void {
    const bound = this.deps.settings.queueSize;
    if (this.index.active(fnKey) + lane.reserved < bound) return;
    throw apiError('ASYNC_QUEUE_FULL', info.ref.name, bound, queueFullRetryAfter(this.rateOf(fnKey)));
  }

  private laneOf(fnKey: string): Lane | undefined {
    let lane = this.lanes.get(fnKey);
    if (lane) return lane;
    const info = this.functions.get(fnKey);
    if (!info) return undefined;
    this.lanes.set(fnKey, (lane = new Lane(info.workers)));
    return lane;
  }

  /** Starts what may start on a function's lane, and sets its timer for the next retry due. */
  private pump(fnKey: string): void {
    if (!this.running || this.closing) return;
    const lane = this.lanes.get(fnKey);
    const info = this.functions.get(fnKey);
    if (!lane || !info) return;
    const now = Date.now();
    lane.promote(now);
    if (lane.waiting && now - lane.limitAt > LIMIT_TTL_MS) this.refreshLimit(fnKey, lane, info);
    while (lane.canStart()) {
      const id = lane.take()!;
      const x = this.index.get(id);
      if (!x || x.inv.state !== 'queued') continue; // discarded, or queued twice (a requeue of an old id)
      lane.inflight++;
      let held = true;
      // The slot is the function's (a worker of a replica): it is given back once the function answered,
      // so the next attempt runs while this one's end is being written (appends arriving together share
      // one fsync). The attempt itself stays in `attempts` until its end is durable (close waits for it).
      const release = () => {
        if (!held) return;
        held = false;
        lane.inflight--;
        this.pump(fnKey);
      };
      const attempt = this.attempt(x, lane, info, release).finally(() => {
        this.attempts.delete(attempt);
        // Pumped again either way: what the end queued (a retry, due later) gets its timer.
        if (held) release();
        else this.pump(fnKey);
      });
      this.attempts.add(attempt);
      attempt.catch((e) => this.deps.log.error({ err: e, id }, 'async attempt failed'));
    }
    this.arm(fnKey, lane);
  }

  /** A timer for the lane's earliest delayed retry. */
  private arm(fnKey: string, lane: Lane): void {
    const due = lane.nextDue();
    const old = this.timers.get(fnKey);
    if (old) clearTimeout(old);
    this.timers.delete(fnKey);
    if (due === undefined) return;
    const t = setTimeout(
      () => {
        this.timers.delete(fnKey);
        this.pump(fnKey);
      },
      Math.max(0, due - Date.now()),
    );
    t.unref();
    this.timers.set(fnKey, t);
  }

  /** Recomputes the lane's bound from the function's ready replicas (the platform may be remote: async). */
  private refreshLimit(fnKey: string, lane: Lane, info: FunctionInfo): void {
    lane.limitAt = Date.now();
    this.deps.platform.replicas(info.ref).then(
      (replicas) => {
        const before = lane.limit;
        lane.setLimit(replicas.filter((r) => r.state === 'ready').length, info.workers, Date.now());
        if (lane.limit > before) this.pump(fnKey);
      },
      () => {},
    );
  }

  /** One attempt of a queued invocation: route, start, call, record the end. */
  private async attempt(x: Indexed, lane: Lane, info: FunctionInfo, release: () => void): Promise<void> {
    const id = x.inv.id;
    const fnKey = functionKey(info.ref.namespace, info.ref.name);
    let target: string | undefined;
    let outcome: AttemptOutcome | undefined;
    try {
      target = await this.deps.platform.route(info.ref);
    } catch (e) {
      const current = this.functions.get(fnKey);
      if (current && isProvisioning(current.state)) {
        // No version serves yet (a first deploy, or the redeploy after a restart): wait for it, spending nothing.
        lane.unshift(id);
        lane.paused = true;
        return;
      }
      outcome = { kind: 'unreachable', error: (e as Error).message };
    }
    // Discarded, or its function deleted, while the route was awaited: nothing starts.
    const cur = this.index.get(id);
    if (!cur || cur.inv.state !== 'queued' || this.closing || !this.functions.has(fnKey)) return;
    const n = nextAttemptNumber(cur.inv);
    const startedAt = Date.now();
    // The start is written without waiting: a crash before it is durable costs only the attempt's count.
    const started = this.record([{ entry: { t: 'started', id, n, at: startedAt } }], true);
    started.catch((e) => this.deps.log.warn({ err: e, id }, 'could not record the start of an attempt'));
    let answer: { answer: Answer; body: Buffer } | undefined;
    if (!outcome) {
      try {
        const body = await this.readSpan(cur.body);
        const res = await this.deps.invoker.call({
          target: target!,
          method: cur.inv.request.method,
          path: cur.inv.request.path,
          headers: {
            ...cur.inv.request.headers,
            'x-nuclio-target': cur.inv.name,
            'x-protium-invocation-id': id,
            'x-protium-attempt': String(n),
          },
          body: cur.inv.request.method === 'GET' || cur.inv.request.method === 'HEAD' ? null : body,
          timeoutMs: cur.inv.request.timeoutMs,
          maxAnswerBytes: MAX_ANSWER_BODY_BYTES,
          // As the synchronous path: the function's X-Nuclio-* headers are dropped, X-Nuclio-Logs stays.
          dropResponseHeader: (k) => k.startsWith('x-nuclio-') && k !== 'x-nuclio-logs',
        });
        const retryAfter = res.headers['retry-after'];
        const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now());
        outcome = { kind: 'answer', status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
        answer = {
          answer: { status: res.status, headers: res.headers, bodyBytes: res.body.length, truncated: res.truncated },
          body: res.body,
        };
      } catch (e) {
        const message = isApiError(e) ? e.message : `${(e as Error).message}`;
        outcome = isApiError(e, 'UPSTREAM_TIMEOUT')
          ? { kind: 'timeout', error: message }
          : { kind: 'unreachable', error: message };
      }
    }
    release();
    // A failure while the dashboard stops is the stop's doing: left unrecorded, the attempt is interrupted.
    if (this.closing && outcome.kind !== 'answer') return;
    await started.catch(() => {});
    const orphan = this.orphans.has(id);
    const used = cur.inv.used + 1;
    let next = nextStep(outcome, { used, maxAttempts: cur.inv.maxAttempts, retryStatuses: info.retryStatuses });
    if (next === 'retry' && orphan) next = 'dead';
    const at = Date.now();
    const end: AttemptEnd = {
      n,
      at,
      outcome,
      next,
      ...(next === 'retry'
        ? {
            nextAt:
              at +
              retryDelayMs(used, {
                baseMs: this.deps.settings.retryDelayMs,
                ...(outcome.kind === 'answer' && outcome.retryAfterMs !== undefined
                  ? { retryAfterMs: outcome.retryAfterMs }
                  : {}),
              }),
          }
        : {}),
      ...(answer ? { answer: answer.answer } : {}),
    };
    let after: Indexed | undefined;
    try {
      [after] = await this.record([{ entry: { t: 'ended', id, end }, payloads: answer ? [answer.body] : [] }]);
    } catch (e) {
      // The end could not be written (a full disk): the attempt counts as interrupted, and runs again later.
      this.deps.log.error({ err: e, id }, 'could not record the end of an attempt; it will run again');
      if (!this.closing && this.index.get(id)?.inv.state === 'running') {
        await this.record([{ entry: { t: 'interrupted', id, at: Date.now() } }], true).catch(() => {});
        lane.push(id, Date.now() + this.deps.settings.retryDelayMs, Date.now());
      }
      return;
    }
    this.noteEnd(fnKey, at);
    if (!after) return;
    if (after.inv.state === 'queued') lane.push(id, after.inv.nextAt, Date.now());
    else if (after.inv.callback?.state === 'pending') this.callBack(after, answer?.body);
    if (orphan) {
      this.orphans.delete(id);
      await this.record([{ entry: { t: 'dropped', ids: [id], reason: 'function deleted' } }]).catch(() => {});
    }
  }

  /** Sends an ended invocation's callback, and records how it went. */
  private callBack(x: Indexed, answerBody?: Buffer): void {
    const id = x.inv.id;
    void (async () => {
      const body = answerBody ?? (x.answer ? await this.readSpan(x.answer) : Buffer.alloc(0));
      const callback = await this.callbacks.deliver(x.inv, body);
      if (this.closing) return;
      await this.record([{ entry: { t: 'callback', id, callback } }]);
    })().catch((e) => {
      if (!(e instanceof CallbackAborted)) this.deps.log.warn({ err: e, id }, 'could not record a callback');
    });
  }

  // ---------------------------------------------------------------- functions

  private onStoreChange(c: StoreChange): void {
    if (c.kind !== 'function') return;
    const fnKey = functionKey(c.namespace, c.name);
    if (c.type === 'deleted') {
      this.functionDeleted(fnKey);
      return;
    }
    const info = infoOf(c.object as FunctionRecord);
    this.functions.set(fnKey, info);
    const lane = this.lanes.get(fnKey);
    if (!lane) return;
    if (lane.paused && info.state !== undefined) {
      lane.paused = false;
      this.pump(fnKey);
    }
  }

  /** Discards a deleted function's queue now, and its running invocations once their attempts end. */
  private functionDeleted(fnKey: string): void {
    this.functions.delete(fnKey);
    this.lanes.delete(fnKey);
    const timer = this.timers.get(fnKey);
    if (timer) clearTimeout(timer);
    this.timers.delete(fnKey);
    this.endRate.delete(fnKey);
    const now: string[] = [];
    for (const x of this.index.ofFunction(fnKey)) {
      if (x.inv.state === 'running') this.orphans.add(x.inv.id);
      else now.push(x.inv.id);
    }
    // Gone at once: were the record lost, the next start drops what no stored function owns anyway.
    for (const id of now) this.index.remove(id);
    if (now.length)
      this.record([{ entry: { t: 'dropped', ids: now, reason: 'function deleted' } }]).catch((e) =>
        this.deps.log.warn({ err: e }, 'could not record the discarded queue of a deleted function'),
      );
  }

  // ---------------------------------------------------------------- upkeep

  /** Forgets ended invocations past their retention or beyond the bound, and re-writes old records. */
  private async sweep(): Promise<void> {
    if (this.closing) return;
    const now = Date.now();
    await this.forgetExpired();
    const beyond = this.index.functionKeys().flatMap((k) => this.index.beyondBound(k, this.deps.settings.queueSize));
    if (beyond.length)
      await this.record([{ entry: { t: 'dropped', ids: beyond, reason: 'beyond the bound of kept results' } }]);
    const journal = this.journal!;
    const every = Math.min(60_000, journal.retentionMs / 8);
    if (now - this.lastCompaction >= every) {
      this.lastCompaction = now;
      await this.compact(now - journal.retentionMs / 2);
    }
  }

  /**
   * Forgets ended invocations past the retention, with a record: a restart with a longer retention does
   * not bring them back.
   */
  private async forgetExpired(): Promise<void> {
    const expired = this.index.expired(Date.now(), this.deps.settings.retentionMs);
    if (expired.length) await this.record([{ entry: { t: 'dropped', ids: expired, reason: 'retention' } }]);
  }

  /**
   * Re-writes invocations whose records were written before `before` as snapshots, so that the journal's
   * retention, which drops whole old segments, never drops a body still needed. Running ones wait for
   * the next round.
   */
  private async compact(before: number): Promise<void> {
    const old = this.index
      .olderThan(before)
      .filter((x) => x.inv.state !== 'running')
      .slice(0, COMPACTION_BATCH);
    for (const x of old) {
      const body = await this.readSpan(x.body);
      const answer = x.answer ? await this.readSpan(x.answer) : undefined;
      const cur = this.index.get(x.inv.id);
      // Changed meanwhile (it started, or went): the next round sees it as it is then.
      if (cur !== x) continue;
      await this.record([{ entry: { t: 'snapshot', inv: x.inv }, payloads: answer ? [body, answer] : [body] }]);
    }
  }

  /** Appends entries and applies them to the index once durable (`early`: applied at once). */
  private async record(entries: NewEntry[], early = false): Promise<(Indexed | undefined)[]> {
    const journal = this.journal!;
    if (early) {
      // Applied now with a provisional place: these entries carry no payload, so the place is never read.
      const applied = entries.map((x) =>
        this.apply(x.entry, { entry: x.entry }, { shard: -1, seq: -1, at: Date.now() }),
      );
      await journal.append(entries);
      return applied;
    }
    const appended = await journal.append(entries);
    return appended.map((a, i) => this.apply(entries[i].entry, a.decoded, a.place));
  }

  private apply(
    entry: JournalEntry,
    decoded: Parameters<InvocationIndex['apply']>[0],
    place: Parameters<InvocationIndex['apply']>[1],
  ): Indexed | undefined {
    if (entry.t === 'snapshot') {
      // A snapshot applies only over the invocation it was taken of (compact() checked; re-checked here).
      const cur = this.index.get(entry.inv.id);
      if (!cur || cur.inv !== entry.inv) return cur;
    }
    return this.index.apply(decoded, place);
  }

  /** The bytes at a locator; throws when the journal no longer holds them (a bug: compaction keeps them). */
  private async readSpan(at: Locator): Promise<Buffer> {
    const data = await this.journal!.read(at.shard, at.seq);
    if (!data) throw new Error(`The journal no longer holds record ${at.seq} of shard ${at.shard}`);
    return data.subarray(at.offset, at.offset + at.length);
  }

  /** Notes an attempt's end for the function's rate (a 10 s exponentially decaying average). */
  private noteEnd(fnKey: string, at: number): void {
    const r = this.endRate.get(fnKey) ?? { rate: 0, at };
    const decay = Math.exp(-(at - r.at) / 10_000);
    this.endRate.set(fnKey, { rate: r.rate * decay + 0.1, at });
  }

  /** Attempts ended per second lately. */
  private rateOf(fnKey: string): number {
    const r = this.endRate.get(fnKey);
    return r ? r.rate * Math.exp(-(Date.now() - r.at) / 10_000) : 0;
  }

  /** For tests and the bench: what is kept, by state. */
  stats(): { kept: number; orphans: number } {
    return { kept: this.index.size, orphans: this.orphans.size };
  }

  /** True when the invocation is ended (tests). */
  isEnded(id: string): boolean {
    const x = this.index.get(id);
    return !!x && isFinal(x.inv.state);
  }
}
