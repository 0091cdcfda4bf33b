/**
 * Requests are validated with the routes' schemas (`api/schemas/`), the same ones the OpenAPI document is
 * generated from, so what the document says a route takes is what the route accepts.
 *
 * Ajv is set up not to change a request: no type coercion (a number where a string belongs is refused,
 * as the handlers refuse it, not turned into "5"), no defaults written in (enrichment is the handlers'),
 * and no properties removed (Nuclio clients send fields we do not know, and they are kept). Failures are
 * answered as errors of the catalogue (`schema-errors.ts`, through the error handler).
 *
 * Each validator is compiled when its route is first called, not at start: Fastify's own compiler
 * (@fastify/ajv-compiler, the same Ajv and options) compiles every route's body, query, params and
 * headers schemas in `ready()`, about 300 ms for this API, a third of the dashboard's start-up.
 * `route-schemas-compile.test.ts` compiles them all, so a broken schema fails a test, not a request.
 *
 * Answers are not serialized from the response schemas: routes send JSON text themselves (`reply.ts`),
 * and fast-json-stringify would drop fields a schema does not list. The response schemas document the
 * answers, and tests check real answers against the document.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
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

/** A validator as Fastify calls it: true or false, and the failures in `errors`. */
type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** `build()`'s validator, built on its first call. */
function lazily(build: () => Validate): Validate {
  let compiled: Validate | undefined;
  const validate: Validate = (data) => {
    compiled ??= build();
    const ok = compiled(data);
    validate.errors = compiled.errors;
    return ok;
  };
  return validate;
}

/** Fastify's `schemaController` option for the API: Fastify's Ajv compiler, each validator compiled on first use. */
export const SCHEMA_CONTROLLER: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    // Typed loosely: Fastify's type wants Ajv's own function (with `schemaEnv`), which this stands in for.
    buildValidator: ((
      externalSchemas: Parameters<ReturnType<typeof AjvCompiler>>[0],
      ajvOptions: Parameters<ReturnType<typeof AjvCompiler>>[1],
    ) => {
      const compile = AjvCompiler()(externalSchemas, ajvOptions);
      return (route: Parameters<typeof compile>[0]) => lazily(() => compile(route));
    }) as never,
  },
};

/** Adds the shared resource schemas (`$ref` targets) and plain JSON serialization to `app`. */
export function installRequestValidation(app: FastifyInstance): void {
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}
