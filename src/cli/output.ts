/**
 * What the CLI prints: aligned tables, ages, JSON/YAML documents, readable log lines, and progress (a
 * spinner on a terminal, plain lines when piped — always on stderr, so stdout stays the result).
 */
import { stringify as toYaml } from 'yaml';
import { CliError } from './errors.js';

export type Format = 'table' | 'json' | 'yaml';

export function parseFormat(value: string | undefined, allowed: Format[] = ['table', 'json', 'yaml']): Format {
  const v = (value ?? allowed[0]).toLowerCase();
  if (!(allowed as string[]).includes(v))
    throw new CliError(`-o ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`, 2);
  return v as Format;
}

/** Columns separated by three spaces, padded to the widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A document as JSON (indented) or YAML. */
export function render(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  return toYaml(value, { lineWidth: 0 });
}

/** Age of an ISO time as kubectl shows it: 45s, 12m, 3h, 5d; '-' when unknown. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** First line of a text, cut to `max` characters. */
export function oneLine(text: string | undefined, max = 60): string {
  const first = (text ?? '').trim().split('\n')[0] ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

const STANDARD_KEYS = new Set(['time', 'level', 'name', 'message', 'msg', 'replica']);

/** `k=v` for the extra fields of a log record (the `with` object of info_with included). */
function extras(rec: Record<string, unknown>): string {
  const parts: string[] = [];
  const add = (k: string, v: unknown) =>
    parts.push(`${k}=${typeof v === 'string' ? (/[\s"]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(rec)) {
    if (STANDARD_KEYS.has(k) || v === undefined) continue;
    if (k === 'with' && v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [wk, wv] of Object.entries(v)) add(wk, wv);
    } else {
      add(k, v);
    }
  }
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/** A log line (one JSON object) → `<time> <level> <source> <message> k=v...`; a non-JSON line as it is. */
export function formatLogLine(line: string, source?: string): string {
  let rec: Record<string, unknown>;
  try {
    const parsed = JSON.parse(line) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    rec = parsed as Record<string, unknown>;
  } catch {
    return source ? `${source} ${line}` : line;
  }
  return formatLogRecord(rec, source);
}

/** A field as text: a string as it is, anything else (a handler may log an object) as JSON. */
const fieldText = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

export function formatLogRecord(rec: Record<string, unknown>, source?: string): string {
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString() : fieldText(rec.time ?? '');
  const level = fieldText(rec.level ?? '').padEnd(5);
  const message = fieldText(rec.message ?? rec.msg ?? '');
  return `${time} ${level} ${source ? `${source} ` : ''}${message}${extras(rec)}`;
}

/** Time of a log line (ms) for interleaving replicas; lines without one sort first. */
export function lineTime(line: string): number {
  const m = /"time":\s*"([^"]+)"/.exec(line);
  const t = m ? Date.parse(m[1]) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress on stderr: on a terminal a spinner with a status text, redrawn in place; piped, each new status
 * is one plain line. `line()` prints a line above the spinner (build output).
 */
export class Progress {
  private text = '';
  private frame = 0;
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  status(text: string): void {
    if (text === this.text) return;
    this.text = text;
    if (!this.tty) {
      this.out.write(`${text}\n`);
      return;
    }
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 80);
      this.timer.unref();
    }
    this.draw();
  }

  line(text: string): void {
    if (this.tty && this.timer) this.out.write('\r\x1b[K');
    this.out.write(`${text}\n`);
    if (this.tty && this.timer) this.draw();
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.out.write('\r\x1b[K');
    }
  }

  private draw(): void {
    const cols = this.out.columns || 80;
    const frame = FRAMES[this.frame++ % FRAMES.length];
    const text = `${this.text.split('\n')[0]} (${Math.floor((Date.now() - this.started) / 1000)}s)`;
    this.out.write(`\r\x1b[K${frame} ${text.slice(0, Math.max(10, cols - 3))}`);
  }
}
