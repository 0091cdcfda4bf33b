/**
 * The nodejs runtime: the handler module is loaded into the processor itself (no wrapper process, no
 * socket hop), with Nuclio's handler contract: `(context, event)`, `context.callback(out)`,
 * async handlers that return a value, `context.Response`, `context.logger`, `context.userData`, and an
 * exported `initContext(context)` run once at start.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseHandler } from '../../resources/runtimes.js';
import { errorResult, type HandlerResult, type NuclioEvent } from '../event.js';
import { LogCapture, type Level, type ProcessorLogger } from '../logger.js';
import { NodeResponse, resultFromOutput } from '../response.js';
import type { Runtime, RuntimeFactory, RuntimeOptions } from './runtime.js';
import { describeUserError } from '../user-error.js';

type Handler = (context: unknown, event: unknown) => unknown;

/** The event as Nuclio's nodejs wrapper gives it: snake_case fields, a Buffer body, a Date timestamp. */
function nodeEvent(e: NuclioEvent): Record<string, unknown> {
  return {
    id: e.id,
    trigger: e.trigger,
    content_type: e.contentType,
    contentType: e.contentType,
    headers: e.headers,
    fields: e.fields,
    method: e.method,
    path: e.path,
    url: e.url,
    body: e.body,
    size: e.body.length,
    timestamp: e.timestamp,
    shard_id: e.shardId ?? 0,
    num_shards: e.numShards ?? 0,
    offset: e.offset ?? 0,
    topic: e.topic ?? '',
    key: e.key,
    type: '',
    type_version: '',
    version: '',
  };
}

class NodejsRuntime implements Runtime {
  private handler!: Handler;
  private readonly baseContext: Record<string, unknown>;

  constructor(private readonly opts: RuntimeOptions) {
    const log = opts.log;
    this.baseContext = {
      userData: {},
      Response: NodeResponse,
      platform: { kind: 'local', namespace: opts.config.namespace },
      functionName: opts.config.functionName,
      logger: makeLogger(log),
      callback: () => log.warn('context.callback called outside of an event'),
    };
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    const parsed = parseHandler('nodejs', config.handler);
    if (typeof parsed === 'string') throw new Error(parsed);
    const file = join(config.artifactDir, parsed.file);
    if (!existsSync(file))
      throw new Error(`Handler file ${parsed.file} does not exist in the function (spec.handler "${config.handler}")`);
    let mod: Record<string, unknown>;
    try {
      mod = createRequire(file)(file) as Record<string, unknown>;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ERR_REQUIRE_ESM')
        throw new Error(`Failed to load ${parsed.file}: ${describeUserError(e, config.artifactDir)}`, { cause: e });
      try {
        mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      } catch (e2) {
        throw new Error(
          `Failed to load ${parsed.file}: ${describeUserError(withSyntaxLocation(e2, file), config.artifactDir)}`,
          { cause: e2 },
        );
      }
    }
    const entry = mod[parsed.entry] ?? (mod.default as Record<string, unknown> | undefined)?.[parsed.entry];
    if (typeof entry !== 'function') {
      const exported = Object.keys(mod).join(', ') || 'nothing';
      throw new Error(`Handler function "${parsed.entry}" is not exported by ${parsed.file} (it exports: ${exported})`);
    }
    this.handler = entry as Handler;
    const init = mod.initContext;
    if (typeof init === 'function') {
      try {
        await (init as (context: unknown) => unknown)(this.baseContext);
      } catch (e) {
        throw new Error(`initContext failed: ${describeUserError(e, config.artifactDir)}`, { cause: e });
      }
    }
  }

  invoke(event: NuclioEvent, workerId: number): Promise<HandlerResult> {
    const capture = event.logLevel ? new LogCapture(event.logLevel) : undefined;
    return new Promise<HandlerResult>((resolve) => {
      let done = false;
      const finish = (output: unknown) => {
        if (done) return;
        done = true;
        let result: HandlerResult;
        try {
          result = resultFromOutput(output);
        } catch (e) {
          result = errorResult(500, `Error in handler: invalid response: ${(e as Error).message}`);
        }
        if (capture) result.logs = capture.records;
        resolve(result);
      };
      const fail = (err: unknown) => {
        if (done) return;
        done = true;
        const e = err as Error;
        const text = e instanceof Error ? `${e.toString()}\n${e.stack ?? ''}` : String(err);
        this.opts.log.error(`Error in handler: ${e instanceof Error ? e.message : String(err)}`, {
          stack: e instanceof Error ? e.stack : undefined,
        });
        resolve(errorResult(500, `Error in handler: ${text}`, capture?.records));
      };
      const context = Object.create(this.baseContext) as Record<string, unknown>;
      context.callback = finish;
      context.workerId = workerId;
      context.trigger = event.trigger;
      if (capture) context.logger = makeLogger(this.opts.log, capture);
      try {
        // A synchronous return value is ignored, as in Nuclio (handlers often `return setTimeout(...)`);
        // an async handler's resolved value is the answer unless it called the callback.
        const out = this.handler(context, nodeEvent(event));
        if (out && typeof (out as Promise<unknown>).then === 'function') {
          (out as Promise<unknown>).then((v) => {
            if (v !== undefined) finish(v);
          }, fail);
        }
      } catch (e) {
        fail(e);
      }
    });
  }

  async stop(): Promise<void> {
    /* in-process: nothing to release */
  }
}

/**
 * An ES module that does not compile rejects import() with a SyntaxError that does not say where (Node
 * keeps the location for its uncaught-error printer); `node --check` reports it, so ask it.
 */
function withSyntaxLocation(err: unknown, file: string): unknown {
  if (!(err instanceof SyntaxError) || /^(?:file:\/\/)?\/.*:\d+$/.test(err.stack?.split('\n')[0] ?? '')) return err;
  try {
    execFileSync(process.execPath, ['--check', file], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const report = String((e as { stderr?: Buffer }).stderr ?? '');
    if (/^\/.*:\d+\n/.test(report)) return Object.assign(new SyntaxError(err.message), { stack: report });
  }
  return err;
}

function makeLogger(log: ProcessorLogger, capture?: LogCapture) {
  const at = (level: Level) => (message: unknown, withData?: Record<string, unknown>) =>
    log.log(
      level,
      typeof message === 'string' ? message : JSON.stringify(message),
      withData && typeof withData === 'object' && !Array.isArray(withData) ? withData : undefined,
      capture,
    );
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debugWith: at('debug'),
    infoWith: at('info'),
    warnWith: at('warn'),
    errorWith: at('error'),
  };
}

export const nodejsRuntime: RuntimeFactory = (opts) => new NodejsRuntime(opts);
