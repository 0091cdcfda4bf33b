/**
 * Optional dashboard auth: when a token is configured, every /api route except /api/versions needs
 * `Authorization: Bearer <token>`, compared in constant time. Without a token the dashboard is open, as
 * Nuclio's is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { unauthorized } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time string equality (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function installAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith('/api/') || path.replace(/\/+$/, '') === '/api/versions' || req.method === 'OPTIONS') return;
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    if (!m || !safeEqual(m[1]!.trim(), token)) {
      reply.header('www-authenticate', 'Bearer realm="protium"');
      throw unauthorized('Missing or invalid dashboard token: send Authorization: Bearer <token>');
    }
  });
}
