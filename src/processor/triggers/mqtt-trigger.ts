/**
 * The `mqtt` trigger (Nuclio's MQTT trigger), with MQTT.js v5: subscribes to `attributes.subscriptions` as
 * shared subscriptions, so each message goes to one replica (see resources/broker-triggers/mqtt.ts).
 *
 * - An event per message: body = the payload, path and topic = the topic, id = the packet id (QoS 1 and 2),
 *   url = the broker, headers = MQTT 5 user properties (and Content-Type from the content type property).
 * - QoS 1 is acknowledged after the handler succeeds: the PUBACK leaves only then. A failed handler is run
 *   again with back-off while the replica runs; if the replica dies first, the broker still holds the
 *   message for the replica's session (persistent, the same client id after a restart) and delivers it
 *   again. The broker sends at most `numWorkers` unacknowledged messages at once (MQTT 5's receive
 *   maximum; MQTT 3.1.1 brokers use their own in-flight limit).
 * - QoS 2: the broker's exactly-once handshake completes on arrival (MQTT.js answers it), so a failure is
 *   retried in the replica but not redelivered by the broker. QoS 0: at most once, one attempt.
 * - Stopping: unsubscribe, finish the messages in hand and acknowledge them, then end the session (MQTT 5:
 *   session expiry 0; 3.1.1: a clean reconnect), so a replica that is gone leaves no session collecting
 *   messages behind. A replica killed with -9 keeps its session until it comes back.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { mqttTriggerConfig, type MqttTriggerConfig } from '../../resources/broker-triggers/mqtt.js';
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
/** How long the broker keeps a replica's session (and its unacknowledged messages) while it is away (MQTT 5). */
const SESSION_EXPIRY_S = 3_600;

/** Sends a packet MQTT.js has no public call for (a PUBACK after the fact). */
type PacketSender = { _sendPacket(packet: Record<string, unknown>, cb?: (err?: Error) => void): void };

class MqttBrokerClient implements BrokerClient {
  readonly target: string;
  private readonly clientId: string;

  constructor(
    private readonly cfg: MqttTriggerConfig,
    private readonly ctx: TriggerContext,
    private readonly handle: ConsumerHandle,
  ) {
    this.target = `${cfg.url} (${cfg.subscriptions.map((s) => s.filter).join(', ')})`;
    const suffix = (ctx.fn?.replica ?? '').split('-').pop() || String(process.pid);
    this.clientId = `${cfg.clientIdBase}-${suffix}`;
  }

  private options(clean: boolean): mqtt.IClientOptions {
    const { cfg } = this;
    const workers = Math.max(1, this.ctx.spec.numWorkers ?? 1);
    return {
      clientId: this.clientId,
      protocolVersion: cfg.protocolVersion,
      ...(cfg.username !== undefined ? { username: cfg.username } : {}),
      ...(cfg.password !== undefined ? { password: cfg.password } : {}),
      clean,
      // The trigger reconnects itself, with back-off and a status the dashboard shows.
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepalive: 30,
      resubscribe: false,
      ...(cfg.protocolVersion === 5
        ? {
            properties: {
              sessionExpiryInterval: clean ? 0 : SESSION_EXPIRY_S,
              receiveMaximum: Math.min(65_535, workers),
            },
          }
        : {}),
    };
  }

  async connect(): Promise<BrokerSession> {
    // The client is made and its handlers set before the CONNACK: a resumed session's unacknowledged
    // messages come right after it, and MQTT.js would acknowledge them itself otherwise.
    const client = mqtt.connect(this.cfg.url, this.options(false));
    let settleLost!: (reason: string) => void;
    const lost = new Promise<string>((r) => {
      settleLost = r;
    });
    let lastError = '';
    client.on('error', (e) => {
      lastError = e.message;
    });
    client.on('close', () => settleLost(lastError || 'the broker closed the connection'));
    // MQTT.js acknowledges a QoS 1 message when handleMessage calls back; an error in the callback skips the
    // PUBACK, which this trigger sends itself once the handler succeeded (handleMessage must call back at
    // once: MQTT.js reads the next packet only then).
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      done(packet.qos === 1 ? new Error('acknowledged after the handler succeeds') : undefined);
      void this.onMessage(client, packet);
    };
    const connected = await Promise.race([new Promise<true>((r) => client.once('connect', () => r(true))), lost]);
    if (connected !== true) {
      await client.endAsync(true).catch(() => {});
      throw new Error(connected);
    }
    try {
      const granted = await client.subscribeAsync(
        Object.fromEntries(this.cfg.subscriptions.map((s) => [s.filter, { qos: s.qos }])),
      );
      const refused = granted.filter((g) => g.qos === 128 || g.qos > 2);
      if (refused.length)
        throw new Error(
          `the broker refused the ` +
            `subscription${refused.length > 1 ? 's' : ''} ${refused.map((g) => g.topic).join(', ')}`,
        );
    } catch (e) {
      await client.endAsync(true).catch(() => {});
      throw e;
    }
    return {
      lost,
      stopIntake: async () => {
        if (client.connected)
          await client.unsubscribeAsync(this.cfg.subscriptions.map((s) => s.filter)).catch(() => {});
      },
      close: () => this.endSession(client),
    };
  }

  private async onMessage(client: MqttClient, packet: IPublishPacket): Promise<void> {
    const headers: Record<string, string> = {};
    const props = packet.properties;
    for (const [k, v] of Object.entries(props?.userProperties ?? {})) headers[k] = headerText(v);
    if (props?.contentType) headers['Content-Type'] = props.contentType;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
    const event = messageEvent('mqtt', this.ctx.name, {
      body: payload,
      path: packet.topic,
      topic: packet.topic,
      url: this.cfg.url,
      headers,
      contentType: props?.contentType ?? '',
      ...(packet.messageId !== undefined ? { id: String(packet.messageId) } : {}),
    });
    if (packet.qos === 0) {
      await this.handle.deliver(event);
      return;
    }
    const done = await this.handle.deliverUntilOk(event, `message ${packet.messageId ?? ''} on ${packet.topic}`);
    if (!done || packet.qos !== 1) return;
    // Acknowledge on the connection it came on; after a reconnect the broker redelivers it instead.
    if (client.connected && !client.disconnecting) {
      (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId: packet.messageId, reasonCode: 0 });
    }
  }

  /**
   * Ends the replica's session (everything delivered to it was handled first): nothing piles up for a replica that is
   * gone.
   */
  private async endSession(client: MqttClient): Promise<void> {
    if (this.cfg.protocolVersion === 5) {
      await client
        .endAsync(false, { properties: { sessionExpiryInterval: 0 } } as Parameters<MqttClient['endAsync']>[1])
        .catch(() => client.endAsync(true));
      return;
    }
    await client.endAsync(false).catch(() => client.endAsync(true));
    // MQTT 3.1.1 has no session expiry: a clean connection discards the stored session.
    try {
      const clean = await mqtt.connectAsync(this.cfg.url, this.options(true));
      await clean.endAsync(false);
    } catch {
      /* the broker is gone: its session goes with it or expires there */
    }
  }
}

export const mqttTrigger: TriggerFactory = (ctx) => {
  const fn = ctx.fn ?? { namespace: 'nuclio', name: 'function', labels: {}, annotations: {} };
  const cfg = mqttTriggerConfig(ctx.name, ctx.spec, fn);
  return brokerTrigger(ctx, { kind: 'mqtt', client: (handle) => new MqttBrokerClient(cfg, ctx, handle) });
};
