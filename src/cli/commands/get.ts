/**
 * `protium get functions|function NAME|projects|apigateways|functionevents|templates [-o table|json|yaml]`.
 */
import type { Command } from 'commander';
import { PROJECT_LABEL, FUNCTION_LABEL } from '../../resources/types.js';
import type { ApiClient } from '../api-client.js';
import { contextOf, seg, type Context } from '../context.js';
import { CliError } from '../errors.js';
import { closest } from '../function-yaml.js';
import { invocationUrl, type FunctionLike } from '../functions.js';
import { age, oneLine, parseFormat, render, table, type Format } from '../output.js';
import { triggerRows } from '../trigger-rows.js';

export type Kind = 'functions' | 'projects' | 'apigateways' | 'functionevents' | 'templates';

const ALIASES: Record<string, Kind> = {
  functions: 'functions',
  function: 'functions',
  fn: 'functions',
  fu: 'functions',
  func: 'functions',
  projects: 'projects',
  project: 'projects',
  proj: 'projects',
  apigateways: 'apigateways',
  apigateway: 'apigateways',
  agw: 'apigateways',
  'api-gateways': 'apigateways',
  'api-gateway': 'apigateways',
  gateways: 'apigateways',
  gateway: 'apigateways',
  functionevents: 'functionevents',
  functionevent: 'functionevents',
  fe: 'functionevents',
  'function-events': 'functionevents',
  'function-event': 'functionevents',
  events: 'functionevents',
  templates: 'templates',
  template: 'templates',
  'function-templates': 'templates',
};

/** The kind a word names (plural, singular or short form), or a CliError suggesting the closest. */
export function kindOf(
  word: string,
  allowed: Kind[] = ['functions', 'projects', 'apigateways', 'functionevents', 'templates'],
): Kind {
  const k = ALIASES[word.toLowerCase()];
  if (k && allowed.includes(k)) return k;
  const names = Object.keys(ALIASES).filter((a) => allowed.includes(ALIASES[a]));
  const near = closest(word, names);
  const singular = (x: Kind) => x.replace(/s$/, '');
  throw new CliError(
    `unknown kind ${JSON.stringify(word)}${near ? ` (did you mean ${near}?)` : ''}: ` +
      `use ${allowed.map(singular).join(', ')}`,
    2,
  );
}

type Keyed<T> = Record<string, T>;

interface GetOptions {
  output?: string;
  function?: string;
}

export function getCommand(program: Command): void {
  program
    .command('get')
    .argument('<kind>', 'functions, projects, apigateways, functionevents or templates (singular or plural)')
    .argument('[name]', 'one resource by name')
    .description('list or show functions, projects, apigateways, functionevents, templates')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .option('--function <name>', 'function events: only those of this function')
    .addHelpText(
      'after',
      `
Example:
  $ protium get functions
  $ protium get function hello -o yaml`,
    )
    .action(async (kindWord: string, name: string | undefined, opts: GetOptions, cmd: Command) => {
      const kind = kindOf(kindWord);
      const format = parseFormat(opts.output);
      const ctx = contextOf(cmd);
      const out = await GETTERS[kind](ctx, name, format, opts);
      process.stdout.write(out);
    });
}

type Getter = (ctx: Context, name: string | undefined, format: Format, opts: GetOptions) => Promise<string>;

async function one<T>(client: ApiClient, path: string, ns: Parameters<ApiClient['find']>[1], what: string): Promise<T> {
  const r = await client.find<T>(path, ns);
  if (!r) throw new CliError(`${what} not found${client.namespace ? ` in namespace ${client.namespace}` : ''}`);
  return r;
}

/** Runs `fn` over items, at most `limit` at a time. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const byName = <T extends { metadata: { name?: string } }>(list: T[]) =>
  [...list].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));

async function getFunctions(ctx: Context, name: string | undefined, format: Format): Promise<string> {
  const { client, globals } = ctx;
  const headers: Record<string, string> = globals.project && !name ? { 'x-nuclio-project-name': globals.project } : {};
  const data = name
    ? await one<FunctionLike>(
        client,
        `/api/functions/${seg(name)}`,
        { ns: 'function' },
        `function ${JSON.stringify(name)}`,
      )
    : await client.json<Keyed<FunctionLike>>('GET', '/api/functions', { ns: 'function', headers });
  if (format !== 'table') return render(data, format);
  const fns = name ? [data as FunctionLike] : byName(Object.values(data as Keyed<FunctionLike>));
  if (!fns.length)
    return (
      `No functions${globals.project ? ` in project ${globals.project}` : ''}. Deploy one with: protium ` +
      `deploy PATH\n`
    );
  const replicas = await mapLimit(fns, 8, async (f) => {
    try {
      const r = await client.json<{ names?: string[] }>('GET', `/api/functions/${seg(f.metadata.name!)}/replicas`, {
        ns: 'function',
      });
      return String(r?.names?.length ?? 0);
    } catch {
      return '-';
    }
  });
  const rows = fns.map((f, i) => [
    f.metadata.name ?? '',
    f.metadata.labels?.[PROJECT_LABEL] ?? '',
    f.status?.state ?? '',
    f.spec.runtime ?? '',
    replicas[i],
    invocationUrl(f, client.url) ?? '-',
    age(f.metadata.creationTimestamp),
  ]);
  let text = table(['NAME', 'PROJECT', 'STATE', 'RUNTIME', 'REPLICAS', 'URL', 'AGE'], rows);
  if (!name) return text;
  const fn = fns[0];
  const message = fn.status?.message;
  // Unhealthy: every line (one per trigger that cannot reach its broker); otherwise the first.
  if (message)
    text +=
      `\nMessage: ` +
      `${fn.status?.state === 'unhealthy' ? message.split('\n').join('\n         ') : message.split('\n')[0]}\n`;
  const triggers = triggerRows(fn.spec.triggers);
  if (triggers.length) text += `\n${table(['TRIGGER', 'KIND', 'SOURCE', 'CONSUMES', 'WORKERS'], triggers)}`;
  return text;
}

interface ProjectLike {
  metadata: { name?: string; creationTimestamp?: string };
  spec?: { description?: string };
}

async function getProjects(ctx: Context, name: string | undefined, format: Format): Promise<string> {
  const { client } = ctx;
  const data = name
    ? await one<ProjectLike>(client, `/api/projects/${seg(name)}`, { ns: 'project' }, `project ${JSON.stringify(name)}`)
    : await client.json<Keyed<ProjectLike>>('GET', '/api/projects', { ns: 'project' });
  if (format !== 'table') return render(data, format);
  const projects = name ? [data as ProjectLike] : byName(Object.values(data as Keyed<ProjectLike>));
  const fns = await client.json<Keyed<FunctionLike>>('GET', '/api/functions', { ns: 'function' });
  const count = new Map<string, number>();
  for (const f of Object.values(fns ?? {})) {
    const p = f.metadata.labels?.[PROJECT_LABEL] ?? 'default';
    count.set(p, (count.get(p) ?? 0) + 1);
  }
  const rows = projects.map((p) => [
    p.metadata.name ?? '',
    String(count.get(p.metadata.name ?? '') ?? 0),
    age(p.metadata.creationTimestamp),
    oneLine(p.spec?.description, 50),
  ]);
  return table(['NAME', 'FUNCTIONS', 'AGE', 'DESCRIPTION'], rows);
}

interface GatewayLike {
  metadata: { name?: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec?: {
    host?: string;
    path?: string;
    authenticationMode?: string;
    upstreams?: { nucliofunction?: { name?: string }; percentage?: number }[];
  };
  status?: { state?: string };
}

async function getGateways(ctx: Context, name: string | undefined, format: Format): Promise<string> {
  const { client, globals } = ctx;
  const headers: Record<string, string> = globals.project && !name ? { 'x-nuclio-project-name': globals.project } : {};
  const data = name
    ? await one<GatewayLike>(
        client,
        `/api/api_gateways/${seg(name)}`,
        { ns: 'apiGateway' },
        `API gateway ${JSON.stringify(name)}`,
      )
    : await client.json<Keyed<GatewayLike>>('GET', '/api/api_gateways', { ns: 'apiGateway', headers });
  if (format !== 'table') return render(data, format);
  const gws = name ? [data as GatewayLike] : byName(Object.values(data as Keyed<GatewayLike>));
  if (!gws.length) return 'No API gateways.\n';
  const rows = gws.map((g) => [
    g.metadata.name ?? '',
    g.metadata.labels?.[PROJECT_LABEL] ?? '',
    g.status?.state || '-',
    g.spec?.host || '-',
    g.spec?.path || '/',
    (g.spec?.upstreams ?? [])
      .map((u) => `${u.nucliofunction?.name ?? '?'}${u.percentage ? ` (${u.percentage}%)` : ''}`)
      .join(', '),
    g.spec?.authenticationMode || 'none',
    age(g.metadata.creationTimestamp),
  ]);
  return table(['NAME', 'PROJECT', 'STATE', 'HOST', 'PATH', 'FUNCTIONS', 'AUTH', 'AGE'], rows);
}

interface EventLike {
  metadata: { name?: string; labels?: Record<string, string> };
  spec?: { displayName?: string; triggerKind?: string; attributes?: { method?: string; path?: string } };
}

async function getEvents(ctx: Context, name: string | undefined, format: Format, opts: GetOptions): Promise<string> {
  const { client } = ctx;
  const headers: Record<string, string> = opts.function && !name ? { 'x-nuclio-function-name': opts.function } : {};
  const data = name
    ? await one<EventLike>(
        client,
        `/api/function_events/${seg(name)}`,
        { ns: 'functionEvent' },
        `function event ${JSON.stringify(name)}`,
      )
    : await client.json<Keyed<EventLike>>('GET', '/api/function_events', { ns: 'functionEvent', headers });
  if (format !== 'table') return render(data, format);
  const events = name ? [data as EventLike] : byName(Object.values(data as Keyed<EventLike>));
  if (!events.length) return 'No function events.\n';
  const rows = events.map((e) => [
    e.metadata.name ?? '',
    e.metadata.labels?.[FUNCTION_LABEL] ?? '',
    e.spec?.displayName ?? '',
    e.spec?.triggerKind ?? '',
    e.spec?.attributes?.method ?? '',
    e.spec?.attributes?.path ?? '',
  ]);
  return table(['NAME', 'FUNCTION', 'DISPLAY NAME', 'TRIGGER', 'METHOD', 'PATH'], rows);
}

interface TemplateLike {
  metadata: { name?: string };
  spec?: { runtime?: string; description?: string };
}

async function getTemplates(ctx: Context, name: string | undefined, format: Format): Promise<string> {
  const { client } = ctx;
  const all = await client.json<Keyed<TemplateLike>>('GET', '/api/function_templates', {
    headers: name ? { 'x-nuclio-filter-contains': name } : {},
  });
  let data: Keyed<TemplateLike> | TemplateLike = all ?? {};
  if (name) {
    if (all?.[name]) data = all[name]!;
    else if (!Object.keys(all ?? {}).length)
      throw new CliError(`no template matches ${JSON.stringify(name)} (protium get templates lists them)`);
  }
  if (format !== 'table') return render(data, format);
  const list = name && all?.[name] ? [all[name]] : byName(Object.values(all ?? {}));
  const rows = list.map((t) => [t.metadata.name ?? '', t.spec?.runtime ?? '', oneLine(t.spec?.description, 70)]);
  return table(['NAME', 'RUNTIME', 'DESCRIPTION'], rows);
}

const GETTERS: Record<Kind, Getter> = {
  functions: (c, n, f) => getFunctions(c, n, f),
  projects: (c, n, f) => getProjects(c, n, f),
  apigateways: (c, n, f) => getGateways(c, n, f),
  functionevents: getEvents,
  templates: (c, n, f) => getTemplates(c, n, f),
};
