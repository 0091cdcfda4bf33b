/**
 * The built-in function templates: `templates/<folder>/function.yaml` plus the source file its handler
 * names, loaded once at start and served by GET /api/function_templates with the source in base64.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseHandler, runtimeFamily, DEFAULT_HANDLER } from '../resources/runtimes.js';
import { isObject } from '../resources/shape.js';
import type { FunctionConfig } from '../resources/types.js';

export interface Template {
  metadata: { name: string };
  spec: FunctionConfig['spec'];
  /** The YAML text of the template's configuration, matched by X-Nuclio-Filter-Contains. */
  searchText: string;
}

export class TemplateCatalog {
  private constructor(private readonly templates: Template[]) {}

  /** Loads every folder of `dir`; a broken template is reported through `onError` and skipped. */
  static load(dir: string, onError: (folder: string, err: Error) => void = () => {}): TemplateCatalog {
    const out: Template[] = [];
    const folders = existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
          .sort()
      : [];
    for (const folder of folders) {
      try {
        out.push(loadTemplate(join(dir, folder), folder));
      } catch (e) {
        onError(folder, e as Error);
      }
    }
    return new TemplateCatalog(out);
  }

  /** Templates whose name or configuration contains `filter` (case-sensitive, as Nuclio). */
  list(filter?: string): Template[] {
    if (!filter) return this.templates;
    return this.templates.filter((t) => t.metadata.name.includes(filter) || t.searchText.includes(filter));
  }

  get(name: string): Template | undefined {
    return this.templates.find((t) => t.metadata.name === name);
  }
}

function loadTemplate(dir: string, folder: string): Template {
  const yamlText = readFileSync(join(dir, 'function.yaml'), 'utf8');
  const doc = parseYaml(yamlText) as unknown;
  if (!isObject(doc) || !isObject(doc.spec)) throw new Error('function.yaml needs a spec');
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : folder;
  const spec = { ...doc.spec } as FunctionConfig['spec'];
  const family = runtimeFamily(spec.runtime);
  if (!family) throw new Error(`unsupported runtime ${JSON.stringify(spec.runtime)}`);
  const handler = spec.handler ?? DEFAULT_HANDLER[family];
  const parsed = parseHandler(family, handler);
  if (typeof parsed === 'string') throw new Error(parsed);
  const source = readFileSync(join(dir, parsed.file));
  spec.handler = handler;
  spec.build = { ...(isObject(spec.build) ? spec.build : {}), functionSourceCode: source.toString('base64') };
  spec.resources = isObject(spec.resources) ? spec.resources : {};
  return { metadata: { name }, spec, searchText: yamlText + source.toString('utf8') };
}
