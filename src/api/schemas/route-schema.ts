/**
 * `routeSchema()` turns what a route is — its headers, query parameters, path parameters, body, answers
 * and the errors of the catalogue it can answer with — into the Fastify `schema` option. Fastify validates
 * requests with it and @fastify/swagger writes it into the OpenAPI document, so a route says it once.
 *
 * Error answers come from the catalogue (`errors.ts`): the codes a route names, plus those every route of
 * its kind can answer with (no token: 401; a body: the parser's and the schema's 400s, 413; any route:
 * 500), grouped by the status the catalogue gives each, so the document lists each status with the
 * codes it carries.
 */
import type { FastifySchema } from 'fastify';
import '@fastify/swagger';
import { ERRORS, type ErrorCode } from '../../errors.js';
import type { Access } from '../auth.js';
import { headers as headersSchema, type HeaderName } from './headers.js';
import { ref, type JsonSchema } from './json-schema.js';

/** The groups of the document, in the order it lists them. */
export const TAGS = [
  {
    name: 'Functions',
    description: 'Functions: deploy, read, update, scale to zero, delete; replicas and their logs (seed "Function")',
  },
  { name: 'Invocation', description: 'Calling a function through the dashboard (seed "Invoking a function")' },
  { name: 'Projects', description: 'Projects, their deletion strategies, export and import (seed "Project")' },
  { name: 'Function events', description: 'Saved test events of a function (seed "Function event")' },
  { name: 'Function templates', description: 'Ready-made functions (seed "Function template")' },
  {
    name: 'API gateways',
    description: 'Host and path routes to functions, with canaries and authentication (seed "API Gateways")',
  },
  {
    name: 'V3IO streams',
    description: 'The v3ioStream triggers of a project and their shard lags (seed "V3IO Streams")',
  },
  { name: 'Misc', description: 'Versions, addresses, namespaces, the frontend spec, this document (seed "Misc")' },
  {
    name: 'Stream service',
    description: 'The embedded stream service behind v3ioStream triggers, speaking the V3IO streams web API',
  },
  {
    name: 'Artifacts',
    description: "Built functions as archives, for replicas that do not share the dashboard's disk (--platform docker)",
  },
] as const;

export type Tag = (typeof TAGS)[number]['name'];

/** The security schemes of the document (auth.ts decides): the dashboard token, and the stream credential. */
export const SECURITY_SCHEMES = {
  dashboardToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'The dashboard token, needed when the dashboard runs with --auth-token-file (without it the dashboard is open, ' +
      "as Nuclio's is)",
  },
  streamCredential: {
    type: 'apiKey',
    in: 'header',
    name: 'X-v3io-session-key',
    description:
      'The stream credential the dashboard gives replicas with a v3ioStream trigger (also accepted as a bearer ' +
      'token); /v3io only',
  },
  artifactCredential: {
    type: 'http',
    scheme: 'bearer',
    description:
      "A credential for one artifact, which a platform issues to the fetcher of a replica's artifact (short-lived; " +
      'the dashboard token does not open artifacts)',
  },
} as const;

/** What a route is, for its schema. */
export interface RouteDoc {
  /** A unique, stable name of the operation (clients generate method names from it). */
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  /** Who may call it when the dashboard has a token (as its `config.access` says); default 'token'. */
  access?: Access;
  headers?: HeaderName[];
  query?: Record<string, JsonSchema>;
  params?: Record<string, JsonSchema>;
  body?: JsonSchema;
  /** The answers that are not errors, by status ('2xx' for whatever the function answers). */
  success: Record<string, JsonSchema>;
  /** The codes of the catalogue the handler answers with (the common ones are added). */
  errors?: readonly ErrorCode[];
  /** Hidden from the document (a second spelling of a documented route). */
  hide?: boolean;
}

/** Errors of the request's parsing and validation, which any route with a body can answer. */
const BODY_ERRORS: readonly ErrorCode[] = [
  'INVALID_JSON',
  'BODY_TOO_DEEP',
  'BODY_TOO_LARGE',
  'REQUEST_REFUSED',
  'INVALID_BODY',
  'FIELD_MUST_BE',
  'INVALID_FIELD',
];

/** The error codes a route documents: its own plus those of its kind, in catalogue order. */
export function routeErrors(doc: Pick<RouteDoc, 'errors' | 'access' | 'body' | 'query'>): ErrorCode[] {
  const codes = new Set<ErrorCode>(doc.errors ?? []);
  // An artifact route checks its own credential (ARTIFACT_UNAUTHORIZED), never the dashboard token.
  if (!['public', 'artifact'].includes(doc.access ?? 'token')) codes.add('UNAUTHORIZED');
  if (doc.body) for (const c of BODY_ERRORS) codes.add(c);
  if (doc.query) codes.add('INVALID_QUERY');
  codes.add('INTERNAL');
  return (Object.keys(ERRORS) as ErrorCode[]).filter((c) => codes.has(c));
}

/** The error answers of `codes`, one per status, each naming its codes. */
export function errorResponses(codes: readonly ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) byStatus.set(ERRORS[c].status, [...(byStatus.get(ERRORS[c].status) ?? []), c]);
  const out: Record<string, JsonSchema> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const headers: Record<string, JsonSchema> = {
      'X-Protium-Internal': {
        type: 'string',
        enum: ['true'],
        description: "The dashboard's own answer, not a function's",
      },
    };
    if (list.includes('UNAUTHORIZED'))
      headers['WWW-Authenticate'] = { type: 'string', description: 'Bearer realm="protium"' };
    out[String(status)] = {
      description: `An error of the catalogue: ${list.join(', ')}`,
      headers,
      allOf: [ref('ErrorBody'), { type: 'object', properties: { code: { enum: list } } }],
    };
  }
  return out;
}

const objectOf = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

/** The Fastify `schema` option of a route. */
export function routeSchema(doc: RouteDoc): FastifySchema {
  const access = doc.access ?? 'token';
  const schema: FastifySchema & Record<string, unknown> = {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: [doc.tag],
    response: { ...doc.success, ...errorResponses(routeErrors(doc)) },
  };
  if (doc.description) schema.description = doc.description;
  if (doc.headers?.length) schema.headers = headersSchema(...doc.headers);
  if (doc.query) schema.querystring = objectOf(doc.query);
  if (doc.params) schema.params = objectOf(doc.params);
  if (doc.body) schema.body = doc.body;
  if (access === 'public') schema.security = [];
  if (access === 'streams') schema.security = [{ dashboardToken: [] }, { streamCredential: [] }, {}];
  if (access === 'artifact') schema.security = [{ artifactCredential: [] }];
  if (doc.hide) schema.hide = true;
  return schema;
}

/** An answer without a body. */
export const empty = (description: string): JsonSchema => ({ description, type: 'null' });

/** A JSON answer. */
export const json = (description: string, schema: JsonSchema): JsonSchema => ({ description, ...schema });
