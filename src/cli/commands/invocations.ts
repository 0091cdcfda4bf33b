/**
 * `protium invocations list|get|retry|discard`: a function's asynchronous invocations (queued with
 * `protium invoke NAME --async`, or `X-Protium-Invoke-Mode: async`), one invocation's status and answer,
 * and what to do with a dead letter: queue it again, or discard it.
 */
import type { Command } from 'commander';
import { contextOf, seg } from '../context.js';
import { CliError } from '../errors.js';
import { age, parseFormat, render, table } from '../output.js';

const STATES = ['queued', 'running', 'succeeded', 'failed', 'dead'];

interface Summary {
  id: string;
  state: string;
  createdAt: string;
  attempts: number;
  nextAttemptAt?: string;
  endedAt?: string;
  status?: number;
  error?: string;
}

interface Invocation extends Summary {
  function: string;
  namespace: string;
  request: { method: string; path: string; bodyBytes: number };
  maxAttempts: number;
  attemptsLeft: number;
  attemptHistory: {
    attempt: number;
    startedAt: string;
    endedAt?: string;
    status?: number;
    error?: string;
    interrupted?: boolean;
  }[];
  answer?: { status: number; body: string; bodyEncoding: 'utf8' | 'base64'; truncated: boolean };
  callback?: { url: string; state: string; attempts: number; status?: number; error?: string };
}

const counted = (counts: Record<string, number>) =>
  STATES.filter((s) => counts[s])
    .map((s) => `${counts[s]} ${s}`)
    .join(', ') || 'none';

/** What happened last: the status, or the error, or what it waits for. */
function outcome(s: Summary, now: number): string {
  if (s.state === 'queued' && s.nextAttemptAt) {
    const inMs = Date.parse(s.nextAttemptAt) - now;
    return `retry in ${Math.max(0, Math.ceil(inMs / 1000))}s${s.status ? ` (last ${s.status})` : ''}`;
  }
  if (s.status !== undefined) return String(s.status);
  return s.error ? s.error.split('\n')[0].slice(0, 60) : '-';
}

export function invocationsCommand(program: Command): void {
  const cmd = program
    .command('invocations')
    .alias('invocation')
    .description("a function's asynchronous invocations: list, get, retry (requeue a dead letter), discard")
    .addHelpText(
      'after',
      `
Examples:
  $ protium invoke resize --async --body '{"id": 7}'     # queued 3f2c…
  $ protium invocations list resize --state dead
  $ protium invocations get 3f2c…
  $ protium invocations retry 3f2c… --max-attempts 5
  $ protium invocations discard 3f2c…`,
    );

  cmd
    .command('list')
    .alias('ls')
    .argument('<function>', 'function name')
    .description("list a function's asynchronous invocations, newest first")
    .option('--state <state>', `only those in this state: ${STATES.join(', ')}`)
    .option('--since <when>', 'only those queued since: a duration ago (10m, 2h) or an RFC 3339 time')
    .option('--until <when>', 'only those queued before: a duration ago or an RFC 3339 time')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(
      async (
        name: string,
        opts: { state?: string; since?: string; until?: string; limit?: string; output?: string },
        c: Command,
      ) => {
        const format = parseFormat(opts.output);
        if (opts.state !== undefined && !STATES.includes(opts.state))
          throw new CliError(`--state ${JSON.stringify(opts.state)} is not one of ${STATES.join(', ')}`, 2);
        const { client } = contextOf(c);
        const answer = await client.json<{ invocations: Summary[]; total: number; counts: Record<string, number> }>(
          'GET',
          `/api/functions/${seg(name)}/invocations`,
          { ns: 'function', query: { state: opts.state, since: opts.since, until: opts.until, limit: opts.limit } },
        );
        if (format !== 'table') return void process.stdout.write(render(answer, format));
        const now = Date.now();
        process.stdout.write(
          table(
            ['ID', 'STATE', 'ATTEMPTS', 'OUTCOME', 'AGE'],
            answer.invocations.map((s) => [s.id, s.state, String(s.attempts), outcome(s, now), age(s.createdAt, now)]),
          ),
        );
        const more =
          answer.total > answer.invocations.length ? ` (${answer.invocations.length} of ${answer.total} shown)` : '';
        process.stderr.write(`${name}: ${counted(answer.counts)}${more}\n`);
      },
    );

  cmd
    .command('get')
    .argument('<id>', 'invocation id')
    .description("an invocation's state, attempts, answer and callback")
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (id: string, opts: { output?: string }, c: Command) => {
      const format = (opts.output ?? 'text').toLowerCase();
      if (!['text', 'json', 'yaml'].includes(format))
        throw new CliError(`-o ${JSON.stringify(opts.output)} is not one of text, json, yaml`, 2);
      const { client } = contextOf(c);
      const inv = await client.json<Invocation>('GET', `/api/function_invocations/${seg(id)}`);
      if (format !== 'text') return void process.stdout.write(render(inv, format as 'json' | 'yaml'));
      const lines = [
        `id:        ${inv.id}`,
        `function:  ${inv.function} (${inv.namespace})`,
        `state:     ${inv.state}` +
          (inv.state === 'queued' && inv.nextAttemptAt ? ` (next attempt ${inv.nextAttemptAt})` : ''),
        `request:   ${inv.request.method} ${inv.request.path} (${inv.request.bodyBytes} bytes)`,
        `queued:    ${inv.createdAt}${inv.endedAt ? `, ended ${inv.endedAt}` : ''}`,
        `attempts:  ${inv.attempts} (${inv.attemptsLeft} of ${inv.maxAttempts} left)`,
      ];
      for (const a of inv.attemptHistory)
        lines.push(
          `  #${a.attempt} ${a.startedAt} ` +
            (a.interrupted ? 'interrupted' : a.status !== undefined ? String(a.status) : (a.error ?? 'running')),
        );
      if (inv.state !== 'succeeded' && inv.error) lines.push(`error:     ${inv.error}`);
      if (inv.callback)
        lines.push(
          `callback:  ${inv.callback.url}: ${inv.callback.state}` +
            (inv.callback.status ? ` (${inv.callback.status})` : '') +
            (inv.callback.error ? ` (${inv.callback.error})` : ''),
        );
      process.stderr.write(`${lines.join('\n')}\n`);
      if (inv.answer) {
        process.stderr.write(`answer:    ${inv.answer.status}${inv.answer.truncated ? ' (body truncated)' : ''}\n`);
        const body = inv.answer.bodyEncoding === 'base64' ? Buffer.from(inv.answer.body, 'base64') : inv.answer.body;
        process.stdout.write(body);
        if (body.length && !String(inv.answer.body).endsWith('\n') && process.stdout.isTTY) process.stdout.write('\n');
      }
    });

  cmd
    .command('retry')
    .alias('requeue')
    .argument('<id>', 'invocation id (dead or failed)')
    .description('queue a dead letter (or a failed invocation) again, with a new budget of attempts')
    .option('--max-attempts <n>', "attempts it gets (default: the function's, else 3)")
    .action(async (id: string, opts: { maxAttempts?: string }, c: Command) => {
      const { client } = contextOf(c);
      const headers: Record<string, string> = {};
      if (opts.maxAttempts !== undefined) headers['x-protium-max-attempts'] = opts.maxAttempts;
      const done = await client.json<{ id: string; state: string }>(
        'POST',
        `/api/function_invocations/${seg(id)}/retry`,
        { headers },
      );
      process.stdout.write(`Invocation ${done.id} queued again\n`);
    });

  cmd
    .command('discard')
    .alias('rm')
    .argument('<id>', 'invocation id (not running)')
    .description('discard an invocation: a dead letter, a result, or a queued one (cancelled)')
    .action(async (id: string, _opts: unknown, c: Command) => {
      const { client } = contextOf(c);
      await client.request('DELETE', `/api/function_invocations/${seg(id)}`);
      process.stdout.write(`Invocation ${id} discarded\n`);
    });
}
