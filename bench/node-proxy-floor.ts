/**
 * The floor of a reverse proxy written on Node's own HTTP stack: an `http` server that forwards every
 * request to one target over an undici keep-alive pool — the two libraries the gateway and the invocation
 * endpoint are built on — with nothing else (no routing, auth, request ids, trace context, metrics or
 * error bodies). What the gateway costs beyond it is ours; what it costs against nginx is Node's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';

const UNDICI = createRequire(import.meta.url).resolve('undici');

const program = (port: number, target: string) => `
const http = require('http');
const { Pool } = require(${JSON.stringify(UNDICI)});
const pool = new Pool('http://${target}', { connections: 256, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'host', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
http.createServer((req, res) => {
  const headers = {};
  for (const k in req.headers) if (!HOP.has(k)) headers[k] = req.headers[k];
  pool.dispatch({ path: req.url, method: req.method, headers, body: req.method === 'GET' ? null : req }, {
    onRequestStart() {},
    onResponseStart(c, status, h) {
      const out = {};
      for (const k in h) if (!HOP.has(k)) out[k] = h[k];
      res.writeHead(status, out);
    },
    onResponseData(c, chunk) { res.write(chunk); },
    onResponseEnd() { res.end(); },
    onResponseError(c, e) { if (res.headersSent) res.destroy(e); else res.writeHead(502).end(); },
  });
}).listen(${port}, '127.0.0.1');
`;

/** Starts the floor proxy on `port` in front of `target` (host:port), in a process group of its own. */
export function startNodeProxyFloor(port: number, target: string): ChildProcess {
  return spawn(process.execPath, ['-e', program(port, target)], { stdio: 'ignore', detached: true });
}
