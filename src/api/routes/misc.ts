/**
 * Misc routes (seed "Misc"): versions, external IP addresses, namespaces and the
 * frontend spec the Nuclio UI reads at start. The frontend spec also carries `apiGatewayListenUrl`, where
 * this dashboard serves API gateways (Protium's own key; Nuclio's UI ignores it, ours shows it).
 */
import type { FastifyInstance } from 'fastify';
import { versionInfo } from '../../version.js';
import { sendJson } from '../reply.js';
import type { ApiDeps } from '../deps.js';
import { miscSchemas as schemas } from '../schemas/misc.js';

export function miscRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'config' | 'store' | 'externalIps' | 'gatewayUrl'>,
): void {
  const external = deps.externalIps;

  // The one public API route: clients probe it before they have a token.
  app.get('/api/versions', { schema: schemas.versions, config: { access: 'public' } }, async (_req, reply) =>
    sendJson(reply, 200, { dashboard: versionInfo() }),
  );

  app.get('/api/external_ip_addresses', { schema: schemas.externalIpAddresses }, async (_req, reply) =>
    sendJson(reply, 200, { externalIPAddresses: { addresses: external() } }),
  );

  app.get('/api/namespaces', { schema: schemas.namespaces }, async (_req, reply) => {
    const names = new Set([deps.config.namespace, ...(await deps.store.namespaces())]);
    return sendJson(reply, 200, { namespaces: { names: [...names].sort() } });
  });

  app.get('/api/frontend_spec', { schema: schemas.frontendSpec }, async (_req, reply) =>
    sendJson(reply, 200, {
      externalIPAddresses: external().length ? external() : ['localhost'],
      namespace: deps.config.namespace,
      defaultHTTPIngressHostTemplate: '',
      imageNamePrefixTemplate: '',
      scaleToZero: {
        mode: 'enabled',
        inactivityWindowPresets: ['1m', '2m', '5m', '10m', '30m'],
        scaleResources: [{ metricName: '', windowSize: '5m', threshold: 0 }],
      },
      defaultFunctionConfig: {
        attributes: {
          metadata: {},
          spec: {
            resources: {},
            build: {},
            platform: {},
            eventTimeout: '',
            minReplicas: 1,
            maxReplicas: 1,
            targetCPU: 75,
            readinessTimeoutSeconds: 120,
            triggers: {
              'default-http': {
                class: '',
                kind: 'http',
                name: 'default-http',
                numWorkers: 1,
                workerAvailabilityTimeoutMilliseconds: 10000,
                attributes: { serviceType: 'ClusterIP' },
              },
            },
          },
        },
      },
      platformKind: 'local',
      allowedAuthenticationModes: ['none', 'basicAuth', 'accessKey'],
      validFunctionPriorityClassNames: null,
      defaultFunctionPodResources: { requests: {}, limits: {} },
      autoScaleMetrics: { customMetricsEnabled: false, metricPresets: [], windowSizePresets: ['1m', '2m'] },
      disableDefaultHttpTrigger: false,
      logsScreenEnabled: true,
      ...(deps.gatewayUrl?.() ? { apiGatewayListenUrl: deps.gatewayUrl() } : {}),
    }),
  );
}
