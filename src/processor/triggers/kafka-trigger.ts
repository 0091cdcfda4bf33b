/**
 * The `kafka-cluster` trigger (Nuclio's Kafka trigger), with kafkajs: a member of `consumerGroup` reading
 * `topics`; Kafka spreads the partitions over the group's members, so the replicas share them. kafkajs is
 * pure JavaScript; Confluent's client needs a native library downloaded at install time, which these
 * machines cannot fetch.
 *
 * - An event per record: body = the value, key = the key (UTF-8), headers = the record's headers, path
 *   and topic = the topic, shard id = the partition, offset = the offset, timestamp = the record's.
 * - At least once: each partition's records are handled in order, a partition per worker at a time (up to
 *   `numWorkers` partitions side by side); a record's offset is marked only after its handler succeeded
 *   (a failure is retried with back-off, never skipped), and marked offsets are committed every second and
 *   when the replica stops or loses the partition in a rebalance. A crash redelivers what was not committed.
 * - Where a group with no committed offset starts: `initialOffset` (default latest, as Nuclio's code).
 * - `balanceStrategy` range and sticky are consumed with kafkajs's round-robin assigner (the only one it
 *   ships); `workerAllocationMode` static behaves as pool (records of a partition stay in order either way).
 */
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaConfig } from 'kafkajs';
import { kafkaTriggerConfig, type KafkaTriggerConfig } from '../../resources/broker-triggers/kafka.js';
import {
  brokerTrigger,
  headerText,
  messageEvent,
  type BrokerClient,
  type BrokerSession,
  type ConsumerHandle,
} from './broker-consumer.js';
import type { TriggerContext, TriggerFactory } from './trigger.js';

const CONNECT_TIMEOUT_MS = 5_000;

class KafkaClient implements BrokerClient {
  readonly target: string;

  constructor(
    private readonly cfg: KafkaTriggerConfig,
    private readonly ctx: TriggerContext,
    private readonly handle: ConsumerHandle,
  ) {
    this.target = `${cfg.brokers.join(',')} (topics ${cfg.topics.join(', ')}, consumer group ${cfg.groupId})`;
  }

  async connect(): Promise<BrokerSession> {
    const { cfg, ctx } = this;
    const log = ctx.log;
    const config: KafkaConfig = {
      clientId: `nuclio-${ctx.fn?.namespace ?? ''}-${ctx.fn?.name ?? ''}-${ctx.name}`,
      brokers: cfg.brokers,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      // Few retries inside kafkajs: an outage surfaces to the trigger, which reconnects with back-off.
      retry: { initialRetryTime: Math.min(cfg.retryBackoffMs, 1_000), retries: 3 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const text = `kafka-cluster trigger ${ctx.name}: ${entry.message}`;
          if (level <= logLevel.ERROR) log.error(text);
          else log.warn(text);
        },
      ...(cfg.sasl ? { sasl: cfg.sasl as KafkaConfig['sasl'] } : {}),
      ...(cfg.tls
        ? { ssl: { rejectUnauthorized: cfg.tls.rejectUnauthorized, ...(cfg.tls.ca ? { ca: [cfg.tls.ca] } : {}) } }
        : {}),
    };
    const consumer: Consumer = new Kafka(config).consumer({
      groupId: cfg.groupId,
      sessionTimeout: cfg.sessionTimeoutMs,
      heartbeatInterval: cfg.heartbeatIntervalMs,
      rebalanceTimeout: cfg.rebalanceTimeoutMs,
      maxWaitTimeInMs: cfg.maxWaitTimeMs,
      minBytes: cfg.minBytes,
      maxBytesPerPartition: cfg.maxBytesPerPartition,
      ...(cfg.maxBytes > 0 ? { maxBytes: cfg.maxBytes } : {}),
      retry: { retries: 3, restartOnFailure: async () => false },
    });
    let settleLost!: (reason: string) => void;
    const lost = new Promise<string>((r) => {
      settleLost = r;
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) settleLost(e.payload.error?.message ?? 'the consumer crashed');
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: cfg.topics, fromBeginning: cfg.fromBeginning });
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1_000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, ctx.spec.numWorkers ?? 1),
        eachBatch: (payload) => this.onBatch(payload),
      });
    } catch (e) {
      await consumer.disconnect().catch(() => {});
      throw e;
    }
    let stopped = false;
    return {
      lost,
      // Stops fetching; the batch in hand ends after its record in hand (see onBatch).
      stopIntake: async () => {
        stopped = true;
        await consumer.stop();
      },
      close: async () => {
        if (!stopped) await consumer.stop().catch(() => {});
        await consumer.disconnect();
      },
    };
  }

  /** A partition's records in order; each offset resolved only after its handler succeeded. */
  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (const record of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || this.handle.stopping) break;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(record.headers ?? {})) headers[k] = headerText(v);
      const event = messageEvent(this.ctx.spec.kind, this.ctx.name, {
        body: record.value ?? Buffer.alloc(0),
        ...(record.key ? { key: record.key.toString('utf8') } : {}),
        headers,
        path: batch.topic,
        topic: batch.topic,
        shardId: batch.partition,
        offset: Number(record.offset),
        timestamp: new Date(Number(record.timestamp)),
      });
      const ok = await this.handle.deliverUntilOk(
        event,
        `record ${record.offset} of ${batch.topic}/${batch.partition}`,
      );
      if (!ok) break;
      payload.resolveOffset(record.offset);
      await payload.heartbeat().catch(() => {});
    }
    await payload.commitOffsetsIfNecessary().catch(() => {});
  }
}

export const kafkaTrigger: TriggerFactory = (ctx) => {
  const fn = ctx.fn ?? { namespace: 'nuclio', name: 'function', labels: {}, annotations: {} };
  const cfg = kafkaTriggerConfig(ctx.name, ctx.spec, fn);
  return brokerTrigger(ctx, { kind: ctx.spec.kind, client: (handle) => new KafkaClient(cfg, ctx, handle) });
};
