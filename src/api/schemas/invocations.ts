/**
 * The schema of /api/function_invocations (routes/function-invocations.ts). Its canonical spelling runs
 * ahead of Fastify (the hot path), so this schema validates nothing: the handler reads the headers
 * itself. It describes the route Fastify registers for the other spellings, which is the same endpoint.
 */
import { QUEUED } from './async-invocations.js';
import type { JsonSchema } from './json-schema.js';
import { json, routeSchema } from './route-schema.js';

const anything = (description: string): JsonSchema => ({ description, content: { '*/*': { schema: {} } } });

/** The schema of the invocation endpoint; `hide` for its second registration (sub-paths, no new meaning). */
export const invocationSchema = (hide = false) =>
  routeSchema({
    operationId: 'invokeFunction',
    tag: 'Invocation',
    summary: 'Invoke a function: any method, its body and headers go to the function',
    description:
      "The request's method, body (streamed) and headers (but the X-Nuclio-* ones that steer the call) go to the " +
      'function named by X-Nuclio-Function-Name; its status, headers and body come back as it gave them. While a new ' +
      'version deploys, the previous one answers. An error of the dashboard itself carries X-Protium-Internal: true; ' +
      "any other answer is the function's.",
    headers: [
      'x-nuclio-function-name',
      'x-nuclio-function-namespace',
      'x-nuclio-invoke-timeout',
      'x-nuclio-invoke-url',
      'x-nuclio-path',
      'x-nuclio-log-level',
      'x-nuclio-invoke-via',
      'x-nuclio-skip-tls-verification',
      'x-nuclio-sanitize-response',
      'x-protium-invoke-mode',
      'x-protium-max-attempts',
      'x-callback-url',
      'x-idempotency-key',
    ],
    success: {
      202: json(
        'With X-Protium-Invoke-Mode: async: queued (durably) — ' +
          'its status is at the Location, /api/function_invocations/ID',
        QUEUED,
      ),
      '2xx': {
        ...anything("The function's answer, as it gave it (so is any status without X-Protium-Internal)"),
        headers: {
          'X-Nuclio-Logs': {
            type: 'string',
            description: "With X-Nuclio-Log-Level: the function's log records of the call, as JSON",
          },
        },
      },
    },
    errors: [
      'FUNCTION_NAME_REQUIRED',
      'INVALID_NAMESPACE',
      'INVALID_INVOKE_TIMEOUT',
      'INVALID_INVOKE_URL',
      'CLIENT_GONE',
      'FUNCTION_NOT_FOUND',
      'UPSTREAM_FAILED',
      'FUNCTION_NOT_READY',
      'UPSTREAM_TIMEOUT',
      'INVALID_HEADER',
      'ASYNC_QUEUE_FULL',
      'CALLBACK_URL_NOT_ALLOWED',
      'SHUTTING_DOWN',
    ],
    hide,
  });
