/**
 * Fastify's error and not-found handlers: every error a route throws (and Fastify's own) is answered by
 * the one renderer (`error-body.ts`); anything unexpected is a 500 and is logged with its stack. A request
 * the route's schema refused is worded as the handlers' validators word it (`schema-errors.ts`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderError } from '../error-body.js';
import { apiError } from '../errors.js';
import type { Logger } from '../log.js';
import { schemaError, type RequestPart, type SchemaFailure } from './schema-errors.js';

/** A schema refusal as Fastify reports it, as an error of the catalogue; anything else as it is. */
function fromValidation(err: unknown, req: FastifyRequest): unknown {
  const e = err as { code?: unknown; validation?: unknown; validationContext?: unknown };
  if (e?.code !== 'FST_ERR_VALIDATION' || !Array.isArray(e.validation)) return err;
  const part = e.validationContext as RequestPart;
  const data =
    part === 'querystring' ? req.query : part === 'body' ? req.body : part === 'params' ? req.params : req.headers;
  return schemaError(part, e.validation as SchemaFailure[], data);
}

function reply(reply: FastifyReply, err: unknown): { unexpected: boolean; code: string } {
  const a = renderError(err);
  // A Buffer keeps the content type exactly as set: Fastify appends '; charset=utf-8' to JSON strings.
  void reply.code(a.status).headers(a.headers).send(Buffer.from(a.body));
  return { unexpected: a.unexpected, code: a.error.code };
}

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err, req, res) => {
    const { unexpected, code } = reply(res, fromValidation(err, req));
    if (!unexpected) return;
    if (code === 'DATA_DIR_FULL') log.error({ err }, 'the data directory is full');
    else log.error({ err, method: req.method, url: req.url }, 'unexpected error while handling a request');
  });
  app.setNotFoundHandler((req, res) => {
    reply(res, apiError('NO_ROUTE', req.method, req.url.split('?')[0] ?? ''));
  });
}
