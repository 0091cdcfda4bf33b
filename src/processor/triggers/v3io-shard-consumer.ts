/**
 * One shard of a v3ioStream trigger, consumed in order (the trigger decides which shards: see
 * v3io-stream-trigger.ts). It starts after the group's committed record (else where `seekTo` says),
 * reads `readBatchSize` records per GetRecords with the next batch fetched while this one is handled,
 * handles each record until the handler succeeds (at least once: a 5xx, a 408 or a thrown error retries
 * the same record with back-off, never skipping it), and commits the last record done — with every
 * record before it — at most every `sequenceNumberCommitInterval`, and when it stops. A record answered
 * with `X-Nuclio-Stream-No-Ack` holds the commit before it for as long as this member has the shard.
 */
import { randomUUID } from 'node:crypto';
import type { GetRecordsAnswer, SeekAnswer, SeekRequest, WireRecord } from '../../streams/v3io-wire.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import { StreamCallError, type StreamClient } from './v3io-stream-client.js';
import type { StreamTriggerConfig } from './v3io-stream-config.js';
import type { TriggerContext } from './trigger.js';

const MAX_BACKOFF_MS = 5_000;

/** Failure back-off: 100 ms doubling to 5 s. */
export const retryDelay = (attempt: number): number => Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempt, 16));

const hasNoAck = (headers: Record<string, string>) =>
  Object.keys(headers).some((k) => k.toLowerCase() === 'x-nuclio-stream-no-ack');

/** What a shard consumer uses of its trigger. */
export interface ShardHost {
  readonly name: string;
  readonly cfg: StreamTriggerConfig;
  readonly client: StreamClient;
  readonly ctx: TriggerContext;
  readonly memberId: string;
  /** The stream's shard count as the last heartbeat said. */
  readonly shardCount: number;
  /** Logs a warning, at most every 10 s. */
  warn(message: string): void;
}

/** One shard consumed in order: fetch, handle each record (retrying failures), commit. */
export class ShardConsumer {
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

  constructor(
    private readonly t: ShardHost,
    readonly shard: number,
    committed: number | null,
    private readonly current: number,
  ) {
    this.done = committed;
    this.committed = committed;
    this.finished = this.run().catch((e) =>
      t.ctx.log.error(`v3ioStream trigger ${t.name}: shard ${shard} stopped: ${(e as Error).stack ?? e}`),
    );
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
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private seek(body: SeekRequest): Promise<SeekAnswer> {
    return this.t.client.seek(this.shard, body);
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
            this.t.ctx.log.warn(
              `v3ioStream trigger ${this.t.name}: shard ${this.shard} no longer holds the record after the ` +
                `committed ${this.done} (retention?): starting at its earliest record`,
            );
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
    return this.t.client
      .getRecords(this.shard, { Location: location, Limit: this.t.cfg.readBatchSize })
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
        log.error(
          `v3ioStream trigger ${this.t.name}: record ${rec.SequenceNumber} of shard ${this.shard} failed ` +
            `(${failure}); retrying in ${delay} ms`,
          { attempt: attempt + 1 },
        );
      }
      this.maybeCommit();
      await this.sleep(delay);
    }
  }

  /** Commits when there is something new and the commit interval has passed (without waiting for it). */
  private maybeCommit(): void {
    if (this.committing || this.done === null || this.done === this.committed) return;
    if (Date.now() - this.lastCommit < this.t.cfg.commitIntervalMs) return;
    this.committing = this.commit().finally(() => {
      this.committing = undefined;
    });
  }

  private async commit(): Promise<void> {
    const seq = this.done;
    if (seq === null || seq === this.committed || this.lost) return;
    this.lastCommit = Date.now();
    try {
      await this.t.client.commitOffset({
        ConsumerGroup: this.t.cfg.consumerGroup,
        MemberId: this.t.memberId,
        ShardId: this.shard,
        SequenceNumber: seq,
      });
      this.committed = seq;
    } catch (e) {
      if ((e as StreamCallError).status === 409) {
        // The shard is someone else's now (our session lapsed): stop, and let its owner go on.
        this.t.ctx.log.warn(
          `v3ioStream trigger ${this.t.name}: shard ${this.shard} was reassigned; stopping it ` +
            `(${(e as Error).message})`,
        );
        this.lost = true;
        this.stopRequested = true;
        this.wake?.();
      } else {
        this.t.warn(
          `v3ioStream trigger ${this.t.name}: committing ${seq} in shard ${this.shard} failed: ${(e as Error).message}`,
        );
      }
    }
  }

  private async finish(): Promise<void> {
    await this.committing;
    await this.commit();
  }
}
