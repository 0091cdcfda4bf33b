/**
 * Writing an API gateway, shared by POST/PUT /api/api_gateways and project import: the checks that need
 * the store (upstream functions exist when asked, no other gateway claims the same host and path), and
 * the stored state `waitingForProvisioning` that the gateway controller turns into `ready` or `error`.
 */
import { apiError } from '../errors.js';
import { normaliseHost, normalisePath, upstreamFunctions } from '../resources/api-gateway.js';
import type { ApiGateway } from '../resources/types.js';
import { isStoreError, type Store } from '../store/store.js';

export async function writeGateway(
  deps: { store: Store },
  gw: ApiGateway,
  opts: { mode: 'create' | 'update'; validateFunctions: boolean },
): Promise<ApiGateway> {
  const { store } = deps;
  const ns = gw.metadata.namespace!;
  const name = gw.metadata.name!;
  if (opts.validateFunctions) {
    for (const fn of upstreamFunctions(gw)) {
      if (!(await store.get('function', ns, fn))) throw apiError('API_GATEWAY_UPSTREAM_MISSING', fn, ns);
    }
  }
  const host = normaliseHost(gw.spec.host ?? '');
  const path = normalisePath(gw.spec.path);
  // One listener serves every namespace, so a host and path may be claimed once across all of them.
  for (const other of await store.list('apiGateway', undefined)) {
    if (other.metadata.name === name && other.metadata.namespace === ns) continue;
    if (normaliseHost(other.spec.host ?? '') === host && normalisePath(other.spec.path) === path) {
      throw apiError('API_GATEWAY_ROUTE_TAKEN', host, path, other.metadata.name ?? '');
    }
  }
  const record: ApiGateway = { ...gw, status: { name, state: 'waitingForProvisioning' } };
  if (opts.mode === 'create') {
    record.metadata = { ...record.metadata, creationTimestamp: new Date().toISOString() };
    delete record.metadata.resourceVersion;
    try {
      return await store.create('apiGateway', record);
    } catch (e) {
      if (isStoreError(e, 'ALREADY_EXISTS')) throw apiError('API_GATEWAY_EXISTS', name);
      throw e;
    }
  }
  if (!(await store.get('apiGateway', ns, name))) throw apiError('API_GATEWAY_NOT_FOUND');
  return store.update('apiGateway', record, { ifVersion: gw.metadata.resourceVersion });
}
