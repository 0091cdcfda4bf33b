/** The schemas of /api/functions (routes/functions.ts). */
import { ref, text } from './json-schema.js';
import { EXPORT, NAME_PARAM } from './query.js';
import { FUNCTION_MAP } from './resources.js';
import { empty, json, routeSchema } from './route-schema.js';

const NS = ['NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'] as const;
const WRITE = [
  'INVALID_HEADER',
  'FUNCTION_NAME_RESERVED',
  'FUNCTION_PROJECT_MISSING',
  'RESOURCE_VERSION_STALE',
  'DATA_DIR_FULL',
] as const;
const params = NAME_PARAM('function');

export const functionSchemas = {
  list: routeSchema({
    operationId: 'listFunctions',
    tag: 'Functions',
    summary: 'List functions, keyed by name',
    headers: [
      'x-nuclio-function-namespace',
      'x-nuclio-project-name',
      'x-nuclio-function-name',
      'x-nuclio-skip-spec-cleanup',
    ],
    query: EXPORT,
    success: { 200: json('Functions keyed by name (with ?export=true: their export forms)', FUNCTION_MAP) },
    errors: NS,
  }),
  get: routeSchema({
    operationId: 'getFunction',
    tag: 'Functions',
    summary: 'Get a function',
    params,
    headers: ['x-nuclio-function-namespace', 'x-nuclio-function-enrich-apigateways', 'x-nuclio-skip-spec-cleanup'],
    query: EXPORT,
    success: { 200: json('The function (with ?export=true: its export form)', ref('Function')) },
    errors: ['FUNCTION_NOT_FOUND', ...NS],
  }),
  create: routeSchema({
    operationId: 'createFunction',
    tag: 'Functions',
    summary: 'Create and deploy a function',
    description:
      'Stores the function in state building and answers at once; the build and deploy follow (poll GET until ' +
      'status.state is ready or error, or send X-Nuclio-Wait-Function-Action: true).',
    headers: [
      'x-nuclio-function-namespace',
      'x-nuclio-project-name',
      'x-nuclio-wait-function-action',
      'x-nuclio-creation-state-updated-timeout',
    ],
    body: ref('FunctionBody'),
    success: { 202: empty('Accepted: the deploy runs (or, with X-Nuclio-Wait-Function-Action: true, has settled)') },
    errors: ['FUNCTION_EXISTS', ...WRITE],
  }),
  update: routeSchema({
    operationId: 'updateFunction',
    tag: 'Functions',
    summary: 'Update and redeploy a function (created when missing)',
    description:
      'metadata.name defaults to the name in the path. Refused (412) while the function is being provisioned.',
    params,
    headers: [
      'x-nuclio-function-namespace',
      'x-nuclio-project-name',
      'x-nuclio-wait-function-action',
      'x-nuclio-creation-state-updated-timeout',
    ],
    body: ref('FunctionBody'),
    success: { 202: empty('Accepted: the build and deploy run') },
    errors: ['FUNCTION_PROVISIONING', ...WRITE],
  }),
  patch: routeSchema({
    operationId: 'patchFunction',
    tag: 'Functions',
    summary: 'Redeploy a function or scale it to zero',
    description:
      'desiredState ready redeploys the artifact spec.image names (no build); scaledToZero stops its replicas (it ' +
      'keeps its port, and the next request wakes it).',
    params,
    headers: ['x-nuclio-function-namespace', 'x-nuclio-imported-function-only', 'x-nuclio-wait-function-action'],
    body: {
      type: 'object',
      examples: [{ desiredState: 'ready' }],
      properties: {
        desiredState: {
          type: ['string', 'null'],
          description: 'ready or scaledToZero (absent or null: nothing to do)',
          examples: ['ready', 'scaledToZero'],
        },
      },
    },
    success: { 204: empty('Done (the redeploy or scale-down runs)') },
    errors: [
      'DESIRED_STATE_UNSUPPORTED',
      'FUNCTION_NOT_FOUND',
      'FUNCTION_NO_IMAGE',
      'FUNCTION_MIN_REPLICAS',
      'FUNCTION_PROVISIONING',
      'DATA_DIR_FULL',
      ...NS,
    ],
  }),
  delete: routeSchema({
    operationId: 'deleteFunction',
    tag: 'Functions',
    summary: 'Delete a function (its identity in the body)',
    description:
      'Its function events go with it; the API gateways that route to it too with ' +
      'X-Nuclio-Delete-Function-With-API-Gateways: true. A function that does not exist answers 204.',
    headers: [
      'x-nuclio-function-namespace',
      'x-nuclio-delete-function-ignore-state-validation',
      'x-nuclio-delete-function-with-api-gateways',
    ],
    body: ref('Identity'),
    success: { 204: empty('Deleted (or was not there)') },
    errors: ['FUNCTION_VERSION_STALE', 'FUNCTION_PROVISIONING', 'FUNCTION_USED_BY_API_GATEWAYS', 'DATA_DIR_FULL'],
  }),
  replicas: routeSchema({
    operationId: 'listFunctionReplicas',
    tag: 'Functions',
    summary: "List the names of a function's replicas",
    params,
    headers: ['x-nuclio-function-namespace'],
    success: {
      200: json('The live replicas', {
        type: 'object',
        properties: { names: { type: 'array', items: { type: 'string' } } },
      }),
    },
    errors: ['FUNCTION_NOT_FOUND', ...NS],
  }),
  logs: routeSchema({
    operationId: 'getReplicaLogs',
    tag: 'Functions',
    summary: "Read (or follow) a replica's log",
    params: { ...params, replica: text('The replica (GET …/replicas lists them)') },
    headers: ['x-nuclio-function-namespace'],
    query: {
      follow: text('true (the default): keep the answer open and stream new lines; false: answer what is there', [
        'false',
      ]),
      since: text('Only lines of the last this long (a duration such as "10m")', ['10m']),
      tailLines: text('Only the last this many lines (a non-negative integer)', ['100']),
    },
    success: {
      200: {
        description: 'The log, one JSON record per line, streamed',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
    errors: ['FUNCTION_NOT_FOUND', 'REPLICA_OF_OTHER_FUNCTION', 'REPLICA_NAME_INVALID', 'REPLICA_LOG_NOT_FOUND', ...NS],
  }),
};
