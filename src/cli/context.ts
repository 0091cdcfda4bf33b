/**
 * The global flags every verb shares (--url, --token, --namespace, --project) and the client they make.
 */
import type { Command } from 'commander';
import { ApiClient, resolveUrl } from './api-client.js';
import { CliError } from './errors.js';

export interface Globals {
  url?: string;
  token?: string;
  namespace?: string;
  project?: string;
}

export interface Context {
  client: ApiClient;
  globals: Globals;
}

export function contextOf(cmd: Command, env: NodeJS.ProcessEnv = process.env): Context {
  const globals = cmd.optsWithGlobals<Globals>();
  const url = resolveUrl(globals.url, env);
  const token = globals.token || env.PROTIUM_TOKEN || undefined;
  return { client: new ApiClient({ url, token, namespace: globals.namespace || undefined }), globals };
}

/** Path segment of a resource name. */
export const seg = (name: string) => encodeURIComponent(name);

/** Collects a repeatable option. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A Go-style duration (10s, 5m, 1h30m) in milliseconds; CliError when malformed. */
export function durationMs(text: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let pos = 0;
  let total = 0;
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000; // bare seconds
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) throw new CliError(`${flag} ${JSON.stringify(text)} must be a duration such as 30s, 10m or 1h`, 2);
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    pos = re.lastIndex;
  }
  if (!t) throw new CliError(`${flag} must be a duration such as 30s, 10m or 1h`, 2);
  return total;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
