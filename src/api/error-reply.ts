/**
 * The single place errors become answers: `{"error": "<message>"}` with `Content-Type: application/json`
 * (spec §5), the status from the error catalogue, and the field for field errors. Fastify's own errors
 * (bad JSON, oversize bodies, unsupported media types) map to their 4xx; anything unexpected is a 500 and
 * is logged with its stack.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, FieldError } from '../errors.js';
import type { Logger } from '../log.js';
import { sendJson } from './reply.js';

const FASTIFY_STATUS: Record<string, { status: number; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'Request body is too large (the limit is 10 MiB)' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'Failed to parse JSON body: the body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400 },
  FST_ERR_CTP_INVALID_TYPE: { status: 400 },
};

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof ApiError) {
      const body: Record<string, string> = { error: err.message };
      if (err instanceof FieldError) body.field = err.field;
      return sendJson(reply, err.status, body);
    }
    const code = (err as FastifyError).code;
    const known = code ? FASTIFY_STATUS[code] : undefined;
    if (known) return sendJson(reply, known.status, { error: known.message ?? err.message });
    // SQLite (or the filesystem under it) is out of space: say so instead of a bare 500.
    if (code === 'SQLITE_FULL' || (err as NodeJS.ErrnoException).code === 'ENOSPC') {
      log.error({ err }, 'the data directory is full');
      return sendJson(reply, 507, { error: 'The data directory is full: free some space (nothing was changed)' });
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return sendJson(reply, status, { error: err.message });
    log.error({ err, method: req.method, url: req.url }, 'unexpected error while handling a request');
    return sendJson(reply, 500, { error: `Internal error: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) =>
    sendJson(reply, 404, { error: `No route ${req.method} ${req.url.split('?')[0]}` }));
}
