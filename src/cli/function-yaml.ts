/**
 * What `protium deploy PATH` sends: Nuclio's function.yaml (apiVersion/kind/metadata/spec, as nuctl reads
 * it) with the command-line flags laid over it, and the source packed inline — one file as it is, a folder
 * of several files as a base64 tar.gz with spec.build.codeEntryType "archive" (what the builder extracts).
 * Errors name the file and the line (the yaml package keeps positions).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { DEFAULT_HANDLER, parseHandler, runtimeFamily, type RuntimeFamily } from '../resources/runtimes.js';
import { CliError } from './errors.js';

export interface FunctionDoc {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec: FunctionSpecDoc;
}

export interface FunctionSpecDoc {
  runtime?: string;
  handler?: string;
  env?: { name: string; value?: string; [k: string]: unknown }[];
  minReplicas?: number;
  maxReplicas?: number;
  triggers?: Record<string, Record<string, unknown>>;
  build?: {
    commands?: string[];
    functionSourceCode?: string;
    path?: string;
    codeEntryType?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface FunctionYaml {
  file: string;
  config: FunctionDoc;
  doc: Document;
  lineCounter: LineCounter;
}

const TOP_LEVEL_KEYS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** An env value as the string it becomes: numbers and booleans as YAML wrote them, a list or mapping as JSON. */
const envText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : (JSON.stringify(v) ?? '');

/** Position of a node, 1-based. */
function posOf(
  fy: { doc: Document; lineCounter: LineCounter },
  path: (string | number)[],
  minDepth = 0,
): { line: number; col: number } | undefined {
  for (let n = path.length; n >= minDepth; n--) {
    const node = n === 0 ? fy.doc.contents : fy.doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return fy.lineCounter.linePos(range[0]);
  }
  return undefined;
}

/** "function.yaml line 7" for a dotted field path (e.g. spec.triggers.tick.attributes.schedule), if found. */
export function lineOf(fy: FunctionYaml, fieldPath: string): number | undefined {
  const parts = fieldPath.split('.').filter(Boolean);
  // Label keys contain dots (nuclio.io/project-name): the closest node that exists is good enough.
  return posOf(fy, parts, 1)?.line;
}

/** Parses the text of a function.yaml; every problem is a CliError naming the file and line. */
export function parseFunctionYaml(text: string, file: string): FunctionYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new CliError(`${file}${pos ? ` line ${pos.line}, column ${pos.col}` : ''}: ${msg}`);
  }
  const fy = { file, doc, lineCounter };
  const fail = (path: (string | number)[], msg: string): never => {
    const pos = posOf(fy, path);
    throw new CliError(`${file}${pos ? ` line ${pos.line}` : ''}: ${msg}`);
  };
  const failAtKey = (key: string, msg: string): never => {
    const items =
      (doc.contents as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | null)?.items ??
      [];
    const range = items.find((p) => p.key?.value === key)?.key?.range;
    const pos = range ? lineCounter.linePos(range[0]) : posOf(fy, [key]);
    throw new CliError(`${file}${pos ? ` line ${pos.line}` : ''}: ${msg}`);
  };
  const raw = doc.toJS() as unknown;
  if (raw === null || raw === undefined) {
    throw new CliError(
      `${file} is empty: it needs apiVersion: nuclio.io/v1, kind: NuclioFunction, metadata (name) and spec ` +
        `(runtime, handler)`,
    );
  }
  if (!isMap(raw)) fail([], 'expected a mapping with apiVersion, kind, metadata and spec');
  const top = raw as Json;
  for (const key of Object.keys(top)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      const near = closest(key, TOP_LEVEL_KEYS);
      failAtKey(
        key,
        `unknown key ${JSON.stringify(key)}${near ? ` (did you mean ${near}?)` : ''}: a function.yaml has ` +
          `apiVersion, kind, metadata and spec`,
      );
    }
  }
  if (top.kind !== undefined && top.kind !== 'NuclioFunction')
    fail(['kind'], `kind must be NuclioFunction, got ${JSON.stringify(top.kind)}`);
  if (
    top.apiVersion !== undefined &&
    (typeof top.apiVersion !== 'string' || !top.apiVersion.startsWith('nuclio.io/'))
  ) {
    fail(['apiVersion'], `apiVersion must be nuclio.io/v1, got ${JSON.stringify(top.apiVersion)}`);
  }
  const metadata = top.metadata ?? {};
  if (!isMap(metadata)) fail(['metadata'], 'metadata must be a mapping (name, namespace, labels)');
  const spec = top.spec ?? {};
  if (!isMap(spec)) fail(['spec'], 'spec must be a mapping (runtime, handler, env, triggers, build, ...)');
  const m = metadata as Json;
  const s = spec as Json;
  for (const key of ['name', 'namespace'] as const) {
    if (m[key] !== undefined && typeof m[key] !== 'string')
      fail(['metadata', key], `metadata.${key} must be a string, got ${JSON.stringify(m[key])}`);
  }
  for (const key of ['labels', 'annotations'] as const) {
    const v = m[key];
    if (v === undefined || v === null) continue;
    if (!isMap(v)) fail(['metadata', key], `metadata.${key} must be a mapping of names to strings`);
    for (const [k, val] of Object.entries(v as Json)) {
      if (typeof val !== 'string') {
        if (typeof val === 'number' || typeof val === 'boolean') (v as Json)[k] = String(val);
        else fail(['metadata', key, k], `metadata.${key}.${k} must be a string`);
      }
    }
  }
  for (const key of ['runtime', 'handler', 'description'] as const) {
    if (s[key] !== undefined && typeof s[key] !== 'string')
      fail(['spec', key], `spec.${key} must be a string, got ${JSON.stringify(s[key])}`);
  }
  for (const key of ['minReplicas', 'maxReplicas', 'replicas'] as const) {
    if (s[key] !== undefined && (!Number.isInteger(s[key]) || (s[key] as number) < 0))
      fail(['spec', key], `spec.${key} must be a whole number, got ${JSON.stringify(s[key])}`);
  }
  if (s.env !== undefined && s.env !== null) {
    if (isMap(s.env)) {
      // A convenience nuctl does not have: env as a mapping NAME: value.
      s.env = Object.entries(s.env).map(([name, value]) => ({ name, value: value === null ? '' : envText(value) }));
    } else if (!Array.isArray(s.env)) {
      fail(['spec', 'env'], 'spec.env must be a list of {name, value}');
    } else {
      (s.env as unknown[]).forEach((e, i) => {
        if (!isMap(e) || typeof e.name !== 'string' || !e.name)
          fail(['spec', 'env', i], `spec.env[${i}] must be {name: NAME, value: VALUE}`);
        const ev = e as Json;
        if (ev.value !== undefined && ev.value !== null && typeof ev.value !== 'string') ev.value = envText(ev.value);
      });
    }
  }
  if (s.triggers !== undefined && s.triggers !== null) {
    if (!isMap(s.triggers)) fail(['spec', 'triggers'], 'spec.triggers must be a mapping of trigger names to triggers');
    for (const [k, t] of Object.entries(s.triggers as Json)) {
      if (!isMap(t)) fail(['spec', 'triggers', k], `spec.triggers.${k} must be a mapping (kind, attributes, ...)`);
    }
  }
  if (s.build !== undefined && s.build !== null) {
    if (!isMap(s.build)) fail(['spec', 'build'], 'spec.build must be a mapping (commands, ...)');
    const b = s.build as Json;
    if (b.commands !== undefined && b.commands !== null) {
      if (!Array.isArray(b.commands))
        fail(['spec', 'build', 'commands'], 'spec.build.commands must be a list of shell commands');
      (b.commands as unknown[]).forEach((c, i) => {
        if (typeof c !== 'string') fail(['spec', 'build', 'commands', i], `spec.build.commands[${i}] must be a string`);
      });
    }
  }
  const config: FunctionDoc = {
    ...(top.apiVersion !== undefined ? { apiVersion: top.apiVersion as string } : {}),
    ...(top.kind !== undefined ? { kind: top.kind as string } : {}),
    metadata: m,
    spec: s,
  };
  return { file, config, doc, lineCounter };
}

/** The flags of `protium deploy` that override the file. */
export interface DeployFlags {
  name?: string;
  runtime?: string;
  handler?: string;
  env?: string[];
  buildCommand?: string[];
  minReplicas?: string;
  maxReplicas?: string;
  trigger?: string[];
  description?: string;
}

/** `K=V` → {name, value}. */
export function parseEnv(item: string): { name: string; value: string } {
  const i = item.indexOf('=');
  const name = i > 0 ? item.slice(0, i).trim() : '';
  if (!name) throw new CliError(`--env ${JSON.stringify(item)} must look like NAME=value`, 2);
  return { name, value: item.slice(i + 1) };
}

/**
 * One --trigger value → triggers keyed by name. JSON (a trigger with "kind", or a map of them, as nuctl's
 * --triggers) or the short form `[NAME:]cron=<interval|schedule>` (e.g. `cron=10s`, `tick:cron=*\/5 * * * *`).
 */
export function parseTrigger(value: string): Record<string, Record<string, unknown>> {
  const v = value.trim();
  if (v.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(v);
    } catch (e) {
      throw new CliError(`--trigger is not valid JSON: ${(e as Error).message}`, 2);
    }
    if (!isMap(obj)) throw new CliError('--trigger JSON must be an object', 2);
    if (typeof obj.kind === 'string') {
      const name = typeof obj.name === 'string' && obj.name ? obj.name : obj.kind;
      return { [name]: obj };
    }
    for (const [k, t] of Object.entries(obj)) {
      if (!isMap(t)) throw new CliError(`--trigger: trigger ${JSON.stringify(k)} must be an object with a kind`, 2);
    }
    return obj as Record<string, Record<string, unknown>>;
  }
  const broker = brokerShortForm(v);
  if (broker) return broker;
  const m = /^(?:([A-Za-z0-9][\w-]*):)?cron=(.+)$/.exec(v);
  if (m) {
    const spec = m[2].trim();
    const isInterval = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(spec);
    return { [m[1] ?? 'cron']: { kind: 'cron', attributes: isInterval ? { interval: spec } : { schedule: spec } } };
  }
  throw new CliError(
    `--trigger ${JSON.stringify(value)} must be JSON (e.g. '{"tick": {"kind": "cron", "attributes": ` +
      `{"interval": "10s"}}}'), cron=<interval|schedule> (e.g. cron=10s), or <kind>=<url>?<attribute>=<value>&… for nats, mqtt, rabbit-mq and kafka-cluster (e.g. 'nats=nats://127.0.0.1:4222?topic=orders.*')`,
    2,
  );
}

/** Attributes a broker short form takes as comma-separated lists. */
const LIST_ATTRIBUTES = new Set(['topics', 'brokers']);

/**
 * `[NAME:]<kind>=<url>?<attribute>=<value>&…` for the message triggers, e.g.
 * `nats=nats://127.0.0.1:4222?topic=orders.*`, `in:rabbit-mq=amqp://guest:guest@h:5672?exchangeName=x&topics=a.*,b.#`,
 * `mqtt=tcp://h:1883?topic=sensors/+/temp&qos=1`, `kafka-cluster=h1:9092,h2:9092?topics=t&consumerGroup=g`
 * (Kafka's part before `?` is the broker list). Values are percent-decoded; `topics` and `brokers` split
 * on commas; mqtt's `topic` and `qos` make one subscription. Undefined when `value` is not of that form.
 */
function brokerShortForm(value: string): Record<string, Record<string, unknown>> | undefined {
  const m = /^(?:([A-Za-z0-9][\w-]*):)?(nats|mqtt|rabbit-mq|kafka-cluster)=([^?]*)(?:\?(.*))?$/.exec(value);
  if (!m) return undefined;
  const [, name, kind, address, query] = m as unknown as [
    string,
    string | undefined,
    string,
    string,
    string | undefined,
  ];
  const attributes: Record<string, unknown> = {};
  // Not URLSearchParams: it reads "+" as a space, and MQTT filters hold "+" (sensors/+/temp).
  for (const pair of (query ?? '').split('&').filter(Boolean)) {
    const i = pair.indexOf('=');
    const decode = (x: string) => {
      try {
        return decodeURIComponent(x);
      } catch {
        return x;
      }
    };
    const k = decode(i < 0 ? pair : pair.slice(0, i));
    const v = decode(i < 0 ? '' : pair.slice(i + 1));
    attributes[k] = LIST_ATTRIBUTES.has(k)
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : v;
  }
  const trigger: Record<string, unknown> = { kind };
  if (kind === 'kafka-cluster')
    attributes.brokers = address
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  else trigger.url = address;
  if (kind === 'mqtt' && typeof attributes.topic === 'string') {
    attributes.subscriptions = [{ topic: attributes.topic, qos: Number(attributes.qos ?? 0) }];
    delete attributes.topic;
    delete attributes.qos;
  }
  if (typeof attributes.numWorkers === 'string') {
    trigger.numWorkers = Number(attributes.numWorkers);
    delete attributes.numWorkers;
  }
  trigger.attributes = attributes;
  return { [name ?? kind.replace('-cluster', '').replace('-', '')]: trigger };
}

function wholeNumber(v: string, flag: string): number {
  if (!/^\d{1,6}$/.test(v.trim())) throw new CliError(`${flag} must be a whole number, got ${JSON.stringify(v)}`, 2);
  return Number(v);
}

/** Lays the flags over a config (flags win). Returns a new config. */
export function applyFlags(input: FunctionDoc, flags: DeployFlags): FunctionDoc {
  const config: FunctionDoc = structuredClone(input);
  const spec = config.spec;
  if (flags.name) config.metadata.name = flags.name;
  if (flags.runtime) spec.runtime = flags.runtime;
  if (flags.handler) spec.handler = flags.handler;
  if (flags.description) spec.description = flags.description;
  if (flags.env?.length) {
    const env = [...(spec.env ?? [])];
    for (const item of flags.env) {
      const e = parseEnv(item);
      const i = env.findIndex((x) => x.name === e.name);
      if (i >= 0) env[i] = e;
      else env.push(e);
    }
    spec.env = env;
  }
  if (flags.buildCommand?.length) spec.build = { ...(spec.build ?? {}), commands: [...flags.buildCommand] };
  if (flags.minReplicas !== undefined) spec.minReplicas = wholeNumber(flags.minReplicas, '--min-replicas');
  if (flags.maxReplicas !== undefined) spec.maxReplicas = wholeNumber(flags.maxReplicas, '--max-replicas');
  if (spec.minReplicas !== undefined && spec.maxReplicas !== undefined && spec.minReplicas > spec.maxReplicas) {
    throw new CliError(`min replicas (${spec.minReplicas}) is more than max replicas (${spec.maxReplicas})`, 2);
  }
  if (flags.trigger?.length) {
    spec.triggers = { ...(spec.triggers ?? {}) };
    for (const t of flags.trigger) Object.assign(spec.triggers, parseTrigger(t));
  }
  return config;
}

const EXT_FAMILY: Record<string, RuntimeFamily> = {
  '.py': 'python',
  '.js': 'nodejs',
  '.cjs': 'nodejs',
  '.mjs': 'nodejs',
  '.sh': 'shell',
};
const SKIP_DIRS = new Set(['.git', '.hg', '.svn', '.protium', '__pycache__', '.venv', '.idea', '.vscode']);
const SKIP_FILES = new Set(['.DS_Store']);
const YAML_NAMES = ['function.yaml', 'function.yml'];
const MAX_FILES = 5000;

/** Files of a folder (relative, with `/`), without VCS folders, caches and the function.yaml itself. */
export async function listSourceFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const ent of entries) {
      const abs = join(dir, ent.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (ent.isDirectory()) {
        if (!SKIP_DIRS.has(ent.name)) await walk(abs);
        continue;
      }
      if (SKIP_FILES.has(ent.name) || (dir === root && YAML_NAMES.includes(ent.name))) continue;
      if (ent.isSymbolicLink()) {
        // Links to files are packed as the file; links to folders are skipped (no cycles).
        const st = await stat(abs).catch(() => undefined);
        if (!st?.isFile()) continue;
      } else if (!ent.isFile()) {
        continue;
      }
      out.push(rel);
      if (out.length > MAX_FILES)
        throw new CliError(
          `${root} has more than ${MAX_FILES} files: deploy a smaller folder, and install dependencies with ` +
            `--build-command`,
        );
    }
  };
  await walk(root);
  return out;
}

/** A k8s-style name from a file or folder name (hello_World.py → hello-world). */
export function nameFrom(base: string): string {
  return base
    .toLowerCase()
    .replace(/\.[a-z0-9]+$/, '')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 63);
}

/** How the source travels: one file inline, a folder as an archive, or not at all (the config names it). */
export type SourcePlan =
  | { kind: 'file'; path: string }
  | { kind: 'archive'; root: string; files: string[] }
  | { kind: 'none'; reason: string };

export interface DeployInput {
  config: FunctionDoc;
  yaml?: FunctionYaml;
  plan: SourcePlan;
  /** For messages: the file or folder deployed. */
  what: string;
}

function familyOf(runtime: string | undefined, flag: string): RuntimeFamily {
  const f = runtimeFamily(runtime);
  if (!f)
    throw new CliError(
      `${flag} ${JSON.stringify(runtime)} is not a runtime this platform runs: use nodejs, python (python:3.x) ` +
        `or shell`,
      2,
    );
  return f;
}

function defaultHandler(family: RuntimeFamily, file: string): string {
  if (family === 'shell') return `${file}:main`;
  const stem = file.replace(/\.(py|c?js|mjs)$/, '');
  return family === 'python' ? `${stem.split('/').join('.')}:handler` : `${stem}:handler`;
}

/**
 * Reads PATH (a folder with function.yaml, a folder of sources, a single source file, or a function.yaml),
 * applies the flags and decides how the source travels.
 */
export async function loadDeployInput(
  pathArg: string | undefined,
  flags: DeployFlags & { file?: string },
  cwd = process.cwd(),
): Promise<DeployInput> {
  const given = pathArg ?? '.';
  let target = resolve(cwd, given);
  let st = await stat(target).catch(() => undefined);
  if (!st) throw new CliError(`${given}: no such file or folder`);
  let yamlPath = flags.file ? resolve(cwd, flags.file) : undefined;
  if (st.isFile() && YAML_NAMES.includes(basename(target)) && !yamlPath) {
    yamlPath = target;
    target = dirname(target);
    st = await stat(target);
  }
  const isDir = st.isDirectory();
  if (!isDir && !st.isFile()) throw new CliError(`${given} is neither a file nor a folder`);
  if (!yamlPath && isDir) yamlPath = YAML_NAMES.map((n) => join(target, n)).find((p) => existsSync(p));

  let yaml: FunctionYaml | undefined;
  if (yamlPath) {
    let text: string;
    try {
      text = await readFile(yamlPath, 'utf8');
    } catch {
      throw new CliError(`${relative(cwd, yamlPath) || yamlPath}: no such file`);
    }
    yaml = parseFunctionYaml(text, relative(cwd, yamlPath) || basename(yamlPath));
  }
  const config = applyFlags(yaml?.config ?? { metadata: {}, spec: {} }, flags);
  const spec = config.spec;
  const build = spec.build ?? {};
  const what = given;

  // A config that names its own source (inline code, a URL, a template, an image) is sent as it is.
  if (
    build.functionSourceCode ||
    (build.path && /^https?:\/\//i.test(build.path)) ||
    build.codeEntryType === 'template'
  ) {
    if (!config.metadata.name) config.metadata.name = nameFrom(basename(isDir ? target : dirname(target)));
    return { config, yaml, plan: { kind: 'none', reason: 'the function.yaml names its source' }, what };
  }
  if (build.path) delete build.path; // a local path means "here": the source is uploaded instead

  const files = isDir ? await listSourceFiles(target) : [basename(target)];
  const root = isDir ? target : dirname(target);
  if (!files.length) throw new CliError(`${given} has no source files`);

  // The runtime: the flag, the file, or the one runtime the source files point to.
  if (!spec.runtime) {
    const families = new Set(files.map((f) => EXT_FAMILY[extname(f)]).filter((f): f is RuntimeFamily => !!f));
    if (families.size !== 1) {
      throw new CliError(
        `cannot tell the runtime of ${given}: give --runtime (nodejs, python or ` +
          `shell)${isDir && !yaml ? ' or add a function.yaml' : ''}`,
        2,
      );
    }
    spec.runtime = [...families][0]!;
  }
  const family = familyOf(
    spec.runtime,
    yaml?.config.spec.runtime && !flags.runtime ? `${yaml.file}: spec.runtime` : '--runtime',
  );

  if (!spec.handler) {
    const all = files.filter((f) => EXT_FAMILY[extname(f)] === family);
    const topLevel = all.filter((f) => !f.includes('/'));
    const candidates = topLevel.length ? topLevel : all;
    const conventional = files.includes(parseHandlerFile(family, DEFAULT_HANDLER[family]));
    if (!isDir) spec.handler = defaultHandler(family, files[0]);
    else if (candidates.length === 1) spec.handler = defaultHandler(family, candidates[0]);
    else if (conventional) spec.handler = DEFAULT_HANDLER[family];
    else throw new CliError(`cannot tell the handler of ${given}: give --handler (e.g. ${DEFAULT_HANDLER[family]})`, 2);
  }
  const parsed = parseHandler(family, spec.handler);
  if (typeof parsed === 'string') throw new CliError(parsed, 2);
  if (isDir && family !== 'shell' && !files.includes(parsed.file)) {
    throw new CliError(
      `the handler ${JSON.stringify(spec.handler)} is in ${parsed.file}, which is not in ${given} (it ` +
        `has ${files.slice(0, 5).join(', ')}${files.length > 5 ? ', ...' : ''})`,
    );
  }
  if (!config.metadata.name) {
    const name = nameFrom(isDir ? basename(target) : files[0]);
    if (!name) throw new CliError(`cannot make a function name from ${given}: give --name`, 2);
    config.metadata.name = name;
  }
  const plan: SourcePlan = !isDir
    ? { kind: 'file', path: target }
    : files.length === 1 && files[0] === parsed.file
      ? { kind: 'file', path: join(root, files[0]) }
      : { kind: 'archive', root, files };
  return { config, yaml, plan, what };
}

function parseHandlerFile(family: RuntimeFamily, handler: string): string {
  const p = parseHandler(family, handler);
  return typeof p === 'string' ? '' : p.file;
}

/** The dashboard takes 10 MiB requests; the base64 source must leave room for the rest of the body. */
export const MAX_SOURCE_BASE64 = 9 * 1024 * 1024;

/** Packs the source: spec.build fields to merge (functionSourceCode, and codeEntryType for an archive). */
export async function packSource(
  plan: SourcePlan,
): Promise<{ functionSourceCode?: string; codeEntryType?: string; bytes: number; files: number }> {
  if (plan.kind === 'none') return { bytes: 0, files: 0 };
  let bytes: Buffer;
  if (plan.kind === 'file') {
    bytes = await readFile(plan.path);
  } else {
    const tar = await import('tar');
    const chunks: Buffer[] = [];
    const stream = tar.create(
      { gzip: true, cwd: plan.root, portable: true, follow: true, noDirRecurse: true },
      plan.files,
    );
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    bytes = Buffer.concat(chunks);
  }
  const code = bytes.toString('base64');
  if (code.length > MAX_SOURCE_BASE64) {
    const mb = (bytes.length / 1024 / 1024).toFixed(1);
    throw new CliError(
      `the source is ${mb} MiB${plan.kind === 'archive' ? ' packed' : ''}, over what the dashboard accepts ` +
        `(about ${Math.floor((MAX_SOURCE_BASE64 * 3) / 4 / 1024 / 1024)} MiB): leave out large files and install ` +
        `dependencies with --build-command`,
    );
  }
  return plan.kind === 'archive'
    ? { functionSourceCode: code, codeEntryType: 'archive', bytes: bytes.length, files: plan.files.length }
    : { functionSourceCode: code, bytes: bytes.length, files: 1 };
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** The closest of `choices` to `word`, if it is close enough to be a typo. */
export function closest(word: string, choices: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const dd = distance(word.toLowerCase(), c.toLowerCase());
    if (dd < bestD) {
      best = c;
      bestD = dd;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}
