/**
 * The function the broker tests deploy, and reading what it handled. The handler (nodejs) appends one JSON
 * line per event it handled to $OUT (body, the replica's name, and the event's trigger, path, topic, headers, ...),
 * waits
 * $DELAY_MS first (writing a `started` line before), and fails on purpose for bodies starting `fail-always` (every
 * time) or `fail-once` (the first time; a marker file remembers), writing a `failed` line then.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploy, functionBody, waitFor, type ReplicaNames, type TestDashboard } from './start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

export const CONSUMER = `const fs = require('fs');
exports.handler = async (context, event) => {
  const body = event.body.toString();
  const rec = { body, replica: process.env.HOSTNAME, kind: event.trigger.kind, name: event.trigger.name,
    path: event.path, topic: event.topic, headers: event.headers, id: event.id, offset: event.offset,
    shard: event.shard_id, key: event.key, ct: event.content_type,
    url: event.url, method: event.method };
  const delay = Number(process.env.DELAY_MS || 0);
  if (delay) {
    fs.appendFileSync(process.env.OUT, JSON.stringify({ body, replica: process.env.HOSTNAME, started: true }) + '\\n');
    await new Promise((r) => setTimeout(r, delay));
  }
  const marker = process.env.OUT + '.' + body.replace(/[^A-Za-z0-9_-]/g, '_');
  if (body.startsWith('fail-always') || (body.startsWith('fail-once') && !fs.existsSync(marker))) {
    if (body.startsWith('fail-once')) fs.writeFileSync(marker, '');
    fs.appendFileSync(process.env.OUT, JSON.stringify({ ...rec, failed: true }) + '\\n');
    context.logger.errorWith('failing on purpose', { body });
    throw new Error('failing on purpose: ' + body);
  }
  fs.appendFileSync(process.env.OUT, JSON.stringify(rec) + '\\n');
  return new context.Response('handled ' + body, { 'X-Handled-By': process.env.HOSTNAME }, 'text/plain', 200);
};
`;

export interface Handled {
  body: string;
  /** The replica that handled it (HOSTNAME: replicas have PID namespaces of their own, pids repeat). */
  replica: string;
  kind: string;
  name: string;
  path: string;
  topic: string;
  headers: Record<string, string>;
  id: string;
  offset: number;
  shard: number;
  key?: string;
  ct: string;
  url: string;
  method: string;
  failed?: boolean;
  started?: boolean;
}

/** Every line the consumer wrote (`started` ones too). */
function lines(file: string): Handled[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Handled);
}

/** The events the consumer finished (handled and failed). */
export function records(file: string): Handled[] {
  return lines(file).filter((r) => !r.started);
}

/** The events the consumer started (with a delay only): {body, pid}. */
export function starts(file: string): Handled[] {
  return lines(file).filter((r) => r.started);
}

/** Successful handlings per body. */
export function handledCounts(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records(file)) if (!r.failed) m.set(r.body, (m.get(r.body) ?? 0) + 1);
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done()` is true, up to `timeoutMs`; the error says what was awaited and what `state()` shows. */
export async function eventually(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  state: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms ${state()}`);
    await sleep(50);
  }
}

/** Waits until `bodies` were all handled at least once. */
export async function untilHandled(file: string, bodies: string[], timeoutMs = 90_000): Promise<Map<string, number>> {
  let counts = new Map<string, number>();
  await eventually(
    `all ${bodies.length} messages handled`,
    () => {
      counts = handledCounts(file);
      return bodies.every((b) => counts.has(b));
    },
    timeoutMs,
    () =>
      `(${bodies.filter((b) => counts.has(b)).length} of ${bodies.length}; missing e.g. ${bodies
        .filter((b) => !counts.has(b))
        .slice(0, 5)
        .join(', ')})`,
  );
  return counts;
}

/** Deploys the consumer with `triggers`, `replicas` replicas, writing to `out`. */
export async function deployConsumer(
  d: TestDashboard,
  name: string,
  out: string,
  triggers: Record<string, unknown>,
  opts: { replicas?: number; delayMs?: number; spec?: Record<string, unknown>; expect?: 'ready' | 'unhealthy' } = {},
): Promise<FunctionRecord> {
  const body = functionBody(name, 'nodejs', CONSUMER, {
    spec: {
      minReplicas: opts.replicas ?? 1,
      maxReplicas: opts.replicas ?? 1,
      env: [
        { name: 'OUT', value: out },
        { name: 'DELAY_MS', value: String(opts.delayMs ?? 0) },
      ],
      triggers,
      ...(opts.spec ?? {}),
    },
  });
  if ((opts.expect ?? 'ready') === 'ready') return deploy(d, body, 90_000);
  const res = await d.api('POST', '/api/functions', { body });
  if (res.status !== 202) throw new Error(`POST /api/functions answered ${res.status}: ${res.text}`);
  return waitFor(d, name, (f) => ['ready', 'error', 'unhealthy'].includes(f.status?.state ?? ''), 90_000);
}

/** The pids of a function's replica processes (the in-process dashboard's platform knows them). */
/** The names of a function's live replicas. */
export async function replicaNames(d: TestDashboard, name: string): Promise<string[]> {
  return (await d.dashboard.platform.replicas({ namespace: 'nuclio', name })).map((r) => r.name);
}

export async function replicaPids(d: TestDashboard, name: string): Promise<number[]> {
  return (await d.dashboard.platform.replicas({ namespace: 'nuclio', name }))
    .map((r) => r.pid)
    .filter((p): p is number => typeof p === 'number');
}

/** Runs the built CLI (bin/protium.js) against a dashboard; never throws on a non-zero exit. */
export function cli(
  url: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = fileURLToPath(new URL('../../../bin/protium.js', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, PROTIUM_URL: url };
  delete env.PROTIUM_TOKEN;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        if (err && code === -1) return reject(new Error(`protium ${args.join(' ')}: ${err.message}\n${stderr}`));
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A folder with function.yaml (as a Nuclio user writes it) and the consumer as handler.js. */
export function functionFolder(dir: string, yaml: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'function.yaml'), yaml);
  writeFileSync(join(dir, 'handler.js'), CONSUMER);
  return dir;
}

/** The log of a function's first replica. */
export async function replicaLog(d: TestDashboard, name: string): Promise<string> {
  const replica = (await d.api<ReplicaNames>('GET', `/api/functions/${name}/replicas`)).json.names[0];
  return (await d.api('GET', `/api/functions/${name}/logs/${replica}?follow=false`)).text;
}
