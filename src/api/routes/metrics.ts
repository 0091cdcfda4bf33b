/**
 * Metrics routes: `GET /metrics`, the Prometheus text of the dashboard's metrics (guarded by the token
 * like every route; `--metrics-listen-addr` serves the same text unguarded on an address of its own), and
 * the charts' data: `GET /api/functions/:name/metrics` (one function) and `GET /api/function_metrics`
 * (every function of a namespace, or of a project: the functions list's sparklines, `protium top`).
 *
 * Chart data are the last `window` (default and at most 1h) in points of `step` (default 10s; a multiple
 * of ten seconds), as columns: `{start, step, requests, errors, p50, p95, p99, replicas}` — events and
 * failures per second, handler duration quantiles in ms (null without events), replicas ready.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from '../../errors.js';
import type { DashboardMetrics } from '../../metrics/dashboard-metrics.js';
import { MAX_WINDOW_S } from '../../metrics/dashboard-metrics.js';
import { RING_STEP_S } from '../../metrics/function-ring.js';
import { parseDuration } from '../../util/duration.js';
import type { ApiDeps } from '../deps.js';
import { header, namespaceOf, paramName, sendJson } from '../reply.js';
import { metricsSchemas as schemas } from '../schemas/metrics.js';

const NS_HEADER = 'x-nuclio-function-namespace';

/** A duration query parameter in whole multiples of ten seconds, within [RING_STEP_S, MAX_WINDOW_S]. */
function seconds(req: FastifyRequest, name: string, fallback: number): number {
  const raw = (req.query as Record<string, unknown> | undefined)?.[name];
  if (raw === undefined) return fallback;
  const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
  const s = ms === undefined ? NaN : ms / 1000;
  if (!(s >= RING_STEP_S && s <= MAX_WINDOW_S && s % RING_STEP_S === 0))
    throw apiError('INVALID_QUERY', name, 'a duration of whole multiples of 10s up to 1h, such as "10s" or "1m"', raw);
  return s;
}

/** The window and step a chart request asks for (step no longer than the window). */
function range(req: FastifyRequest): { window: number; step: number } {
  const window = seconds(req, 'window', MAX_WINDOW_S);
  const step = seconds(req, 'step', RING_STEP_S);
  if (step > window) throw apiError('INVALID_QUERY', 'step', `at most the window (${window}s)`, step);
  return { window, step };
}

export function metricsRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'metrics' | 'store' | 'config'>): void {
  const on = (): DashboardMetrics => {
    if (!deps.metrics) throw apiError('METRICS_OFF');
    return deps.metrics;
  };

  app.get('/metrics', { schema: schemas.prometheus }, async (_req, reply) => {
    const metrics = on();
    return reply
      .code(200)
      .header('content-type', metrics.contentType)
      .send(await metrics.text());
  });

  app.get('/api/functions/:name/metrics', { schema: schemas.function }, async (req, reply) => {
    const metrics = on();
    const ns = namespaceOf(req, NS_HEADER, deps.config.namespace);
    const name = paramName(req);
    const { window, step } = range(req);
    const fn = await deps.store.get('function', ns, name);
    const series = fn ? metrics.series({ namespace: ns, name }, window, step) : undefined;
    if (!series) throw apiError('FUNCTION_NOT_FOUND', { name, namespace: ns });
    return sendJson(reply, 200, { name, namespace: ns, window, ...series });
  });

  app.get('/api/function_metrics', { schema: schemas.functions }, async (req, reply) => {
    const metrics = on();
    const ns = namespaceOf(req, NS_HEADER, deps.config.namespace);
    const project = header(req, 'x-nuclio-project-name');
    const { window, step } = range(req);
    const functions: Record<string, unknown> = {};
    for (const ref of metrics.known(ns, project)) functions[ref.name] = metrics.series(ref, window, step);
    return sendJson(reply, 200, { namespace: ns, window, step, functions });
  });
}
