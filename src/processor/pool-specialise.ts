/**
 * A pre-started processor in a container (the docker platform's --prewarm: platform/docker/container-pool.ts)
 * waits here, on its health port, for the replica it is to become. A container has no IPC channel to the
 * dashboard, so the `specialise` message comes over HTTP, guarded by a token only the dashboard knows (it
 * gave it in the container's environment): anything else on the container network can reach this port.
 *
 *   GET  /live         200 while the process answers
 *   GET  /pooled       200: started, modules loaded, waiting to be specialised
 *   GET  /ready        503: not a replica yet
 *   POST /specialise   Authorization: Bearer <PROTIUM_POOL_TOKEN>; body: SpecialiseRequest (JSON)
 *
 * On `/specialise` it fetches the function's artifact by digest with the short-lived credential it was
 * given (fetch-artifact.ts, into its own tmpfs: a pool container mounts no shared artifact cache, so it
 * can read no other function's code), takes the replica's whole environment (its config included) and
 * working folder, answers 200, closes this server and returns: the processor then starts as a replica
 * started cold would, and serves the usual health port (health-server.ts) on the same port. A bad token
 * answers 401 and changes nothing; the token is checked before any of the body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { FETCH_ENV } from './artifact-cache.js';
import { readProcessorConfig, type ProcessorConfig } from './config.js';
import { fetchArtifact } from './fetch-artifact.js';
import { ProcessorLogger } from './logger.js';

/** The environment variable holding the pool container's specialise token. */
export const POOL_TOKEN_ENV = 'PROTIUM_POOL_TOKEN';

/** The body of `POST /specialise`. */
export interface SpecialiseRequest {
  /** The replica's whole environment (PROTIUM_PROCESSOR_CONFIG_JSON included). */
  env: Record<string, string>;
  /** Its working folder: the artifact's folder in `artifact.cache`. */
  cwd: string;
  /** Where to fetch the artifact from, with what credential, expecting what digest, into which folder. */
  artifact: { url: string; token: string; digest: string; cache: string };
}

/** The largest specialise body accepted (a replica's environment and config). */
export const MAX_SPECIALISE_BYTES = 1 << 20;

/** A specialise request from parsed JSON, or the field that is wrong. Pure. */
export function specialiseRequestOf(body: unknown): SpecialiseRequest | { error: string; field: string } {
  const o = body as Partial<SpecialiseRequest> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return { error: 'The body must be a JSON object', field: '' };
  if (!o.env || typeof o.env !== 'object' || Array.isArray(o.env))
    return { error: 'env must be an object of strings', field: 'env' };
  for (const [k, v] of Object.entries(o.env))
    if (typeof v !== 'string' || !k || k.includes('=') || k.includes('\0') || v.includes('\0'))
      return { error: `env holds an invalid variable: ${JSON.stringify(k)}`, field: 'env' };
  if (!o.env.PROTIUM_PROCESSOR_CONFIG_JSON)
    return { error: 'env must hold PROTIUM_PROCESSOR_CONFIG_JSON', field: 'env.PROTIUM_PROCESSOR_CONFIG_JSON' };
  if (typeof o.cwd !== 'string' || !o.cwd.startsWith('/'))
    return { error: 'cwd must be an absolute path', field: 'cwd' };
  const a = o.artifact;
  if (!a || typeof a !== 'object') return { error: 'artifact must be an object', field: 'artifact' };
  for (const k of ['url', 'token', 'digest', 'cache'] as const)
    if (typeof a[k] !== 'string' || !a[k])
      return { error: `artifact.${k} must be a non-empty string`, field: `artifact.${k}` };
  if (!a.cache.startsWith('/') || !o.cwd.startsWith(`${a.cache}/`))
    return { error: 'cwd must be a folder of artifact.cache', field: 'cwd' };
  return { env: o.env, cwd: o.cwd, artifact: a };
}

/** True when an Authorization header carries `token`, compared in constant time. Pure. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (\S+)$/.exec(header ?? '');
  if (!m || !token) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]), digest(token));
}

function answer(res: http.ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/** Reads a body of at most `max` bytes; undefined when it is bigger. */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * Serves the pool's health port on host:port until a valid specialise request has been carried out; the
 * process then has the replica's environment and working folder. `token` is the pool token (taken out of
 * the environment by the caller's replacement of it).
 */
export function awaitSpecialise(host: string, port: number, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let busy = false;
    let done = false;
    const server = http.createServer(
      { keepAliveTimeout: 5_000, requestTimeout: 120_000, headersTimeout: 5_000 },
      (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method === 'GET' && path === '/live') return answer(res, 200, { live: true });
        if (req.method === 'GET' && path === '/pooled') return answer(res, done ? 503 : 200, { pooled: !done });
        if (req.method === 'GET' && path === '/ready') return answer(res, 503, { ready: false, pooled: true });
        if (path !== '/specialise')
          return answer(res, 404, {
            error: 'Not found: a pooled processor serves /live, /pooled, /ready and /specialise',
          });
        if (req.method !== 'POST') return answer(res, 405, { error: 'Only POST is served on /specialise' });
        if (!bearerMatches(req.headers.authorization, token)) {
          req.resume();
          return answer(res, 401, { error: 'Refusing to specialise: the pool token is missing or wrong' }, true);
        }
        if (busy || done) {
          req.resume();
          return answer(res, 409, { error: 'Refusing to specialise: this processor is specialising already' });
        }
        busy = true;
        void (async () => {
          const raw = await readBody(req, MAX_SPECIALISE_BYTES);
          if (!raw) return answer(res, 413, { error: `The body is larger than ${MAX_SPECIALISE_BYTES} bytes` }, true);
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw.toString('utf8'));
          } catch {
            return answer(res, 400, { error: 'The body is not JSON' });
          }
          const r = specialiseRequestOf(parsed);
          if ('error' in r) return answer(res, 400, r);
          let config: ProcessorConfig;
          try {
            config = readProcessorConfig(r.env);
          } catch {
            return answer(res, 400, {
              error: 'env.PROTIUM_PROCESSOR_CONFIG_JSON is not JSON',
              field: 'env.PROTIUM_PROCESSOR_CONFIG_JSON',
            });
          }
          const started = Date.now();
          try {
            await fetchArtifact(
              {
                [FETCH_ENV.url]: r.artifact.url,
                [FETCH_ENV.token]: r.artifact.token,
                [FETCH_ENV.digest]: r.artifact.digest,
                [FETCH_ENV.cache]: r.artifact.cache,
              },
              { ownUse: true },
            );
            process.chdir(r.cwd);
          } catch (e) {
            return answer(res, 502, { error: `Failed to specialise: ${(e as Error).message}` });
          }
          // The container's host name is what the engine set, as in a replica made cold.
          const hostname = process.env.HOSTNAME;
          for (const k of Object.keys(process.env)) delete process.env[k];
          Object.assign(process.env, hostname ? { HOSTNAME: hostname } : {}, r.env);
          // require() reads NODE_PATH once, at start: read it again for the function's installed packages.
          (createRequire(import.meta.url)('node:module') as { _initPaths?: () => void })._initPaths?.();
          done = true;
          const ms = Date.now() - started;
          new ProcessorLogger('processor', config.logLevel ?? 'info').info(
            `Became replica ${config.replica} from the pool: artifact fetched and unpacked in ${ms} ms`,
          );
          answer(res, 200, { specialised: true }, true);
          res.once('finish', () => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        })()
          .catch((e) => answer(res, 500, { error: `Failed to specialise: ${(e as Error).message}` }))
          .finally(() => {
            busy = false;
          });
      },
    );
    server.maxConnections = 64;
    server.once('error', reject);
    server.listen(port, host, () => server.off('error', reject));
  });
}
