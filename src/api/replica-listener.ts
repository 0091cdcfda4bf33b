/**
 * The dashboard as replicas in containers reach it. A container cannot reach the dashboard's API on
 * 127.0.0.1 (that is its own loopback), and the API should not listen on an address every container can
 * reach: so the dashboard opens a second listener on the container network's gateway address (the host's
 * side of the bridge) that serves only what replicas need — the routes whose access is 'artifact' (their
 * code) or 'streams' (the stream service their v3ioStream triggers read) — through the API's own routing
 * and auth. Every other route, however its path is spelled, is a 404 there.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { apiError } from '../errors.js';
import { ConnectionGuard, type ConnectionLimits } from '../util/connection-guard.js';
import { accessOf, type Access } from './auth.js';

/** What replicas may call through their listener. */
export const REPLICA_ACCESS: ReadonlySet<Access> = new Set(['artifact', 'streams']);

const viaReplicaListener = new WeakSet<IncomingMessage>();

/**
 * Refuses, on requests that came through the replica listener, every route replicas may not call. Call
 * before the API listens.
 */
export function installReplicaGate(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    if (!viaReplicaListener.has(req.raw)) return;
    // A CORS preflight is 'public' to the API: here, nothing is.
    if (req.method === 'OPTIONS' || !REPLICA_ACCESS.has(accessOf(req))) throw apiError('REPLICA_ROUTE_REFUSED');
  });
}

export interface ReplicaListener {
  /** http://host:port as containers reach it. */
  url: string;
  close(): Promise<void>;
}

/** Listens on host (port 0: any) for replicas, handing requests to the API's routing. */
export function listenForReplicas(
  app: FastifyInstance,
  host: string,
  limits: ConnectionLimits,
  port = 0,
): Promise<ReplicaListener> {
  const server = http.createServer((req, res) => {
    viaReplicaListener.add(req);
    app.routing(req, res);
  });
  const guard = new ConnectionGuard(server, limits);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
        close: () =>
          new Promise<void>((done) => {
            guard.stop();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
