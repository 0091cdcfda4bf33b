/**
 * The processor's health port in a container (Nuclio's processor serves the same on :8082): the platform
 * has no IPC channel to a container, so it asks over HTTP whether the replica is ready and how busy it is.
 *
 *   GET /ready  200 once the runtime and triggers run, 503 before and while stopping
 *   GET /live   200 while the process answers at all
 *   GET /load   {"inflight": N, "handled": N}: events running or queued, events handled so far
 *
 * Nothing here changes the replica: stopping is the container engine's signal, never a request (any
 * container on the same network can reach this port).
 */
import http from 'node:http';

export interface HealthState {
  ready: () => boolean;
  load: () => { inflight: number; handled: number };
}

/** The answer to a health request. Pure. */
export function healthAnswer(
  method: string | undefined,
  url: string | undefined,
  state: HealthState,
): { status: number; body: string } {
  if (method !== 'GET' && method !== 'HEAD')
    return { status: 405, body: '{"error":"Only GET is served on the health port"}' };
  const path = (url ?? '/').split('?')[0];
  if (path === '/live') return { status: 200, body: '{"live":true}' };
  if (path === '/ready')
    return state.ready() ? { status: 200, body: '{"ready":true}' } : { status: 503, body: '{"ready":false}' };
  if (path === '/load') return { status: 200, body: JSON.stringify(state.load()) };
  return { status: 404, body: '{"error":"Not found: the health port serves /ready, /live and /load"}' };
}

/** Serves the health port on host:port until the process exits. */
export function serveHealth(host: string, port: number, state: HealthState): Promise<http.Server> {
  const server = http.createServer(
    { keepAliveTimeout: 5_000, requestTimeout: 5_000, headersTimeout: 5_000 },
    (req, res) => {
      const { status, body } = healthAnswer(req.method, req.url, state);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      req.resume();
    },
  );
  server.maxConnections = 64;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
