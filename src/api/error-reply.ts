/**
 * Fastify's error and not-found handlers: every error a route throws (and Fastify's own) is answered by
 * the one renderer (`error-body.ts`); anything unexpected is a 500 and is logged with its stack.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { renderError } from '../error-body.js';
import { apiError } from '../errors.js';
import type { Logger } from '../log.js';

function reply(reply: FastifyReply, err: unknown): { unexpected: boolean; code: string } {
  const a = renderError(err);
  // A Buffer keeps the content type exactly as set: Fastify appends '; charset=utf-8' to JSON strings.
  void reply.code(a.status).headers(a.headers).send(Buffer.from(a.body));
  return { unexpected: a.unexpected, code: a.error.code };
}

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err, req, res) => {
    const { unexpected, code } = reply(res, err);
    if (!unexpected) return;
    if (code === 'DATA_DIR_FULL') log.error({ err }, 'the data directory is full');
    else log.error({ err, method: req.method, url: req.url }, 'unexpected error while handling a request');
  });
  app.setNotFoundHandler((req, res) => {
    reply(res, apiError('NO_ROUTE', req.method, req.url.split('?')[0] ?? ''));
  });
}
