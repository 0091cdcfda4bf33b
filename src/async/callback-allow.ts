/**
 * Which callback URLs the dashboard may call (`--async-callback-allow`). A callback is a request the
 * dashboard makes on the caller's behalf, from inside the network it runs in, so only hosts the operator
 * named are allowed — none by default. Pure.
 *
 * An entry is a host name or address (`hooks.example.com`, `10.0.0.7`, `[::1]`), optionally with a port
 * (`hooks.example.com:8443`: that port only; without one, any port), or `*.example.com` (any host under
 * example.com, not example.com itself). Names compare case-insensitively; nothing is resolved, so a name
 * allows what it resolves to when the callback is sent.
 */

/** One parsed entry of the allow-list. */
export interface AllowRule {
  /** The host (lower case; IPv6 in brackets), or the domain after `*.`. */
  host: string;
  /** Any host under `host`. */
  wildcard: boolean;
  port?: number;
}

const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)$/;

/** Parses the flag's entries; throws a TypeError naming the first bad one. */
export function parseAllowList(entries: readonly string[]): AllowRule[] {
  return entries.map((raw) => {
    const entry = raw.trim().toLowerCase();
    const m = /^(\*\.)?(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(entry);
    const port = m?.[3] === undefined ? undefined : Number(m[3]);
    if (!m || !HOST.test(m[2]) || (m[1] && m[2].startsWith('[')) || (port !== undefined && (port < 1 || port > 65_535)))
      throw new TypeError(
        '--async-callback-allow must be a host, host:port or *.domain (e.g. hooks.example.com, 127.0.0.1:9000), ' +
          `got ${JSON.stringify(raw)}`,
      );
    return { host: m[2], wildcard: !!m[1], ...(port !== undefined ? { port } : {}) };
  });
}

/** Why the dashboard will not call `url` back, or undefined when it may. */
export function callbackRefusal(url: string, rules: readonly AllowRule[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `X-Callback-Url must be an absolute http:// or https:// URL, got ${JSON.stringify(url.slice(0, 200))}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `X-Callback-Url must be an http:// or https:// URL, got ${JSON.stringify(u.protocol)}`;
  if (!rules.length)
    return (
      "Callbacks are off: X-Callback-Url needs its host in the dashboard's --async-callback-allow list, " +
      'which is empty'
    );
  const host = u.hostname.toLowerCase();
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const allowed = rules.some(
    (r) => (r.wildcard ? host.endsWith(`.${r.host}`) : host === r.host) && (r.port === undefined || r.port === port),
  );
  return allowed
    ? undefined
    : `X-Callback-Url host ${JSON.stringify(u.host)} is not in the dashboard's --async-callback-allow list`;
}
