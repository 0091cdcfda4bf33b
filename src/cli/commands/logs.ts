/**
 * `protium logs NAME [REPLICA] [-f] [--since 10m] [--tail 100]`: every replica's log interleaved by time
 * (GET /api/functions/<name>/replicas, then /logs/<replica>), printed as `<time> <level> <replica> <message>`,
 * or raw JSON lines with -o json. REPLICA "build" is the function's last build log.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { answerError } from '../api-client.js';
import { contextOf, durationMs, seg, sleep } from '../context.js';
import { CliError } from '../errors.js';
import type { FunctionLike } from '../functions.js';
import { formatLogLine, lineTime, parseFormat } from '../output.js';

interface LogsOptions {
  follow?: boolean;
  since?: string;
  tail?: string;
  output?: string;
}

export function logsCommand(program: Command): void {
  program
    .command('logs')
    .argument('<name>', 'function name')
    .argument(
      '[replica]',
      'only this replica (as "protium logs" prints it, or its full name), or "build" for the build log',
    )
    .description("print a function's logs (all its replicas, by time)")
    .option('-f, --follow', 'keep printing new lines (Ctrl-C stops)')
    .option('--since <duration>', 'only lines newer than this, e.g. 10m')
    .option('--tail <n>', 'only the last n lines')
    .option('-o, --output <format>', 'text, or json for the raw JSON lines', 'text')
    .addHelpText(
      'after',
      `
Example:
  $ protium logs hello --since 10m -f`,
    )
    .action(async (name: string, replica: string | undefined, opts: LogsOptions, cmd: Command) =>
      logs(name, replica, opts, cmd),
    );
}

async function logs(name: string, replicaArg: string | undefined, opts: LogsOptions, cmd: Command): Promise<void> {
  const format = parseFormat(opts.output === 'text' ? 'table' : opts.output, ['table', 'json']);
  const raw = format === 'json';
  const sinceMs = opts.since !== undefined ? durationMs(opts.since, '--since') : undefined;
  if (opts.tail !== undefined && !/^\d{1,9}$/.test(opts.tail))
    throw new CliError(`--tail must be a whole number, got ${JSON.stringify(opts.tail)}`, 2);
  const tail = opts.tail !== undefined ? Number(opts.tail) : undefined;
  const { client: base } = contextOf(cmd);
  const fn = await base.find<FunctionLike>(`/api/functions/${seg(name)}`, { ns: 'function' });
  if (!fn) throw new CliError(`function ${name} not found${base.namespace ? ` in namespace ${base.namespace}` : ''}`);
  const ns = fn.metadata.namespace ?? base.namespace ?? 'nuclio';
  const client = base.withNamespace(base.namespace ?? fn.metadata.namespace);
  const prefix = `nuclio-${ns}-${name}-`;
  const short = (replica: string) => (replica.startsWith(prefix) ? `${name}-${replica.slice(prefix.length)}` : replica);
  const full = (r: string) => {
    if (r.startsWith(prefix)) return r;
    if (r.startsWith(`${name}-`)) return `${prefix}${r.slice(name.length + 1)}`;
    return `${prefix}${r}`;
  };
  const query = (follow: boolean) => ({
    follow: String(follow),
    since: sinceMs !== undefined ? `${Math.max(1, Math.round(sinceMs))}ms` : undefined,
    tailLines: tail,
  });
  const print = (line: string, replica: string) =>
    process.stdout.write(`${raw ? line : formatLogLine(line, short(replica))}\n`);

  const listReplicas = async (): Promise<string[] | undefined> => {
    if (replicaArg) return [full(replicaArg)];
    const r = await client.find<{ names?: string[] }>(`/api/functions/${seg(name)}/replicas`, { ns: 'function' });
    return r ? (r.names ?? []) : undefined;
  };

  if (!opts.follow) {
    const replicas = (await listReplicas()) ?? [];
    if (!replicas.length) {
      process.stderr.write(
        `function ${name} has no running replicas (state ${fn.status?.state ?? 'unknown'}); "protium ` +
          `logs ${name} build" shows its build log\n`,
      );
      return;
    }
    const all: { t: number; line: string; replica: string }[] = [];
    await Promise.all(
      replicas.map(async (replica) => {
        const text = await (
          await client.request('GET', `/api/functions/${seg(name)}/logs/${seg(replica)}`, {
            ns: 'function',
            query: query(false),
          })
        ).text();
        for (const line of text.split('\n')) if (line.trim()) all.push({ t: lineTime(line), line, replica });
      }),
    );
    all.sort((a, b) => a.t - b.t); // stable: lines of one replica keep their order
    for (const l of tail !== undefined ? all.slice(Math.max(0, all.length - tail)) : all) print(l.line, l.replica);
    return;
  }

  // Follow: one stream per replica, and new replicas (scale-up, redeploy, wake-up) join as they appear.
  const following = new Map<string, Promise<void>>();
  const ac = new AbortController();
  process.once('SIGINT', () => {
    ac.abort();
    process.exit(0);
  });
  let announced = false;
  for (;;) {
    const replicas = await listReplicas();
    if (!replicas) {
      process.stderr.write(`function ${name} is gone\n`);
      return;
    }
    if (!replicas.length && !announced && !following.size) {
      process.stderr.write(
        `function ${name} has no running replicas yet (state ${fn.status?.state ?? 'unknown'}); waiting for one\n`,
      );
      announced = true;
    }
    for (const replica of replicas) {
      if (following.has(replica)) continue;
      following.set(
        replica,
        follow(client, name, replica, query(true), ac.signal, (line) => print(line, replica)).catch((e: unknown) => {
          if (!ac.signal.aborted) process.stderr.write(`protium: ${short(replica)}: ${(e as Error).message}\n`);
        }),
      );
    }
    if (replicaArg) {
      await Promise.all(following.values());
      return;
    }
    await sleep(2000);
  }
}

async function follow(
  client: ApiClient,
  name: string,
  replica: string,
  query: Record<string, string | number | undefined>,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<void> {
  const res = await client.raw('GET', `/api/functions/${seg(name)}/logs/${seg(replica)}`, {
    ns: 'function',
    query,
    timeoutMs: 0,
    signal,
  });
  if (!res.ok) throw await answerError(res, client.url);
  if (!res.body) return;
  const decoder = new TextDecoder();
  let partial = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    partial += decoder.decode(chunk, { stream: true });
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  }
  if (partial.trim()) onLine(partial);
}
