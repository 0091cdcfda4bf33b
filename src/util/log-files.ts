/**
 * Log files, as the local platform keeps replica logs and the function controller build logs: one JSON
 * object per line, capped in size with one rotated generation (`.1`). Lines a process writes that are not JSON
 * are wrapped as {time, level, name, message} so that `since` can filter every line. Reading supports
 * `tailLines`, `since` and `follow` (the query of a replica's logs endpoint).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

export const LOG_CAP_BYTES = 4 * 1024 * 1024;
const FOLLOW_POLL_MS = 200;

/** Turns one line a process wrote into the stored JSON line (with a time). */
export function normaliseLine(line: string, stream: 'stdout' | 'stderr', now = new Date()): string {
  const t = line.trimEnd();
  if (t.startsWith('{') && t.endsWith('}')) {
    try {
      const obj = JSON.parse(t) as Record<string, unknown>;
      if (typeof obj.time === 'string') return t;
      return JSON.stringify({ time: now.toISOString(), ...obj });
    } catch {
      /* not JSON after all */
    }
  }
  return JSON.stringify({
    time: now.toISOString(),
    level: stream === 'stderr' ? 'warn' : 'info',
    name: stream,
    message: t,
  });
}

/** An append-only log file with a size cap and one rotated generation. Synchronous writes: lines are small. */
export class RotatingLog {
  private fd: number;
  private size: number;
  private partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(
    readonly path: string,
    private readonly cap = LOG_CAP_BYTES,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
    this.size = statSync(path).size;
  }

  /** Appends raw output of a process; complete lines are stored, a trailing partial line waits. */
  writeChunk(chunk: Buffer | string, stream: 'stdout' | 'stderr'): void {
    const text = this.partial[stream] + chunk.toString();
    const lines = text.split('\n');
    this.partial[stream] = lines.pop() ?? '';
    if (this.partial[stream].length > 64 * 1024) {
      lines.push(this.partial[stream]);
      this.partial[stream] = '';
    }
    for (const line of lines) if (line.trim()) this.writeLine(normaliseLine(line, stream));
  }

  /** Appends one stored line (already JSON). */
  writeLine(json: string): void {
    const data = `${json}\n`;
    if (this.size + data.length > this.cap && this.size > 0) this.rotate();
    try {
      writeSync(this.fd, data);
      this.size += Buffer.byteLength(data);
    } catch {
      /* a full disk must not take the dashboard down; the line is lost */
    }
  }

  private rotate(): void {
    try {
      closeSync(this.fd);
      renameSync(this.path, `${this.path}.1`);
    } catch {
      /* keep writing to whatever we can */
    }
    this.fd = openSync(this.path, 'a');
    this.size = 0;
  }

  close(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s].trim()) this.writeLine(normaliseLine(this.partial[s], s));
      this.partial[s] = '';
    }
    try {
      closeSync(this.fd);
    } catch {
      /* closed */
    }
  }
}

/** The time of a stored line (ms), or undefined. */
export function lineTime(line: string): number | undefined {
  const m = /"time":"([^"]+)"/.exec(line);
  if (!m) return undefined;
  const t = Date.parse(m[1]);
  return Number.isNaN(t) ? undefined : t;
}

export interface ReadQuery {
  follow: boolean;
  sinceMs?: number;
  tailLines?: number;
  signal: AbortSignal;
}

/** Existing lines of a log (rotated generation first), filtered by since and tail. */
export function readExisting(path: string, q: Pick<ReadQuery, 'sinceMs' | 'tailLines'>, now = Date.now()): string[] {
  let lines: string[] = [];
  for (const p of [`${path}.1`, path]) {
    if (existsSync(p))
      lines.push(
        ...readFileSync(p, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0),
      );
  }
  if (q.sinceMs !== undefined) {
    const from = now - q.sinceMs;
    lines = lines.filter((l) => (lineTime(l) ?? now) >= from);
  }
  if (q.tailLines !== undefined) lines = q.tailLines === 0 ? [] : lines.slice(-q.tailLines);
  return lines;
}

/** The log as text chunks: existing lines, then (with follow) new lines until the signal aborts. */
export async function* readLog(path: string, q: ReadQuery): AsyncGenerator<string> {
  // The follow position is taken with the existing lines, before the first yield: lines written while the
  // caller handles that chunk are sent next.
  const st0 = existsSync(path) ? statSync(path) : undefined;
  const existing = readExisting(path, q);
  let offset = st0?.size ?? 0;
  let ino = st0?.ino ?? 0;
  // Yield at least one chunk so the caller can start the answer (and learn the replica is valid).
  yield existing.length ? `${existing.join('\n')}\n` : '';
  if (!q.follow) return;
  while (!q.signal.aborted) {
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        q.signal.removeEventListener('abort', onAbort);
        resolve();
      }, FOLLOW_POLL_MS);
      q.signal.addEventListener('abort', onAbort, { once: true });
    });
    if (q.signal.aborted || !existsSync(path)) continue;
    const st = statSync(path);
    if (st.ino !== ino || st.size < offset) {
      // Rotated: the rest of the old generation is in .1; read the new file from its start.
      ino = st.ino;
      offset = 0;
    }
    if (st.size === offset) continue;
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(st.size - offset);
      await fh.read(buf, 0, buf.length, offset);
      // Only whole lines; a line being written is picked up next time.
      const lastNl = buf.lastIndexOf(0x0a);
      if (lastNl < 0) continue;
      offset += lastNl + 1;
      yield buf.subarray(0, lastNl + 1).toString('utf8');
    } finally {
      await fh.close();
    }
  }
}
