/**
 * Export forms of API gateways and function events (functions: function-export.ts): no
 * namespace, resource version, creation time or status, and — unless `includeSecrets` — secrets blanked
 * (secrets.ts): a gateway's basic-auth password, a function event's Authorization header and the like.
 * A function event's body is left as written: it is a test payload, not configuration.
 */
import { isSecretName, redactSecrets } from './secrets.js';
import type { ApiGateway, FunctionEvent } from './types.js';

export interface SecretsOption {
  /** Keep secrets as they are (`?includeSecrets=true`): an explicit choice. */
  includeSecrets?: boolean;
}

/** An API gateway as exported. */
export function exportApiGateway(g: ApiGateway, opts: SecretsOption = {}) {
  const { namespace: _n, resourceVersion: _r, creationTimestamp: _c, ...metadata } = g.metadata;
  return { metadata, spec: opts.includeSecrets ? g.spec : redactSecrets(g.spec) };
}

/** A function event as exported. */
export function exportFunctionEvent(ev: FunctionEvent, opts: SecretsOption = {}) {
  const { resourceVersion: _rv, ...metadata } = ev.metadata;
  if (opts.includeSecrets || !ev.spec) return { metadata, spec: ev.spec };
  const spec = Object.fromEntries(
    Object.entries(ev.spec).map(([k, v]) => [k, k === 'body' ? v : redactSecrets(v, isSecretName(k))]),
  );
  return { metadata, spec: spec as FunctionEvent['spec'] };
}
