/**
 * The v3ioStream trigger: consumes a sharded stream as a member of a consumer group.
 *
 * It speaks the V3IO streams web API (Seek and GetRecords on `<url>/<container>/<stream path>/<shard>`),
 * plus the consumer-group operations of Protium's embedded stream service (Heartbeat, CommitOffset,
 * LeaveGroup; the wire protocol: streams/v3io-wire.ts). Its parts: the settings (v3io-stream-config.ts),
 * the client (v3io-stream-client.ts), one consumer per shard (v3io-shard-consumer.ts), and here the
 * membership that decides which shards this replica consumes. By default `url` is the dashboard's stream service
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
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ShardConsumer } from './v3io-shard-consumer.js';
import { StreamClient } from './v3io-stream-client.js';
import { streamTriggerConfig, type StreamTriggerConfig } from './v3io-stream-config.js';
import type { Trigger, TriggerContext, TriggerFactory } from './trigger.js';

/** The member id: `<replica name>:<pid>:<random>` (a restarted replica is a new member). */
function defaultMemberId(): string {
  let replica = hostname();
  try {
    const path = process.env.PROTIUM_PROCESSOR_CONFIG;
    if (path) replica = (JSON.parse(readFileSync(path, 'utf8')) as { replica?: string }).replica || replica;
  } catch {
    /* standalone */
  }
  return `${replica}:${process.pid}:${randomBytes(2).toString('hex')}`;
}

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

  constructor(
    readonly ctx: TriggerContext,
    opts: StreamTriggerOptions = {},
  ) {
    this.name = ctx.name;
    try {
      this.cfg = streamTriggerConfig(ctx.spec, opts.dashboardUrl ?? process.env.PROTIUM_DASHBOARD_URL, ctx.streamToken);
    } catch (e) {
      throw new Error(`v3ioStream trigger ${ctx.name}: ${(e as Error).message}`, { cause: e });
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
      throw new Error(
        `v3ioStream trigger ${this.name} cannot join consumer group ${this.cfg.consumerGroup} ` +
          `of ${this.cfg.containerName}/${this.cfg.streamPath} at ${this.cfg.url}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.ctx.log.info(
      `v3ioStream trigger ${this.name} joined consumer group ${this.cfg.consumerGroup} ` +
        `of ${this.cfg.containerName}/${this.cfg.streamPath} as ${this.memberId}`,
      { shards: this.shards },
    );
    this.schedule(this.cfg.heartbeatIntervalMs);
  }

  /** One heartbeat: reports released shards, then starts and stops shard consumers as the answer says. */
  private async beat(): Promise<void> {
    const release = [...this.toRelease];
    const a = await this.client.heartbeat({
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
    if (this.beating) {
      this.again = true;
      return;
    }
    this.beating = this.beat()
      .catch((e) => this.beatFailed(e as Error))
      .finally(() => {
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
    await Promise.race([
      stopped,
      new Promise((r) => {
        timer = setTimeout(r, graceMs);
      }),
    ]);
    clearTimeout(timer);
    await this.beating?.catch(() => {});
    await this.client
      .leaveGroup({ ConsumerGroup: this.cfg.consumerGroup, MemberId: this.memberId }, 2_000)
      .catch(() => {});
    this.client.close();
  }
}

/** Builds the trigger with its settings from the trigger spec and the replica's environment. */
export function createV3ioStreamTrigger(
  ctx: TriggerContext,
  opts: StreamTriggerOptions = {},
): Trigger & { readonly shards: number[]; readonly memberId: string } {
  return new V3ioStreamTrigger(ctx, opts);
}

export const v3ioStreamTrigger: TriggerFactory = (ctx) => new V3ioStreamTrigger(ctx);
