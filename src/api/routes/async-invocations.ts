/**
 * Asynchronous invocations (src/async/): the status of one (`GET /api/function_invocations/ID`, the
 * Location an enqueue answers), its requeue (`POST …/ID/retry`) and discard (`DELETE …/ID`), a function's
 * list (`GET /api/functions/NAME/invocations`) and the counts per function of a namespace
 * (`GET /api/function_invocation_counts`). Queueing itself is on the invocation path
 * (function-invocations.ts, `X-Protium-Invoke-Mode: async`).
 *
 * `/api/function_invocations/ID` used to reach the function as a sub-path spelling of the invocation
 * endpoint; GET and DELETE of one segment below it are these routes now (any other method or depth still
 * invokes).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AsyncInvocations } from '../../async/async-invocations.js';
import { asyncOptions, INVOCATION_LOCATION } from '../../async/enqueue-http.js';
import { INVOCATION_STATES, type InvocationState } from '../../async/invocation.js';
import { apiError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import type { ApiDeps } from '../deps.js';
import { namespaceOf, paramName, sendEmpty, sendJson } from '../reply.js';
import { asyncInvocationSchemas as schemas } from '../schemas/async-invocations.js';

const NS_HEADER = 'x-nuclio-function-namespace';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/** A time filter: a duration ago (`10m`) or an RFC 3339 time; undefined when absent. */
export function parseTimeQuery(value: unknown, name: string, now: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string') {
    const ago = parseDuration(value);
    if (ago !== undefined && ago >= 0) return now - ago;
    if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
      const t = Date.parse(value);
      if (!Number.isNaN(t)) return t;
    }
  }
  throw apiError('INVALID_QUERY', name, 'a duration ago such as "10m", or an RFC 3339 time', value);
}

function listFilter(req: FastifyRequest) {
  const q = req.query as Record<string, unknown>;
  const now = Date.now();
  let state: InvocationState | undefined;
  if (q.state !== undefined && q.state !== '') {
    if (!(INVOCATION_STATES as readonly unknown[]).includes(q.state))
      throw apiError('INVALID_QUERY', 'state', `one of ${INVOCATION_STATES.join(', ')}`, q.state);
    state = q.state as InvocationState;
  }
  let limit = DEFAULT_LIMIT;
  if (q.limit !== undefined && q.limit !== '') {
    limit = typeof q.limit === 'string' && /^\d{1,5}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT))
      throw apiError('INVALID_QUERY', 'limit', `a whole number from 1 to ${MAX_LIMIT}`, q.limit);
  }
  const since = parseTimeQuery(q.since, 'since', now);
  const until = parseTimeQuery(q.until, 'until', now);
  return {
    limit,
    ...(state ? { state } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}

export function asyncInvocationRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'config' | 'store'> & { asyncInvocations: AsyncInvocations },
): void {
  const service = deps.asyncInvocations;

  app.get('/api/function_invocations/:id', { schema: schemas.get }, async (req, reply) =>
    sendJson(reply, 200, await service.get(paramName(req, 'id'))),
  );

  app.delete('/api/function_invocations/:id', { schema: schemas.discard }, async (req, reply) => {
    await service.discard(paramName(req, 'id'));
    return sendEmpty(reply, 204);
  });

  app.post('/api/function_invocations/:id/retry', { schema: schemas.retry }, async (req, reply) => {
    const { maxAttempts } = asyncOptions(req.headers);
    const done = await service.retry(paramName(req, 'id'), maxAttempts);
    reply.header('location', `${INVOCATION_LOCATION}${done.id}`);
    return sendJson(reply, 202, { id: done.id, state: done.state });
  });

  app.get('/api/functions/:name/invocations', { schema: schemas.list }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, deps.config.namespace);
    const name = paramName(req);
    const filter = listFilter(req);
    if (!(await deps.store.get('function', ns, name))) throw apiError('FUNCTION_NOT_FOUND', { name, namespace: ns });
    return sendJson(reply, 200, service.list({ namespace: ns, name }, filter));
  });

  app.get('/api/function_invocation_counts', { schema: schemas.counts }, async (req, reply) =>
    sendJson(reply, 200, service.counts(namespaceOf(req, NS_HEADER, deps.config.namespace))),
  );
}
