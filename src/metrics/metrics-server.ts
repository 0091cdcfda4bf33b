/**
 * `--metrics-listen-addr`: a listener of its own that answers `GET /metrics` and nothing else, without
 * the dashboard's token — for a Prometheus that scrapes from a network the API is not exposed to. It
 * serves the same text as the API's `/metrics`; every other request is a 404 in the one error shape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from '../error-body.js';
import { apiError } from '../errors.js';
import type { Logger } from '../log.js';
import { ConnectionGuard, type ConnectionLimits } from '../util/connection-guard.js';
import type { DashboardMetrics } from './dashboard-metrics.js';

export class MetricsServer {
  readonly server: http.Server;

  constructor(metrics: DashboardMetrics, limits: ConnectionLimits, log: Logger) {
    this.server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        sendError(res, apiError('NO_ROUTE', req.method ?? 'GET', path ?? '/'));
        return;
      }
      metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: unknown) => {
          log.error({ err: e }, 'metrics: failed to render');
          sendError(res, apiError('INTERNAL'));
        },
      );
    });
    new ConnectionGuard(this.server, limits);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeIdleConnections();
    await new Promise((r) => this.server.close(() => r(undefined)));
  }
}
