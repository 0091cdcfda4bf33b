/**
 * `protium invoke NAME`: calls a function through the dashboard's invocation endpoint
 * (/api/function_invocations with x-nuclio-function-name, -path, -invoke-timeout, -log-level) and prints
 * its body; status and headers with -v. Exits non-zero on a 5xx answer.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isHtml, notADashboard } from '../api-client.js';
import { collect, contextOf, durationMs } from '../context.js';
import { CliError } from '../errors.js';
import { formatLogRecord } from '../output.js';

interface InvokeOptions {
  method?: string;
  path?: string;
  body?: string;
  bodyFile?: string;
  header?: string[];
  contentType?: string;
  timeout?: string;
  logLevel?: string;
  verbose?: boolean;
  async?: boolean;
  callbackUrl?: string;
  idempotencyKey?: string;
  maxAttempts?: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const LEVELS = ['debug', 'info', 'warn', 'warning', 'error', 'none'];

export function invokeCommand(program: Command): void {
  program
    .command('invoke')
    .argument('<name>', 'function name')
    .description('call a function through the dashboard and print its answer')
    .option('-m, --method <method>', 'HTTP method (default: POST with a body, else GET)')
    .option('--path <path>', 'path (and query) the function sees, e.g. /users?id=1', '/')
    .option('-b, --body <text>', 'request body')
    .option('--body-file <file>', 'read the request body from a file (- for stdin)')
    .option('-H, --header <name:value>', 'request header, repeatable', collect)
    .option(
      '--content-type <type>',
      'content type of the body (default: application/json when the body is JSON, else text/plain)',
    )
    .option('--timeout <duration>', "invocation timeout, e.g. 30s (default: the dashboard's, 1m)")
    .option(
      '-l, --log-level <level>',
      "return and print the function's logs of this call at or above this level (debug, info, warn, error)",
    )
    .option('-v, --verbose', 'print the status line and headers (on stderr)')
    .option('--async', 'queue the call and print its id instead of waiting (see protium invocations)')
    .option('--callback-url <url>', "with --async: where the result is POSTed (a host the dashboard's allow-list has)")
    .option('--idempotency-key <key>', 'with --async: a repeated call with the same key is queued once')
    .option('--max-attempts <n>', "with --async: attempts before it is a dead letter (default: the function's, else 3)")
    .addHelpText(
      'after',
      `
Example:
  $ protium invoke hello --body '{"name": "protium"}' --log-level debug
  $ protium invoke resize --async --body '{"id": 7}'      # prints the invocation id`,
    )
    .action(async (name: string, opts: InvokeOptions, cmd: Command) => {
      process.exitCode = await invoke(name, opts, cmd);
    });
}

async function readBody(opts: InvokeOptions): Promise<Buffer | undefined> {
  if (opts.body !== undefined && opts.bodyFile !== undefined)
    throw new CliError('give --body or --body-file, not both', 2);
  if (opts.body !== undefined) return Buffer.from(opts.body);
  if (opts.bodyFile === undefined) return undefined;
  if (opts.bodyFile === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(opts.bodyFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`--body-file ${opts.bodyFile}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function looksLikeJson(b: Buffer): boolean {
  const t = b.toString('utf8').trim();
  if (!/^[[{"]/.test(t)) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

async function invoke(name: string, opts: InvokeOptions, cmd: Command): Promise<number> {
  const { client } = contextOf(cmd);
  const body = await readBody(opts);
  const method = (opts.method ?? (body ? 'POST' : 'GET')).toUpperCase();
  if (!METHODS.includes(method))
    throw new CliError(`--method ${JSON.stringify(opts.method)} is not one of ${METHODS.join(', ')}`, 2);
  const headers: Record<string, string> = {
    'x-nuclio-function-name': name,
    'x-nuclio-path': opts.path ?? '/',
  };
  if (client.namespace) headers['x-nuclio-function-namespace'] = client.namespace;
  let timeoutMs = 60_000;
  if (opts.timeout) {
    timeoutMs = durationMs(opts.timeout, '--timeout');
    headers['x-nuclio-invoke-timeout'] = `${Math.max(1, Math.round(timeoutMs))}ms`;
  }
  if (opts.logLevel) {
    const lvl = opts.logLevel.toLowerCase();
    if (!LEVELS.includes(lvl))
      throw new CliError(`--log-level ${JSON.stringify(opts.logLevel)} is not one of debug, info, warn, error`, 2);
    headers['x-nuclio-log-level'] = lvl;
  }
  if (body) headers['content-type'] = opts.contentType ?? (looksLikeJson(body) ? 'application/json' : 'text/plain');
  else if (opts.contentType) headers['content-type'] = opts.contentType;
  for (const h of opts.header ?? []) {
    const i = h.indexOf(':');
    const k = i > 0 ? h.slice(0, i).trim() : '';
    if (!k) throw new CliError(`--header ${JSON.stringify(h)} must look like Name:value`, 2);
    headers[k.toLowerCase()] = h.slice(i + 1).trim();
  }
  const asyncOnly = {
    '--callback-url': opts.callbackUrl,
    '--idempotency-key': opts.idempotencyKey,
    '--max-attempts': opts.maxAttempts,
  };
  for (const [flag, v] of Object.entries(asyncOnly))
    if (v !== undefined && !opts.async) throw new CliError(`${flag} needs --async`, 2);
  if (opts.async) {
    headers['x-protium-invoke-mode'] = 'async';
    if (opts.callbackUrl !== undefined) headers['x-callback-url'] = opts.callbackUrl;
    if (opts.idempotencyKey !== undefined) headers['x-idempotency-key'] = opts.idempotencyKey;
    if (opts.maxAttempts !== undefined) headers['x-protium-max-attempts'] = opts.maxAttempts;
  }
  const sendBody = method !== 'GET' && method !== 'HEAD' ? body : undefined;
  if (body && !sendBody) throw new CliError(`a ${method} request has no body: use --method POST (or PUT, PATCH)`, 2);

  const res = await client.raw(method, '/api/function_invocations', {
    headers,
    body: sendBody ? new Uint8Array(sendBody) : undefined,
    timeoutMs: timeoutMs + 10_000,
  });
  const bytes = Buffer.from(await res.arrayBuffer());

  // The dashboard's own refusals (unknown function, a function not ready or in error, a timeout) are
  // {"error": ...} and marked as its own: one line on stderr, never the JSON on stdout.
  const own = ownError(res, bytes);
  if (own)
    throw new CliError(`${own.split('\n')[0]}${res.status === 401 ? ' (pass --token or set PROTIUM_TOKEN)' : ''}`);
  // A web page where the dashboard should answer: maybe the function's own page, maybe not a dashboard.
  if (isHtml(res) && !(await isDashboard(client))) throw notADashboard(client.url);
  if (opts.async && res.status === 202 && res.headers.get('x-protium-invocation-id')) {
    // The id alone on stdout (ID=$(protium invoke f --async)); how to follow it on stderr.
    const id = res.headers.get('x-protium-invocation-id')!;
    process.stdout.write(`${id}\n`);
    process.stderr.write(`queued: protium invocations get ${id}\n`);
    return 0;
  }
  if (opts.verbose) {
    process.stderr.write(`< ${res.status} ${res.statusText}\n`);
    res.headers.forEach((v, k) => {
      if (k !== 'x-nuclio-logs') process.stderr.write(`< ${k}: ${v}\n`);
    });
    process.stderr.write('\n');
  }
  const logs = res.headers.get('x-nuclio-logs');
  if (logs && opts.logLevel) {
    try {
      const records = JSON.parse(logs) as Record<string, unknown>[];
      for (const r of records) process.stderr.write(`${formatLogRecord(r, name)}\n`);
    } catch {
      /* not the expected list: leave it */
    }
  }
  process.stdout.write(bytes);
  if (bytes.length && bytes[bytes.length - 1] !== 0x0a && process.stdout.isTTY) process.stdout.write('\n');
  return res.status >= 500 ? 1 : 0;
}

/** The dashboard's own error message, if the answer is one (and not the function's). */
function ownError(res: Response, bytes: Buffer): string | undefined {
  if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) return undefined;
  if (res.headers.get('x-protium-internal') === 'true') return errorField(bytes);
  // A Nuclio dashboard does not mark its answers: its known refusals are 4xx `{"error": ...}`.
  return res.status >= 400 && res.status < 500 ? dashboardError(bytes) : undefined;
}

function errorField(bytes: Buffer): string | undefined {
  try {
    const obj = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    return typeof obj.error === 'string' ? obj.error : undefined;
  } catch {
    return undefined;
  }
}

/** True when the URL's /api/versions answers as a dashboard does. */
async function isDashboard(client: import('../api-client.js').ApiClient): Promise<boolean> {
  try {
    await client.json('GET', '/api/versions');
    return true;
  } catch {
    return false;
  }
}

/** The message of a `{"error": "..."}` body (exactly that shape), if it is one. */
function dashboardError(bytes: Buffer): string | undefined {
  try {
    const obj = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (typeof obj.error === 'string' && keys.every((k) => k === 'error' || k === 'field')) {
      if (/^(Function not found|Function name must be provided|Invalid )/.test(obj.error) || keys.length === 2)
        return obj.error;
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}
