/**
 * /api/function_templates (seed "Function template"): the built-in templates keyed by name, with
 * base64 source; `X-Nuclio-Filter-Contains` narrows the list. Each entry comes in both shapes clients read:
 * `{metadata, spec}` as the seed shows, and `rendered: {metadata, spec}` as Nuclio's dashboard answers
 * for plain templates (and its web UI reads) — the same objects, so either kind of client works.
 * POST /render fills a parametrized template (`{{ .name }}` placeholders) and returns a function config.
 */
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { apiError } from '../../errors.js';
import { isObject } from '../../resources/shape.js';
import { renderTemplate } from '../../resources/template-render.js';
import { MAX_JSON_DEPTH, valueDepth } from '../../util/json-depth.js';
import { header, sendJson } from '../reply.js';
import type { ApiDeps } from '../deps.js';
import { functionTemplateSchemas as schemas } from '../schemas/function-templates.js';

export function functionTemplateRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'templates'>): void {
  app.get('/api/function_templates', { schema: schemas.list }, async (req, reply) => {
    const out: Record<string, unknown> = {};
    for (const t of deps.templates.list(header(req, 'x-nuclio-filter-contains'))) {
      out[t.metadata.name] = { metadata: t.metadata, spec: t.spec, rendered: { metadata: t.metadata, spec: t.spec } };
    }
    return sendJson(reply, 200, out);
  });

  app.post('/api/function_templates/render', { schema: schemas.render }, async (req, reply) => {
    const body = req.body;
    if (!isObject(body) || typeof body.template !== 'string')
      throw apiError('INVALID_BODY', 'Request body must be {"template": "<yaml text>", "values": {...}}');
    if (body.values !== undefined && body.values !== null && !isObject(body.values))
      throw apiError('INVALID_BODY', 'values must be an object');
    const tooDeep = () =>
      apiError('INVALID_TEMPLATE', `it nests mappings and lists more than ${MAX_JSON_DEPTH} levels deep`);
    let doc: unknown;
    try {
      doc = parseYaml(renderTemplate(body.template, body.values ?? {}));
    } catch (e) {
      // The YAML parser recurses: it reports text nested deeply enough to overflow its stack as an error.
      if (e instanceof RangeError || /Maximum call stack size exceeded/.test((e as Error).message)) throw tooDeep();
      throw apiError('INVALID_TEMPLATE', (e as Error).message);
    }
    if (!isObject(doc)) throw apiError('INVALID_TEMPLATE', 'the rendered template is not a YAML mapping');
    if (valueDepth(doc) > MAX_JSON_DEPTH) throw tooDeep();
    const out = { metadata: isObject(doc.metadata) ? doc.metadata : {}, spec: isObject(doc.spec) ? doc.spec : {} };
    // YAML aliases can make a cycle, which JSON cannot hold.
    try {
      JSON.stringify(out);
    } catch (e) {
      throw apiError('INVALID_TEMPLATE', (e as Error).message);
    }
    return sendJson(reply, 200, out);
  });
}
