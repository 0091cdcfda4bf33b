/**
 * The processor image (images/processor/Dockerfile): assembled from this checkout, built through the
 * engine on first need, tagged by its version.
 *
 * The build context holds the Dockerfile and a `protium/` folder laid out like this package: the compiled
 * files the processor and the artifact fetcher import (followed from their entry points with
 * es-module-lexer, so a change elsewhere in the dashboard does not make a new image), the packages they
 * import (with their dependencies), the python wrapper, and the entry script. The version is a hash of
 * every file of the context and of the base image (its id when the engine has it, else its name): the
 * same checkout and base give the same tag, an upgrade or a new base a new one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type Docker from 'dockerode';
import { init, parse } from 'es-module-lexer';
import * as tar from 'tar';
import { engineMessage, engineStatus } from './engine.js';
import { LABELS } from './labels.js';

/** One file of the build context. */
export interface ContextFile {
  /** Path inside the context ('/'-separated). */
  rel: string;
  content: Buffer;
  mode: number;
}

/** The processor's programs inside the image, and the python wrapper's folder. */
export const IMAGE_ROOT = '/opt/protium';
export const IMAGE_PROCESSOR_MAIN = `${IMAGE_ROOT}/dist/src/processor/main.js`;
export const IMAGE_PYTHON_RUNTIME_DIR = `${IMAGE_ROOT}/src/processor/runtimes/python`;
/** The repository of processor images; the tag is `<package version>-<context hash>`. */
export const IMAGE_REPOSITORY = 'protium-processor';

const ENTRY_POINTS = ['dist/src/processor/main.js', 'dist/src/processor/fetch-artifact.js'];

/** The package a bare specifier names (`croner`, `@scope/pkg/sub` → `@scope/pkg`); undefined for others. Pure. */
export function packageOf(specifier: string): string | undefined {
  if (
    specifier.startsWith('.') ||
    specifier.startsWith('/') ||
    specifier.startsWith('node:') ||
    /^[a-z]+:/.test(specifier)
  )
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The compiled files (relative to `root`) that `entries` import, transitively, and the packages they
 * import. Dynamic imports of a computed name (the user's handler) are not followed.
 */
export async function importClosure(root: string, entries: string[]): Promise<{ files: string[]; packages: string[] }> {
  await init();
  const builtins = new Set((await import('node:module')).builtinModules);
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const rel = todo.pop()!;
    if (files.has(rel)) continue;
    const abs = join(root, rel);
    if (!existsSync(abs)) throw new Error(`The processor imports ${rel}, which is not built: run npm run build`);
    files.add(rel);
    const [imports] = parse(readFileSync(abs, 'utf8'), abs);
    for (const i of imports) {
      const spec = 'specifier' in i ? i.specifier : undefined;
      if (!spec || ('typeOnly' in i && i.typeOnly)) continue;
      if (spec.startsWith('.')) {
        todo.push(
          relative(root, resolve(dirname(abs), spec))
            .split(sep)
            .join('/'),
        );
        continue;
      }
      const pkg = packageOf(spec);
      if (pkg && !builtins.has(pkg)) packages.add(pkg);
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

function walk(dir: string, skip: (name: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    if (skip(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, skip, out);
    else out.push(p);
  }
  return out;
}

/** Where Node finds package `name` from `fromDir`: the nearest `node_modules/<name>` up to `root`. */
function resolvePackage(root: string, fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/**
 * The installed folders of `names` and of everything they depend on, as Node resolves them from `root`:
 * each folder is copied whole (its own node_modules, where npm put versions that differ from the top
 * level, included), and a dependency found outside it is added. A dependency that is not installed (an
 * optional one, a type package) is not needed at run time.
 */
function packageFolders(root: string, names: string[]): string[] {
  const folders = new Set<string>();
  const todo = names.map(
    (n) =>
      resolvePackage(root, root, n) ??
      (() => {
        throw new Error(`The processor imports the package ${n}, which is not installed: run npm install`);
      })(),
  );
  while (todo.length) {
    const dir = todo.pop()!;
    if (folders.has(dir)) continue;
    folders.add(dir);
    // Every package inside the folder (itself, and those under its node_modules) may depend on others.
    const metas = walk(dir, () => false).filter(
      (f) =>
        f.endsWith(`${sep}package.json`) &&
        (dirname(f) === dir ||
          basename(dirname(dirname(f))) === 'node_modules' ||
          basename(dirname(dirname(dirname(f)))) === 'node_modules'),
    );
    for (const meta of metas) {
      let deps: Record<string, string>;
      try {
        deps = (JSON.parse(readFileSync(meta, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
      } catch {
        continue;
      }
      for (const dep of Object.keys(deps)) {
        const found = resolvePackage(root, dirname(meta), dep);
        if (found && !found.startsWith(`${dir}${sep}`)) todo.push(found);
      }
    }
  }
  // A folder inside another one is copied with it.
  return [...folders].filter((f) => ![...folders].some((o) => o !== f && f.startsWith(`${o}${sep}`))).sort();
}

/** Every file of the processor image's build context, from the package at `root`. */
export async function processorContext(root: string): Promise<ContextFile[]> {
  const out: ContextFile[] = [];
  const add = (rel: string, abs: string, mode?: number) =>
    out.push({ rel, content: readFileSync(abs), mode: mode ?? (statSync(abs).mode & 0o111 ? 0o755 : 0o644) });
  add('Dockerfile', join(root, 'images', 'processor', 'Dockerfile'));
  add('protium/bin/processor', join(root, 'images', 'processor', 'processor.sh'), 0o755);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  out.push({
    rel: 'protium/package.json',
    content: Buffer.from(
      `${JSON.stringify({ name: 'protium-processor', version: pkg.version, private: true, type: 'module' })}\n`,
    ),
    mode: 0o644,
  });
  const { files, packages } = await importClosure(root, ENTRY_POINTS);
  for (const rel of files) add(`protium/${rel}`, join(root, rel));
  const python = join(root, 'src', 'processor', 'runtimes', 'python');
  for (const abs of walk(python, (n) => n === '__pycache__' || n.endsWith('.pyc') || n.endsWith('.test.py')))
    add(`protium/${relative(root, abs).split(sep).join('/')}`, abs);
  for (const dir of packageFolders(root, packages)) {
    for (const abs of walk(dir, () => false)) add(`protium/${relative(root, abs).split(sep).join('/')}`, abs);
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** The image's tag for a context and base image: `protium-processor:<version>-<hash>`. Pure. */
export function imageTag(files: ContextFile[], baseImage: string, version: string): string {
  const h = createHash('sha256').update(`base ${baseImage}\n`);
  for (const f of files) h.update(`${f.rel}\0${f.mode.toString(8)}\0${f.content.length}\0`).update(f.content);
  return `${IMAGE_REPOSITORY}:${version}-${h.digest('hex').slice(0, 16)}`;
}

/** A line of an image build's progress. */
export type ImageLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * The processor image of this checkout on one engine: `ensure()` answers its tag once it exists there,
 * building it first when it does not. Builds are shared: callers that arrive while one runs wait for it
 * and see its progress from then on.
 */
export class ProcessorImage {
  private context?: Promise<{ files: ContextFile[]; tag: string }>;
  private building?: Promise<string>;
  private ready?: string;
  private readonly watchers = new Set<ImageLog>();

  constructor(
    private readonly docker: Docker,
    private readonly opts: { root: string; baseImage: string; log: ImageLog },
  ) {}

  /** The image's tag (computed from the checkout once). */
  async tag(): Promise<string> {
    return (await this.load()).tag;
  }

  private load(): Promise<{ files: ContextFile[]; tag: string }> {
    this.context ??= (async () => {
      const files = await processorContext(this.opts.root);
      const version = (JSON.parse(readFileSync(join(this.opts.root, 'package.json'), 'utf8')) as { version: string })
        .version;
      // The base image's id when the engine has it: a base built again under the same name makes a new image.
      const base = await this.docker
        .getImage(this.opts.baseImage)
        .inspect()
        .then((i) => `${this.opts.baseImage}@${i.Id}`)
        .catch(() => this.opts.baseImage);
      return { files, tag: imageTag(files, base, version) };
    })();
    return this.context;
  }

  /** Forgets that the image exists (a container create said it is gone): the next ensure() checks again. */
  forget(): void {
    this.ready = undefined;
  }

  /** The image's tag, once the engine has it; `log` sees the build's progress if one is needed. */
  async ensure(log?: ImageLog): Promise<string> {
    if (this.ready) return this.ready;
    if (log) this.watchers.add(log);
    try {
      if (this.building && log) log('info', 'Waiting for the processor image build in progress');
      this.building ??= this.check().finally(() => {
        this.building = undefined;
      });
      this.ready = await this.building;
      return this.ready;
    } finally {
      if (log) this.watchers.delete(log);
    }
  }

  private say(level: 'info' | 'warn' | 'error', message: string): void {
    this.opts.log(level, message);
    for (const w of this.watchers) w(level, message);
  }

  /**
   * Removes untagged processor images (two dashboards that built the same version at once leave one),
   * unless a container uses one.
   */
  private async pruneDangling(): Promise<void> {
    try {
      const dangling = await this.docker.listImages({
        filters: { dangling: ['true'], label: [LABELS.processorImage] },
      });
      await Promise.all(
        dangling.map((i) =>
          this.docker
            .getImage(i.Id)
            .remove()
            .catch(() => {}),
        ),
      );
    } catch {
      /* an engine that cannot list them keeps them */
    }
  }

  private async check(): Promise<string> {
    const { files, tag } = await this.load();
    try {
      await this.docker.getImage(tag).inspect();
      return tag;
    } catch (e) {
      if (engineStatus(e) !== 404)
        throw new Error(`Failed to look up the processor image ${tag}: ${engineMessage(e)}`, { cause: e });
    }
    await this.build(files, tag);
    return tag;
  }

  private async build(files: ContextFile[], tag: string): Promise<void> {
    const started = Date.now();
    this.say(
      'info',
      `Building the processor image ${tag} from ${this.opts.baseImage} (once per version of the processor)`,
    );
    const dir = await mkdtemp(join(tmpdir(), 'protium-image-'));
    try {
      for (const f of files) {
        const p = join(dir, ...f.rel.split('/'));
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, f.content);
        await chmod(p, f.mode);
      }
      const context = tar.c({ cwd: dir, portable: true }, ['Dockerfile', 'protium']);
      let stream: NodeJS.ReadableStream;
      try {
        stream = await this.docker.buildImage(context as unknown as NodeJS.ReadableStream, {
          t: tag,
          buildargs: { BASE_IMAGE: this.opts.baseImage },
          labels: { [LABELS.processorImage]: tag },
          rm: true,
          forcerm: true,
        });
      } catch (e) {
        throw new Error(`Failed to build the processor image ${tag}: ${engineMessage(e)}`, { cause: e });
      }
      const tail: string[] = [];
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null) => (err ? reject(err) : resolve()),
          (ev: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
            if (ev.error) return reject(new Error(ev.errorDetail?.message ?? ev.error));
            for (const line of `${ev.stream ?? ev.status ?? ''}`.split('\n')) {
              const text = line.trimEnd();
              if (!text || /^-->|^[0-9a-f]{64}$/.test(text)) continue;
              tail.push(text);
              if (tail.length > 20) tail.shift();
              this.say('info', text);
            }
          },
        );
      }).catch((e: Error) => {
        throw new Error(
          `Failed to build the processor image ${tag} from ${this.opts.baseImage}: ` +
            `${e.message}${tail.length ? `\n${tail.join('\n')}` : ''}`,
        );
      });
      // The engine may end the stream without an error line yet without the image (an engine bug): check.
      await this.docker
        .getImage(tag)
        .inspect()
        .catch((e) => {
          throw new Error(`The processor image ${tag} is missing after its build: ${engineMessage(e)}`);
        });
      this.say('info', `Built the processor image ${tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await this.pruneDangling();
    } catch (e) {
      this.say('error', (e as Error).message);
      throw e;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
