/**
 * The error catalogue (fastify's lib/errors.js idea): every error the dashboard answers with — on the API,
 * the invocation path, the API gateway listener and the function ports — has a stable code here, the HTTP
 * status it answers with and the template of its message. Code throws `apiError(CODE, ...args)`, callers
 * test `e.code`, and one renderer (`error-body.ts`) turns any error into the one JSON shape
 * `{"error": "<message>", "field"?: "...", "code": "<CODE>"}` (Nuclio's body names `error`; `field` and `code`
 * are Protium's additions). README.md lists the catalogue (`## Errors`); a test keeps the two in sync.
 *
 * Messages follow Nuclio's wording where clients match substrings of them (`Function not found`,
 * `Cannot create two functions with the same name`, …); Protium's own state the failed action, name the
 * field and quote the value. Where validation has a sentence per rule (INVALID_FIELD, INVALID_BODY,
 * STREAM_REQUEST_INVALID), the code names the kind of error and the message is the rule's sentence.
 */

/** One entry of the catalogue. `message` (and `field`, `headers`) take the arguments the thrower gives. */
interface ErrorSpec {
  /** The HTTP status it answers with. */
  status: number;
  message: (...args: never[]) => string;
  /** The request field the error is about, if any (rendered as `field`). */
  field?: (...args: never[]) => string;
  /** Headers the answer carries (a challenge). */
  headers?: (...args: never[]) => Record<string, string>;
  /** The status when it is not always `status` (a 4xx the HTTP framework decided). */
  statusOf?: (...args: never[]) => number;
}

const DASHBOARD_CHALLENGE = 'Bearer realm="protium"';
const DELETE_WITH_GATEWAYS = 'X-Nuclio-Delete-Function-With-API-Gateways';
const names = (list: readonly string[]) => list.join(', ');

/** The catalogue: code → the status it answers with and its message template (and its field and headers). */
export const ERRORS = {
  // ---- Requests: bodies, headers, query parameters, routes, auth ----
  INVALID_JSON: { status: 400, message: (detail: string) => `Failed to parse JSON body: ${detail}` },
  BODY_TOO_DEEP: {
    status: 400,
    message: (limit: number) => `Failed to parse JSON body: it nests objects and arrays more than ${limit} levels deep`,
  },
  BODY_TOO_LARGE: { status: 413, message: () => 'Request body is too large (the limit is 10 MiB)' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: () => 'Unsupported Media Type' },
  REQUEST_REFUSED: {
    status: 400,
    message: (_status: number, message: string) => message,
    statusOf: (status: number) => status,
  },
  INVALID_BODY: { status: 400, message: (message: string) => message },
  INVALID_FIELD: {
    status: 400,
    message: (_field: string, message: string) => message,
    field: (field: string) => field,
  },
  FIELD_MUST_BE: {
    status: 400,
    message: (field: string, expected: string, got: unknown) => `${field} must be ${expected}, got ${quote(got)}`,
    field: (field: string) => field,
  },
  INVALID_HEADER: {
    status: 400,
    message: (header: string, expected: string, got: string) =>
      `Header ${header} must be ${expected}, got ${JSON.stringify(got.slice(0, 40))}`,
  },
  INVALID_QUERY: {
    status: 400,
    message: (param: string, expected: string, got: unknown) =>
      `Query parameter ${param} must be ${expected}, got ${JSON.stringify(got)}`,
  },
  NAMESPACE_REQUIRED: { status: 400, message: () => 'Namespace must exist' },
  INVALID_NAMESPACE: {
    status: 400,
    message: (namespace: string, header: string) =>
      `Namespace ${JSON.stringify(namespace.slice(0, 80))} (header ${header}) is not a valid namespace name`,
  },
  PROJECT_HEADER_REQUIRED: {
    status: 400,
    message: () => 'Project name must not be empty (header X-Nuclio-Project-Name)',
  },
  UNAUTHORIZED: {
    status: 401,
    message: () => 'Missing or invalid dashboard token: send Authorization: Bearer <token>',
    headers: () => ({ 'www-authenticate': DASHBOARD_CHALLENGE }),
  },
  NO_ROUTE: { status: 404, message: (method: string, path: string) => `No route ${method} ${path}` },
  REPLICA_ROUTE_REFUSED: {
    status: 404,
    message: () => 'Not found: replicas may fetch their artifact and use the stream service here, nothing else',
  },
  ARTIFACT_UNAUTHORIZED: {
    status: 401,
    message: () => 'Missing or invalid artifact token: a platform issues one for the artifact its replica runs',
    headers: () => ({ 'www-authenticate': 'Bearer realm="protium-artifacts"' }),
  },
  ARTIFACT_NOT_FOUND: { status: 404, message: (id: string) => `Artifact ${id} does not exist (any more)` },
  METRICS_OFF: {
    status: 404,
    message: () => 'Metrics are off: this dashboard runs with --metrics off (start it with --metrics on)',
  },
  DATA_DIR_FULL: { status: 507, message: () => 'The data directory is full: free some space (nothing was changed)' },
  INTERNAL: {
    status: 500,
    message: (detail?: string) => (detail === undefined ? 'Internal error' : `Internal error: ${detail}`),
  },

  // ---- Functions ----
  FUNCTION_NOT_FOUND: {
    status: 404,
    message: (ref?: { name: string; namespace: string }) =>
      ref ? `Function not found: ${ref.name} @ ${ref.namespace}` : 'Function not found',
  },
  FUNCTION_EXISTS: { status: 409, message: () => 'Cannot create two functions with the same name' },
  FUNCTION_VERSION_STALE: { status: 409, message: () => 'Function resource version is stale' },
  FUNCTION_PROVISIONING: {
    status: 412,
    message: (action: 'update' | 'delete' | 'patch', state?: string) =>
      action === 'update'
        ? 'Function cannot be updated when existing function is being provisioned'
        : action === 'delete'
          ? 'Function is being provisioned and cannot be deleted'
          : `Function is being provisioned (state ${state}); try again when it is ready`,
  },
  FUNCTION_NO_IMAGE: { status: 412, message: () => 'No image field in function config spec, unable to redeploy' },
  FUNCTION_MIN_REPLICAS: { status: 412, message: () => 'Cannot scale to zero a function with non-zero min replicas' },
  FUNCTION_USED_BY_API_GATEWAYS: {
    status: 412,
    message: (gateways: readonly string[]) =>
      `Function is used by api gateways: ${names(gateways)} (send ${DELETE_WITH_GATEWAYS}: true to delete them too)`,
  },
  FUNCTION_NAME_RESERVED: {
    status: 412,
    message: (name: string) => `Function name ${name} is reserved and cannot be used.`,
  },
  FUNCTION_PROJECT_MISSING: {
    status: 412,
    message: (project: string, label: string) => `Project does not exist: ${JSON.stringify(project)} (label ${label})`,
  },
  DESIRED_STATE_UNSUPPORTED: {
    status: 400,
    message: (desired: unknown) =>
      `Unsupported desired state in patch ` +
      `request: ${typeof desired === 'string' ? desired : JSON.stringify(desired)} (supported: ready, scaledToZero)`,
  },
  REPLICA_OF_OTHER_FUNCTION: {
    status: 400,
    message: (replica: string, fn: string) => `${replica} replica does not belong to function ${fn}`,
  },
  REPLICA_NAME_INVALID: {
    status: 400,
    message: (replica: string, fn: string) => `${replica} is not a replica name of function ${fn}`,
  },
  REPLICA_LOG_NOT_FOUND: {
    status: 404,
    message: (replica: string, fn: string) =>
      `Replica ${replica} of function ${fn} has no log (GET /api/functions/${fn}/replicas lists the live ones)`,
  },

  // ---- Invoking a function: /api/function_invocations, the gateway listener, function ports ----
  FUNCTION_NAME_REQUIRED: {
    status: 400,
    message: () => 'Function name must be provided (header X-Nuclio-Function-Name)',
  },
  INVALID_INVOKE_TIMEOUT: {
    status: 400,
    message: (got: string) =>
      `Invalid invoke timeout: X-Nuclio-Invoke-Timeout must be a duration such as "5s", ` +
      `got ${JSON.stringify(got.slice(0, 40))}`,
  },
  INVALID_INVOKE_URL: {
    status: 400,
    message: (url: string, urls: readonly string[]) =>
      `Invalid function url ${url}: it must be one of the function's invocation URLs (${names(urls) || 'none'})`,
  },
  FUNCTION_NOT_READY: {
    status: 503,
    message: (name: string, state: string, why?: string) =>
      `Function ${name} is not ready to be invoked (state ${state || 'unknown'}${why ? `: ${why}` : ''})`,
  },
  UPSTREAM_TIMEOUT: {
    status: 504,
    message: (ms: number) => `Failed to invoke function: no answer within ${ms} ms (X-Nuclio-Invoke-Timeout)`,
  },
  UPSTREAM_FAILED: {
    status: 502,
    message: (target: string, detail: string) => `Failed to invoke function at ${target}: ${detail}`,
  },
  CLIENT_GONE: { status: 400, message: () => 'The client went away before the function answered' },
  SHUTTING_DOWN: { status: 503, message: () => 'The dashboard is shutting down' },
  GATEWAY_NO_ROUTE: {
    status: 404,
    message: (host: string, path: string) =>
      `No API gateway routes host ${JSON.stringify(host)} and path ${JSON.stringify(path)}`,
  },
  GATEWAY_BASIC_AUTH_REQUIRED: {
    status: 401,
    message: (_gateway: string) => "Authentication required: send the gateway's basic credentials",
    headers: (gateway: string) => ({ 'www-authenticate': `Basic realm="${gateway}", charset="UTF-8"` }),
  },
  GATEWAY_NO_ACCESS_KEYS: {
    status: 401,
    message: () => 'This gateway needs an access key, and the dashboard has none configured (--access-keys-file)',
  },
  GATEWAY_ACCESS_KEY_REQUIRED: {
    status: 401,
    message: () => 'A valid access key is required (X-V3io-Session-Key header or session cookie)',
  },
  GATEWAY_FUNCTION_NOT_RUNNING: {
    status: 503,
    message: (fn: string) =>
      `The gateway's function ${fn} is not running (it does not exist, is still being deployed for the first ` +
      `time, or failed to deploy)`,
  },
  GATEWAY_UPSTREAM_FAILED: {
    status: 502,
    message: (fn: string, detail: string) => `Failed to reach function ${fn}: ${detail}`,
  },
  FUNCTION_REMOVED: { status: 503, message: (fn: string) => `Function ${fn} was removed` },
  FUNCTION_DISABLED: { status: 503, message: (fn: string) => `Function ${fn} is disabled (spec.disable)` },
  FUNCTION_BUSY: {
    status: 503,
    message: (fn: string, limit?: number) =>
      `Function ${fn} has too many connections waiting for a ` +
      `replica${limit === undefined ? '' : ` (${limit})`}; try again`,
  },
  FUNCTION_NO_REPLICA: {
    status: 503,
    message: (fn: string, seconds: number) => `Function ${fn} has no ready replica (waited ${seconds} s)`,
  },
  FUNCTION_START_FAILED: { status: 503, message: (why: string) => why },
  FUNCTION_NOT_ROUTABLE: {
    status: 503,
    message: (fn: string, why: string) => `Function ${fn} has no replica to route to: ${why}`,
  },

  // ---- Asynchronous invocations (src/async/) ----
  ASYNC_QUEUE_FULL: {
    status: 429,
    message: (fn: string, bound: number, _retryAfterSeconds: number) =>
      `The async queue of function ${fn} is full (${bound} queued or running, --async-queue-size): try again later`,
    headers: (_fn: string, _bound: number, retryAfterSeconds: number) => ({ 'retry-after': String(retryAfterSeconds) }),
  },
  CALLBACK_URL_NOT_ALLOWED: { status: 400, message: (why: string) => why },
  INVOCATION_NOT_FOUND: {
    status: 404,
    message: (id: string) =>
      `Async invocation ${JSON.stringify(id.slice(0, 80))} not found (never queued, discarded, or past its retention)`,
  },
  INVOCATION_NOT_REQUEUEABLE: {
    status: 409,
    message: (id: string, state: string) =>
      `Async invocation ${id} is ${state}: only a dead or failed invocation can be queued again`,
  },
  INVOCATION_RUNNING: {
    status: 409,
    message: (id: string) => `Async invocation ${id} is running: discard it once its attempt ended`,
  },

  // ---- Projects, function events, templates, API gateways ----
  PROJECT_NOT_FOUND: { status: 404, message: () => 'Project not found' },
  PROJECT_EXISTS: { status: 409, message: (name: string) => `Project ${JSON.stringify(name)} already exists` },
  PROJECT_NAME_MISMATCH: {
    status: 400,
    message: (name: string, id: string) =>
      `Project name is different from request id (${JSON.stringify(name)} != ${JSON.stringify(id)})`,
  },
  DEFAULT_PROJECT_UNDELETABLE: { status: 412, message: () => 'Cannot delete the default project' },
  PROJECT_NOT_EMPTY: {
    status: 412,
    message: (what: 'functions' | 'api gateways', list: readonly string[]) =>
      what === 'functions'
        ? `Project contains functions: ${names(list)} (delete them first, or send ` +
          `X-Nuclio-Delete-Project-Strategy: cascading)`
        : `Project contains api gateways: ${names(list)}`,
  },
  PROJECT_FUNCTIONS_IN_USE: {
    status: 412,
    message: (gateways: readonly string[]) =>
      `Functions of the project are used by api gateways of other projects: ${names(gateways)}`,
  },
  FUNCTION_EVENT_NOT_FOUND: { status: 404, message: () => 'Function event not found' },
  FUNCTION_EVENT_PARENT_MISSING: {
    status: 400,
    message: (fn: string) => `The Function event parent function does not exist: ${JSON.stringify(fn)}`,
    field: () => 'metadata.labels.nuclio.io/function-name',
  },
  INVALID_TEMPLATE: {
    status: 400,
    message: (detail: string) => `Failed to get functionConfig from template: ${detail}`,
  },
  API_GATEWAY_NOT_FOUND: { status: 404, message: () => 'Api-Gateway not found' },
  API_GATEWAY_EXISTS: { status: 409, message: (name: string) => `Api gateway ${JSON.stringify(name)} already exists` },
  API_GATEWAY_ROUTE_TAKEN: {
    status: 409,
    message: (host: string, path: string, other: string) =>
      `Host ${JSON.stringify(host)} and path ${JSON.stringify(path)} are already used by api ` +
      `gateway ${JSON.stringify(other)}`,
  },
  API_GATEWAY_NAME_MISMATCH: {
    status: 400,
    message: (name: string, id: string) =>
      `Api gateway name is different from request id (${JSON.stringify(name)} != ${JSON.stringify(id)})`,
  },
  API_GATEWAY_UPSTREAM_MISSING: {
    status: 400,
    message: (fn: string, namespace: string) =>
      `Upstream function ${JSON.stringify(fn)} does not exist in namespace ${JSON.stringify(namespace)}`,
  },

  // ---- Any resource: what the store refuses, as the API words it (error-body.ts maps StoreError) ----
  RESOURCE_NOT_FOUND: { status: 404, message: (kind: string) => `${kind} not found` },
  RESOURCE_EXISTS: {
    status: 409,
    message: (kind: string, name: string, namespace: string) =>
      `${kind} ${JSON.stringify(name)} already exists in namespace ${JSON.stringify(namespace)}`,
  },
  RESOURCE_VERSION_STALE: {
    status: 409,
    message: (kind: string, given: string, stored: string) =>
      `${kind} resource version is stale (given ${given}, stored ${stored})`,
  },

  // ---- The stream service (/v3io, v3ioStream triggers) ----
  STREAM_REQUEST_INVALID: { status: 400, message: (message: string) => message },
  STREAM_EXISTS: { status: 409, message: (stream: string) => `Stream ${stream} already exists` },
  STREAM_INSIDE_STREAM: {
    status: 409,
    message: (stream: string, outer: string) => `Cannot create stream ${stream} inside stream ${outer}`,
  },
  STREAM_PATH_HOLDS_STREAMS: {
    status: 409,
    message: (stream: string, path: string) =>
      `Cannot create stream ${stream}: ${path} is a folder holding other streams`,
  },
  STREAM_NOT_FOUND: {
    status: 404,
    message: (stream: string) =>
      `Stream ${stream} does not exist (create it with a POST to /v3io/${stream}/ and header X-v3io-function: ` +
      `CreateStream)`,
  },
  SHARD_NOT_FOUND: {
    status: 400,
    message: (shard: number, stream: string, count: number) =>
      `Shard ${shard} does not exist in stream ${stream}: its shards are 0 to ${count - 1}`,
  },
  SEQUENCE_NOT_FOUND: {
    status: 400,
    message: (seq: number, shard: number, stream: string, held: string, next: number) =>
      `Sequence number ${seq} does not exist in shard ${shard} of stream ${stream}: ${held}, and ${next} is the ` +
      `next to be written`,
  },
  LOCATION_BEYOND_END: {
    status: 400,
    message: (shard: number, stream: string, seq: number, last: number) =>
      `Location is beyond the end of shard ${shard} of stream ${stream} (sequence number ${seq}, the last ` +
      `is ${last}): seek again`,
  },
  COMMIT_BEYOND_END: {
    status: 400,
    message: (seq: number, shard: number, stream: string, last: number) =>
      `Cannot commit sequence number ${seq} in shard ${shard} of stream ${stream}: its last record is ${last}`,
  },
  SHARD_NOT_OWNED: {
    status: 409,
    message: (member: string, shard: number, stream: string, group: string) =>
      `Member ${member} does not own shard ${shard} of stream ${stream} in consumer group ${group} (it was ` +
      `reassigned or the member's session expired): the commit is refused`,
  },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code: what a client (or a caller) tests. */
export type ErrorCode = keyof typeof ERRORS;

/** The arguments the message template of `C` takes. */
export type ErrorArgs<C extends ErrorCode> = Parameters<(typeof ERRORS)[C]['message']>;

/** An error of the catalogue: its code, the status it answers with, its message, and the field it is about. */
export class ApiError extends Error {
  readonly status: number;
  readonly field?: string;
  /** Headers its answer carries (a challenge). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    args: readonly unknown[],
    options?: { cause?: unknown },
  ) {
    const spec: ErrorSpec = ERRORS[code];
    const call = (f: ((...a: never[]) => unknown) | undefined) =>
      (f as ((...a: unknown[]) => unknown) | undefined)?.(...args);
    super(call(spec.message) as string, options);
    this.name = 'ApiError';
    this.status = (call(spec.statusOf) as number | undefined) ?? spec.status;
    const field = call(spec.field) as string | undefined;
    if (field !== undefined) this.field = field;
    this.headers = (call(spec.headers) as Record<string, string> | undefined) ?? {};
  }
}

/** The error of the catalogue with code `code`, its message made from `args`. */
export function apiError<C extends ErrorCode>(code: C, ...args: ErrorArgs<C>): ApiError {
  return new ApiError(code, args);
}

/**
 * A field-level validation failure (INVALID_FIELD): names the field; the message states the rule and quotes the value.
 */
export function fieldError(field: string, message: string): ApiError {
  return new ApiError('INVALID_FIELD', [field, message]);
}

/** True when `e` is an error of the catalogue with code `code`. */
export function isApiError<C extends ErrorCode>(e: unknown, code?: C): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code);
}

/** A short printable form of a value for error messages (quoted, cut to 80 characters). */
export function quote(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
