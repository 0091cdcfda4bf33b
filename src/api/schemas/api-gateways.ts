/** The schemas of /api/api_gateways (routes/api-gateways.ts). */
import { keyedBy, ref } from './json-schema.js';
import { EXPORT, NAME_PARAM } from './query.js';
import { empty, json, routeSchema } from './route-schema.js';

const NS = ['NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'] as const;
const WRITE = [
  'API_GATEWAY_UPSTREAM_MISSING',
  'API_GATEWAY_ROUTE_TAKEN',
  'RESOURCE_VERSION_STALE',
  'DATA_DIR_FULL',
] as const;

export const apiGatewaySchemas = {
  list: routeSchema({
    operationId: 'listApiGateways',
    tag: 'API gateways',
    summary: 'List API gateways, keyed by name',
    headers: ['x-nuclio-api-gateway-namespace', 'x-nuclio-project-name', 'x-nuclio-function-name'],
    query: EXPORT,
    success: {
      200: json(
        'API gateways keyed by name (with ?export=true: their export forms)',
        keyedBy(ref('ApiGateway'), 'API gateways keyed by name'),
      ),
    },
    errors: NS,
  }),
  get: routeSchema({
    operationId: 'getApiGateway',
    tag: 'API gateways',
    summary: 'Get an API gateway',
    params: NAME_PARAM('API gateway'),
    headers: ['x-nuclio-api-gateway-namespace'],
    query: EXPORT,
    success: { 200: json('The API gateway (with ?export=true: its export form)', ref('ApiGateway')) },
    errors: ['API_GATEWAY_NOT_FOUND', ...NS],
  }),
  create: routeSchema({
    operationId: 'createApiGateway',
    tag: 'API gateways',
    summary: 'Create an API gateway',
    description:
      'Answers 202 with the gateway as stored; the gateway controller compiles the routes and sets status.state.',
    headers: ['x-nuclio-api-gateway-namespace', 'x-nuclio-project-name', 'x-nuclio-agw-validate-functions-existence'],
    body: ref('ApiGatewayBody'),
    success: { 202: json('The gateway as stored', ref('ApiGateway')) },
    errors: ['API_GATEWAY_EXISTS', ...WRITE],
  }),
  update: routeSchema({
    operationId: 'updateApiGateway',
    tag: 'API gateways',
    summary: 'Update an API gateway',
    params: NAME_PARAM('API gateway'),
    headers: ['x-nuclio-api-gateway-namespace', 'x-nuclio-project-name', 'x-nuclio-agw-validate-functions-existence'],
    body: ref('ApiGatewayBody'),
    success: { 204: empty('Updated') },
    errors: ['API_GATEWAY_NAME_MISMATCH', 'API_GATEWAY_NOT_FOUND', ...WRITE],
  }),
  delete: routeSchema({
    operationId: 'deleteApiGateway',
    tag: 'API gateways',
    summary: 'Delete an API gateway (its identity in the body)',
    headers: ['x-nuclio-api-gateway-namespace'],
    body: {
      type: 'object',
      description: 'metadata.name (or spec.name) and metadata.namespace; other fields are ignored',
      properties: { metadata: { description: 'name, namespace' }, spec: { description: 'name' } },
    },
    success: { 204: empty('Deleted') },
    errors: ['RESOURCE_NOT_FOUND', 'DATA_DIR_FULL'],
  }),
};
