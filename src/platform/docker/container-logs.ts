/**
 * A container's log as the logs endpoint serves replica logs (local/log-files.ts): one JSON object per
 * line with a time. The engine keeps the log (so it outlives the dashboard and goes with the container);
 * its stream multiplexes stdout and stderr in frames, which dockerode's `modem.demuxStream` separates.
 * Lines the processor wrote are JSON already (with their own, precise time); any other line is wrapped
 * with the engine's timestamp, stderr as a warning.
 */
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import type Docker from 'dockerode';
import { lineTime, normaliseLine } from '../local/log-files.js';
import type { LogQuery } from '../platform.js';

/** One line of the engine's log (`<RFC 3339 time> <text>`) as a stored line. Pure. */
export function storedLine(raw: string, stream: 'stdout' | 'stderr'): string | undefined {
  const text = raw.replace(/\r$/, '');
  const space = text.indexOf(' ');
  const stamp = space > 0 ? Date.parse(text.slice(0, space)) : NaN;
  const body = Number.isNaN(stamp) ? text : text.slice(space + 1);
  if (!body.trim()) return undefined;
  return normaliseLine(body, stream, Number.isNaN(stamp) ? new Date() : new Date(stamp));
}

/** Splits a demultiplexed stream into stored lines, handing each complete one to `onLine`. */
function lineSplitter(stream: 'stdout' | 'stderr', onLine: (line: string) => void): PassThrough {
  const pass = new PassThrough();
  let partial = '';
  pass.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      const line = storedLine(p, stream);
      if (line) onLine(line);
    }
  });
  pass.on('end', () => {
    const line = partial ? storedLine(partial, stream) : undefined;
    if (line) onLine(line);
  });
  return pass;
}

/** The engine's log options for a query: tail and since as it takes them (since in whole seconds, rounded down). */
export function engineLogOptions(q: Pick<LogQuery, 'follow' | 'sinceMs' | 'tailLines'>, now = Date.now()): { stdout: true; stderr: true; timestamps: true; follow: boolean; tail?: number; since?: number } {
  return {
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: q.follow,
    ...(q.tailLines !== undefined ? { tail: q.tailLines } : {}),
    ...(q.sinceMs !== undefined ? { since: Math.max(0, Math.floor((now - q.sinceMs) / 1000)) } : {}),
  };
}

/**
 * A container's log lines: the existing ones (tail, since), then with follow the new ones until the
 * signal aborts or the container goes away. The first chunk comes at once (possibly empty), as readLog's.
 */
export async function* containerLog(docker: Docker, container: Docker.Container, q: LogQuery): AsyncGenerator<string> {
  const from = q.sinceMs !== undefined ? Date.now() - q.sinceMs : undefined;
  const keep = (line: string) => from === undefined || (lineTime(line) ?? from) >= from;
  if (q.tailLines === 0 && !q.follow) {
    yield '';
    return;
  }
  // Without follow the engine answers the existing lines whole (dockerode gives a Buffer), else a stream.
  const raw = (await container.logs(engineLogOptions(q) as Docker.ContainerLogsOptions & { follow: true })) as unknown as Readable | Buffer;
  const stream: Readable = Buffer.isBuffer(raw) ? Readable.from([raw]) : raw;
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  const push = (line: string) => {
    if (!keep(line)) return;
    queue.push(line);
    wake?.();
  };
  const out = lineSplitter('stdout', push);
  const err = lineSplitter('stderr', push);
  docker.modem.demuxStream(stream, out, err);
  let ended = false;
  let finished = false;
  // demuxStream does not end its outputs: a partial last line is flushed when they end.
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      if (ended) return;
      ended = true;
      out.end();
      err.end();
      Promise.all([once(out, 'end'), once(err, 'end')]).then(() => resolve(), () => resolve());
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  }).then(() => {
    finished = true;
    wake?.();
  });
  const onAbort = () => stream.destroy();
  q.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (!q.follow) {
      await done;
      yield queue.length ? `${queue.splice(0).join('\n')}\n` : '';
      return;
    }
    yield '';
    while (!q.signal.aborted) {
      if (queue.length) {
        yield `${queue.splice(0).join('\n')}\n`;
        continue;
      }
      if (finished) return;
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = undefined;
    }
  } finally {
    q.signal.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

/** The last `n` stored lines of a container's log (for error messages). */
export async function lastLines(docker: Docker, container: Docker.Container, n: number): Promise<string[]> {
  let text = '';
  try {
    for await (const chunk of containerLog(docker, container, { follow: false, tailLines: n, signal: AbortSignal.timeout(10_000) })) text += chunk;
  } catch { /* gone: nothing to quote */ }
  return text.split('\n').filter((l) => l.length > 0);
}
