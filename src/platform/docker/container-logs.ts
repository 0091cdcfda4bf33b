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
import { lineTime, normaliseLine } from '../../util/log-files.js';
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

/**
 * The engine's log options for a query. `since` is a UNIX time in seconds with a fraction (Docker and
 * Podman both filter on it to the nanosecond). Following with `tailLines: 0` asks for what comes after
 * `now` rather than for no old line: the engine may take its place in the log a moment after the request
 * (a line written meanwhile would be neither old nor new), a time has no such gap.
 */
export function engineLogOptions(
  q: Pick<LogQuery, 'follow' | 'sinceMs' | 'tailLines'>,
  now = Date.now(),
): { stdout: true; stderr: true; timestamps: true; follow: boolean; tail?: number; since?: string } {
  const newOnly = q.follow && q.tailLines === 0;
  const from = newOnly ? now : q.sinceMs !== undefined ? Math.max(0, now - q.sinceMs) : undefined;
  return {
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: q.follow,
    ...(q.tailLines !== undefined && !newOnly ? { tail: q.tailLines } : {}),
    ...(from !== undefined ? { since: (from / 1000).toFixed(3) } : {}),
  };
}

/**
 * A container's log lines: the existing ones (tail, since), then with follow the new ones until the
 * signal aborts or the container goes away. The first chunk comes at once (possibly empty), as readLog's.
 * A following read asks the engine for the lines after the moment it was called (engineLogOptions), and
 * does not wait for the engine's answer before it returns: Podman answers a following request only with
 * its first line.
 */
export async function openContainerLog(
  docker: Docker,
  container: Docker.Container,
  q: LogQuery,
): Promise<AsyncIterable<string>> {
  if (q.tailLines === 0 && !q.follow)
    return (async function* () {
      yield '';
    })();
  const opts = engineLogOptions(q, Date.now());
  // The engine's since is exact; lines it stamped itself (to the second) are filtered here again.
  const from = opts.since !== undefined ? Math.floor(Number(opts.since)) * 1000 : undefined;
  const keep = (line: string) => from === undefined || (lineTime(line) ?? from) >= from;
  const request = container.logs({ ...opts, abortSignal: q.signal } as Docker.ContainerLogsOptions & {
    follow: true;
  }) as unknown as Promise<Readable | Buffer>;
  if (!q.follow) {
    // Without follow the engine answers the existing lines whole (dockerode gives a Buffer).
    const raw = await request;
    return lines(docker, Buffer.isBuffer(raw) ? Readable.from([raw]) : raw, q, keep);
  }
  request.catch(() => {});
  return (async function* () {
    yield '';
    let stream: Readable;
    try {
      stream = (await request) as Readable;
    } catch {
      return; // aborted, or the container went
    }
    for await (const chunk of lines(docker, stream, q, keep)) if (chunk) yield chunk;
  })();
}

async function* lines(
  docker: Docker,
  stream: Readable,
  q: LogQuery,
  keep: (line: string) => boolean,
): AsyncGenerator<string> {
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
      Promise.all([once(out, 'end'), once(err, 'end')]).then(
        () => resolve(),
        () => resolve(),
      );
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
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
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
    for await (const chunk of await openContainerLog(docker, container, {
      follow: false,
      tailLines: n,
      signal: AbortSignal.timeout(10_000),
    }))
      text += chunk;
  } catch {
    /* gone: nothing to quote */
  }
  return text.split('\n').filter((l) => l.length > 0);
}
