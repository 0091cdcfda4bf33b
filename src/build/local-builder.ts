/**
 * The local Builder: resolves a function's source (inline base64, http(s) URL, local file or folder,
 * archive, template) into a staging folder, runs spec.build.commands there with installs kept inside it,
 * and publishes it as `artifacts/<content hash>` — atomically, so a crash never leaves a half artifact.
 * Same inputs give the same id, and an existing artifact is reused unless spec.build.noCache.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { sourceKind, isBase64 } from '../resources/function-source.js';
import { DEFAULT_HANDLER, parseHandler, runtimeFamily, unavailableRuntimeMessage, type RuntimeFamily } from '../resources/runtimes.js';
import type { FunctionConfig } from '../resources/types.js';
import { archiveKindOf, extractArchive, sniffArchive, type ArchiveKind } from './archive.js';
import { BuildError, type Artifact, type BuildLogLine, type BuildOptions, type Builder } from './builder.js';
import type { BuildCommands } from './build-commands.js';
import { contentHash } from './content-hash.js';
import type { TemplateCatalog } from './template-catalog.js';

/** Default bound of all build commands together (spec.build.buildTimeoutSeconds overrides). */
const DEFAULT_BUILD_TIMEOUT_S = 600;
const DOWNLOAD_TIMEOUT_MS = 60_000;
const MAX_DOWNLOAD = 200 * 1024 * 1024;
export { NPM_PREFIX_DIR, PIP_TARGET_DIR } from './build-commands.js';

export interface LocalBuilderOptions {
  artifactsDir: string;
  templates: TemplateCatalog;
  /** Runs spec.build.commands (confined, tracked, with the package managers' configuration). */
  commands: BuildCommands;
}

/** The image name recorded in spec.image for an artifact. */
export function imageName(functionName: string, id: string): string {
  const repo = functionName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'function';
  return `protium/processor-${repo}:${id}`;
}

export class LocalBuilder implements Builder {
  constructor(private readonly opts: LocalBuilderOptions) {}

  async fromImage(image: string): Promise<Artifact | undefined> {
    const m = /:([0-9a-f]{32})$/.exec(image);
    if (!m) return undefined;
    return this.read(m[1]!);
  }

  private async read(id: string): Promise<Artifact | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(this.opts.artifactsDir, id, '.protium', 'artifact.json'), 'utf8')) as Omit<Artifact, 'dir'>;
      return { ...meta, dir: join(this.opts.artifactsDir, id) };
    } catch {
      return undefined;
    }
  }

  async build(fn: FunctionConfig, opts: BuildOptions = {}): Promise<Artifact> {
    const log = (level: BuildLogLine['level'], message: string) => opts.onLog?.({ time: Date.now(), level, message });
    const spec = fn.spec;
    const family = runtimeFamily(spec.runtime);
    if (!family) throw new BuildError(unavailableRuntimeMessage(spec.runtime));
    const handler = spec.handler || DEFAULT_HANDLER[family];
    const parsed = parseHandler(family, handler);
    if (typeof parsed === 'string') throw new BuildError(parsed);
    const kind = sourceKind(spec);
    if (!kind) throw new BuildError('The function has no source: set spec.build.functionSourceCode, spec.build.path or spec.image');

    if (kind === 'image') {
      const image = spec.image || spec.build.image || '';
      const existing = await this.fromImage(image);
      if (!existing) throw new BuildError(`spec.image ${JSON.stringify(image)} is not an artifact built on this machine: give the function's source (spec.build.functionSourceCode or spec.build.path) to build it`);
      log('info', `Using the existing artifact ${existing.id}`);
      return existing;
    }

    await mkdir(this.opts.artifactsDir, { recursive: true });
    const staging = join(this.opts.artifactsDir, `.staging-${randomBytes(6).toString('hex')}`);
    await mkdir(staging, { recursive: true });
    try {
      await this.fetchSource(fn, kind, parsed.file, staging, log, opts.signal);
      if (family !== 'shell' && !existsSync(join(staging, parsed.file))) {
        throw new BuildError(`The handler file ${parsed.file} is not in the function's source (spec.handler ${JSON.stringify(handler)})`);
      }
      if (family === 'nodejs' && !existsSync(join(staging, 'package.json'))) {
        // Node decides CommonJS vs ESM from the nearest package.json; without one of our own, a data dir
        // inside an ESM project (like this repository) would turn every `exports.handler` into an ESM error.
        await writeFile(join(staging, 'package.json'), '{"type": "commonjs"}\n');
      }
      const commands = spec.build.commands ?? [];
      const id = await contentHash({ v: 1, family, runtime: spec.runtime, handler, commands }, staging);
      const final = join(this.opts.artifactsDir, id);
      if (!spec.build.noCache) {
        const cached = await this.read(id);
        if (cached) {
          log('info', `Reusing the artifact ${id} (same runtime, handler, source and build commands)`);
          return { ...cached, image: imageName(fn.metadata.name ?? 'function', id) };
        }
      }
      if (commands.length) await this.runCommands(commands, staging, family, spec.build.buildTimeoutSeconds ?? DEFAULT_BUILD_TIMEOUT_S, log, opts.signal, opts.logDir);
      const artifact: Artifact = { id, image: imageName(fn.metadata.name ?? 'function', id), runtime: spec.runtime ?? family, family, handler, dir: final };
      await mkdir(join(staging, '.protium'), { recursive: true });
      const { dir: _dir, ...meta } = artifact;
      await writeFile(join(staging, '.protium', 'artifact.json'), JSON.stringify({ ...meta, createdAt: new Date().toISOString() }));
      if (existsSync(final)) await rm(final, { recursive: true, force: true });
      try {
        await rename(staging, final);
      } catch (e) {
        // Two builds of the same inputs raced; the first one's artifact is as good as ours.
        if (!(await this.read(id))) throw e;
      }
      log('info', `Built the artifact ${id}`);
      return artifact;
    } finally {
      await rm(staging, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async fetchSource(fn: FunctionConfig, kind: string, handlerFile: string, dir: string, log: (l: BuildLogLine['level'], m: string) => void, signal?: AbortSignal): Promise<void> {
    const b = fn.spec.build;
    const declaredArchive = b.codeEntryType === 'archive';
    if (kind === 'inline' || kind === 'template') {
      let source: string;
      if (kind === 'template') {
        const t = this.opts.templates.get(b.path ?? '');
        if (!t) throw new BuildError(`Template ${JSON.stringify(b.path)} does not exist (GET /api/function_templates lists them)`);
        source = t.spec.build.functionSourceCode ?? '';
        log('info', `Using the source of template ${b.path}`);
      } else {
        source = b.functionSourceCode!;
      }
      if (!isBase64(source)) throw new BuildError('spec.build.functionSourceCode is not valid base64: encode the source with base64 (e.g. `base64 -w0 main.py`)');
      const bytes = Buffer.from(source, 'base64');
      const kindOf = declaredArchive ? sniffArchive(bytes) : undefined;
      if (kindOf) {
        const tmp = join(dir, '.protium-archive');
        await writeFile(tmp, bytes);
        await extractArchive(tmp, kindOf, dir);
        await rm(tmp);
      } else {
        await mkdir(dirname(join(dir, handlerFile)), { recursive: true });
        await writeFile(join(dir, handlerFile), bytes, { mode: 0o755 });
      }
      return;
    }
    if (kind === 'url') {
      const url = b.path!;
      log('info', `Downloading ${url}`);
      const tmp = join(dir, '.protium-download');
      await download(url, tmp, signal);
      const head = await readHead(tmp);
      const archive: ArchiveKind | undefined = declaredArchive || archiveKindOf(url) ? (archiveKindOf(url) ?? sniffArchive(head)) : undefined;
      if (declaredArchive && !archive) throw new BuildError(`${url} is not a zip or tar(.gz) archive (spec.build.codeEntryType is archive)`);
      if (archive) {
        await extractArchive(tmp, archive, dir);
        await rm(tmp);
      } else {
        await mkdir(dirname(join(dir, handlerFile)), { recursive: true });
        await rename(tmp, join(dir, handlerFile));
      }
      return;
    }
    // A local file or folder (inside an allowed root; checked at the API edge).
    const path = b.path!;
    let st;
    try {
      st = await stat(path);
    } catch {
      throw new BuildError(`spec.build.path ${JSON.stringify(path)} does not exist on the dashboard's machine`);
    }
    if (st.isDirectory()) {
      log('info', `Copying the folder ${path}`);
      await cp(path, dir, { recursive: true, dereference: false, filter: (src) => !basename(src).startsWith('.git') });
      return;
    }
    const archive = archiveKindOf(path) ?? (declaredArchive ? sniffArchive(await readHead(path)) : undefined);
    if (archive) {
      log('info', `Extracting ${path}`);
      await extractArchive(path, archive, dir);
    } else {
      await mkdir(dirname(join(dir, handlerFile)), { recursive: true });
      await cp(path, join(dir, handlerFile));
    }
  }

  private async runCommands(commands: string[], dir: string, family: RuntimeFamily, timeoutS: number, log: (l: BuildLogLine['level'], m: string) => void, signal?: AbortSignal, logDir?: string): Promise<void> {
    await this.opts.commands.run(commands, { dir, family, timeoutS, log, ...(signal ? { signal } : {}), ...(logDir ? { logDir } : {}) });
  }
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function download(url: string, file: string, signal?: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = timeout.aborted ? `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s` : cause?.code ?? cause?.message ?? (e as Error).message;
    throw new BuildError(`Failed to download ${url}: ${why}`);
  }
  if (!res.ok || !res.body) throw new BuildError(`Failed to download ${url}: the server answered ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_DOWNLOAD) throw new BuildError(`Failed to download ${url}: ${declared} bytes is over the ${MAX_DOWNLOAD} byte limit`);
  let size = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_DOWNLOAD) body.destroy(new BuildError(`Failed to download ${url}: over the ${MAX_DOWNLOAD} byte limit`));
  });
  try {
    await pipeline(body, createWriteStream(file));
  } catch (e) {
    if (e instanceof BuildError) throw e;
    throw new BuildError(`Failed to download ${url}: ${(e as Error).message}`);
  }
}
