/**
 * /api/function_events (seed "Function event"): saved test events bound to a function by the
 * `nuclio.io/function-name` label. PUT and DELETE take the identity from the body at the collection URL.
 *
 * An event is written only while its function exists (checked in the same store batch as the write), and
 * a function's deletion takes its events along (api/routes/functions.ts): no event outlives its function
 * or waits for a later function of the same name. Nuclio checks the parent only when it has to look up
 * the project label; Protium checks it always.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from '../../errors.js';
import { isStoreError, type StoreOp } from '../../store/store.js';
import { enrichFunctionEvent, eventFunctionName, readFunctionEventBody } from '../../resources/function-event.js';
import { FUNCTION_LABEL, PROJECT_LABEL, type FunctionEvent } from '../../resources/types.js';
import { header, keyedByName, namespaceOf, paramName, sendEmpty, sendJson } from '../reply.js';
import type { ApiDeps } from '../deps.js';
import { functionEventSchemas as schemas } from '../schemas/function-events.js';

const NS_HEADER = 'x-nuclio-function-event-namespace';

const present = (e: FunctionEvent) => ({ metadata: e.metadata, spec: e.spec });

export function functionEventRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'store' | 'config'>): void {
  const { store, config } = deps;
  const defaultNs = (req: FastifyRequest) => header(req, NS_HEADER) ?? config.namespace;

  /** Enrichment that needs the store (the project label comes from the parent function), and the parent check. */
  async function prepare(ev: FunctionEvent): Promise<{ event: FunctionEvent; parent: StoreOp & { op: 'require' } }> {
    const fnName = eventFunctionName(ev);
    const out = enrichFunctionEvent(ev);
    const ns = out.metadata.namespace!;
    if (!out.metadata.labels![PROJECT_LABEL]) {
      const fn = await store.get('function', ns, fnName);
      if (!fn) throw apiError('FUNCTION_EVENT_PARENT_MISSING', fnName);
      const project = fn.metadata.labels?.[PROJECT_LABEL];
      if (project) out.metadata.labels![PROJECT_LABEL] = project;
    }
    return { event: out, parent: { op: 'require', kind: 'function', namespace: ns, name: fnName } };
  }

  /** Writes an event in one batch with the check of its parent: a parent gone meanwhile is the event's 400. */
  async function writeWithParent(parent: StoreOp & { op: 'require' }, write: StoreOp): Promise<void> {
    try {
      await store.batch([parent, write]);
    } catch (e) {
      if (isStoreError(e, 'REQUIRED_MISSING')) throw apiError('FUNCTION_EVENT_PARENT_MISSING', parent.name);
      throw e;
    }
  }

  app.get('/api/function_events', { schema: schemas.list }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const fn = header(req, 'x-nuclio-function-name');
    const only = header(req, 'x-nuclio-function-event-name');
    let events = await store.list('functionEvent', ns, fn ? { labels: { [FUNCTION_LABEL]: fn } } : undefined);
    if (only) events = events.filter((e) => e.metadata.name === only);
    return sendJson(reply, 200, keyedByName(events, present));
  });

  app.get('/api/function_events/:name', { schema: schemas.get }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const ev = await store.get('functionEvent', ns, paramName(req));
    if (!ev) throw apiError('FUNCTION_EVENT_NOT_FOUND');
    return sendJson(reply, 200, present(ev));
  });

  app.post('/api/function_events', { schema: schemas.create }, async (req, reply) => {
    const ev = readFunctionEventBody(req.body, { defaultNamespace: defaultNs(req), generateName: randomUUID });
    const { event, parent } = await prepare(ev);
    await writeWithParent(parent, { op: 'create', kind: 'functionEvent', object: event });
    const stored = await store.get('functionEvent', event.metadata.namespace!, event.metadata.name!);
    return sendJson(reply, 201, present(stored ?? event));
  });

  app.put('/api/function_events', { schema: schemas.update }, async (req, reply) => {
    const ev = readFunctionEventBody(req.body, { defaultNamespace: defaultNs(req) });
    const existing = await store.get('functionEvent', ev.metadata.namespace!, ev.metadata.name!);
    if (!existing) throw apiError('FUNCTION_EVENT_NOT_FOUND');
    if (!ev.metadata.labels?.[FUNCTION_LABEL] && existing.metadata.labels?.[FUNCTION_LABEL]) {
      ev.metadata.labels = {
        ...(ev.metadata.labels ?? {}),
        [FUNCTION_LABEL]: existing.metadata.labels[FUNCTION_LABEL],
      };
    }
    const { event, parent } = await prepare(ev);
    await writeWithParent(parent, {
      op: 'update',
      kind: 'functionEvent',
      object: event,
      ifVersion: ev.metadata.resourceVersion,
    });
    return sendEmpty(reply, 204);
  });

  app.delete('/api/function_events', { schema: schemas.delete }, async (req, reply) => {
    const ev = readFunctionEventBody(req.body, { defaultNamespace: defaultNs(req), withSpec: false });
    await store.delete('functionEvent', ev.metadata.namespace!, ev.metadata.name!, {
      ifVersion: ev.metadata.resourceVersion,
    });
    return sendEmpty(reply, 204);
  });
}
