/**
 * The `rabbit-mq` trigger (Nuclio's RabbitMQ trigger), with amqplib: declares what Nuclio declares (the
 * queue, and with `topics` a topic exchange and the queue's bindings; see
 * resources/broker-triggers/rabbitmq.ts) and consumes the queue with manual acknowledgements. The replicas
 * are competing consumers of the one queue.
 *
 * - An event per message: body = the content, content type and headers from its properties, id = its
 *   message id, method = its type, path = `<exchange>/<routing key>`, topic = the routing key, url = its
 *   reply-to, timestamp = its timestamp (as Nuclio's event gives them).
 * - Acknowledged after the handler succeeds. On failure, per `onError`: `ack` drops it; `nack` (the default)
 *   rejects it, back into the queue when `requeueOnError` is true (after a back-off pause, so a message that
 *   always fails does not spin), else to the queue's dead-letter exchange or nowhere.
 * - Prefetch: at most `prefetchCount` (default: the worker count) unacknowledged messages per replica.
 * - A replica that dies leaves its unacknowledged messages to the broker, which gives them to another
 *   consumer. Stopping cancels the consumer, finishes and acknowledges the messages in hand, then closes.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { rabbitTriggerConfig, type RabbitTriggerConfig } from '../../resources/broker-triggers/rabbitmq.js';
import {
  backoffMs,
  brokerTrigger,
  headerText,
  messageEvent,
  type BrokerClient,
  type BrokerSession,
  type ConsumerHandle,
} from './broker-consumer.js';
import type { TriggerContext, TriggerFactory } from './trigger.js';

const CONNECT_TIMEOUT_MS = 5_000;
const HEARTBEAT_S = 10;

class RabbitClient implements BrokerClient {
  readonly target: string;
  /** Failures in a row: the back-off before a requeue grows with them. */
  private failures = 0;

  constructor(
    private readonly cfg: RabbitTriggerConfig,
    private readonly ctx: TriggerContext,
    private readonly handle: ConsumerHandle,
  ) {
    this.target =
      `${cfg.url} (queue ` +
      `${cfg.queue}${cfg.topics.length ? `, exchange ${cfg.exchange}, routing keys ${cfg.topics.join(', ')}` : ''})`;
  }

  async connect(): Promise<BrokerSession> {
    const { cfg } = this;
    const u = new URL(cfg.url);
    const vhost = decodeURIComponent(u.pathname.replace(/^\//, '')) || '/';
    const conn: ChannelModel = await amqp.connect(
      {
        protocol: u.protocol.replace(/:$/, ''),
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port ? Number(u.port) : u.protocol === 'amqps:' ? 5671 : 5672,
        vhost,
        heartbeat: HEARTBEAT_S,
        ...(cfg.username !== undefined ? { username: cfg.username, password: cfg.password ?? '' } : {}),
      },
      {
        timeout: CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: `nuclio-${this.ctx.fn?.name ?? ''}-${this.ctx.name}` },
      },
    );
    let settleLost!: (reason: string) => void;
    const lost = new Promise<string>((r) => {
      settleLost = r;
    });
    let lastError = '';
    conn.on('error', (e: Error) => {
      lastError = e.message;
    });
    conn.on('close', (e?: Error) => settleLost(e?.message || lastError || 'the broker closed the connection'));
    let ch: Channel;
    let consumerTag: string;
    try {
      ch = await conn.createChannel();
      ch.on('error', (e: Error) => {
        lastError = e.message;
      });
      // A channel closed by the broker (a queue deleted, a declaration refused) ends the session too.
      ch.on('close', () => settleLost(lastError || 'the broker closed the channel'));
      if (cfg.topics.length)
        await ch.assertExchange(cfg.exchange, 'topic', { durable: cfg.durableExchange, autoDelete: false });
      await ch.assertQueue(cfg.queue, { durable: cfg.durableQueue, autoDelete: false, exclusive: false });
      for (const key of cfg.topics) await ch.bindQueue(cfg.queue, cfg.exchange, key);
      if (cfg.prefetch > 0) await ch.prefetch(cfg.prefetch);
      const consumer = `${this.ctx.fn?.replica ?? `pid-${process.pid}`}-${this.ctx.name}`;
      ({ consumerTag } = await ch.consume(
        cfg.queue,
        (msg) => {
          if (msg) void this.onMessage(ch, msg);
          else settleLost(`the broker cancelled the consumer of queue ${cfg.queue} (was it deleted?)`);
        },
        { noAck: false, consumerTag: consumer },
      ));
    } catch (e) {
      await conn.close().catch(() => {});
      throw new Error(lastError || (e as Error).message, { cause: e });
    }
    return {
      lost,
      stopIntake: async () => {
        await ch.cancel(consumerTag);
      },
      close: async () => {
        await ch.close().catch(() => {});
        await conn.close().catch(() => {});
      },
    };
  }

  private async onMessage(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const p = msg.properties;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.headers ?? {})) headers[k] = headerText(v);
    const event = messageEvent(this.ctx.spec.kind, this.ctx.name, {
      body: msg.content,
      // amqplib types these properties as any: they are short strings when present.
      contentType: (p.contentType as string | undefined) ?? '',
      headers,
      ...(p.messageId ? { id: String(p.messageId) } : {}),
      method: p.type ? String(p.type) : '',
      path: `${msg.fields.exchange}/${msg.fields.routingKey}`,
      topic: msg.fields.routingKey,
      url: (p.replyTo as string | undefined) ?? '',
      ...(typeof p.timestamp === 'number' ? { timestamp: new Date(p.timestamp * 1000) } : {}),
    });
    const d = await this.handle.deliver(event);
    try {
      if (d.ok || this.cfg.onError === 'ack') {
        if (d.ok) this.failures = 0;
        ch.ack(msg);
        return;
      }
      const requeue = this.cfg.requeueOnError;
      if (requeue) {
        // A message that always fails would come straight back: pause before handing it back.
        await this.handle.sleep(backoffMs(this.failures++, 5_000));
      }
      ch.nack(msg, false, requeue);
    } catch {
      // The channel is gone: the broker requeues what was not acknowledged.
    }
  }
}

export const rabbitTrigger: TriggerFactory = (ctx) => {
  const fn = ctx.fn ?? { namespace: 'nuclio', name: 'function', labels: {}, annotations: {}, triggers: {} };
  const cfg = rabbitTriggerConfig(ctx.name, ctx.spec, fn);
  return brokerTrigger(ctx, {
    kind: ctx.spec.kind,
    client: (handle) => new RabbitClient(cfg, ctx, handle),
    maxBackoffMs: cfg.reconnectIntervalMs,
  });
};
