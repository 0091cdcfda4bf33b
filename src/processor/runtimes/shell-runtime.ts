/**
 * The shell runtime, with Nuclio's shell handler contract: each event runs the handler script (with `sh`) or command
 * (with `sh -c`), the body on stdin, NUCLIO_EVENT_* in the environment, arguments from X-Nuclio-Arguments or
 * spec.runtimeAttributes.arguments. The combined stdout and stderr is the 200 body (`text/plain; charset=utf-8`, as
 * Nuclio's processor answers a shell function); a non-zero exit is a 500 with the output;
 * spec.runtimeAttributes.responseHeaders are added to every answer.
 *
 * The body reaches the command through a real pipe, as Nuclio's runtime gives it: Node's child stdio is a
 * socket, and a program that opens /dev/stdin (`rev /dev/stdin`) cannot open a socket ("No such device or
 * address"). So the command runs as the second stage of `cat | …`: cat copies the body from the socket
 * into a pipe, and the pipeline's exit status is the command's. Its stderr goes into its stdout, as
 * Nuclio's combined output: the lines keep the order in which the command wrote them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseHandler } from '../../resources/runtimes.js';
import { errorResult, type HandlerResult, type NuclioEvent } from '../event.js';
import { stringHeaders } from '../response.js';
import type { Runtime, RuntimeFactory, RuntimeOptions } from './runtime.js';

/** Output beyond this is cut (a runaway script must not eat the processor's memory). */
const MAX_OUTPUT = 64 * 1024 * 1024;
/** Nuclio's processor writes a shell function's output with Go's default text content type. */
const CONTENT_TYPE = 'text/plain; charset=utf-8';

/**
 * The `/bin/sh` arguments that run a script (`sh FILE ARGS…`) or a command line (`sh -c "CMD ARGS…"`)
 * with its stdin a pipe fed by `cat` from ours. Pure.
 */
export function shellArgv(command: { file?: string; cmd?: string }, args: string[]): string[] {
  if (command.file) return ['-c', 'exec 2>&1; cat | /bin/sh "$@"', 'sh', command.file, ...args];
  // A command line is shell text, as in Nuclio (arguments are joined with spaces); the braces keep every
  // part of it behind the pipe, and the newline closes a line that ends in a comment.
  return ['-c', `exec 2>&1; cat | { ${[command.cmd, ...args].join(' ')}` + '\n}'];
}

class ShellRuntime implements Runtime {
  private command!: { file?: string; cmd?: string };
  private readonly running = new Set<import('node:child_process').ChildProcess>();
  private readonly responseHeaders: Record<string, string>;
  private readonly defaultArgs: string;

  constructor(private readonly opts: RuntimeOptions) {
    const attrs = opts.config.runtimeAttributes ?? {};
    this.responseHeaders = stringHeaders(attrs.responseHeaders);
    this.defaultArgs = typeof attrs.arguments === 'string' ? attrs.arguments : '';
  }

  async start(): Promise<void> {
    const parsed = parseHandler('shell', this.opts.config.handler);
    if (typeof parsed === 'string') throw new Error(parsed);
    const file = join(this.opts.config.artifactDir, parsed.module);
    this.command = existsSync(file) ? { file } : { cmd: parsed.module };
  }

  invoke(event: NuclioEvent): Promise<HandlerResult> {
    const argText = event.headers['x-nuclio-arguments'] ?? event.headers['X-Nuclio-Arguments'] ?? this.defaultArgs;
    const args = argText.split(' ').filter(Boolean);
    const argv = shellArgv(this.command, args);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NUCLIO_EVENT_ID: event.id,
      NUCLIO_TRIGGER_CLASS: event.trigger.class,
      NUCLIO_TRIGGER_KIND: event.trigger.kind,
      NUCLIO_EVENT_CONTENT_TYPE: event.contentType,
      NUCLIO_EVENT_TIMESTAMP: event.timestamp.toISOString(),
      NUCLIO_EVENT_PATH: event.path,
      NUCLIO_EVENT_URL: event.url,
      NUCLIO_EVENT_METHOD: event.method,
      NUCLIO_EVENT_SHARD_ID: String(event.shardId ?? 0),
      NUCLIO_EVENT_NUM_SHARDS: String(event.numShards ?? 0),
      NUCLIO_EVENT_TOPIC: event.topic ?? '',
      NUCLIO_EVENT_OFFSET: String(event.offset ?? 0),
      NUCLIO_EVENT_TYPE: '',
      NUCLIO_EVENT_TYPE_VERSION: '',
      NUCLIO_EVENT_VERSION: '',
    };
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', argv, { cwd: this.opts.config.artifactDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
      this.running.add(child);
      const chunks: Buffer[] = [];
      let size = 0;
      const collect = (c: Buffer) => {
        if (size >= MAX_OUTPUT) return;
        chunks.push(c);
        size += c.length;
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.stdin.on('error', () => {
        /* the script may exit without reading stdin */
      });
      child.stdin.end(event.body);
      child.once('error', (e) => {
        this.running.delete(child);
        resolve(errorResult(500, `Failed to run shell command.\nError: ${e.message}`));
      });
      child.once('close', (code, signal) => {
        this.running.delete(child);
        const out = Buffer.concat(chunks);
        if (code === 0) {
          resolve({ status: 200, headers: { ...this.responseHeaders }, contentType: CONTENT_TYPE, body: out });
        } else {
          const why = signal ? `signal ${signal}` : `exit status ${code}`;
          resolve({
            ...errorResult(500, `Failed to run shell command.\nError: ${why}\nOutput:${out.toString('utf8')}`),
            contentType: CONTENT_TYPE,
            headers: { ...this.responseHeaders },
          });
        }
      });
    });
  }

  async stop(): Promise<void> {
    for (const c of this.running) c.kill('SIGKILL');
  }
}

export const shellRuntime: RuntimeFactory = (opts) => new ShellRuntime(opts);
