/**
 * A request the route's schema refused, as an error of the catalogue. Fastify validates each request
 * with the route's schema (Ajv) before the handler runs and reports the first failure; this turns it into
 * what the handlers' own validators say for the same fault (`resources/shape.ts`):
 *
 *   the body itself        INVALID_BODY   `Request body must be a JSON object, got "x"`
 *   a field's type         FIELD_MUST_BE  `spec.runtime must be a string, got 5` (field `spec.runtime`)
 *   a field's range        INVALID_FIELD  `spec.replicas must be between 0 and 1000, got 5000`
 *   a query parameter      INVALID_QUERY  `Query parameter follow must be a string, got ["a","b"]`
 *   a header               INVALID_HEADER
 *
 * Fields are named as the validators name them: dots between properties, `[i]` for list items. Pure.
 */
import { apiError, fieldError, quote, type ApiError } from '../errors.js';

/** One failure as Ajv reports it (with `verbose: true`: the schema and the value). */
export interface SchemaFailure {
  keyword: string;
  /** JSON pointer to the value that failed, '' for the whole part. */
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  /** The failing keyword's value (verbose). */
  schema?: unknown;
  /** The schema holding the failing keyword (verbose). */
  parentSchema?: Record<string, unknown>;
  /** The value that failed (verbose). */
  data?: unknown;
}

/** The request part a failure is in, as Fastify names it. */
export type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

const ARTICLE: Record<string, string> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
};

/** `["string", "null"]` → "a string": null is always allowed where the validators allow it, so it is not news. */
function expectedType(type: unknown): string {
  const list = (Array.isArray(type) ? type : [type]).map(String).filter((t) => t !== 'null');
  return list.map((t) => ARTICLE[t] ?? t).join(' or ') || 'null';
}

/** The segments of a JSON pointer. */
function segments(pointer: string): string[] {
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The field a pointer names in `data`, as the validators write it: `spec.env[0].name`. A segment is an
 * index when the value it is taken from is a list.
 */
export function fieldName(pointer: string, data: unknown): string {
  let out = '';
  let at: unknown = data;
  for (const seg of segments(pointer)) {
    out += Array.isArray(at) ? `[${seg}]` : out ? `.${seg}` : seg;
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

/** A short example from the schema, for the message about a whole body. */
function exampleOf(schema: Record<string, unknown> | undefined): string {
  const ex = Array.isArray(schema?.examples) ? JSON.stringify(schema.examples[0]) : undefined;
  return ex && ex.length <= 80 ? ` such as ${ex}` : '';
}

/** The range of a number as the validators word it (`shape.ts` optInt). */
function range(schema: Record<string, unknown> | undefined): string {
  const min = typeof schema?.minimum === 'number' ? schema.minimum : undefined;
  const max = typeof schema?.maximum === 'number' ? schema.maximum : undefined;
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  return min !== undefined ? `at least ${min}` : `at most ${max}`;
}

/** What the value at a failure must be, in words. */
function expectation(f: SchemaFailure): string {
  switch (f.keyword) {
    case 'type':
      return expectedType(f.schema ?? f.params.type);
    case 'enum':
      return `one of ${(Array.isArray(f.schema) ? f.schema : []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `a string matching /${String(f.schema ?? f.params.pattern)}/`;
    default:
      return f.message ?? 'valid';
  }
}

/**
 * The error of the catalogue for the first failure of `part` (`data` is that part of the request, to
 * name fields as they are written).
 */
export function schemaError(part: RequestPart, failures: readonly SchemaFailure[], data: unknown): ApiError {
  const f = failures[0];
  if (!f) return apiError('INVALID_BODY', "Request refused by the route's schema");
  const missing =
    f.keyword === 'required' && typeof f.params.missingProperty === 'string' ? f.params.missingProperty : undefined;
  const path =
    missing === undefined ? f.instancePath : `${f.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  const field = fieldName(path, data);
  const value = f.data;
  if (part === 'querystring') {
    return apiError('INVALID_QUERY', field, missing ? 'given' : expectation(f), missing ? undefined : value);
  }
  if (part === 'headers') {
    return apiError(
      'INVALID_HEADER',
      field,
      missing ? 'given' : expectation(f),
      missing ? '' : typeof value === 'string' ? value : String(value),
    );
  }
  if (field === '' && part === 'body') {
    return apiError(
      'INVALID_BODY',
      `Request body must be ${f.keyword === 'type' ? `a JSON ${expectedType(f.schema).replace(/^an? /, '')}` : expectation(f)}${exampleOf(f.parentSchema)}, got ${data === undefined ? 'an empty body' : quote(value)}`,
    );
  }
  if (missing) return fieldError(field, `${field} must be provided`);
  if (f.keyword === 'minimum' || f.keyword === 'maximum')
    return fieldError(field, `${field} must be ${range(f.parentSchema)}, got ${quote(value)}`);
  return apiError('FIELD_MUST_BE', field, expectation(f), value);
}
