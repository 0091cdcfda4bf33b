/**
 * /api/api_gateways (seed "API Gateways"). Create answers 202 as the seed says (Nuclio's code
 * answers 201); the gateway controller validates, compiles the routing table and sets the state.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from '../../errors.js';
import { readApiGatewayBody, upstreamFunctions } from '../../resources/api-gateway.js';
import { exportApiGateway } from '../../resources/resource-export.js';
import { PROJECT_LABEL } from '../../resources/types.js';
import { writeGateway } from '../gateway-writer.js';
import { header, headerTrue, keyedByName, namespaceOf, paramName, queryTrue, sendEmpty, sendJson } from '../reply.js';
import type { ApiDeps } from '../deps.js';
import { apiGatewaySchemas as schemas } from '../schemas/api-gateways.js';

const NS_HEADER = 'x-nuclio-api-gateway-namespace';

export function apiGatewayRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'store' | 'config'>): void {
  const { store, config } = deps;
  const ctx = (req: FastifyRequest, nameFallback?: string) => ({
    defaultNamespace: header(req, NS_HEADER) ?? config.namespace,
    projectName: header(req, 'x-nuclio-project-name'),
    nameFallback,
  });

  app.get('/api/api_gateways', { schema: schemas.list }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const project = header(req, 'x-nuclio-project-name');
    const fn = header(req, 'x-nuclio-function-name');
    let gws = await store.list('apiGateway', ns, project ? { labels: { [PROJECT_LABEL]: project } } : undefined);
    if (fn) gws = gws.filter((g) => upstreamFunctions(g).includes(fn));
    const includeSecrets = queryTrue(req, 'includeSecrets');
    return sendJson(
      reply,
      200,
      keyedByName(gws, queryTrue(req, 'export') ? (g) => exportApiGateway(g, { includeSecrets }) : (g) => g),
    );
  });

  app.get('/api/api_gateways/:name', { schema: schemas.get }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const gw = await store.get('apiGateway', ns, paramName(req));
    if (!gw) throw apiError('API_GATEWAY_NOT_FOUND');
    return sendJson(
      reply,
      200,
      queryTrue(req, 'export') ? exportApiGateway(gw, { includeSecrets: queryTrue(req, 'includeSecrets') }) : gw,
    );
  });

  app.post('/api/api_gateways', { schema: schemas.create }, async (req, reply) => {
    const gw = readApiGatewayBody(req.body, ctx(req));
    if (!gw.metadata.labels?.[PROJECT_LABEL])
      gw.metadata.labels = { ...(gw.metadata.labels ?? {}), [PROJECT_LABEL]: 'default' };
    const stored = await writeGateway(deps, gw, {
      mode: 'create',
      validateFunctions: headerTrue(req, 'x-nuclio-agw-validate-functions-existence'),
    });
    return sendJson(reply, 202, stored);
  });

  app.put('/api/api_gateways/:name', { schema: schemas.update }, async (req, reply) => {
    const id = paramName(req);
    const gw = readApiGatewayBody(req.body, ctx(req, id));
    if (gw.metadata.name !== id) throw apiError('API_GATEWAY_NAME_MISMATCH', gw.metadata.name ?? '', id);
    const existing = await store.get('apiGateway', gw.metadata.namespace!, id);
    if (existing && !gw.metadata.labels?.[PROJECT_LABEL]) {
      gw.metadata.labels = {
        ...(gw.metadata.labels ?? {}),
        [PROJECT_LABEL]: existing.metadata.labels?.[PROJECT_LABEL] ?? 'default',
      };
    }
    if (existing?.metadata.creationTimestamp) gw.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    await writeGateway(deps, gw, {
      mode: 'update',
      validateFunctions: headerTrue(req, 'x-nuclio-agw-validate-functions-existence'),
    });
    return sendEmpty(reply, 204);
  });

  app.delete('/api/api_gateways', { schema: schemas.delete }, async (req, reply) => {
    const body = req.body;
    const gw = readIdentity(body, header(req, NS_HEADER) ?? config.namespace);
    await store.delete('apiGateway', gw.namespace, gw.name);
    return sendEmpty(reply, 204);
  });
}

/** DELETE needs only the identity: metadata.name (or spec.name) and the namespace. */
function readIdentity(body: unknown, defaultNamespace: string): { namespace: string; name: string } {
  const b = body as { metadata?: { name?: unknown; namespace?: unknown }; spec?: { name?: unknown } } | null;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw apiError('INVALID_BODY', 'Request body must be a JSON object with metadata.name');
  const meta = b.metadata && typeof b.metadata === 'object' ? b.metadata : {};
  const name =
    typeof meta.name === 'string' && meta.name ? meta.name : typeof b.spec?.name === 'string' ? b.spec.name : '';
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
  if (!name) throw apiError('INVALID_BODY', 'Api gateway name must be provided in metadata');
  return { namespace, name };
}
