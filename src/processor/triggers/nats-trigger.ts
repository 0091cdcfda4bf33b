/**
 * The `nats` trigger (Nuclio's NATS trigger, core NATS): subscribes to `attributes.topic` in the queue
 * group `attributes.queueName` (by default one per function and trigger, so the replicas share the
 * messages), with the nats.js v2 client.
 *
 * - An event per message: body = the payload, path and topic = the subject, headers = the message's NATS
 *   headers (several values joined with ", "), trigger kind `nats` and the trigger's name.
 * - Request/reply: a message with a reply subject gets the handler's answer published there (its body, its
 *   headers and Content-Type as NATS headers), so `nc.request()` gets it. A failed handler's reply carries
 *   the error as the body and NATS's service-error headers (`Nats-Service-Error-Code: <status>`,
 *   `Nats-Service-Error`).
 * - Delivery is core NATS's: at most once. Nothing is redelivered; a failed handler is logged (and answered
 *   to a requester, who may retry). A message waits for a worker up to the trigger's
 *   `workerAvailabilityTimeoutMilliseconds` (10 s by default, as Nuclio), then is dropped with an error line.
 * - Stopping drains the subscription: messages already received still run and are answered.
 */
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from 'nats';
import { natsTriggerConfig, type NatsTriggerConfig } from '../../resources/broker-triggers/nats.js';
import type { HandlerResult } from '../event.js';
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
const DEFAULT_WORKER_WAIT_MS = 10_000;

class NatsClient implements BrokerClient {
  readonly target: string;

  constructor(
    private readonly cfg: NatsTriggerConfig,
    private readonly ctx: TriggerContext,
    private readonly handle: ConsumerHandle,
  ) {
    this.target = `${cfg.server} (subject ${cfg.subject}, queue group ${cfg.queue})`;
  }

  async connect(): Promise<BrokerSession> {
    const { cfg } = this;
    const nc = await connect({
      servers: cfg.server,
      ...(cfg.user !== undefined ? { user: cfg.user, pass: cfg.pass ?? '' } : {}),
      ...(cfg.token !== undefined ? { token: cfg.token } : {}),
      name: `nuclio-${this.ctx.fn?.namespace ?? ''}-${this.ctx.fn?.name ?? ''}-${this.ctx.name}`,
      // The trigger reconnects itself (with back-off, reporting the state); a silent client-side reconnect
      // would hide the outage from the function's status.
      reconnect: false,
      timeout: CONNECT_TIMEOUT_MS,
      pingInterval: 10_000,
      maxPingOut: 3,
    });
    const sub = nc.subscribe(cfg.subject, { queue: cfg.queue });
    const pump = (async () => {
      for await (const m of sub) void this.onMessage(nc, m);
    })().catch(() => {});
    try {
      // The subscription is registered once the server answered a ping after it.
      await nc.flush();
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
    const lost = nc.closed().then((err) => (err ? err.message : 'the server closed the connection'));
    return {
      lost,
      stopIntake: async () => {
        await sub.drain().catch(() => {});
        await pump;
      },
      close: async () => {
        if (!nc.isClosed()) await nc.close();
      },
    };
  }

  private async onMessage(nc: NatsConnection, m: Msg): Promise<void> {
    const headers: Record<string, string> = {};
    if (m.headers) for (const [k, v] of m.headers) headers[k] = headerText(v);
    const event = messageEvent('nats', this.ctx.name, {
      body: Buffer.from(m.data),
      path: m.subject,
      topic: m.subject,
      url: this.cfg.server,
      headers,
      contentType: headers['Content-Type'] ?? headers['content-type'] ?? '',
    });
    const waitMs = this.ctx.spec.workerAvailabilityTimeoutMilliseconds || DEFAULT_WORKER_WAIT_MS;
    const d = await this.handle.deliver(event, waitMs);
    if (!m.reply || nc.isClosed()) return;
    try {
      if (d.result && d.ok) {
        nc.publish(m.reply, bodyOf(d.result), { headers: replyHeaders(nc, d.result) });
      } else {
        const status = d.result?.status ?? 503;
        const h = nc.info?.headers ? natsHeaders() : undefined;
        h?.set('Nats-Service-Error-Code', String(status));
        h?.set('Nats-Service-Error', (d.failure ?? 'the handler failed').slice(0, 200).replace(/[\r\n]+/g, ' '));
        nc.publish(m.reply, d.result ? bodyOf(d.result) : Buffer.from(d.failure ?? ''), h ? { headers: h } : {});
      }
    } catch (e) {
      this.ctx.log.warn(`nats trigger ${this.ctx.name}: could not reply to ${m.reply}: ${(e as Error).message}`);
    }
  }
}

const bodyOf = (r: HandlerResult): Uint8Array => (typeof r.body === 'string' ? Buffer.from(r.body) : r.body);

/** The answer's headers and content type as NATS headers (when the server takes headers). */
function replyHeaders(nc: NatsConnection, r: HandlerResult) {
  if (!nc.info?.headers) return undefined;
  const h = natsHeaders();
  for (const [k, v] of Object.entries(r.headers))
    if (v !== undefined && v !== null && String(v) !== '') h.set(k, String(v).replace(/[\r\n]+/g, ' '));
  if (r.contentType) h.set('Content-Type', r.contentType);
  return h;
}

export const natsTrigger: TriggerFactory = (ctx) => {
  const fn = ctx.fn ?? { namespace: 'nuclio', name: 'function', labels: {}, annotations: {} };
  const cfg = natsTriggerConfig(ctx.name, ctx.spec, fn);
  return brokerTrigger(ctx, { kind: 'nats', client: (handle) => new NatsClient(cfg, ctx, handle) });
};
