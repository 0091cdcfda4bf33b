/**
 * The replica's structured log: one JSON object per line on stdout, which the dashboard stores as the
 * replica's log. Per-event capture feeds X-Nuclio-Logs. A record is `{time, level, name, message}` with the
 * fields of a structured call (`logger.errorWith('Error message', {source: 'rabbit', weight: 7})`,
 * python's `error_with(...)`) beside them at the top level, as Nuclio's processor writes them and its
 * runtime tests read them; a field named like one of the four goes under `with` instead of replacing it.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';
export const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  time: string;
  level: Level;
  name: string;
  message: string;
  [k: string]: unknown;
}

const OWN_KEYS = new Set(['time', 'level', 'name', 'message']);

/** A record with a structured call's fields at the top level. Pure. */
export function logRecord(
  name: string,
  level: Level,
  message: string,
  fields?: Record<string, unknown>,
  now = new Date(),
): LogRecord {
  const record: LogRecord = { time: now.toISOString(), level, name, message };
  let clashing: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(fields ?? {})) {
    if (v === undefined) continue;
    if (OWN_KEYS.has(k) || k === 'with') (clashing ??= {})[k] = v;
    else record[k] = v;
  }
  if (clashing) record.with = clashing;
  return record;
}

/** Parses a level name as Nuclio's X-Nuclio-Log-Level accepts it (debug, info, warn/warning, error). */
export function parseLevel(s: string | undefined): Level | undefined {
  const v = s?.toLowerCase();
  if (v === 'debug' || v === 'info' || v === 'error') return v;
  if (v === 'warn' || v === 'warning') return 'warn';
  return undefined;
}

export class ProcessorLogger {
  constructor(
    private readonly name: string,
    private readonly minLevel: Level,
  ) {}

  /** Writes a record (if at or above the level) and hands it to `capture`; `fields` are a structured call's. */
  log(level: Level, message: string, fields?: Record<string, unknown>, capture?: LogCapture): void {
    const record = logRecord(this.name, level, String(message), fields);
    if (LEVELS[level] >= LEVELS[this.minLevel]) process.stdout.write(`${safeJson(record)}\n`);
    capture?.add(record);
  }
  debug(m: string, w?: Record<string, unknown>) {
    this.log('debug', m, w);
  }
  info(m: string, w?: Record<string, unknown>) {
    this.log('info', m, w);
  }
  warn(m: string, w?: Record<string, unknown>) {
    this.log('warn', m, w);
  }
  error(m: string, w?: Record<string, unknown>) {
    this.log('error', m, w);
  }
}

/** Log records of one event at or above a level, for the X-Nuclio-Logs header. */
export class LogCapture {
  readonly records: LogRecord[] = [];
  constructor(private readonly level: Level) {}
  add(r: LogRecord): void {
    if (LEVELS[r.level] >= LEVELS[this.level] && this.records.length < 200) this.records.push(r);
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return JSON.stringify({ message: String((v as { message?: unknown }).message) });
  }
}
