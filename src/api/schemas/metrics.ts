/** The schemas of the metrics routes (routes/metrics.ts): Prometheus text and the charts' series. */
import { text, type JsonSchema } from './json-schema.js';
import { NAME_PARAM } from './query.js';
import { json, routeSchema } from './route-schema.js';

const NS = ['NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'] as const;

const numbers = (description: string, nullable = false): JsonSchema => ({
  type: 'array',
  description,
  items: { type: nullable ? ['number', 'null'] : 'number' },
});

/** One function's series: columns, point i covering [start + i·step, start + (i+1)·step). */
const SERIES: JsonSchema = {
  type: 'object',
  properties: {
    start: { type: 'integer', description: 'Seconds since the epoch of the first point' },
    step: { type: 'integer', description: 'Seconds per point (a multiple of 10)' },
    requests: numbers('Events handled per second (a 503 for want of a worker counts too)'),
    errors: numbers('Failed events per second (5xx, 408, and 503 for want of a worker)'),
    p50: numbers('Median handler duration (ms); null without events', true),
    p95: numbers('95th percentile of the handler duration (ms); null without events', true),
    p99: numbers('99th percentile of the handler duration (ms); null without events', true),
    replicas: numbers('Replicas ready (the most at a ten-second mark within the point)'),
  },
};

const RANGE: Record<string, JsonSchema> = {
  window: text('How far back: a duration of whole multiples of 10s up to 1h (default 1h)', ['1h', '15m']),
  step: text('Seconds per point: a duration of whole multiples of 10s, at most the window (default 10s)', [
    '10s',
    '1m',
  ]),
};

export const metricsSchemas = {
  prometheus: routeSchema({
    operationId: 'getMetrics',
    tag: 'Metrics',
    summary: 'Prometheus metrics of functions, gateways, the API and the dashboard process (text format 0.0.4)',
    description:
      'Guarded by the token like every route; --metrics-listen-addr serves the same text without it ' +
      'on an address of its own.',
    success: {
      200: {
        description: 'The Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
    errors: ['METRICS_OFF'],
  }),
  function: routeSchema({
    operationId: 'getFunctionMetrics',
    tag: 'Metrics',
    summary: "A function's last hour for charts: requests/s, errors/s, handler latency p50/p95/p99, replicas",
    params: NAME_PARAM('function'),
    headers: ['x-nuclio-function-namespace'],
    query: RANGE,
    success: {
      200: json('The series', {
        type: 'object',
        properties: {
          name: { type: 'string' },
          namespace: { type: 'string' },
          window: { type: 'integer', description: 'Seconds covered' },
          ...SERIES.properties,
        },
      }),
    },
    errors: ['METRICS_OFF', 'FUNCTION_NOT_FOUND', ...NS],
  }),
  functions: routeSchema({
    operationId: 'listFunctionMetrics',
    tag: 'Metrics',
    summary: 'Every function\'s last hour (of a namespace, or of a project) for sparklines and "protium top"',
    headers: ['x-nuclio-function-namespace', 'x-nuclio-project-name'],
    query: RANGE,
    success: {
      200: json('The series keyed by function name', {
        type: 'object',
        properties: {
          namespace: { type: 'string' },
          window: { type: 'integer' },
          step: { type: 'integer' },
          functions: { type: 'object', additionalProperties: SERIES },
        },
      }),
    },
    errors: ['METRICS_OFF', ...NS],
  }),
};
