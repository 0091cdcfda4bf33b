/**
 * The schemas of asynchronous invocations (routes/async-invocations.ts): an invocation's status, its
 * requeue and discard, a function's list, and the counts per function. The invocation as answered is
 * `invocationView` (async/invocation.ts); these say so field by field.
 */
import { INVOCATION_STATES } from '../../async/invocation.js';
import { keyedBy, text, type JsonSchema } from './json-schema.js';
import { NAME_PARAM } from './query.js';
import { empty, json, routeSchema } from './route-schema.js';

const time = (description: string): JsonSchema => ({ type: 'string', description: `${description} (RFC 3339)` });
const state: JsonSchema = { type: 'string', enum: [...INVOCATION_STATES], description: 'Where the invocation is' };

/** What an enqueue (and a requeue) answers. */
export const QUEUED: JsonSchema = {
  type: 'object',
  required: ['id', 'state'],
  properties: {
    id: { type: 'string', description: 'The invocation id (a UUID); its status is at /api/function_invocations/ID' },
    state,
  },
};

const headersMap: JsonSchema = {
  type: 'object',
  additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
};

const SUMMARY_PROPERTIES: Record<string, JsonSchema> = {
  id: { type: 'string' },
  function: { type: 'string' },
  namespace: { type: 'string' },
  state,
  createdAt: time('When it was queued'),
  attempts: { type: 'integer', description: 'Attempts made (interrupted ones not counted)' },
  nextAttemptAt: time('Queued for a retry: not before this'),
  endedAt: time('When it ended (succeeded, failed or dead); kept for --async-retention from then'),
  status: { type: 'integer', description: "The function's last status" },
  error: { type: 'string', description: 'Why the last attempt failed without an answer (timeout, connection)' },
};

const SUMMARY: JsonSchema = { type: 'object', properties: SUMMARY_PROPERTIES };

const COUNTS: JsonSchema = {
  type: 'object',
  description: 'Invocations kept, by state',
  properties: Object.fromEntries(INVOCATION_STATES.map((s) => [s, { type: 'integer' }])),
};

const INVOCATION: JsonSchema = {
  type: 'object',
  properties: {
    ...SUMMARY_PROPERTIES,
    request: {
      type: 'object',
      properties: { method: { type: 'string' }, path: { type: 'string' }, bodyBytes: { type: 'integer' } },
    },
    maxAttempts: { type: 'integer' },
    attemptsLeft: { type: 'integer' },
    attemptHistory: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          attempt: { type: 'integer', description: 'Numbered over the whole life (requeues keep counting)' },
          startedAt: time('When it started'),
          endedAt: time('When it ended'),
          status: { type: 'integer', description: "The function's status" },
          error: { type: 'string', description: 'Why there was no answer' },
          interrupted: {
            type: 'boolean',
            description: 'The dashboard stopped while it ran: it ran again, and this one did not count',
          },
        },
      },
    },
    answer: {
      type: 'object',
      description: "The function's answer: the final one once it ended, the last one while it retries",
      properties: {
        status: { type: 'integer' },
        headers: headersMap,
        body: { type: 'string', description: 'The body as kept (up to 1 MiB), text or base64 (bodyEncoding)' },
        bodyEncoding: { type: 'string', enum: ['utf8', 'base64'] },
        bodyBytes: { type: 'integer' },
        truncated: { type: 'boolean', description: 'The function answered more than was kept' },
      },
    },
    callback: {
      type: 'object',
      properties: {
        url: { type: 'string', description: 'X-Callback-Url, without credentials' },
        state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
        attempts: { type: 'integer' },
        status: { type: 'integer', description: "The callback URL's last status" },
        error: { type: 'string' },
        at: time('When it was delivered or given up'),
      },
    },
    idempotencyKey: { type: 'string' },
  },
};

const idParam = { id: text('The invocation id (a UUID), as the enqueue answered') };

export const asyncInvocationSchemas = {
  get: routeSchema({
    operationId: 'getAsyncInvocation',
    tag: 'Invocation',
    summary: 'The status of an asynchronous invocation: state, attempts, answer, callback',
    params: idParam,
    success: { 200: json('The invocation', INVOCATION) },
    errors: ['INVOCATION_NOT_FOUND'],
  }),
  discard: routeSchema({
    operationId: 'discardAsyncInvocation',
    tag: 'Invocation',
    summary: 'Discard an asynchronous invocation: a dead letter, a result, or a queued one (cancelled)',
    params: idParam,
    success: { 204: empty('Discarded') },
    errors: ['INVOCATION_NOT_FOUND', 'INVOCATION_RUNNING', 'SHUTTING_DOWN'],
  }),
  retry: routeSchema({
    operationId: 'retryAsyncInvocation',
    tag: 'Invocation',
    summary: 'Queue a dead letter (or a failed invocation) again, with a new budget of attempts',
    params: idParam,
    headers: ['x-protium-max-attempts'],
    success: { 202: json('Queued again', QUEUED) },
    errors: [
      'INVALID_HEADER',
      'INVOCATION_NOT_FOUND',
      'INVOCATION_NOT_REQUEUEABLE',
      'FUNCTION_NOT_FOUND',
      'ASYNC_QUEUE_FULL',
      'SHUTTING_DOWN',
    ],
  }),
  list: routeSchema({
    operationId: 'listAsyncInvocations',
    tag: 'Invocation',
    summary: "A function's asynchronous invocations, newest first, and its counts by state",
    params: NAME_PARAM('function'),
    headers: ['x-nuclio-function-namespace'],
    query: {
      state: text(`Only those in this state: ${INVOCATION_STATES.join(', ')}`, ['dead']),
      since: text('Only those queued since: a duration ago ("10m") or an RFC 3339 time', ['1h']),
      until: text('Only those queued before: a duration ago or an RFC 3339 time', ['2030-01-01T00:00:00Z']),
      limit: text('At most this many (1 to 10000; default 100)', ['50']),
    },
    success: {
      200: json('The invocations', {
        type: 'object',
        properties: {
          invocations: { type: 'array', items: SUMMARY },
          total: { type: 'integer', description: 'How many match (the list holds at most `limit`)' },
          counts: COUNTS,
        },
      }),
    },
    errors: ['FUNCTION_NOT_FOUND', 'NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'],
  }),
  counts: routeSchema({
    operationId: 'countAsyncInvocations',
    tag: 'Invocation',
    summary: 'Asynchronous invocations kept per function of a namespace, by state',
    headers: ['x-nuclio-function-namespace'],
    success: {
      200: json('Counts keyed by function name (functions without any are left out)', keyedBy(COUNTS, 'By function')),
    },
    errors: ['NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'],
  }),
};
