/**
 * Every route schema compiles with the Ajv the dashboard validates requests with: validators are compiled
 * on a route's first request (request-validation.ts), so a broken schema would otherwise show only then,
 * as a 500. Compiles the body, querystring, params and headers of every schema of every route group.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifySchema } from 'fastify';
import { AJV_OPTIONS } from '../request-validation.js';
import { apiGatewaySchemas } from './api-gateways.js';
import { functionEventSchemas } from './function-events.js';
import { functionTemplateSchemas } from './function-templates.js';
import { functionSchemas } from './functions.js';
import { invocationSchema } from './invocations.js';
import { miscSchemas } from './misc.js';
import { projectSchemas } from './projects.js';
import { SHARED_SCHEMAS } from './resources.js';
import { streamServiceSchema, v3ioStreamSchemas } from './v3io-streams.js';

const ROUTES: Record<string, FastifySchema> = {
  ...prefixed('functions', functionSchemas),
  ...prefixed('projects', projectSchemas),
  ...prefixed('functionEvents', functionEventSchemas),
  ...prefixed('functionTemplates', functionTemplateSchemas),
  ...prefixed('apiGateways', apiGatewaySchemas),
  ...prefixed('v3ioStreams', v3ioStreamSchemas),
  ...prefixed('misc', miscSchemas),
  invocation: invocationSchema(),
  streamService: streamServiceSchema,
};

function prefixed(group: string, schemas: Record<string, FastifySchema>): Record<string, FastifySchema> {
  return Object.fromEntries(Object.entries(schemas).map(([k, v]) => [`${group}.${k}`, v]));
}

describe('route schemas', () => {
  const external = Object.fromEntries(SHARED_SCHEMAS.map((s) => [s.$id!, s])) as Parameters<
    ReturnType<typeof AjvCompiler>
  >[0];
  const compile = AjvCompiler()(external, AJV_OPTIONS);

  for (const [name, schema] of Object.entries(ROUTES)) {
    it(`${name} compiles, and documents a success and an error answer`, () => {
      for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
        const s = schema[part];
        if (s !== undefined)
          assert.equal(
            typeof compile({ schema: s as never, method: 'POST', url: `/${name}`, httpPart: part }),
            'function',
            `${name}.${part}`,
          );
      }
      const statuses = Object.keys(schema.response as object);
      assert.ok(
        statuses.some((s) => s.startsWith('2')),
        `${name}: ${statuses.join(', ')}`,
      );
      assert.ok(
        statuses.some((s) => /^[45]/.test(s)),
        `${name}: ${statuses.join(', ')}`,
      );
    });
  }
});
