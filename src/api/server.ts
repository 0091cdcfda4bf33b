/**
 * The dashboard's HTTP API: a Fastify instance with every route of the seed, one error format, CORS as
 * Nuclio's dashboard sets it, the `X-Igz-*` header rewrite, JSON bodies of any content type up
 * to 10 MiB and 128 levels deep, requests validated with the routes' schemas (request-validation.ts),
 * which also make the OpenAPI document (api-docs.ts), optional bearer-token auth decided per matched
 * route (auth.ts), and bounded connections (util/connection-guard.ts).
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { apiError } from '../errors.js';
import { streamRoutes } from '../streams/v3io-routes.js';
import { ConnectionGuard } from '../util/connection-guard.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../util/json-depth.js';
import { installErrorHandling } from './error-reply.js';
import { installReplicaGate } from './replica-listener.js';
import { artifactRoutes } from './routes/artifacts.js';
import { installAuth } from './auth.js';
import { installApiDocs } from './api-docs.js';
import { AJV_OPTIONS, installRequestValidation, SCHEMA_CONTROLLER } from './request-validation.js';
import type { ApiDeps } from './deps.js';
import { functionRoutes } from './routes/functions.js';
import { projectRoutes } from './routes/projects.js';
import { functionEventRoutes } from './routes/function-events.js';
import { functionTemplateRoutes } from './routes/function-templates.js';
import { apiGatewayRoutes } from './routes/api-gateways.js';
import {
  EXPOSED_HEADERS,
  INVOCATIONS_PATH,
  invocationRoutes,
  isInvocation,
  serveInvocation,
  type InvocationDeps,
} from './routes/function-invocations.js';
import { metricsRoutes } from './routes/metrics.js';
import { shardLagRoutes, v3ioStreamRoutes } from './routes/v3io-streams.js';
import { asyncInvocationRoutes } from './routes/async-invocations.js';
import { miscRoutes } from './routes/misc.js';
import { registerWebUi, WEB_DIST_DIR } from './web-ui.js';

const BODY_LIMIT = 10 * 1024 * 1024;
/** The `route` label of requests no route matched (404s of any path). */
const UNMATCHED_ROUTE = '(unmatched)';

/** Request headers allowed cross-origin: the Nuclio dashboard's list, so a browser client of Nuclio's works here. */
const ALLOWED_HEADERS = [
  'Accept',
  'Authorization',
  'Content-Type',
  'Content-Length',
  'X-CSRF-Token',
  'X-Nuclio-Log-Level',
  'X-Nuclio-Function-Name',
  'X-Nuclio-Function-Namespace',
  'X-Nuclio-Wait-Function-Action',
  'X-Nuclio-Api-Gateway-Name',
  'X-Nuclio-Api-Gateway-Namespace',
  'X-Nuclio-Invoke-Timeout',
  'X-Nuclio-Invoke-Via',
  'X-Nuclio-Invoke-Url',
  'X-Nuclio-Project-Name',
  'X-Nuclio-Project-Namespace',
  'X-Nuclio-Function-Event-Name',
  'X-Nuclio-Function-Event-Namespace',
  'X-Nuclio-Function-Enrich-Apigateways',
  'X-Nuclio-Path',
  'X-Nuclio-Filter-Contains',
  'X-Nuclio-Delete-Project-Strategy',
  'X-Nuclio-Delete-Function-Ignore-State-Validation',
  'X-Nuclio-Delete-Function-With-API-Gateways',
  'X-Nuclio-Agw-Validate-Functions-Existence',
  'X-Nuclio-Creation-State-Updated-Timeout',
  'X-Nuclio-Skip-Tls-Verification',
  'X-Nuclio-Imported-Function-Only',
  'X-Nuclio-Skip-Spec-Cleanup',
  'X-Protium-Invoke-Mode',
  'X-Protium-Max-Attempts',
  'X-Callback-Url',
  'X-Idempotency-Key',
];

export function buildApi(deps: ApiDeps): FastifyInstance {
  const invocation: InvocationDeps = {
    defaultNamespace: deps.config.namespace,
    directory: deps.directory,
    platform: deps.platform,
    invoker: deps.invoker,
    credentials: deps.credentials,
    log: deps.log,
    async: deps.asyncInvocations,
  };
  const app = Fastify({
    // Invocations spelled the canonical way go straight to the function, ahead of Fastify's routing and
    // hooks (the hot path); every other spelling is routed (invocationRoutes).
    serverFactory: (handler) => {
      const metrics = deps.metrics;
      const server = http.createServer((req, res) => {
        if (isInvocation(req)) {
          if (!metrics) return void serveInvocation(req, res, invocation);
          // Counted here: this path never meets Fastify's onResponse hook, which counts every other request.
          const started = performance.now();
          void serveInvocation(req, res, invocation).then(() =>
            metrics
              .apiRoute(req.method ?? 'GET', INVOCATIONS_PATH)
              .record(res.statusCode, (performance.now() - started) / 1000),
          );
          return;
        }
        handler(req, res);
      });
      new ConnectionGuard(server, deps.config.connectionLimits);
      return server;
    },
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: AJV_OPTIONS,
    schemaController: SCHEMA_CONTROLLER,
  });
  installErrorHandling(app, deps.log);
  installRequestValidation(app);

  // Nuclio reads every body as JSON whatever its content type (clients often send none).
  // Fastify's default parser takes a callback and returns nothing (its declared type also admits a parser
  // that returns a promise instead).
  const parseJson = app.getDefaultJsonParser('error', 'error') as (
    req: FastifyRequest,
    body: string,
    done: (err: Error | null, value?: unknown) => void,
  ) => void;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    // Refused before parsing: every recursive walk after the parser (validation, JSON.stringify, clones)
    // would blow the stack on a body nested deeper than any resource is.
    if (jsonTextDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return done(apiError('BODY_TOO_DEEP', MAX_JSON_DEPTH), undefined);
    }
    parseJson(req, text, (err, value) => {
      if (err) return done(apiError('INVALID_JSON', err.message), undefined);
      done(null, value);
    });
  });

  // X-Igz-* headers are X-* headers to Nuclio (its dashboard rewrites them before any route reads one).
  app.addHook('onRequest', async (req) => {
    for (const [k, v] of Object.entries(req.headers)) {
      if (k.startsWith('x-igz')) {
        const renamed = `x${k.slice(5)}`;
        if (req.headers[renamed] === undefined) req.headers[renamed] = v;
      }
    }
  });

  void app.register(cors, {
    origin: true,
    credentials: true,
    maxAge: 300,
    methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS.split(', '),
    // A bare OPTIONS (no Origin) gets a plain 204 instead of a text/plain 400.
    strictPreflight: false,
  });

  // Requests by method and route pattern (the matched route, never the raw URL: label values stay bounded).
  const metrics = deps.metrics;
  if (metrics)
    app.addHook('onResponse', async (req, reply) => {
      metrics
        .apiRoute(req.method, req.routeOptions.url ?? UNMATCHED_ROUTE)
        .record(reply.statusCode, reply.elapsedTime / 1000);
    });

  // Before auth: the document and its viewer are public (api-docs.ts says why).
  installApiDocs(app);
  installAuth(app, deps.credentials);
  installReplicaGate(app);
  // Every route of the dashboard, each group given only what it uses.
  void app.register(async (api) => {
    invocationRoutes(api, invocation);
    asyncInvocationRoutes(api, deps);
    functionRoutes(api, deps);
    projectRoutes(api, deps);
    functionEventRoutes(api, deps);
    functionTemplateRoutes(api, deps);
    apiGatewayRoutes(api, deps);
    v3ioStreamRoutes(api, deps);
    shardLagRoutes(api, deps.streams);
    streamRoutes(api, deps.streams);
    miscRoutes(api, deps);
    artifactRoutes(api, deps.artifacts);
    metricsRoutes(api, deps);
  });
  registerWebUi(app, WEB_DIST_DIR);
  return app;
}
