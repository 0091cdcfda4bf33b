/**
 * The local Builder: resolves a function's source (inline base64, http(s) URL, local file or folder,
 * archive, template) into a staging folder, runs spec.build.commands there with installs kept inside it,
 * and publishes it as `artifacts/<content hash>` — atomically, so a crash never leaves a half artifact.
 * Same inputs give the same id, and an existing artifact is reused unless spec.build.noCache.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { sourceKind, isBase64 } from '../resources/function-source.js';
import {
  DEFAULT_HANDLER,
  parseHandler,
  runtimeFamily,
  unavailableRuntimeMessage,
  type RuntimeFamily,
} from '../resources/runtimes.js';
import type { FunctionConfig } from '../resources/types.js';
import { archiveKindOf, extractArchive, sniffArchive, type ArchiveKind } from './archive.js';
import { artifactIdOfImage } from './artifact-gc.js';
import { ARTIFACT_META_FILE } from './artifact-layout.js';
import type { ArtifactStore } from './artifact-store.js';
import { BuildError, type Artifact, type BuildLogLine, type BuildOptions, type Builder } from './builder.js';
import type { BuildCommandRunner } from './build-commands.js';
import { contentHash } from './content-hash.js';
import { formatBytes, SourceBudget, sizeLimitMessage, type SourceLimits } from './source-limits.js';
import { copySourceFile, copySourceFolder, resolveLocalSource, type SourceRoots } from './source-path.js';
import type { TemplateCatalog } from './template-catalog.js';

/** Default bound of all build commands together (spec.build.buildTimeoutSeconds overrides). */
const DEFAULT_BUILD_TIMEOUT_S = 600;
const DOWNLOAD_TIMEOUT_MS = 60_000;

export interface LocalBuilderOptions {
  /** Where artifacts live (and are collected). */
  artifacts: ArtifactStore;
  templates: TemplateCatalog;
  /** Where local spec.build.path sources may come from (checked again at build time). */
  sourceRoots: SourceRoots;
  /** Bounds of a source once fetched: archive expanded, folder copied, download, inline code. */
  sourceLimits: SourceLimits;
  /** Runs spec.build.commands (confined, tracked, with the package managers' configuration). */
  commands: BuildCommandRunner;
}

/** The image name recorded in spec.image for an artifact. */
export function imageName(functionName: string, id: string): string {
  const repo =
    functionName
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'function';
  return `protium/processor-${repo}:${id}`;
}

export class LocalBuilder implements Builder {
  constructor(private readonly opts: LocalBuilderOptions) {}

  async fromImage(image: string): Promise<Artifact | undefined> {
    const id = artifactIdOfImage(image);
    return id ? this.opts.artifacts.read(id) : undefined;
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
    if (!kind)
      throw new BuildError(
        'The function has no source: set spec.build.functionSourceCode, spec.build.path or spec.image',
      );

    if (kind === 'image') {
      const image = spec.image || spec.build.image || '';
      const existing = await this.fromImage(image);
      if (!existing)
        throw new BuildError(
          `spec.image ${JSON.stringify(image)} is not an artifact built on this machine: give the function's ` +
            `source (spec.build.functionSourceCode or spec.build.path) to build it`,
        );
      log('info', `Using the existing artifact ${existing.id}`);
      return existing;
    }

    const staging = await this.opts.artifacts.staging();
    try {
      await this.fetchSource(fn, kind, parsed.file, staging, log, opts.signal);
      if (family !== 'shell' && !existsSync(join(staging, parsed.file))) {
        throw new BuildError(
          `The handler file ${parsed.file} is not in the function's source (spec.handler ${JSON.stringify(handler)})`,
        );
      }
      if (family === 'nodejs' && !existsSync(join(staging, 'package.json'))) {
        // Node decides CommonJS vs ESM from the nearest package.json; without one of our own, a data dir
        // inside an ESM project (like this repository) would turn every `exports.handler` into an ESM error.
        await writeFile(join(staging, 'package.json'), '{"type": "commonjs"}\n');
      }
      const commands = spec.build.commands ?? [];
      const id = await contentHash({ v: 1, family, runtime: spec.runtime, handler, commands }, staging);
      const final = this.opts.artifacts.dirOf(id);
      // Pinned from here: a collection running meanwhile keeps it (or removed it before, and we rebuild).
      const cached = await this.opts.artifacts.reuse(id, opts.pin);
      if (!spec.build.noCache) {
        if (cached) {
          log('info', `Reusing the artifact ${id} (same runtime, handler, source and build commands)`);
          return { ...cached, image: imageName(fn.metadata.name ?? 'function', id) };
        }
      }
      if (commands.length)
        await this.runCommands(
          commands,
          staging,
          family,
          spec.build.buildTimeoutSeconds ?? DEFAULT_BUILD_TIMEOUT_S,
          log,
          opts.signal,
          opts.logDir,
        );
      const artifact: Artifact = {
        id,
        image: imageName(fn.metadata.name ?? 'function', id),
        runtime: spec.runtime ?? family,
        family,
        handler,
      };
      const meta = join(staging, ARTIFACT_META_FILE);
      await mkdir(dirname(meta), { recursive: true });
      await writeFile(meta, JSON.stringify({ ...artifact, createdAt: new Date().toISOString() }));
      if (existsSync(final)) {
        // An identical build published while ours ran: replicas may already run from its folder, which must
        // not be swapped from under them. Ours goes (noCache asked for a fresh one: it replaces).
        if (!spec.build.noCache && (await this.opts.artifacts.read(id))) {
          log('info', `Reusing the artifact ${id} (an identical build finished first)`);
          return artifact;
        }
        await rm(final, { recursive: true, force: true });
      }
      try {
        await rename(staging, final);
      } catch (e) {
        // Two builds of the same inputs raced; the first one's artifact is as good as ours.
        if (!(await this.opts.artifacts.read(id))) throw e;
      }
      log('info', `Built the artifact ${id}`);
      return artifact;
    } finally {
      await rm(staging, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async fetchSource(
    fn: FunctionConfig,
    kind: string,
    handlerFile: string,
    dir: string,
    log: (l: BuildLogLine['level'], m: string) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const b = fn.spec.build;
    const limits = this.opts.sourceLimits;
    const declaredArchive = b.codeEntryType === 'archive';
    if (kind === 'inline' || kind === 'template') {
      let source: string;
      if (kind === 'template') {
        const t = this.opts.templates.get(b.path ?? '');
        if (!t)
          throw new BuildError(
            `Template ${JSON.stringify(b.path)} does not exist (GET /api/function_templates lists them)`,
          );
        source = t.spec.build.functionSourceCode ?? '';
        log('info', `Using the source of template ${b.path}`);
      } else {
        source = b.functionSourceCode!;
      }
      if (!isBase64(source))
        throw new BuildError(
          'spec.build.functionSourceCode is not valid base64: encode the source with base64 (e.g. `base64 -w0 ' +
            'main.py`)',
        );
      const bytes = Buffer.from(source, 'base64');
      if (bytes.length > limits.maxBytes)
        throw new BuildError(sizeLimitMessage('spec.build.functionSourceCode (decoded)', limits));
      const kindOf = declaredArchive ? sniffArchive(bytes) : undefined;
      if (kindOf) {
        const tmp = join(dir, '.protium-archive');
        await writeFile(tmp, bytes);
        await extractArchive(tmp, kindOf, dir, limits);
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
      await download(url, tmp, limits.maxBytes, signal);
      const head = await readHead(tmp);
      const archive: ArchiveKind | undefined =
        declaredArchive || archiveKindOf(url) ? (archiveKindOf(url) ?? sniffArchive(head)) : undefined;
      if (declaredArchive && !archive)
        throw new BuildError(`${url} is not a zip or tar(.gz) archive (spec.build.codeEntryType is archive)`);
      if (archive) {
        await extractArchive(tmp, archive, dir, limits);
        await rm(tmp);
      } else {
        await mkdir(dirname(join(dir, handlerFile)), { recursive: true });
        await rename(tmp, join(dir, handlerFile));
      }
      return;
    }
    // A local file or folder. The API checked it was inside a source root when it was given; the files
    // may have changed since (a link swapped in), so it is checked again here, on the real path.
    const path = b.path!;
    const resolved = await resolveLocalSource(path, this.opts.sourceRoots);
    if ('refused' in resolved) throw new BuildError(resolved.refused);
    const real = resolved.real;
    let st;
    try {
      st = await stat(real);
    } catch {
      throw new BuildError(`spec.build.path ${JSON.stringify(path)} does not exist on the dashboard's machine`);
    }
    const subject = `spec.build.path ${JSON.stringify(path)}`;
    if (st.isDirectory()) {
      log('info', `Copying the folder ${path}${real !== path ? ` (${real})` : ''}`);
      await copySourceFolder(real, dir, {
        roots: this.opts.sourceRoots,
        budget: new SourceBudget(limits, `The folder ${subject}`),
        skip: (name) => name.startsWith('.git'),
        onWarn: (m) => log('warn', m),
        subject: `The folder ${subject}`,
      });
      return;
    }
    const archive = archiveKindOf(path) ?? (declaredArchive ? sniffArchive(await readHead(real)) : undefined);
    if (archive) {
      log('info', `Extracting ${path}`);
      await extractArchive(real, archive, dir, limits);
    } else {
      await mkdir(dirname(join(dir, handlerFile)), { recursive: true });
      await copySourceFile(real, join(dir, handlerFile), new SourceBudget(limits, `The file ${subject}`));
    }
  }

  private async runCommands(
    commands: string[],
    dir: string,
    family: RuntimeFamily,
    timeoutS: number,
    log: (l: BuildLogLine['level'], m: string) => void,
    signal?: AbortSignal,
    logDir?: string,
  ): Promise<void> {
    await this.opts.commands.run(commands, {
      dir,
      family,
      timeoutS,
      log,
      ...(signal ? { signal } : {}),
      ...(logDir ? { logDir } : {}),
    });
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

/** Downloads `url` into `file`, at most `maxBytes` (counted as it arrives, whatever Content-Length says). */
async function download(url: string, file: string, maxBytes: number, signal?: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = timeout.aborted
      ? `no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`
      : (cause?.code ?? cause?.message ?? (e as Error).message);
    throw new BuildError(`Failed to download ${url}: ${why}`);
  }
  if (!res.ok || !res.body)
    throw new BuildError(`Failed to download ${url}: the server answered ${res.status} ${res.statusText}`);
  const tooBig = `Failed to download ${url}: ${sizeLimitMessage('it', { maxBytes, maxFiles: 1 })}`;
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await res.body.cancel().catch(() => {});
    throw new BuildError(`${tooBig}: the server announces ${formatBytes(declared)}`);
  }
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  const counter = new SourceBudget({ maxBytes, maxFiles: 1 }, 'it').counter();
  try {
    await pipeline(body, counter, createWriteStream(file));
  } catch (e) {
    if (e instanceof BuildError) throw new BuildError(tooBig);
    throw new BuildError(`Failed to download ${url}: ${(e as Error).message}`);
  }
}
