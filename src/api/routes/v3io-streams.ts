/**
 * /api/v3io_streams (seed "V3IO Streams"): the `v3ioStream` triggers of a project's functions,
 * keyed `<function>@<trigger>`, and the shard lags of a stream for a consumer group, which come from a
 * `ShardLagSource` (the embedded stream service, src/streams) that the composition root wires in.
 */
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors.js';
import { isObject } from '../../resources/shape.js';
import { PROJECT_LABEL } from '../../resources/types.js';
import { header, namespaceOf, sendJson } from '../reply.js';
import type { ApiDeps } from '../deps.js';
import { v3ioStreamSchemas as schemas } from '../schemas/v3io-streams.js';

export function v3ioStreamRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'store' | 'config'>): void {
  app.get('/api/v3io_streams', { schema: schemas.list }, async (req, reply) => {
    const ns = namespaceOf(req, 'x-nuclio-project-namespace', deps.config.namespace);
    const project = header(req, 'x-nuclio-project-name');
    if (!project) throw apiError('PROJECT_HEADER_REQUIRED');
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
}

/** Where shard lags come from: one entry per shard, in shard order (404 for an unknown stream). */
export interface ShardLagSource {
  shardLags(query: {
    containerName: string;
    streamPath: string;
    consumerGroup: string;
  }): Promise<{ committed: number; current: number; lag: number }[]>;
}

/**
 * POST /api/v3io_streams/get_shard_lags: `{"<container>/<stream path>": {"<group>": {"<shard id>":
 * {committed, current, lag}}}}` for every shard, as Nuclio answers it (the stream key is the container
 * followed by the path with a leading `/`; shard ids are the keys; the figures are numbers, 0 committed
 * when the group committed nothing yet).
 */
export function shardLagRoutes(app: FastifyInstance, source: ShardLagSource): void {
  app.post('/api/v3io_streams/get_shard_lags', { schema: schemas.shardLags }, async (req, reply) => {
    const project = header(req, 'x-nuclio-project-name');
    if (!project) throw apiError('PROJECT_HEADER_REQUIRED');
    const body = req.body;
    if (!isObject(body))
      throw apiError('INVALID_BODY', 'Request body must be {"consumerGroup", "containerName", "streamPath"}');
    for (const k of ['consumerGroup', 'containerName', 'streamPath']) {
      if (typeof body[k] !== 'string' || !body[k])
        throw apiError('INVALID_BODY', `${k} must be provided in the request body`);
    }
    const query = {
      containerName: body.containerName as string,
      streamPath: body.streamPath as string,
      consumerGroup: body.consumerGroup as string,
    };
    const lags = await source.shardLags(query);
    const shards: Record<string, unknown> = {};
    lags.forEach((l, s) => {
      shards[String(s)] = { committed: l.committed, current: l.current, lag: l.lag };
    });
    const path = query.streamPath.startsWith('/') ? query.streamPath : `/${query.streamPath}`;
    return sendJson(reply, 200, { [`${query.containerName}${path}`]: { [query.consumerGroup]: shards } });
  });
}
