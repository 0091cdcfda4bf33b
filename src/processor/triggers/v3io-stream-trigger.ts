/**
 * The v3ioStream trigger (spec §10): consumes a sharded stream as a member of a consumer group.
 *
 * It speaks the V3IO streams web API (Seek and GetRecords on `<url>/<container>/<stream path>/<shard>`),
 * plus the consumer-group operations of Protium's embedded stream service (src/streams/v3io-routes.ts:
 * Heartbeat, CommitOffset, LeaveGroup). By default `url` is the dashboard's stream service
 * (`$PROTIUM_DASHBOARD_URL/v3io`), to which it sends the stream credential the dashboard gave the replica
 * (when the dashboard has a token); a url elsewhere gets the trigger's own `secret` or user and password.
 *
 * - Membership: every replica is a member (`<replica name>:<pid>:<random>`) and heartbeats every
 *   `heartbeatInterval`; the service divides the shards among live members and moves them by hand-off
 *   when replicas come and go (a member that misses `sessionTimeout` is dropped and its shards reassigned).
 * - Each shard owned is read in order, `readBatchSize` records per GetRecords (the next batch is fetched
 *   while this one is handled), waiting `pollingIntervalMs` when the shard has nothing new. Records of one
 *   shard are handled one after the other; shards run side by side on the trigger's `numWorkers` workers.
 * - Records become events: body = the record's data, `shard_id`, `num_shards`, `offset` = its sequence
 *   number, timestamp = its arrival, trigger kind `v3ioStream` and the trigger's name.
 * - At least once: a record counts as done when the handler answers below 500 (and not 408, a timeout);
 *   a 5xx or a thrown error retries the same record with back-off (100 ms doubling to 5 s), for as long as
 *   the shard is ours — never skipping it. The committed sequence number (the last record done, with every
 *   record before it) is sent at most every `sequenceNumberCommitInterval` and when a shard is handed
 *   over or the replica stops, so a crash redelivers at most that interval's records.
 * - `X-Nuclio-Stream-No-Ack` in a handler's answer: that record is not acknowledged. The trigger moves on
 *   to the next records, but the committed sequence number stays before the first unacknowledged record
 *   for as long as this member consumes the shard, so after a restart or a rebalance consumption resumes
 *   at that record (Protium has no explicit-ack call that would acknowledge it later).
 *
 * Where to start when the group has committed nothing in a shard: `seekTo` `latest` (Nuclio's default) or
 * `earliest`. With `latest`, the first member commits the shard's end at once, so that any later owner
 * starts from the same place instead of skipping what arrived in between.
 */
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Trigger as TriggerSpec } from '../../resources/types.js';
import { parseDuration } from '../../util/duration.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import type { Trigger, TriggerContext, TriggerFactory } from './trigger.js';

/** The trigger's settings, resolved from the trigger spec (attribute names are matched case-insensitively). */
export interface StreamTriggerConfig {
  /** The web API's base URL (`http://host:port/v3io` for the dashboard's stream service). */
  url: string;
  containerName: string;
  /** Without outer slashes. */
  streamPath: string;
  consumerGroup: string;
  seekTo: 'earliest' | 'latest';
  readBatchSize: number;
  pollingIntervalMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  commitIntervalMs: number;
  /** Headers for a real V3IO web API (`X-v3io-session-key` from `secret`, or basic auth). */
  authHeaders: Record<string, string>;
}

const DEFAULTS = { readBatchSize: 64, pollingIntervalMs: 500, sessionTimeout: '10s', heartbeatInterval: '3s', sequenceNumberCommitInterval: '1s' };
const MAX_BACKOFF_MS = 5_000;

/** Failure back-off: 100 ms doubling to 5 s. */
export const retryDelay = (attempt: number): number => Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempt, 16));

/**
 * Resolves a trigger spec into settings; throws an Error that says which attribute is wrong. `streamToken`
 * is the dashboard's stream credential: sent to the dashboard's own stream service only.
 */
export function streamTriggerConfig(spec: TriggerSpec, dashboardUrl: string | undefined, streamToken?: string): StreamTriggerConfig {
  const attrs = spec.attributes ?? {};
  const lower = new Map(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), v]));
  const attr = (name: string): unknown => lower.get(name.toLowerCase());
  const str = (name: string): string => {
    const v = attr(name);
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new Error(`attributes.${name} must be a string, got ${JSON.stringify(v)}`);
    return v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = attr(name);
    if (raw === undefined || raw === null || raw === '' || raw === 0) return fallback;
    const v = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new Error(`attributes.${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const duration = (name: string, fallback: string): number => {
    const raw = attr(name);
    const text = raw === undefined || raw === null || raw === '' ? fallback : raw;
    const ms = typeof text === 'string' ? parseDuration(text) : undefined;
    if (ms === undefined || ms <= 0) throw new Error(`attributes.${name} must be a duration such as "${fallback}", got ${JSON.stringify(raw)}`);
    return ms;
  };

  let url = (spec.url ?? '').trim();
  let containerName = str('containerName');
  let streamPath = str('streamPath');
  let consumerGroup = str('consumerGroup');
  // Nuclio's older form: url = http://host:port/<container>/<stream path>@<consumer group>.
  if (!containerName && !streamPath && !consumerGroup && url.includes('@')) {
    const u = new URL(url);
    const [path, group] = decodeURIComponent(u.pathname).split('@');
    let rest = (path ?? '').replace(/^\/+/, '');
    let base = u.origin;
    // The dashboard's own service lives under /v3io.
    if (rest.startsWith('v3io/')) { base += '/v3io'; rest = rest.slice(5); }
    const slash = rest.indexOf('/');
    if (!group || slash < 0) throw new Error(`url ${JSON.stringify(url)} must look like http://host:port/<container>/<stream path>@<consumer group>`);
    url = base;
    containerName = rest.slice(0, slash);
    streamPath = rest.slice(slash + 1);
    consumerGroup = group;
  }
  if (!url) {
    if (!dashboardUrl) throw new Error('url is not set and PROTIUM_DASHBOARD_URL is not known');
    url = `${dashboardUrl.replace(/\/+$/, '')}/v3io`;
  }
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new Error(`url must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  streamPath = streamPath.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!containerName) throw new Error('attributes.containerName must be set');
  if (!streamPath) throw new Error('attributes.streamPath must be set');
  if (!consumerGroup) throw new Error('attributes.consumerGroup must be set');
  const seekTo = (str('seekTo') || 'latest').toLowerCase();
  if (seekTo !== 'latest' && seekTo !== 'earliest') throw new Error(`attributes.seekTo must be "earliest" or "latest", got ${JSON.stringify(attr('seekTo'))}`);

  const sessionTimeoutMs = duration('sessionTimeout', DEFAULTS.sessionTimeout);
  let heartbeatIntervalMs = duration('heartbeatInterval', DEFAULTS.heartbeatInterval);
  // A member must beat several times per session, or it would lose its shards between two beats.
  if (heartbeatIntervalMs > sessionTimeoutMs / 3) heartbeatIntervalMs = Math.max(50, Math.floor(sessionTimeoutMs / 3));

  const authHeaders: Record<string, string> = {};
  if (streamToken && dashboardUrl && isUnder(url, `${dashboardUrl.replace(/\/+$/, '')}/v3io`)) authHeaders.authorization = `Bearer ${streamToken}`;
  else if (typeof spec.secret === 'string' && spec.secret) authHeaders['x-v3io-session-key'] = spec.secret;
  else if (spec.username && spec.password) authHeaders.authorization = `Basic ${Buffer.from(`${spec.username}:${spec.password}`).toString('base64')}`;

  return {
    url,
    containerName,
    streamPath,
    consumerGroup,
    seekTo,
    readBatchSize: int('readBatchSize', DEFAULTS.readBatchSize, 1, 10_000),
    pollingIntervalMs: int('pollingIntervalMs', DEFAULTS.pollingIntervalMs, 1, 3_600_000),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    commitIntervalMs: duration('sequenceNumberCommitInterval', DEFAULTS.sequenceNumberCommitInterval),
    authHeaders,
  };
}

/** True when `url` is `base` or below it (same origin, path on a segment boundary). */
function isUnder(url: string, base: string): boolean {
  try {
    const u = new URL(url);
    const b = new URL(base);
    const path = u.pathname.replace(/\/+$/, '');
    return u.origin === b.origin && (path === b.pathname || path.startsWith(`${b.pathname}/`));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the web API client

/** A failed call: `status` is the HTTP status (0 when the service could not be reached). */
export class StreamCallError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'StreamCallError';
  }
}

interface HeartbeatAnswer { ShardCount: number; Shards: number[]; Release: number[]; Committed: (number | null)[]; Current: number[] }
interface WireRecord { ArrivalTimeSec: number; ArrivalTimeNSec: number; SequenceNumber: number; Data: string }
interface GetRecordsAnswer { NextLocation: string; Records: WireRecord[] }

/** POSTs JSON to `<url>/<container>/<stream path>/[<shard>]` with `X-v3io-function`, over keep-alive connections. */
class StreamClient {
  private agent?: http.Agent;
  private request?: typeof http.request;
  private readonly base: URL;
  private readonly prefix: string;

  constructor(private readonly cfg: StreamTriggerConfig) {
    this.base = new URL(cfg.url);
    this.prefix = `${this.base.pathname.replace(/\/+$/, '')}/${encodeURIComponent(cfg.containerName)}/${cfg.streamPath.split('/').map(encodeURIComponent).join('/')}/`;
  }

  /** Loads the transport (https only when the url needs it: it costs start time). */
  async open(): Promise<void> {
    const mod = this.base.protocol === 'https:' ? (await import('node:https')).default : http;
    this.agent = new mod.Agent({ keepAlive: true, maxSockets: 64 });
    this.request = mod.request as typeof http.request;
  }

  call<T>(fn: string, body: unknown, shard?: number, timeoutMs = 10_000): Promise<T> {
    const payload = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = this.request!({
        host: this.base.hostname.replace(/^\[|\]$/g, ''),
        port: this.base.port || undefined,
        path: `${this.prefix}${shard === undefined ? '' : shard}`,
        method: 'POST',
        agent: this.agent,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-v3io-function': fn, ...this.cfg.authHeaders },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new StreamCallError(0, `${fn} failed: ${e.message}`)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
          if (status >= 200 && status < 300) resolve(json as T);
          else reject(new StreamCallError(status, `${fn} answered ${status}: ${json?.error ?? json?.ErrorMessage ?? text.slice(0, 300)}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => reject(new StreamCallError(0, `${fn} failed: ${e.message}`)));
      req.end(payload);
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}

// ---------------------------------------------------------------- the trigger

/** The member id: `<replica name>:<pid>:<random>` (a restarted replica is a new member). */
function defaultMemberId(): string {
  let replica = hostname();
  try {
    const path = process.env.PROTIUM_PROCESSOR_CONFIG;
    if (path) replica = (JSON.parse(readFileSync(path, 'utf8')) as { replica?: string }).replica || replica;
  } catch { /* standalone */ }
  return `${replica}:${process.pid}:${randomBytes(2).toString('hex')}`;
}

const hasNoAck = (headers: Record<string, string>) => Object.keys(headers).some((k) => k.toLowerCase() === 'x-nuclio-stream-no-ack');

/** Options for tests: a fixed member id, and the dashboard URL instead of PROTIUM_DASHBOARD_URL. */
export interface StreamTriggerOptions {
  memberId?: string;
  dashboardUrl?: string;
}

class V3ioStreamTrigger implements Trigger {
  readonly kind = 'v3ioStream';
  readonly name: string;
  readonly cfg: StreamTriggerConfig;
  readonly memberId: string;
  readonly client: StreamClient;
  shardCount = 0;
  private readonly consumers = new Map<number, ShardConsumer>();
  private readonly toRelease = new Set<number>();
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  private again = false;
  private stopping = false;
  private lastBeatOk = Date.now();
  private lastWarn = 0;

  constructor(readonly ctx: TriggerContext, opts: StreamTriggerOptions = {}) {
    this.name = ctx.name;
    try {
      this.cfg = streamTriggerConfig(ctx.spec, opts.dashboardUrl ?? process.env.PROTIUM_DASHBOARD_URL, ctx.streamToken);
    } catch (e) {
      throw new Error(`v3ioStream trigger ${ctx.name}: ${(e as Error).message}`);
    }
    this.memberId = opts.memberId ?? defaultMemberId();
    this.client = new StreamClient(this.cfg);
  }

  /** The shards this member consumes now. */
  get shards(): number[] {
    return [...this.consumers.keys()].sort((a, b) => a - b);
  }

  /** Joins the group (fails the replica, with the reason, when the stream cannot be used). */
  async start(): Promise<void> {
    await this.client.open();
    try {
      await this.beat();
    } catch (e) {
      this.client.close();
      throw new Error(`v3ioStream trigger ${this.name} cannot join consumer group ${this.cfg.consumerGroup} of ${this.cfg.containerName}/${this.cfg.streamPath} at ${this.cfg.url}: ${(e as Error).message}`);
    }
    this.ctx.log.info(`v3ioStream trigger ${this.name} joined consumer group ${this.cfg.consumerGroup} of ${this.cfg.containerName}/${this.cfg.streamPath} as ${this.memberId}`, { shards: this.shards });
    this.schedule(this.cfg.heartbeatIntervalMs);
  }

  /** One heartbeat: reports released shards, then starts and stops shard consumers as the answer says. */
  private async beat(): Promise<void> {
    const release = [...this.toRelease];
    const a = await this.client.call<HeartbeatAnswer>('Heartbeat', {
      ConsumerGroup: this.cfg.consumerGroup,
      MemberId: this.memberId,
      SessionTimeoutMs: this.cfg.sessionTimeoutMs,
      Release: release,
    });
    for (const s of release) this.toRelease.delete(s);
    this.lastBeatOk = Date.now();
    this.shardCount = a.ShardCount;
    if (this.stopping) return;
    const keep = new Set(a.Shards);
    for (const s of a.Shards) {
      if (!this.consumers.has(s)) this.startShard(s, a.Committed[s] ?? null, a.Current[s] ?? 0);
    }
    for (const [s, c] of this.consumers) if (!keep.has(s)) this.stopShard(s, c);
    for (const s of a.Release) {
      if (!this.consumers.has(s) && !this.toRelease.has(s)) {
        this.toRelease.add(s);
        this.nudge();
      }
    }
  }

  private schedule(delay: number): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  /** A heartbeat soon (a shard was handed back). */
  private nudge(): void {
    if (this.beating) this.again = true;
    else this.schedule(0);
  }

  private tick(): void {
    if (this.stopping) return;
    if (this.beating) { this.again = true; return; }
    this.beating = this.beat().catch((e) => this.beatFailed(e as Error)).finally(() => {
      this.beating = undefined;
      const soon = this.again;
      this.again = false;
      this.schedule(soon ? 0 : this.cfg.heartbeatIntervalMs);
    });
  }

  private beatFailed(e: Error): void {
    this.warn(`v3ioStream trigger ${this.name}: heartbeat failed: ${e.message}`);
    // Without heartbeats for a whole session our shards are someone else's: stop consuming them.
    if (Date.now() - this.lastBeatOk > this.cfg.sessionTimeoutMs) {
      for (const [s, c] of this.consumers) this.stopShard(s, c);
    }
  }

  /** Logs a warning at most every 10 s (a service that is down would flood the log). */
  warn(message: string): void {
    if (Date.now() - this.lastWarn < 10_000) return;
    this.lastWarn = Date.now();
    this.ctx.log.warn(message);
  }

  private startShard(shard: number, committed: number | null, current: number): void {
    this.ctx.log.info(`v3ioStream trigger ${this.name}: consuming shard ${shard}`, { committed, current });
    this.consumers.set(shard, new ShardConsumer(this, shard, committed, current));
  }

  /** Stops a shard's consumer (it finishes the record in hand and commits), then hands the shard back. */
  private stopShard(shard: number, c: ShardConsumer): void {
    if (c.stopRequested) return;
    void c.stop().then(() => {
      if (this.consumers.get(shard) === c) this.consumers.delete(shard);
      if (this.stopping) return;
      this.ctx.log.info(`v3ioStream trigger ${this.name}: handed shard ${shard} back`);
      this.toRelease.add(shard);
      this.nudge();
    });
  }

  /** Stops consuming: records in hand finish (up to `graceMs`), offsets are committed, the member leaves. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const stopped = Promise.all([...this.consumers.values()].map((c) => c.stop()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopped, new Promise((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
    await this.beating?.catch(() => {});
    await this.client.call('LeaveGroup', { ConsumerGroup: this.cfg.consumerGroup, MemberId: this.memberId }, undefined, 2_000).catch(() => {});
    this.client.close();
  }
}

/** One shard consumed in order: fetch, handle each record (retrying failures), commit. */
class ShardConsumer {
  stopRequested = false;
  private wake?: () => void;
  /** The last record done, with every record before it (null: none yet and nothing committed). */
  private done: number | null;
  private committed: number | null;
  /** A record was not acknowledged: `done` stays where it is. */
  private blocked = false;
  /** A commit was refused: the shard is no longer ours, commit nothing more. */
  private lost = false;
  private lastCommit = Date.now();
  private committing?: Promise<void>;
  private readonly finished: Promise<void>;

  constructor(private readonly t: V3ioStreamTrigger, readonly shard: number, committed: number | null, private readonly current: number) {
    this.done = committed;
    this.committed = committed;
    this.finished = this.run().catch((e) => t.ctx.log.error(`v3ioStream trigger ${t.name}: shard ${shard} stopped: ${(e as Error).stack ?? e}`));
  }

  /** Stops after the record in hand; resolves once the last commit was attempted. */
  stop(): Promise<void> {
    this.stopRequested = true;
    this.wake?.();
    return this.finished;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }

  private seek(body: Record<string, unknown>): Promise<{ Location: string }> {
    return this.t.client.call<{ Location: string }>('Seek', body, this.shard);
  }

  /** Where to start: after the committed record, else where seekTo says. Undefined when stopped first. */
  private async startLocation(): Promise<string | undefined> {
    for (let attempt = 0; !this.stopRequested; attempt++) {
      try {
        if (this.done !== null) {
          try {
            return (await this.seek({ Type: 'SEQUENCE', StartingSequenceNumber: this.done + 1 })).Location;
          } catch (e) {
            if ((e as StreamCallError).status !== 400) throw e;
            this.t.ctx.log.warn(`v3ioStream trigger ${this.t.name}: shard ${this.shard} no longer holds the record after the committed ${this.done} (retention?): starting at its earliest record`);
            return (await this.seek({ Type: 'EARLIEST' })).Location;
          }
        }
        if (this.t.cfg.seekTo === 'earliest') return (await this.seek({ Type: 'EARLIEST' })).Location;
        // latest: record the starting point first, so that a later owner starts here too.
        this.done = this.current;
        await this.commit();
        if (this.stopRequested) return undefined;
        return (await this.seek({ Type: 'SEQUENCE', StartingSequenceNumber: this.current + 1 })).Location;
      } catch (e) {
        this.t.warn(`v3ioStream trigger ${this.t.name}: cannot seek in shard ${this.shard}: ${(e as Error).message}`);
        await this.sleep(retryDelay(attempt));
      }
    }
    return undefined;
  }

  /** GetRecords that never rejects (a failure is returned). */
  private fetch(location: string): Promise<GetRecordsAnswer | StreamCallError> {
    return this.t.client.call<GetRecordsAnswer>('GetRecords', { Location: location, Limit: this.t.cfg.readBatchSize }, this.shard)
      .catch((e) => (e instanceof StreamCallError ? e : new StreamCallError(0, String(e))));
  }

  private async run(): Promise<void> {
    let location = await this.startLocation();
    if (location === undefined) return this.finish();
    let next = this.fetch(location);
    let failures = 0;
    while (!this.stopRequested) {
      const r = await next;
      if (this.stopRequested) break;
      if (r instanceof StreamCallError) {
        this.t.warn(`v3ioStream trigger ${this.t.name}: reading shard ${this.shard} failed: ${r.message}`);
        if (r.status === 400) {
          // The location is no good any more (the stream was recreated): start again from the commit.
          location = await this.startLocation();
          if (location === undefined) break;
        } else {
          await this.sleep(retryDelay(failures++));
        }
        next = this.fetch(location);
        continue;
      }
      failures = 0;
      if (!r.Records.length) {
        this.maybeCommit();
        await this.sleep(this.t.cfg.pollingIntervalMs);
        next = this.fetch(location);
        continue;
      }
      location = r.NextLocation;
      next = this.fetch(location);
      for (const rec of r.Records) {
        const outcome = await this.handle(rec);
        if (outcome === 'aborted') break;
        if (outcome === 'noack') this.blocked = true;
        else if (!this.blocked) this.done = rec.SequenceNumber;
        this.maybeCommit();
      }
    }
    await this.finish();
  }

  private event(rec: WireRecord): NuclioEvent {
    return {
      id: randomUUID(),
      trigger: { kind: 'v3ioStream', name: this.t.name, class: 'async' },
      method: 'POST',
      path: '/',
      url: '',
      headers: {},
      fields: {},
      contentType: '',
      body: Buffer.from(rec.Data, 'base64'),
      timestamp: new Date(rec.ArrivalTimeSec * 1000 + Math.floor(rec.ArrivalTimeNSec / 1e6)),
      shardId: this.shard,
      numShards: this.t.shardCount,
      offset: rec.SequenceNumber,
    };
  }

  /** Runs a record until the handler succeeds; 'aborted' when the consumer stops first. */
  private async handle(rec: WireRecord): Promise<'ack' | 'noack' | 'aborted'> {
    const event = this.event(rec);
    const { pool, submit, log } = this.t.ctx;
    for (let attempt = 0; ; attempt++) {
      if (this.stopRequested) return 'aborted';
      let result: HandlerResult | undefined;
      let failure: string;
      try {
        result = await pool.run(0, (id) => submit(event, id));
      } catch (e) {
        result = undefined;
        failure = (e as Error).message;
      }
      if (result && result.status < 500 && result.status !== 408) return hasNoAck(result.headers) ? 'noack' : 'ack';
      failure ??= `the handler answered ${result!.status}: ${result!.body.toString().slice(0, 300)}`;
      const delay = retryDelay(attempt);
      if (attempt < 3 || attempt % 20 === 0) {
        log.error(`v3ioStream trigger ${this.t.name}: record ${rec.SequenceNumber} of shard ${this.shard} failed (${failure}); retrying in ${delay} ms`, { attempt: attempt + 1 });
      }
      this.maybeCommit();
      await this.sleep(delay);
    }
  }

  /** Commits when there is something new and the commit interval has passed (without waiting for it). */
  private maybeCommit(): void {
    if (this.committing || this.done === null || this.done === this.committed) return;
    if (Date.now() - this.lastCommit < this.t.cfg.commitIntervalMs) return;
    this.committing = this.commit().finally(() => { this.committing = undefined; });
  }

  private async commit(): Promise<void> {
    const seq = this.done;
    if (seq === null || seq === this.committed || this.lost) return;
    this.lastCommit = Date.now();
    try {
      await this.t.client.call('CommitOffset', { ConsumerGroup: this.t.cfg.consumerGroup, MemberId: this.t.memberId, ShardId: this.shard, SequenceNumber: seq });
      this.committed = seq;
    } catch (e) {
      if ((e as StreamCallError).status === 409) {
        // The shard is someone else's now (our session lapsed): stop, and let its owner go on.
        this.t.ctx.log.warn(`v3ioStream trigger ${this.t.name}: shard ${this.shard} was reassigned; stopping it (${(e as Error).message})`);
        this.lost = true;
        this.stopRequested = true;
        this.wake?.();
      } else {
        this.t.warn(`v3ioStream trigger ${this.t.name}: committing ${seq} in shard ${this.shard} failed: ${(e as Error).message}`);
      }
    }
  }

  private async finish(): Promise<void> {
    await this.committing;
    await this.commit();
  }
}

/** Builds the trigger with its settings from the trigger spec and the replica's environment. */
export function createV3ioStreamTrigger(ctx: TriggerContext, opts: StreamTriggerOptions = {}): Trigger & { readonly shards: number[]; readonly memberId: string } {
  return new V3ioStreamTrigger(ctx, opts);
}

export const v3ioStreamTrigger: TriggerFactory = (ctx) => new V3ioStreamTrigger(ctx);
