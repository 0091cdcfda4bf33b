/**
 * Rendering parametrized templates: the `{{ .name }}` / `{{ .a.b }}` subset of Go's text/template that
 * Nuclio's `function.yaml.template` files use for values. Unknown placeholders are an error naming them.
 */
const PLACEHOLDER = /\{\{-?\s*\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*-?\}\}/g;

export function renderTemplate(template: string, values: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_m, path: string) => {
    let v: unknown = values;
    for (const key of path.split('.')) {
      v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    }
    if (v === undefined) throw new Error(`no value for {{ .${path} }}`);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}
