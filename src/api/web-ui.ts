/**
 * The web dashboard: the single-page app built by `npm run build:web` (web/ → web/dist) served at `/`.
 * Files that exist are sent as they are (hashed assets cached for a year, index.html never cached); any
 * other GET outside /api answers index.html, so that the app's own paths (/projects/x/functions/y) can be
 * reloaded and bookmarked. The app's files are public; /api, /v3io and /metrics stay the services': a path that
 * spells one of them in any way (`/API/x`, `/api%2Fx`, `/./api/x`: see path-spelling.ts) is never the
 * app's — it needs the token like every service route, and then is the API's JSON 404. The app talks to
 * the dashboard through the public /api endpoints only.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import type { Access } from './auth.js';
import { isServicePath } from './path-spelling.js';

/** Where `npm run build:web` writes the app. */
export const WEB_DIST_DIR = join(PACKAGE_ROOT, 'web', 'dist');

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protium</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem; max-width: 40rem">
<h1>The web dashboard is not built</h1>
<p>Run <code>npm run build</code> (or <code>npm run build:web</code>) in the Protium folder and reload this page.
The API is available at <a href="/api/versions">/api</a> meanwhile.</p>
</body></html>
`;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function registerWebUi(app: FastifyInstance, distDir: string = WEB_DIST_DIR): void {
  const root = resolve(distDir);
  void app.register(async (scope) => {
    // serve: false — only reply.sendFile; the routes below decide what is a file and what is the app.
    await scope.register(fastifyStatic, { root, serve: false, wildcard: false });

    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      if (isServicePath(req.url)) return reply.callNotFound();
      if (!existsSync(join(root, 'index.html'))) {
        return reply
          .code(503)
          .header('content-type', 'text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(NOT_BUILT_PAGE);
      }
      const wanted = (req.params as Record<string, string | undefined>)['*'] ?? '';
      const file = resolve(root, `.${sep}${wanted}`);
      const inside = file === root || file.startsWith(`${root}${sep}`);
      if (inside && wanted && isFile(file)) {
        const rel = relative(root, file);
        const hashed = rel.startsWith(`assets${sep}`);
        return reply
          .header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache')
          .sendFile(rel, { cacheControl: false });
      }
      // A missing asset is a 404, not the app: a stale page asking for old chunks must not get HTML.
      if (wanted.startsWith('assets/')) return reply.callNotFound();
      return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
    };
    const access = (req: FastifyRequest): Access => (isServicePath(req.url) ? 'token' : 'public');
    // The app's files are not part of the API: hidden from its document.
    scope.get('/', { schema: { hide: true }, config: { access } }, handler);
    scope.get('/*', { schema: { hide: true }, config: { access } }, handler);
  });
}
