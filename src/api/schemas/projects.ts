/** The schemas of /api/projects (routes/projects.ts). */
import { keyedBy, ref, type JsonSchema } from './json-schema.js';
import { EXPORT, NAME_PARAM } from './query.js';
import { empty, json, routeSchema } from './route-schema.js';

const NS = ['NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'] as const;
const importFailures = (key: string, item: string): JsonSchema => ({
  type: 'object',
  properties: {
    createdAmount: { type: 'integer' },
    failedAmount: { type: 'integer' },
    [key]: {
      type: ['array', 'null'],
      items: { type: 'object', properties: { [item]: { type: 'string' }, error: { type: 'string' } } },
    },
  },
});

/** A project's export bundle (?export=true), also the body of an import. */
const BUNDLE: JsonSchema = {
  type: 'object',
  description: 'A project with its functions (export form), function events and API gateways, keyed by name',
  properties: {
    project: ref('Project'),
    functions: keyedBy(ref('Function'), 'Functions in export form'),
    functionEvents: keyedBy(ref('FunctionEvent'), 'Function events'),
    apiGateways: keyedBy(ref('ApiGateway'), 'API gateways'),
  },
};

const orBundle = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, BUNDLE] });

export const projectSchemas = {
  list: routeSchema({
    operationId: 'listProjects',
    tag: 'Projects',
    summary: 'List projects, keyed by name',
    headers: ['x-nuclio-project-namespace', 'x-nuclio-project-name'],
    query: EXPORT,
    success: {
      200: json('Projects keyed by name (with ?export=true: their export bundles)', {
        type: 'object',
        additionalProperties: orBundle(ref('Project')),
      }),
    },
    errors: NS,
  }),
  get: routeSchema({
    operationId: 'getProject',
    tag: 'Projects',
    summary: 'Get a project',
    params: NAME_PARAM('project'),
    headers: ['x-nuclio-project-namespace'],
    query: EXPORT,
    success: { 200: json('The project (with ?export=true: its export bundle)', orBundle(ref('Project'))) },
    errors: ['PROJECT_NOT_FOUND', ...NS],
  }),
  create: routeSchema({
    operationId: 'createProject',
    tag: 'Projects',
    summary: 'Create a project, or import an export bundle (?import=true)',
    description:
      'A missing metadata.name is generated. With ?import=true the body is an export bundle: the project is created ' +
      'when missing, then its functions (deployed unless the export said skip-deploy), events and gateways; what ' +
      'failed is listed, per resource.',
    headers: ['x-nuclio-project-namespace'],
    query: {
      import: { type: 'string', description: 'true: the body is an export bundle to import', examples: ['true'] },
    },
    body: {
      type: 'object',
      description:
        'A project ({metadata, spec}); with ?import=true an export bundle ({project, functions, functionEvents, ' +
        'apiGateways})',
      properties: {
        metadata: ref('Meta'),
        spec: { description: 'The project spec (description, owner)' },
        project: { description: 'Import: the project' },
        functions: { description: 'Import: functions keyed by name' },
        functionEvents: { description: 'Import: function events keyed by name' },
        apiGateways: { description: 'Import: API gateways keyed by name' },
      },
    },
    success: {
      201: json('The project created; with ?import=true, what was imported', {
        anyOf: [
          ref('Project'),
          {
            type: 'object',
            properties: {
              functionImportResult: importFailures('failedFunctions', 'function'),
              functionEventImportResult: importFailures('failedFunctionEvents', 'functionEvent'),
              apiGatewayImportResult: importFailures('failedAPIGateways', 'apiGateway'),
            },
          },
        ],
      }),
    },
    errors: ['PROJECT_EXISTS', 'DATA_DIR_FULL'],
  }),
  update: routeSchema({
    operationId: 'updateProject',
    tag: 'Projects',
    summary: 'Update a project',
    params: NAME_PARAM('project'),
    headers: ['x-nuclio-project-namespace'],
    body: ref('Project'),
    success: { 204: empty('Updated') },
    errors: ['PROJECT_NAME_MISMATCH', 'PROJECT_NOT_FOUND', 'RESOURCE_VERSION_STALE', 'DATA_DIR_FULL'],
  }),
  updateDeprecated: routeSchema({
    operationId: 'updateProjectByBody',
    tag: 'Projects',
    summary: 'Update a project named by the body or X-Nuclio-Project-Name (deprecated)',
    description: 'Answers with Deprecation: true and a Link to PUT /api/projects/{name}, which to use instead.',
    headers: ['x-nuclio-project-namespace', 'x-nuclio-project-name'],
    body: ref('Project'),
    success: {
      204: {
        ...empty('Updated'),
        headers: {
          Deprecation: { type: 'string', enum: ['true'] },
          Link: { type: 'string', description: '</api/projects/<name>>; rel="alternate"' },
        },
      },
    },
    errors: ['PROJECT_NAME_MISMATCH', 'PROJECT_NOT_FOUND', 'RESOURCE_VERSION_STALE', 'DATA_DIR_FULL'],
  }),
  delete: routeSchema({
    operationId: 'deleteProject',
    tag: 'Projects',
    summary: 'Delete a project (its identity in the body)',
    description:
      'X-Nuclio-Delete-Project-Strategy says what happens to what it holds. A project that does not exist answers 204.',
    headers: ['x-nuclio-project-namespace', 'x-nuclio-delete-project-strategy'],
    body: ref('Project'),
    success: { 204: empty('Deleted (or was not there; with strategy check: it could be deleted)') },
    errors: ['DEFAULT_PROJECT_UNDELETABLE', 'PROJECT_NOT_EMPTY', 'PROJECT_FUNCTIONS_IN_USE', 'DATA_DIR_FULL'],
  }),
};
