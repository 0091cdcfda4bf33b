/**
 * The one renderer of error answers, for every listener the dashboard runs: the API (Fastify's error and
 * not-found handlers), the invocation fast path, the API gateway listener and the function ports (a raw
 * socket whose request was never read). Whatever was thrown becomes an error of the catalogue (`errors.ts`)
 * here — store refusals, Fastify's own errors, a full disk, anything unexpected — and every answer has one
 * shape (hono's HTTPException with one errorHandler):
 *
 *   status from the catalogue; `Content-Type: application/json` exactly (Nuclio's clients compare it literally);
 *   `X-Protium-Internal: true` (the dashboard's own answer, not a function's: faas-provider's
 *   X-OpenFaaS-Internal); the error's own headers (a challenge); body
 *   `{"error": "<message>", "field"?: "<field>", "code": "<CODE>"}` and a newline, as Go's encoder writes.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, apiError } from './errors.js';
import { StoreError, type Kind } from './store/store.js';

/** Marks the dashboard's own answers, so a client can tell them from a function's. */
const INTERNAL_ERROR_HEADER = 'x-protium-internal';

/** An error answer, ready to write. */
export interface ErrorAnswer {
  status: number;
  /** Headers without Content-Length (the writer adds it). */
  headers: Record<string, string>;
  /** The JSON text, with its trailing newline. */
  body: string;
  /** The error of the catalogue it was rendered from. */
  error: ApiError;
  /** The thrown value was not an error of the catalogue (a bug, a full disk): the caller logs it. */
  unexpected: boolean;
}

/** How resources are named in messages (Nuclio's words). */
const KIND_LABEL: Record<Kind, string> = {
  function: 'Function',
  project: 'Project',
  functionEvent: 'Function event',
  apiGateway: 'Api-Gateway',
};

/** What the store refused, as the API words it — the one place store errors become answers. */
function fromStoreError(e: StoreError): ApiError {
  const { kind, namespace, name } = e.resource;
  switch (e.code) {
    case 'NOT_FOUND':
    case 'REQUIRED_MISSING':
      return apiError('RESOURCE_NOT_FOUND', KIND_LABEL[kind]);
    case 'ALREADY_EXISTS':
      return apiError('RESOURCE_EXISTS', KIND_LABEL[kind], name, namespace);
    case 'VERSION_CONFLICT':
      return apiError('RESOURCE_VERSION_STALE', KIND_LABEL[kind], e.versions?.given ?? '', e.versions?.stored ?? '');
    case 'INVALID_RESOURCE':
      return apiError('INVALID_BODY', 'A resource needs metadata.name and metadata.namespace');
  }
}

/** Fastify's own errors that are the client's doing. */
function fromFastifyError(code: string, err: Error): ApiError | undefined {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return apiError('BODY_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return apiError('INVALID_JSON', 'the body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return apiError('REQUEST_REFUSED', 400, err.message);
    default:
      return undefined;
  }
}

/** Any thrown value as an error of the catalogue; `unexpected` when it was not one of ours. */
function toApiError(err: unknown): { error: ApiError; unexpected: boolean } {
  if (err instanceof ApiError) return { error: err, unexpected: false };
  if (err instanceof StoreError) return { error: fromStoreError(err), unexpected: false };
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  const known = typeof code === 'string' ? fromFastifyError(code, e) : undefined;
  if (known) return { error: known, unexpected: false };
  // SQLite (or the filesystem under it) is out of space: say so instead of a bare 500.
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return { error: apiError('DATA_DIR_FULL'), unexpected: true };
  const status = (e as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return { error: apiError('REQUEST_REFUSED', status, e.message), unexpected: false };
  return { error: apiError('INTERNAL', e.message), unexpected: true };
}

/** The answer to `err`, on any listener. */
export function renderError(err: unknown): ErrorAnswer {
  const { error, unexpected } = toApiError(err);
  const body: Record<string, string> = { error: error.message };
  if (error.field !== undefined) body.field = error.field;
  body.code = error.code;
  return {
    status: error.status,
    headers: { 'content-type': 'application/json', [INTERNAL_ERROR_HEADER]: 'true', ...error.headers },
    body: `${JSON.stringify(body)}\n`,
    error,
    unexpected,
  };
}

/**
 * Answers `err` on a Node response (the invocation path, the gateway listener); cuts the connection when
 * an answer had already started (a function's), as nothing else can tell the client it failed. Returns
 * the answer written, for logging.
 */
export function sendError(res: ServerResponse, err: unknown, extraHeaders: Record<string, string> = {}): ErrorAnswer {
  const answer = renderError(err);
  if (res.headersSent) {
    res.destroy();
    return answer;
  }
  res.writeHead(answer.status, {
    ...answer.headers,
    ...extraHeaders,
    'content-length': String(Buffer.byteLength(answer.body)),
  });
  res.end(answer.body);
  return answer;
}

/**
 * Answers `err` on a raw socket whose request was never read (a function port refusing a held connection), and closes
 * it.
 */
export function refuseSocket(socket: Socket, err: unknown): void {
  const answer = renderError(err);
  const head = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}`];
  for (const [k, v] of Object.entries(answer.headers)) head.push(`${k}: ${v}`);
  head.push(`content-length: ${Buffer.byteLength(answer.body)}`, 'connection: close');
  socket.on('error', () => {});
  socket.resume();
  socket.end(`${head.join('\r\n')}\r\n\r\n${answer.body}`);
  // end() waits for the client's own close; a client that never closes (or trickles bytes) would keep the
  // descriptor forever, so refusals under a flood would not be bounded. The answer has reached the kernel
  // well before this; the client gets a moment to read it first.
  const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/** How long a refused connection is kept for its client to read the answer and close first. */
export const REFUSAL_LINGER_MS = 1_000;
