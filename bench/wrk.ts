/**
 * wrk (Debian's `wrk`) as the load generator when it is installed: written in C, it takes a small part of
 * the CPU autocannon (JavaScript) takes on these 2-core machines, so more of the CPU goes to what is
 * measured. Its report is parsed here (pure, table-tested in wrk.test.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));

export interface WrkResult {
  /** Requests per second over the run. */
  rps: number;
  requests: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Median latency in ms. */
  p50: number;
}

/** `12.5us`, `1.20ms`, `2.00s` → milliseconds. */
function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** Parses wrk's report (run with --latency for the p50). */
export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const p50 = ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`Cannot read wrk's report:\n${out}`);
  return { rps, requests, errors, non2xx, p50 };
}

/**
 * Runs wrk (one thread, `connections` keep-alive connections). Header names are sent as given: `Host`
 * must be spelled so for wrk to use it instead of adding its own.
 */
export function wrk(
  url: string,
  opts: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<WrkResult> {
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile(WRK!, args, { timeout: (opts.seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(new Error(`wrk ${args.join(' ')}: ${err.message}`));
      try {
        resolve(parseWrk(stdout));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
