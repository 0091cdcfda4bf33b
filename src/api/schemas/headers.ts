/**
 * The request headers the dashboard reads (Nuclio's header catalogue), each described once, and the `headers` schema
 * of a route built from their names. Every header is a string (Node gives nothing else), so validation never refuses
 * one here: what a value must look like is the handler's rule (a duration, `true`), answered with INVALID_HEADER or
 * the route's own error, and said in the description. Each also arrives as `X-Igz-…` (the dashboard renames them).
 * Headers a route does not read are allowed, as clients send many.
 */
import { text, type JsonSchema } from './json-schema.js';

const BOOLEAN = ' Only `true` (any case) is true.';
const DURATION = 'A duration such as "30s", "2m" or "1h30m"';

/** Every request header a route reads, by its lower-case name. */
export const HEADERS = {
  'x-nuclio-function-name': text('The function: filters lists; names the function to invoke (required there)'),
  'x-nuclio-function-namespace': text(
    "The namespace of functions (a DNS-1123 label); the dashboard's --namespace when absent",
  ),
  'x-nuclio-project-name': text('The project: filters lists, and labels what is created (nuclio.io/project-name)'),
  'x-nuclio-project-namespace': text("The namespace of projects; the dashboard's when absent"),
  'x-nuclio-function-event-name': text('Lists only the event of this name'),
  'x-nuclio-function-event-namespace': text("The namespace of function events; the dashboard's when absent"),
  'x-nuclio-api-gateway-namespace': text("The namespace of API gateways; the dashboard's when absent"),
  'x-nuclio-wait-function-action': text(
    `true: answer only when the deploy has settled (its outcome is in status.state).${BOOLEAN}`,
    ['true'],
  ),
  'x-nuclio-creation-state-updated-timeout': text(`${DURATION}; a value that is not one answers 400`, ['1m']),
  'x-nuclio-function-enrich-apigateways': text(
    `true: fill status.apiGateways with the gateways that route to the function.${BOOLEAN}`,
    ['true'],
  ),
  'x-nuclio-skip-spec-cleanup': text(
    'Any value: the export drops registries (and the image when the source is inline)',
  ),
  'x-nuclio-imported-function-only': text(
    `true: redeploy only a function in state imported (others: 204, nothing done).${BOOLEAN}`,
    ['true'],
  ),
  'x-nuclio-delete-function-ignore-state-validation': text(
    `true: delete even while the function is being provisioned.${BOOLEAN}`,
    ['true'],
  ),
  'x-nuclio-delete-function-with-api-gateways': text(
    `true: delete the API gateways that route to the function too (else 412).${BOOLEAN}`,
    ['true'],
  ),
  'x-nuclio-delete-project-strategy': text(
    'restricted (the default: refuse while it holds functions or gateways), cascading (delete them too), check (only ' +
      'say whether it could be deleted)',
    ['restricted', 'cascading', 'check'],
  ),
  'x-nuclio-agw-validate-functions-existence': text(`true: the upstream functions must exist (else 400).${BOOLEAN}`, [
    'true',
  ]),
  'x-nuclio-filter-contains': text('Lists only templates whose configuration contains this text'),
  'x-nuclio-invoke-timeout': text(
    `How long to wait for the function's answer: ${DURATION} (default 1m; 504 after it)`,
    ['5s'],
  ),
  'x-nuclio-invoke-url': text(
    "Invoke through this one of the function's invocation URLs (status.internalInvocationUrls, externalInvocationUrls)",
  ),
  'x-nuclio-invoke-via': text('Accepted for Nuclio clients and ignored'),
  'x-nuclio-path': text('The path the function sees (leading slashes trimmed)', ['/orders/7']),
  'x-nuclio-skip-tls-verification': text(
    'Accepted for Nuclio clients and ignored (functions are called over plain HTTP here)',
  ),
  'x-nuclio-sanitize-response': text('Accepted for Nuclio clients and ignored'),
  'x-nuclio-log-level': text('Passed to the function: its logs of this level and above come back in X-Nuclio-Logs', [
    'debug',
  ]),
  'x-protium-invoke-mode': text(
    'async: queue the invocation durably and answer 202 with its id (poll GET /api/function_invocations/ID); ' +
      'sync (the default): wait for the answer',
    ['async'],
  ),
  'x-protium-max-attempts': text(
    'Async: attempts before the invocation is a dead letter, 1 to 100 ' +
      '(default: spec.asyncInvocation.maxAttempts, else 3)',
    ['5'],
  ),
  'x-callback-url': text(
    'Async: where the result is POSTed when the invocation ends; ' +
      "its host must be in the dashboard's --async-callback-allow list",
    ['https://hooks.example.com/done'],
  ),
  'x-idempotency-key': text(
    'Async: a repeated enqueue with the same key (per function, 1 to 256 visible ASCII characters) ' +
      'answers the first invocation instead of queueing another',
    ['order-7-resize'],
  ),
  'x-v3io-function': text(
    'The stream operation: CreateStream, DescribeStream, DeleteStream, PutRecords, Heartbeat, LeaveGroup, ' +
      'CommitOffset, GetOffsets (on a stream), Seek, GetRecords (on a shard); any case',
    ['PutRecords'],
  ),
} as const satisfies Record<string, JsonSchema>;

/** A request header the dashboard reads. */
export type HeaderName = keyof typeof HEADERS;

/** The `headers` schema of a route that reads `names`. */
export function headers(...names: HeaderName[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const n of names) properties[n] = HEADERS[n];
  return { type: 'object', properties };
}
