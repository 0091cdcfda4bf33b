/**
 * `protium top`: every function's requests per second, handler latency (p50, p95, p99), errors per
 * second, ready replicas and the last ten minutes of requests as a sparkline — the web dashboard's charts
 * as a table that refreshes in place (on a terminal; piped, or with --once, it prints one table). The
 * numbers are the dashboard's own (GET /api/function_metrics), one ten-second bucket behind at most.
 */
import type { Command } from 'commander';
import type { Series } from '../../metrics/series.js';
import { contextOf, durationMs, sleep } from '../context.js';
import { CliError } from '../errors.js';
import { parseFormat, render, table } from '../output.js';

interface TopOptions {
  interval: string;
  once?: boolean;
  output?: string;
}

interface Answer {
  namespace: string;
  step: number;
  functions: Record<string, Series>;
}

const BLOCKS = '▁▂▃▄▅▆▇█';
/** Columns of the sparkline: each averages the points that fall in it. */
const SPARK_WIDTH = 20;

/** A unicode sparkline of `values` (oldest first) squeezed into `width` columns. Pure. */
export function sparkline(values: number[], width = SPARK_WIDTH): string {
  if (!values.length) return '';
  const cols: number[] = [];
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * values.length) / width);
    const to = Math.max(from + 1, Math.floor(((c + 1) * values.length) / width));
    const part = values.slice(from, to);
    cols.push(part.reduce((a, b) => a + b, 0) / part.length);
  }
  const max = Math.max(...cols);
  return cols.map((v) => (max > 0 ? BLOCKS[Math.min(7, Math.round((v / max) * 7))] : BLOCKS[0])).join('');
}

/** A rate or a duration, short: 1234 → 1234, 12.34 → 12.3, 0.5 → 0.5, null → '-'. Pure. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** The table of `answer` at `now` (ms), busiest function first. Pure. */
export function topTable(answer: Answer, now: number): string {
  const rows = Object.entries(answer.functions).map(([name, s]) => {
    const last = s.requests.length - 1;
    return {
      name,
      rate: s.requests[last] ?? 0,
      row: [
        name,
        num(s.requests[last]),
        num(s.p50[last]),
        num(s.p95[last]),
        num(s.p99[last]),
        num(s.errors[last]),
        String(s.replicas[last] ?? 0),
        sparkline(s.requests),
      ],
    };
  });
  rows.sort((a, b) => b.rate - a.rate || a.name.localeCompare(b.name));
  const first = Object.values(answer.functions)[0];
  const asOf = first ? new Date((first.start + first.requests.length * first.step) * 1000) : new Date(now);
  const head =
    `Functions of namespace ${answer.namespace}: ` + `the ${answer.step} s up to ${asOf.toLocaleTimeString()}\n\n`;
  if (!rows.length) return `${head}No functions. Deploy one with: protium deploy PATH\n`;
  return (
    head +
    table(
      ['NAME', 'REQ/S', 'P50 MS', 'P95 MS', 'P99 MS', 'ERR/S', 'READY', 'REQUESTS, LAST 10 MIN'],
      rows.map((r) => r.row),
    )
  );
}

export function topCommand(program: Command): void {
  program
    .command('top')
    .description("each function's requests/s, latency p50/p95/p99, errors/s and replicas, refreshed live")
    .option('--interval <duration>', 'how often to refresh', '2s')
    .option('--once', 'print one table and exit (the default when stdout is not a terminal)')
    .option('-o, --output <format>', 'table or json (json prints once)', 'table')
    .addHelpText(
      'after',
      `
Example:
  $ protium top                       # Ctrl-C to leave
  $ protium top --project shop --once`,
    )
    .action(async (opts: TopOptions, cmd: Command) => {
      const format = parseFormat(opts.output, ['table', 'json']);
      const every = durationMs(opts.interval, '--interval');
      if (every < 500) throw new CliError(`--interval ${JSON.stringify(opts.interval)} must be at least 500ms`, 2);
      const { client, globals } = contextOf(cmd);
      const fetchOnce = () =>
        client.json<Answer>('GET', '/api/function_metrics', {
          ns: 'function',
          query: { window: '10m', step: '10s' },
          headers: globals.project ? { 'x-nuclio-project-name': globals.project } : {},
        });
      if (format === 'json') return void process.stdout.write(render(await fetchOnce(), 'json'));
      const live = !opts.once && process.stdout.isTTY;
      if (!live) return void process.stdout.write(topTable(await fetchOnce(), Date.now()));
      for (;;) {
        const text = topTable(await fetchOnce(), Date.now());
        // Home, clear, draw: the table replaces itself.
        process.stdout.write(`\x1b[H\x1b[2J${text}\nRefreshing every ${opts.interval}; Ctrl-C to leave.\n`);
        await sleep(every);
      }
    });
}
