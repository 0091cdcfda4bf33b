/**
 * Requests are validated with the routes' schemas (`api/schemas/`), the same ones the OpenAPI document is
 * generated from, so what the document says a route takes is what the route accepts.
 *
 * Ajv is set up not to change a request: no type coercion (a number where a string belongs is refused,
 * as the handlers refuse it, not turned into "5"), no defaults written in (enrichment is the handlers'),
 * and no properties removed (Nuclio clients send fields we do not know, and they are kept). Failures are
 * answered as errors of the catalogue (`schema-errors.ts`, through the error handler).
 *
 * Answers are not serialized from the response schemas: routes send JSON text themselves (`reply.ts`),
 * and fast-json-stringify would drop fields a schema does not list. The response schemas document the
 * answers, and tests check real answers against the document.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { SHARED_SCHEMAS } from './schemas/resources.js';

/** Fastify's `ajv` option for the API. */
export const AJV_OPTIONS: NonNullable<FastifyServerOptions['ajv']> = {
  customOptions: {
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    allErrors: false,
    // `type: ["string", "null"]`: Go reads null as the zero value, and so do the handlers.
    allowUnionTypes: true,
    // The failing value and its schema, to word the error as the handlers do.
    verbose: true,
  },
};

/** Adds the shared resource schemas (`$ref` targets) and plain JSON serialization to `app`. */
export function installRequestValidation(app: FastifyInstance): void {
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}
