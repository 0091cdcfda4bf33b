/**
 * Function helpers shared by verbs: the invocation URL a user can call, and waiting for a deploy to settle
 * while showing its state and streaming its build log.
 */
import { isServing } from '../resources/function-state.js';
import type { ApiClient } from './api-client.js';
import { seg, sleep } from './context.js';
import { CliError } from './errors.js';
import { Progress } from './output.js';

export interface FunctionLike {
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  spec: Record<string, unknown> & { runtime?: string; minReplicas?: number; maxReplicas?: number };
  status?: {
    state?: string;
    message?: string;
    httpPort?: number;
    internalInvocationUrls?: string[];
    externalInvocationUrls?: string[];
    logs?: { level?: string; time?: number | string; name?: string; message?: string }[];
    [k: string]: unknown;
  };
}

const isLoopback = (host: string) =>
  host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';

/**
 * The URL to call a function at from where the CLI runs: its internal URL when the dashboard is on this
 * machine, else an external URL that is not a loopback address, else the dashboard's host with its port.
 */
export function invocationUrl(fn: FunctionLike, dashboardUrl: string): string | undefined {
  const st = fn.status ?? {};
  const port = st.httpPort;
  const host = new URL(dashboardUrl).hostname;
  if (isLoopback(host)) {
    const internal = st.internalInvocationUrls?.[0];
    if (internal) return `http://${internal}`;
    return port ? `http://127.0.0.1:${port}` : undefined;
  }
  const ext = (st.externalInvocationUrls ?? []).find((u) => !isLoopback(u.split(':')[0] ?? ''));
  if (ext) return `http://${ext}`;
  return port ? `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}` : undefined;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Whether a state ends the wait successfully (default: the function serves — ready, scaledToZero). */
  success?: (state: string) => boolean;
  /** When the deploy started (for the build log's `since`). */
  startedAt?: number;
  progress: Progress;
  /** Stream the build log while waiting. */
  buildLog?: boolean;
}

/** The first line of a multi-line message. */
const first = (s: string | undefined) => (s ?? '').split('\n')[0].trim();

/** One line for a failure message: its first line, or for a traceback the line that says what went wrong. */
export function summary(message: string | undefined): string {
  const lines = (message ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length > 1 && /Traceback \(most recent call last\):$/.test(lines[0])) {
    return `${lines[0].replace(/Traceback \(most recent call last\):$/, '')}${lines[lines.length - 1]}`;
  }
  return lines[0] ?? '';
}

/**
 * Polls GET /api/functions/<name> until the function settles, showing its state (and its build log);
 * returns the function when it succeeded, throws CliError with the reason and the last log lines when not.
 */
export async function waitForFunction(client: ApiClient, name: string, opts: WaitOptions): Promise<FunctionLike> {
  const started = opts.startedAt ?? Date.now();
  const deadline = Date.now() + opts.timeoutMs;
  const success = opts.success ?? isServing;
  const printed = new Set<string>();
  const progress = opts.progress;

  const shown = new Set<string>();
  /** A build record: its first line; for an error, the lines after it too (a traceback, a command's output). */
  const printRecord = (rec: { time?: string | number; message?: string; level?: string }) => {
    const t = typeof rec.time === 'number' ? new Date(rec.time).toISOString() : (rec.time ?? '');
    const key = `${t}|${first(rec.message)}`;
    if (printed.has(key)) return;
    printed.add(key);
    const lines = (rec.message ?? '').split('\n').filter((l) => l.trim());
    progress.line(`[build] ${lines[0] ?? ''}`);
    shown.add((lines[0] ?? '').trim());
    if (rec.level === 'error') {
      for (const l of lines.slice(1).slice(-20)) if (!shown.has(l.trim())) progress.line(`[build]   ${l}`);
    }
  };

  const pumpBuildLog = async (namespace: string) => {
    if (!opts.buildLog) return;
    // `since` keeps out the log of an earlier build (the controller replaces the file when it starts).
    const since = `${Math.ceil((Date.now() - started) / 1000) + 2}s`;
    const res = await client.raw(
      'GET',
      `/api/functions/${seg(name)}/logs/${seg(`nuclio-${namespace}-${name}-build`)}`,
      {
        ns: 'function',
        query: { follow: 'false', since },
      },
    );
    const text = await res.text();
    if (!res.ok) return; // no build log yet
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let rec: { time?: string; message?: string; level?: string };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        rec = { message: line };
      }
      printRecord(rec);
    }
  };

  let lastState = '';
  for (;;) {
    const fn = await client.find<FunctionLike>(`/api/functions/${seg(name)}`, { ns: 'function' });
    if (!fn) throw new CliError(`function ${name} was deleted while waiting for it`);
    const state = fn.status?.state || 'unknown';
    const namespace = fn.metadata.namespace ?? client.namespace ?? 'nuclio';
    await pumpBuildLog(namespace).catch(() => {
      /* the log is a nicety; the state is what counts */
    });
    if (state !== lastState) {
      progress.status(`${name}: ${state}`);
      lastState = state;
    }
    if (success(state)) {
      progress.stop();
      return fn;
    }
    // Deployed and running, but not well (a broker trigger that cannot reach its broker keeps retrying):
    // that is the outcome to show, not something to wait out.
    if (state === 'unhealthy' && fn.status?.message) {
      progress.stop();
      process.stderr.write(`warning: function ${name} is unhealthy: ${fn.status.message.split('\n').join('; ')}\n`);
      return fn;
    }
    if (state === 'error') {
      progress.stop();
      for (const r of (fn.status?.logs ?? []).slice(-10)) printRecord(r);
      throw new CliError(`function ${name} failed to deploy: ${summary(fn.status?.message) || 'state error'}`);
    }
    if (Date.now() > deadline) {
      progress.stop();
      throw new CliError(
        `function ${name} is still ${state} after ${Math.round(opts.timeoutMs / 1000)} s; it keeps going on the ` +
          `dashboard (protium get function ${name} shows its state)`,
      );
    }
    await sleep(250);
  }
}
