/**
 * /api/functions (seed "Function"): list, get, create (202), update (202), patch (204),
 * delete (body identity), replicas and replica logs. The API records desired state and returns; the
 * function controller builds and runs.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiError } from '../../errors.js';
import { exportFunction } from '../../resources/function-export.js';
import { canTransition, isProvisioning, patchTarget } from '../../resources/function-state.js';
import { readFunctionBody } from '../../resources/function-validate.js';
import { deployState, storeForDeploy } from '../function-writer.js';
import { upstreamFunctions } from '../../resources/api-gateway.js';
import { isObject } from '../../resources/shape.js';
import { FUNCTION_LABEL, PROJECT_LABEL, type FunctionRecord, type FunctionRef } from '../../resources/types.js';
import type { StoreOp } from '../../store/store.js';
import { parseDuration } from '../../util/duration.js';
import { header, headerTrue, keyedByName, namespaceOf, paramName, queryTrue, sendEmpty, sendJson } from '../reply.js';
import { clientGone, waitForFunction } from '../wait.js';
import type { ApiDeps } from '../deps.js';
import { functionSchemas as schemas } from '../schemas/functions.js';

const NS_HEADER = 'x-nuclio-function-namespace';
/** Upper bound of X-Nuclio-Wait-Function-Action waits: a deploy that takes longer is reported by state. */
const MAX_WAIT_MS = 15 * 60_000;
const DEFAULT_CREATION_TIMEOUT_MS = 60_000;

export function functionRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'store' | 'config' | 'platform' | 'buildLogs'>,
): void {
  const { store, config, platform, buildLogs } = deps;
  // Followed logs never end by themselves: a closing dashboard ends them, or close() would wait for clients.
  const following = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const ac of following) ac.abort();
  });
  const ctx = (req: FastifyRequest) => ({
    defaultNamespace: header(req, NS_HEADER) ?? config.namespace,
    projectName: header(req, 'x-nuclio-project-name'),
  });

  async function gatewaysOf(ref: FunctionRef): Promise<string[]> {
    const gws = await store.list('apiGateway', ref.namespace);
    return gws.filter((g) => upstreamFunctions(g).includes(ref.name)).map((g) => g.metadata.name!);
  }

  app.get('/api/functions', { schema: schemas.list }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const project = header(req, 'x-nuclio-project-name');
    const nameFilter = header(req, 'x-nuclio-function-name');
    let fns = await store.list('function', ns, project ? { labels: { [PROJECT_LABEL]: project } } : undefined);
    if (nameFilter) fns = fns.filter((f) => f.metadata.name === nameFilter);
    if (queryTrue(req, 'export')) {
      const cleanup = header(req, 'x-nuclio-skip-spec-cleanup') !== undefined;
      const includeSecrets = queryTrue(req, 'includeSecrets');
      return sendJson(
        reply,
        200,
        keyedByName(fns, (f) => exportFunction(f, { skipSpecCleanup: cleanup, includeSecrets })),
      );
    }
    return sendJson(reply, 200, keyedByName(fns));
  });

  app.get('/api/functions/:name', { schema: schemas.get }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const fn = await store.get('function', ns, paramName(req));
    if (!fn) throw apiError('FUNCTION_NOT_FOUND');
    if (queryTrue(req, 'export')) {
      return sendJson(
        reply,
        200,
        exportFunction(fn, {
          skipSpecCleanup: header(req, 'x-nuclio-skip-spec-cleanup') !== undefined,
          includeSecrets: queryTrue(req, 'includeSecrets'),
        }),
      );
    }
    if (headerTrue(req, 'x-nuclio-function-enrich-apigateways')) {
      fn.status = { ...fn.status, apiGateways: await gatewaysOf({ namespace: ns, name: fn.metadata.name! }) };
    }
    return sendJson(reply, 200, fn);
  });

  /** X-Nuclio-Wait-Function-Action: hold the answer until the deploy settles (its outcome is in the state). */
  async function maybeWait(
    req: FastifyRequest,
    reply: FastifyReply,
    ref: FunctionRef,
    settled: (fn: FunctionRecord) => boolean,
  ): Promise<void> {
    if (!headerTrue(req, 'x-nuclio-wait-function-action')) return;
    await waitForFunction(store, ref, settled, { timeoutMs: MAX_WAIT_MS, signal: clientGone(req.raw, reply.raw) });
  }

  app.post('/api/functions', { schema: schemas.create }, async (req, reply) => {
    creationTimeout(req);
    const input = readFunctionBody(req.body, ctx(req));
    const ns = input.metadata.namespace!;
    const existing = await store.get('function', ns, input.metadata.name!);
    if (existing) throw apiError('FUNCTION_EXISTS');
    const stored = await storeForDeploy(deps, input, undefined);
    await maybeWait(req, reply, { namespace: ns, name: stored.metadata.name! }, (f) => !isProvisioning(f.status.state));
    return sendEmpty(reply, 202);
  });

  app.put('/api/functions/:name', { schema: schemas.update }, async (req, reply) => {
    creationTimeout(req);
    const body = isObject(req.body) ? req.body : req.body;
    if (isObject(body)) {
      const meta = isObject(body.metadata) ? body.metadata : {};
      if (!meta.name) body.metadata = { ...meta, name: paramName(req) };
    }
    const input = readFunctionBody(body, ctx(req));
    const ns = input.metadata.namespace!;
    const existing = await store.get('function', ns, input.metadata.name!);
    if (existing && !canTransition(existing.status.state, deployState(input), 'api')) {
      throw apiError('FUNCTION_PROVISIONING', 'update');
    }
    const stored = await storeForDeploy(deps, input, existing);
    await maybeWait(req, reply, { namespace: ns, name: stored.metadata.name! }, (f) => !isProvisioning(f.status.state));
    return sendEmpty(reply, 202);
  });

  app.patch('/api/functions/:name', { schema: schemas.patch }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    if (!isObject(req.body))
      throw apiError('INVALID_BODY', 'Request body must be a JSON object such as {"desiredState": "ready"}');
    const desired = req.body.desiredState;
    if (desired === undefined || desired === null) return sendEmpty(reply, 204);
    if (desired !== 'ready' && desired !== 'scaledToZero') {
      throw apiError('DESIRED_STATE_UNSUPPORTED', desired);
    }
    const name = paramName(req);
    const fn = await store.get('function', ns, name);
    if (!fn) throw apiError('FUNCTION_NOT_FOUND');
    if (!fn.spec.image) throw apiError('FUNCTION_NO_IMAGE');
    if (desired === 'scaledToZero' && (fn.spec.minReplicas ?? 0) > 0) {
      throw apiError('FUNCTION_MIN_REPLICAS');
    }
    if (headerTrue(req, 'x-nuclio-imported-function-only') && fn.status.state !== 'imported')
      return sendEmpty(reply, 204);
    // The state names the work: ready redeploys the artifact spec.image names (no build), as Nuclio's
    // redeploy runs the stored image.
    const state = patchTarget(desired);
    if (!canTransition(fn.status.state, state, 'api')) {
      throw apiError('FUNCTION_PROVISIONING', 'patch', fn.status.state);
    }
    await store.setStatus('function', ns, name, { state, message: undefined }, { by: 'api' });
    await maybeWait(req, reply, { namespace: ns, name }, (f) => !isProvisioning(f.status.state));
    return sendEmpty(reply, 204);
  });

  app.delete('/api/functions', { schema: schemas.delete }, async (req, reply) => {
    const id = readFunctionBody(req.body, ctx(req), false);
    const ns = id.metadata.namespace!;
    const name = id.metadata.name!;
    const fn = await store.get('function', ns, name);
    if (!fn) return sendEmpty(reply, 204);
    if (id.metadata.resourceVersion && id.metadata.resourceVersion !== fn.metadata.resourceVersion) {
      throw apiError('FUNCTION_VERSION_STALE');
    }
    if (isProvisioning(fn.status.state) && !headerTrue(req, 'x-nuclio-delete-function-ignore-state-validation')) {
      throw apiError('FUNCTION_PROVISIONING', 'delete');
    }
    const gateways = await gatewaysOf({ namespace: ns, name });
    const withGateways = headerTrue(req, 'x-nuclio-delete-function-with-api-gateways');
    if (gateways.length && !withGateways) {
      throw apiError('FUNCTION_USED_BY_API_GATEWAYS', gateways);
    }
    // Its events go in the same batch, matched inside it: an event written a moment ago goes too.
    const ops: StoreOp[] = [
      ...gateways.map((g): StoreOp => ({ op: 'delete', kind: 'apiGateway', namespace: ns, name: g })),
      { op: 'deleteMatching', kind: 'functionEvent', namespace: ns, labels: { [FUNCTION_LABEL]: name } },
      { op: 'delete', kind: 'function', namespace: ns, name },
    ];
    await store.batch(ops);
    return sendEmpty(reply, 204);
  });

  app.get('/api/functions/:name/replicas', { schema: schemas.replicas }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const name = paramName(req);
    if (!(await store.get('function', ns, name))) throw apiError('FUNCTION_NOT_FOUND');
    return sendJson(reply, 200, { names: (await platform.replicas({ namespace: ns, name })).map((r) => r.name) });
  });

  app.get('/api/functions/:name/logs/:replica', { schema: schemas.logs }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const name = paramName(req);
    const replica = paramName(req, 'replica');
    if (!(await store.get('function', ns, name))) throw apiError('FUNCTION_NOT_FOUND');
    const q = req.query as Record<string, unknown>;
    const follow = parseBoolParam(q.follow, 'follow', true);
    let sinceMs: number | undefined;
    if (q.since !== undefined && q.since !== '') {
      sinceMs = typeof q.since === 'string' ? parseDuration(q.since) : undefined;
      if (sinceMs === undefined || sinceMs < 0)
        throw apiError('INVALID_QUERY', 'since', 'a positive duration such as "10m"', q.since);
    }
    let tailLines: number | undefined;
    if (q.tailLines !== undefined && q.tailLines !== '') {
      tailLines = typeof q.tailLines === 'string' && /^\d{1,9}$/.test(q.tailLines) ? Number(q.tailLines) : undefined;
      if (tailLines === undefined) throw apiError('INVALID_QUERY', 'tailLines', 'a non-negative integer', q.tailLines);
    }
    const ac = new AbortController();
    following.add(ac);
    ac.signal.addEventListener('abort', () => following.delete(ac), { once: true });
    reply.raw.once('close', () => ac.abort());
    const ref = { namespace: ns, name };
    const query = { follow, sinceMs, tailLines, signal: ac.signal };
    // The build log is the controller's; every other name is a replica's, the platform's.
    const lines = await (buildLogs.isBuildLog(ref, replica)
      ? buildLogs.read(ref, query)
      : platform.logs(ref, replica, query));
    // The first chunk is pulled before answering: a log that fails to open is still an error answer.
    const it = lines[Symbol.asyncIterator]();
    const first = await it.next();
    async function* rest(): AsyncGenerator<string> {
      if (first.done) return;
      yield first.value;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    }
    const stream = Readable.from(rest(), { objectMode: false });
    stream.once('close', () => {
      ac.abort();
      void it.return?.();
    });
    return reply
      .code(200)
      .header('content-type', 'text/plain')
      .header('cache-control', 'no-cache, private')
      .header('x-content-type-options', 'nosniff')
      .send(stream);
  });
}

/** X-Nuclio-Creation-State-Updated-Timeout must be a Go duration when present (a bad value is a 400 here). */
function creationTimeout(req: FastifyRequest): number {
  const v = header(req, 'x-nuclio-creation-state-updated-timeout');
  if (v === undefined) return DEFAULT_CREATION_TIMEOUT_MS;
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0)
    throw apiError('INVALID_HEADER', 'X-Nuclio-Creation-State-Updated-Timeout', 'a duration such as "1m"', v);
  return ms;
}

function parseBoolParam(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  if (typeof v === 'string') {
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  }
  throw apiError('INVALID_QUERY', name, 'true or false', v);
}
