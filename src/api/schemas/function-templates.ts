/** The schemas of /api/function_templates (routes/function-templates.ts). */
import { keyedBy, ref } from './json-schema.js';
import { json, routeSchema } from './route-schema.js';

export const functionTemplateSchemas = {
  list: routeSchema({
    operationId: 'listFunctionTemplates',
    tag: 'Function templates',
    summary: 'List the built-in templates, keyed by name',
    headers: ['x-nuclio-filter-contains'],
    success: { 200: json('Templates keyed by name', keyedBy(ref('FunctionTemplate'), 'Templates keyed by name')) },
  }),
  render: routeSchema({
    operationId: 'renderFunctionTemplate',
    tag: 'Function templates',
    summary: 'Fill a parametrized template and answer the function configuration',
    body: {
      type: 'object',
      examples: [{ template: 'metadata: {name: {{ .name }}}', values: { name: 'x' } }],
      properties: {
        template: { type: 'string', description: 'The template: YAML text with {{ .name }} placeholders' },
        values: { type: ['object', 'null'], description: 'The values of the placeholders' },
      },
    },
    success: {
      200: json('The rendered function configuration', {
        type: 'object',
        properties: { metadata: { type: 'object' }, spec: ref('FunctionSpec') },
      }),
    },
    errors: ['INVALID_TEMPLATE'],
  }),
};
