/**
 * /api/v3io_streams (seed "V3IO Streams", spec §4.7): the `v3ioStream` triggers of a project's functions,
 * keyed `<function>@<trigger>`. Shard lags need a stream service, which this platform does not have yet.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest } from '../../errors.js';
import { isObject } from '../../resources/shape.js';
import { PROJECT_LABEL } from '../../resources/types.js';
import { header, namespaceOf, sendJson } from '../reply.js';
import type { ApiDeps } from '../server.js';

export function v3ioStreamRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/v3io_streams', async (req, reply) => {
    const ns = namespaceOf(req, 'x-nuclio-project-namespace', deps.config.namespace);
    const project = header(req, 'x-nuclio-project-name');
    if (!project) throw badRequest('Project name must not be empty (header X-Nuclio-Project-Name)');
    const out: Record<string, unknown> = {};
    for (const fn of await deps.store.list('function', ns, { labels: { [PROJECT_LABEL]: project } })) {
      for (const [key, t] of Object.entries(fn.spec.triggers ?? {})) {
        if (t.kind !== 'v3ioStream') continue;
        const a = isObject(t.attributes) ? t.attributes : {};
        out[`${fn.metadata.name}@${t.name || key}`] = {
          consumerGroup: a.consumerGroup ?? '',
          containerName: a.containerName ?? '',
          streamPath: a.streamPath ?? '',
        };
      }
    }
    return sendJson(reply, 200, out);
  });

  app.post('/api/v3io_streams/get_shard_lags', async (req) => {
    const project = header(req, 'x-nuclio-project-name');
    if (!project) throw badRequest('Project name must not be empty (header X-Nuclio-Project-Name)');
    const body = req.body;
    if (!isObject(body)) throw badRequest('Request body must be {"consumerGroup", "containerName", "streamPath"}');
    for (const k of ['consumerGroup', 'containerName', 'streamPath']) {
      if (typeof body[k] !== 'string' || !body[k]) throw badRequest(`${k} must be provided in the request body`);
    }
    throw new ApiError('NotImplemented', 'Stream shard lags are not supported by this platform yet');
  });
}
