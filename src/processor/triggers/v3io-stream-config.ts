/**
 * The v3ioStream trigger's settings, resolved from its trigger spec (pure): Nuclio's attribute names
 * (matched case-insensitively) and defaults, Nuclio's older `url@group` form, the dashboard's own stream
 * service as the default url, and which credential goes where (the dashboard's stream credential to its
 * own service only; the trigger's `secret` or user and password elsewhere).
 */
import type { Trigger as TriggerSpec } from '../../resources/types.js';
import { V3IO_PREFIX } from '../../streams/v3io-wire.js';
import { parseDuration } from '../../util/duration.js';

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

const DEFAULTS = {
  readBatchSize: 64,
  pollingIntervalMs: 500,
  sessionTimeout: '10s',
  heartbeatInterval: '3s',
  sequenceNumberCommitInterval: '1s',
};

/**
 * Resolves a trigger spec into settings; throws an Error that says which attribute is wrong. `streamToken`
 * is the dashboard's stream credential: sent to the dashboard's own stream service only.
 */
export function streamTriggerConfig(
  spec: TriggerSpec,
  dashboardUrl: string | undefined,
  streamToken?: string,
): StreamTriggerConfig {
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
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new Error(`attributes.${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const duration = (name: string, fallback: string): number => {
    const raw = attr(name);
    const text = raw === undefined || raw === null || raw === '' ? fallback : raw;
    const ms = typeof text === 'string' ? parseDuration(text) : undefined;
    if (ms === undefined || ms <= 0)
      throw new Error(`attributes.${name} must be a duration such as "${fallback}", got ${JSON.stringify(raw)}`);
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
    if (rest.startsWith(`${V3IO_PREFIX.slice(1)}/`)) {
      base += V3IO_PREFIX;
      rest = rest.slice(V3IO_PREFIX.length);
    }
    const slash = rest.indexOf('/');
    if (!group || slash < 0)
      throw new Error(
        `url ${JSON.stringify(url)} must look like http://host:port/<container>/<stream path>@<consumer group>`,
      );
    url = base;
    containerName = rest.slice(0, slash);
    streamPath = rest.slice(slash + 1);
    consumerGroup = group;
  }
  if (!url) {
    if (!dashboardUrl) throw new Error('url is not set and PROTIUM_DASHBOARD_URL is not known');
    url = `${dashboardUrl.replace(/\/+$/, '')}${V3IO_PREFIX}`;
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
  if (seekTo !== 'latest' && seekTo !== 'earliest')
    throw new Error(`attributes.seekTo must be "earliest" or "latest", got ${JSON.stringify(attr('seekTo'))}`);

  const sessionTimeoutMs = duration('sessionTimeout', DEFAULTS.sessionTimeout);
  let heartbeatIntervalMs = duration('heartbeatInterval', DEFAULTS.heartbeatInterval);
  // A member must beat several times per session, or it would lose its shards between two beats.
  if (heartbeatIntervalMs > sessionTimeoutMs / 3) heartbeatIntervalMs = Math.max(50, Math.floor(sessionTimeoutMs / 3));

  const authHeaders: Record<string, string> = {};
  if (streamToken && dashboardUrl && isUnder(url, `${dashboardUrl.replace(/\/+$/, '')}${V3IO_PREFIX}`))
    authHeaders.authorization = `Bearer ${streamToken}`;
  else if (typeof spec.secret === 'string' && spec.secret) authHeaders['x-v3io-session-key'] = spec.secret;
  else if (spec.username && spec.password)
    authHeaders.authorization = `Basic ${Buffer.from(`${spec.username}:${spec.password}`).toString('base64')}`;

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
