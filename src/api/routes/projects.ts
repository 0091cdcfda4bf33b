/**
 * /api/projects (seed "Project"): CRUD, deletion strategies, and the export/import bundles
 * that move a project (functions, function events, API gateways) between dashboards.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from '../../errors.js';
import { exportFunction } from '../../resources/function-export.js';
import { exportApiGateway, exportFunctionEvent } from '../../resources/resource-export.js';
import { checkFunctionName, readFunctionBody } from '../../resources/function-validate.js';
import { deleteStrategy, readProjectBody } from '../../resources/project.js';
import { readApiGatewayBody, upstreamFunctions } from '../../resources/api-gateway.js';
import { enrichFunctionEvent, readFunctionEventBody } from '../../resources/function-event.js';
import { isObject } from '../../resources/shape.js';
import { DEFAULT_PROJECT, FUNCTION_LABEL, PROJECT_LABEL, type Project } from '../../resources/types.js';
import { isStoreError, type StoreOp } from '../../store/store.js';
import { storeForDeploy } from '../function-writer.js';
import { writeGateway } from '../gateway-writer.js';
import { header, keyedByName, namespaceOf, paramName, queryTrue, sendEmpty, sendJson } from '../reply.js';
import type { ApiDeps } from '../deps.js';
import { projectSchemas as schemas } from '../schemas/projects.js';

const NS_HEADER = 'x-nuclio-project-namespace';

const present = (p: Project) => ({ metadata: p.metadata, spec: p.spec, status: p.status ?? {} });

export function projectRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'store' | 'config'>): void {
  const { store, config } = deps;
  const defaultNs = (req: FastifyRequest) => header(req, NS_HEADER) ?? config.namespace;

  /**
   * The export bundle of a project, as Nuclio's: exported functions, their events, the project's gateways,
   * secrets blanked unless `?includeSecrets=true`.
   */
  async function exportBundle(p: Project, includeSecrets: boolean) {
    const ns = p.metadata.namespace!;
    const name = p.metadata.name!;
    const fns = await store.list('function', ns, { labels: { [PROJECT_LABEL]: name } });
    const functionEvents: Record<string, unknown> = {};
    for (const fn of fns) {
      for (const ev of await store.list('functionEvent', ns, { labels: { [FUNCTION_LABEL]: fn.metadata.name! } })) {
        functionEvents[ev.metadata.name!] = exportFunctionEvent(ev, { includeSecrets });
      }
    }
    const gateways = await store.list('apiGateway', ns, { labels: { [PROJECT_LABEL]: name } });
    const { namespace: _ns, resourceVersion: _rv, ...projectMeta } = p.metadata;
    return {
      project: { metadata: projectMeta, spec: p.spec, status: p.status ?? {} },
      functions: keyedByName(fns, (f) => exportFunction(f, { includeSecrets })),
      functionEvents,
      apiGateways: keyedByName(gateways, (g) => exportApiGateway(g, { includeSecrets })),
    };
  }

  app.get('/api/projects', { schema: schemas.list }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    let projects = await store.list('project', ns);
    const only = header(req, 'x-nuclio-project-name');
    if (only) projects = projects.filter((p) => p.metadata.name === only);
    if (queryTrue(req, 'export')) {
      const out: Record<string, unknown> = {};
      for (const p of projects) out[p.metadata.name!] = await exportBundle(p, queryTrue(req, 'includeSecrets'));
      return sendJson(reply, 200, out);
    }
    return sendJson(reply, 200, keyedByName(projects, present));
  });

  app.get('/api/projects/:name', { schema: schemas.get }, async (req, reply) => {
    const ns = namespaceOf(req, NS_HEADER, config.namespace);
    const p = await store.get('project', ns, paramName(req));
    if (!p) throw apiError('PROJECT_NOT_FOUND');
    return sendJson(
      reply,
      200,
      queryTrue(req, 'export') ? await exportBundle(p, queryTrue(req, 'includeSecrets')) : present(p),
    );
  });

  app.post('/api/projects', { schema: schemas.create }, async (req, reply) => {
    if (queryTrue(req, 'import')) return sendJson(reply, 201, await importBundle(req));
    const p = readProjectBody(req.body, { defaultNamespace: defaultNs(req), generateName: randomUUID });
    p.metadata.creationTimestamp = new Date().toISOString();
    try {
      return sendJson(reply, 201, present(await store.create('project', p)));
    } catch (e) {
      if (isStoreError(e, 'ALREADY_EXISTS')) throw apiError('PROJECT_EXISTS', p.metadata.name!);
      throw e;
    }
  });

  async function updateProject(req: FastifyRequest, id: string | undefined): Promise<void> {
    const p = readProjectBody(req.body, { defaultNamespace: defaultNs(req), nameFallback: id });
    if (id && p.metadata.name !== id) throw apiError('PROJECT_NAME_MISMATCH', p.metadata.name!, id);
    const existing = await store.get('project', p.metadata.namespace!, p.metadata.name!);
    if (!existing) throw apiError('PROJECT_NOT_FOUND');
    await store.update('project', { ...p, status: existing.status }, { ifVersion: p.metadata.resourceVersion });
  }

  app.put('/api/projects/:name', { schema: schemas.update }, async (req, reply) => {
    await updateProject(req, paramName(req));
    return sendEmpty(reply, 204);
  });

  // Deprecated form, still accepted as Nuclio does: identity from the body or X-Nuclio-Project-Name.
  app.put('/api/projects', { schema: schemas.updateDeprecated }, async (req, reply) => {
    const bodyName =
      isObject(req.body) && isObject(req.body.metadata) && typeof req.body.metadata.name === 'string'
        ? req.body.metadata.name
        : undefined;
    const id = bodyName || header(req, 'x-nuclio-project-name');
    reply.header('deprecation', 'true');
    if (id) reply.header('link', `</api/projects/${encodeURIComponent(id)}>; rel="alternate"`);
    await updateProject(req, id);
    return sendEmpty(reply, 204);
  });

  app.delete('/api/projects', { schema: schemas.delete }, async (req, reply) => {
    const p = readProjectBody(req.body, { defaultNamespace: defaultNs(req) });
    const ns = p.metadata.namespace!;
    const name = p.metadata.name!;
    const strategy = deleteStrategy(header(req, 'x-nuclio-delete-project-strategy'));
    if (name === DEFAULT_PROJECT) throw apiError('DEFAULT_PROJECT_UNDELETABLE');
    const existing = await store.get('project', ns, name);
    if (!existing) return sendEmpty(reply, 204);
    const byProject = { labels: { [PROJECT_LABEL]: name } };
    const fns = await store.list('function', ns, byProject);
    const gateways = await store.list('apiGateway', ns, byProject);
    if (strategy !== 'cascading') {
      if (fns.length)
        throw apiError(
          'PROJECT_NOT_EMPTY',
          'functions',
          fns.map((f) => f.metadata.name!),
        );
      if (gateways.length)
        throw apiError(
          'PROJECT_NOT_EMPTY',
          'api gateways',
          gateways.map((g) => g.metadata.name!),
        );
      if (strategy === 'check') return sendEmpty(reply, 204);
    }
    const ops: StoreOp[] = gateways.map((g) => ({
      op: 'delete',
      kind: 'apiGateway',
      namespace: ns,
      name: g.metadata.name!,
    }));
    // Gateways of other projects that route to a function going away would dangle: refuse instead.
    const fnNames = new Set(fns.map((f) => f.metadata.name!));
    const foreign = (await store.list('apiGateway', ns)).filter(
      (g) => g.metadata.labels?.[PROJECT_LABEL] !== name && upstreamFunctions(g).some((u) => fnNames.has(u)),
    );
    if (foreign.length)
      throw apiError(
        'PROJECT_FUNCTIONS_IN_USE',
        foreign.map((g) => g.metadata.name!),
      );
    for (const fn of fns) {
      ops.push({
        op: 'deleteMatching',
        kind: 'functionEvent',
        namespace: ns,
        labels: { [FUNCTION_LABEL]: fn.metadata.name! },
      });
      ops.push({ op: 'delete', kind: 'function', namespace: ns, name: fn.metadata.name! });
    }
    ops.push({ op: 'delete', kind: 'project', namespace: ns, name });
    await store.batch(ops);
    return sendEmpty(reply, 204);
  });

  /** POST /api/projects?import=true: creates the project if needed, then its functions, events and gateways. */
  async function importBundle(req: FastifyRequest) {
    const body = isObject(req.body) ? req.body : undefined;
    if (!body)
      throw apiError(
        'INVALID_BODY',
        'Import body must be a JSON object {"project": ..., "functions": ..., "functionEvents": ..., ' +
          '"apiGateways": ...}',
      );
    const p = readProjectBody(body.project ?? {}, { defaultNamespace: defaultNs(req) });
    const ns = p.metadata.namespace!;
    const projectName = p.metadata.name!;
    for (const key of ['functions', 'functionEvents', 'apiGateways'] as const) {
      if (body[key] !== undefined && body[key] !== null && !isObject(body[key]))
        throw apiError('INVALID_BODY', `Import field ${key} must be an object keyed by name`);
    }
    if (!(await store.get('project', ns, projectName))) await store.create('project', { ...p, status: {} });

    const failedFunctions: { function: string; error: string }[] = [];
    const failedFnNames = new Set<string>();
    const fnEntries = Object.entries((body.functions ?? {}) as Record<string, unknown>);
    for (const [key, raw] of fnEntries) {
      let name = key;
      try {
        const obj = isObject(raw)
          ? { ...raw, metadata: { ...(isObject(raw.metadata) ? raw.metadata : {}), namespace: ns } }
          : raw;
        const fn = readFunctionBody(obj, { defaultNamespace: ns, projectName });
        name = fn.metadata.name!;
        if (await store.get('function', ns, name)) throw new Error('Function name already exists');
        await storeForDeploy(deps, fn, undefined);
      } catch (e) {
        failedFnNames.add(name);
        failedFunctions.push({ function: name, error: (e as Error).message });
      }
    }

    const failedFunctionEvents: { functionEvent: string; error: string }[] = [];
    const evEntries = Object.entries((body.functionEvents ?? {}) as Record<string, unknown>);
    for (const [key, raw] of evEntries) {
      const display =
        isObject(raw) && isObject(raw.spec) && typeof raw.spec.displayName === 'string' ? raw.spec.displayName : key;
      try {
        const obj = isObject(raw)
          ? { ...raw, metadata: { ...(isObject(raw.metadata) ? raw.metadata : {}), name: undefined, namespace: ns } }
          : raw;
        const ev = readFunctionEventBody(obj, { defaultNamespace: ns, generateName: randomUUID });
        const fnName = ev.metadata.labels?.[FUNCTION_LABEL];
        if (!fnName) throw new Error("Event doesn't belong to any function");
        if (failedFnNames.has(fnName)) throw new Error(`Event belongs to function that failed import: ${fnName}`);
        checkFunctionName(fnName, `metadata.labels.${FUNCTION_LABEL}`);
        ev.metadata.labels = { ...ev.metadata.labels, [PROJECT_LABEL]: projectName };
        await store
          .batch([
            { op: 'require', kind: 'function', namespace: ns, name: fnName },
            { op: 'create', kind: 'functionEvent', object: enrichFunctionEvent(ev) },
          ])
          .catch((e: unknown) => {
            throw isStoreError(e, 'REQUIRED_MISSING') ? apiError('FUNCTION_EVENT_PARENT_MISSING', fnName) : e;
          });
      } catch (e) {
        failedFunctionEvents.push({ functionEvent: display, error: (e as Error).message });
      }
    }

    const failedAPIGateways: { apiGateway: string; error: string }[] = [];
    const gwEntries = Object.entries((body.apiGateways ?? {}) as Record<string, unknown>);
    for (const [key, raw] of gwEntries) {
      let name = key;
      try {
        const obj = isObject(raw)
          ? { ...raw, metadata: { ...(isObject(raw.metadata) ? raw.metadata : {}), namespace: ns } }
          : raw;
        const gw = readApiGatewayBody(obj, { defaultNamespace: ns, projectName, nameFallback: key });
        name = gw.spec.name ?? key;
        await writeGateway(deps, gw, { mode: 'create', validateFunctions: false });
      } catch (e) {
        failedAPIGateways.push({ apiGateway: name, error: (e as Error).message });
      }
    }

    const result = (n: number, failed: unknown[]) => ({
      createdAmount: n - failed.length,
      failedAmount: failed.length,
    });
    return {
      functionImportResult: {
        ...result(fnEntries.length, failedFunctions),
        failedFunctions: failedFunctions.length ? failedFunctions : null,
      },
      functionEventImportResult: {
        ...result(evEntries.length, failedFunctionEvents),
        failedFunctionEvents: failedFunctionEvents.length ? failedFunctionEvents : null,
      },
      apiGatewayImportResult: {
        ...result(gwEntries.length, failedAPIGateways),
        failedAPIGateways: failedAPIGateways.length ? failedAPIGateways : null,
      },
    };
  }
}
