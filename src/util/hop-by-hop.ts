/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): a proxy never passes them on. `host` is listed with them because
 * each proxy here sends its own.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'proxy-authorization',
  'proxy-authenticate',
]);
