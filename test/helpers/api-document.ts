/**
 * Reading the API's OpenAPI document against what the dashboard really has: the routes Fastify
 * registered (`app.routeAccess`), the operations of the seed (Nuclio's dashboard API document), and a
 * validator of answers against the document's response schemas.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RouteAccess } from '../../src/api/auth.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** The parts of an operation the tests read; its schemas stay opaque JSON. */
export interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, { scheme?: string }> } & Record<string, unknown>;
};

/**
 * Routes that are not part of the API, so not in its document: the CORS preflight catch-all, the web
 * UI's files, the document viewer's files, and the second spelling of the invocation endpoint (sub-paths).
 * Anything else a dashboard registers must be documented.
 */
export const NOT_IN_DOCUMENT: readonly RegExp[] = [
  /^OPTIONS \*$/,
  /^GET \/\*?$/,
  /^GET \/api\/docs(\/.*)?$/,
  /^[A-Z]+ \/api\/function_invocations\/\*$/,
];

/** A Fastify route URL as an OpenAPI path: `:name` → `{name}`, a trailing wildcard → `{path}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

/**
 * What is wrong with the document of `routes`: a route missing from it (registered without a schema, or
 * hidden), an operation without a success answer, or without the error answers of the catalogue.
 */
export function undocumentedRoutes(routes: readonly RouteAccess[], doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  for (const r of routes) {
    const key = `${r.method} ${r.url}`;
    if (r.method === 'HEAD' || NOT_IN_DOCUMENT.some((re) => re.test(key))) continue;
    const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
    if (!op) {
      problems.push(`${key} is not in the document: give the route a schema (src/api/schemas/, routeSchema())`);
      continue;
    }
    const statuses = Object.keys(op.responses ?? {});
    if (!statuses.some((s) => /^2/.test(s)))
      problems.push(`${key} documents no success answer (it has ${statuses.join(', ') || 'none'})`);
    const errors = statuses.filter((s) => /^[45]/.test(s));
    if (!errors.length) problems.push(`${key} documents no error answer: routeSchema() lists those of the catalogue`);
    for (const s of errors) {
      const schema = op.responses[s].content?.['application/json']?.schema;
      if (!JSON.stringify(schema ?? {}).includes('#/components/schemas/ErrorBody'))
        problems.push(`${key}: its ${s} answer is not the catalogue's error body`);
    }
  }
  return problems;
}

/** The seed: Nuclio's dashboard API document, from the shared folder (CI's layout, or this machine's). */
export function readSeed(): string {
  const candidates = [
    process.env.PROTIUM_SEED_FILE,
    join(PACKAGE_ROOT, '..', 'shared', 'seed', '000_eda952786c836417.txt'),
    '/work/shared/seed/000_eda952786c836417.txt',
  ];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found)
    throw new Error(
      `The seed (Nuclio's dashboard API document) is not in ${candidates.filter(Boolean).join(' or ')}: set ` +
        `PROTIUM_SEED_FILE`,
    );
  return readFileSync(found, 'utf8');
}

/** The operations the seed lists (`URL: GET /api/functions/<function name>`), methods upper-case; `<Method>` is any. */
export function seedOperations(seed: string): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  for (const m of seed.matchAll(/URL:\s+(<Method>|[A-Z]+)\s+(\/(?:<[^>]+>|\S)+)/g))
    out.push({ method: m[1], path: m[2] });
  return out;
}

/** A path of the seed and of the document, with every parameter as `{}`, to compare them. */
export const pathShape = (path: string): string =>
  path
    .replace(/<[^>]+>/g, '{}')
    .replace(/\{[^}]+\}/g, '{}')
    .replace(/\/+$/, '');

/** Validates answers against the response schemas of the document. */
export class AnswerValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private static readonly ID = 'https://protium.invalid/openapi.json';

  constructor(private readonly doc: OpenApiDocument) {
    this.ajv.addSchema({ ...doc, $id: AnswerValidator.ID });
  }

  /** Problems of `body` as the answer `status` of `method path` (a document path); [] when it fits. */
  check(method: string, path: string, status: number, body: unknown): string[] {
    const op = this.doc.paths[path]?.[method.toLowerCase()];
    if (!op) return [`${method} ${path} is not in the document`];
    const key = String(status) in op.responses ? String(status) : `${String(status)[0]}XX`;
    const response = op.responses[key];
    if (!response)
      return [
        `${method} ${path} does not document status ${status} (it documents ${Object.keys(op.responses).join(', ')})`,
      ];
    const media = response.content?.['application/json'];
    if (!media)
      return body === undefined
        ? []
        : [`${method} ${path} ${status}: the document says no JSON body, the answer has one`];
    const pointer = ['paths', path, method.toLowerCase(), 'responses', key, 'content', 'application/json', 'schema']
      .map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/');
    const validate = this.ajv.getSchema(`${AnswerValidator.ID}#/${pointer}`);
    if (!validate) return [`${method} ${path} ${status}: no schema at ${pointer}`];
    return validate(body)
      ? []
      : (validate.errors ?? []).map((e) => `${method} ${path} ${status}: ${e.instancePath || '(body)'} ${e.message}`);
  }
}
