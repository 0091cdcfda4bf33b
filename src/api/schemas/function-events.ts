/** The schemas of /api/function_events (routes/function-events.ts). */
import { keyedBy, ref } from './json-schema.js';
import { NAME_PARAM } from './query.js';
import { empty, json, routeSchema } from './route-schema.js';

const NS = ['NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'] as const;

export const functionEventSchemas = {
  list: routeSchema({
    operationId: 'listFunctionEvents',
    tag: 'Function events',
    summary: 'List function events, keyed by name',
    headers: ['x-nuclio-function-event-namespace', 'x-nuclio-function-name', 'x-nuclio-function-event-name'],
    success: {
      200: json('Function events keyed by name', keyedBy(ref('FunctionEvent'), 'Function events keyed by name')),
    },
    errors: NS,
  }),
  get: routeSchema({
    operationId: 'getFunctionEvent',
    tag: 'Function events',
    summary: 'Get a function event',
    params: NAME_PARAM('function event'),
    headers: ['x-nuclio-function-event-namespace'],
    success: { 200: json('The function event', ref('FunctionEvent')) },
    errors: ['FUNCTION_EVENT_NOT_FOUND', ...NS],
  }),
  create: routeSchema({
    operationId: 'createFunctionEvent',
    tag: 'Function events',
    summary: 'Create a function event',
    description:
      'metadata.labels["nuclio.io/function-name"] names its function, which must exist; a missing name is a ' +
      'generated UUID.',
    headers: ['x-nuclio-function-event-namespace'],
    body: ref('FunctionEvent'),
    success: { 201: json('The event as stored', ref('FunctionEvent')) },
    errors: ['FUNCTION_EVENT_PARENT_MISSING', 'RESOURCE_EXISTS', 'DATA_DIR_FULL'],
  }),
  update: routeSchema({
    operationId: 'updateFunctionEvent',
    tag: 'Function events',
    summary: 'Update a function event (its identity in the body)',
    headers: ['x-nuclio-function-event-namespace'],
    body: ref('FunctionEvent'),
    success: { 204: empty('Updated') },
    errors: ['FUNCTION_EVENT_NOT_FOUND', 'FUNCTION_EVENT_PARENT_MISSING', 'RESOURCE_VERSION_STALE', 'DATA_DIR_FULL'],
  }),
  delete: routeSchema({
    operationId: 'deleteFunctionEvent',
    tag: 'Function events',
    summary: 'Delete a function event (its identity in the body)',
    headers: ['x-nuclio-function-event-namespace'],
    body: ref('Identity'),
    success: { 204: empty('Deleted') },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_VERSION_STALE', 'DATA_DIR_FULL'],
  }),
};
