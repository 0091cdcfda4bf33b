/**
 * The `mqtt` trigger's settings, from Nuclio's trigger reference: `url` (`tcp://`, `mqtt://`, `mqtts://`,
 * `ssl://`, `tls://`, `ws://`, `wss://`, or a bare `host:port`; credentials in it, else `attributes.username`/
 * `attributes.password`, else the trigger's `username`/`password`), `attributes.subscriptions` (a list of
 * `{topic, qos}`; or one as `attributes.topic` and `attributes.qos`), `attributes.clientID` and
 * `attributes.protocolVersion` (3, 4 — the default, MQTT 3.1.1 — or 5).
 *
 * Replicas share the load: each subscription is made as an MQTT shared subscription
 * (`$share/<group>/<topic>`, group `attributes.shareGroup`, by default `<namespace>.<function>.<trigger>`),
 * so the broker gives each message to one replica. A topic already written `$share/...` is kept as is. Each
 * replica's client id is `<clientID or nuclio-<namespace>-<function>-<trigger>>-<replica suffix>`: two clients
 * with one id would take each other's session, and a restarted replica keeps its id (and so its session). Pure.
 */
import { quote } from '../../errors.js';
import type { Trigger } from '../types.js';
import { parseBrokerUrl, TriggerFields, type FunctionIdentity } from './attributes.js';

export interface MqttSubscription {
  /** The filter as subscribed (shared form). */
  filter: string;
  /** The topic filter as the user wrote it. */
  topic: string;
  qos: 0 | 1 | 2;
}

export interface MqttTriggerConfig {
  /** The broker URL without credentials (`tcp:` is written `mqtt:`, `ssl:` `mqtts:`). */
  url: string;
  username?: string;
  password?: string;
  /** The client id before the replica's suffix. */
  clientIdBase: string;
  protocolVersion: 3 | 4 | 5;
  subscriptions: MqttSubscription[];
  shareGroup: string;
}

/** Resolves an `mqtt` trigger; throws a field error (INVALID_FIELD) naming the field at fault. */
export function mqttTriggerConfig(name: string, trigger: Trigger, fn: FunctionIdentity): MqttTriggerConfig {
  const f: TriggerFields = new TriggerFields(name, trigger);
  const rawUrl = f.top('url');
  if (!rawUrl) f.fail(`${f.field}.url`, `${f.field}.url must be set to the MQTT broker, e.g. tcp://127.0.0.1:1883`);
  const parsed = parseBrokerUrl(rawUrl, `${f.field}.url`, ['tcp', 'mqtt', 'mqtts', 'ssl', 'tls', 'ws', 'wss'], 'mqtt');
  const url = parsed.url.replace(/^tcp:/, 'mqtt:').replace(/^(ssl|tls):/, 'mqtts:');
  const username = parsed.username ?? (f.str('username') || f.top('username') || undefined);
  const password = parsed.password ?? (f.str('password') || f.top('password') || undefined);

  const version = f.int('protocolVersion', 4, 3, 5) as 3 | 4 | 5;
  const shareGroup = f.str('shareGroup') || `${fn.namespace}.${fn.name}.${name}`;
  if (/[/+#\s]/.test(shareGroup))
    f.fail(
      f.attrField('shareGroup'),
      `${f.attrField('shareGroup')} must not hold "/", "+", "#" or spaces, got ${quote(shareGroup)}`,
    );

  // Nuclio also takes one subscription as `topic` and `qos` attributes.
  const rawSubs =
    f.raw('subscriptions') ??
    (f.raw('topic') !== undefined ? [{ topic: f.raw('topic'), qos: f.raw('qos') ?? 0 }] : undefined);
  const field = f.attrField('subscriptions');
  if (!Array.isArray(rawSubs) || rawSubs.length === 0) {
    f.fail(
      field,
      `${field} must be a list of {topic, qos}, e.g. [{"topic": "house/+/temperature", "qos": 1}], ` +
        `got ${quote(rawSubs)}`,
    );
  }
  const subscriptions = rawSubs.map((s, i): MqttSubscription => {
    const at = `${field}[${i}]`;
    if (!s || typeof s !== 'object' || Array.isArray(s))
      f.fail(at, `${at} must be an object {topic, qos}, got ${quote(s)}`);
    const entry = new Map(Object.entries(s as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
    const topic = entry.get('topic');
    if (typeof topic !== 'string' || !topic.trim())
      f.fail(`${at}.topic`, `${at}.topic must be a non-empty topic filter, got ${quote(topic)}`);
    if (!validFilter(topic))
      f.fail(
        `${at}.topic`,
        `${at}.topic is not a valid MQTT topic filter ("#" only last, "+" and "#" alone in their level), ` +
          `got ${quote(topic)}`,
      );
    const qosRaw = entry.get('qos') ?? 0;
    const qos = typeof qosRaw === 'string' && /^\d$/.test(qosRaw) ? Number(qosRaw) : qosRaw;
    if (qos !== 0 && qos !== 1 && qos !== 2) f.fail(`${at}.qos`, `${at}.qos must be 0, 1 or 2, got ${quote(qosRaw)}`);
    const filter = topic.startsWith('$share/') ? topic : `$share/${shareGroup}/${topic}`;
    return { filter, topic, qos };
  });

  const clientId = f.str('clientID');
  if (clientId && !/^[A-Za-z0-9._-]{1,64}$/.test(clientId))
    f.fail(
      f.attrField('clientID'),
      `${f.attrField('clientID')} must be 1 to 64 letters, digits, ".", "_" or "-", got ${quote(clientId)}`,
    );
  return {
    url,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    clientIdBase: clientId || `nuclio-${fn.namespace}-${fn.name}-${name}`,
    protocolVersion: version,
    subscriptions,
    shareGroup,
  };
}

/** MQTT filter rules: "#" only as the whole last level, "+" only as a whole level. */
function validFilter(topic: string): boolean {
  const levels = topic.split('/');
  return levels.every((l, i) =>
    l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+',
  );
}
