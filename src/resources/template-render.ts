/**
 * Rendering parametrized templates: the `{{ .name }}` / `{{ .a.b }}` subset of Go's text/template that
 * Nuclio's `function.yaml.template` files use for values. Unknown placeholders are an error naming them.
 */
const PLACEHOLDER = /(\s*)\{\{(-?)\s*\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*(-?)\}\}(\s*)/g;

export function renderTemplate(template: string, values: Record<string, unknown>): string {
  // `{{-` and `-}}` trim the whitespace before and after the action, as in Go.
  return template.replace(
    PLACEHOLDER,
    (_m, before: string, trimLeft: string, path: string, trimRight: string, after: string) => {
      return `${trimLeft ? '' : before}${lookup(path)}${trimRight ? '' : after}`;
    },
  );

  function lookup(path: string): string {
    let v: unknown = values;
    for (const key of path.split('.')) {
      v =
        v !== null && typeof v === 'object' && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
    }
    if (v === undefined) throw new Error(`no value for {{ .${path} }}`);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
}
