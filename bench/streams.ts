/**
 * The stream benchmark: records per second that a nodejs function with a v3ioStream trigger consumes, with 1
 * and with 2 replicas, against the raw rate of the embedded stream service measured in the same run
 * (records appended with PutRecords while readers on every shard take them with GetRecords, no function in
 * between). Each phase puts N records of 100 bytes into a fresh 4-shard stream, 500 per PutRecords, from 4
 * producers at once; a consumer phase ends when get_shard_lags reports a lag of 0 (every record handled
 * and committed).
 *
 *   npm run build && node dist/bench/streams.js            N = 200,000
 *   node dist/bench/streams.js --quick                     N = 20,000
 *   node dist/bench/streams.js --records 50000
 *
 * The dashboard runs as its own process (as users run it); producers and raw readers run here. Prints a
 * markdown table on stdout, progress on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GetRecordsAnswer, PutRecordsAnswer, SeekAnswer } from '../src/streams/v3io-wire.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const N = (() => {
  const i = args.indexOf('--records');
  return i >= 0 ? Number(args[i + 1]) : QUICK ? 20_000 : 200_000;
})();
const SHARDS = 4;
const BATCH = 500;
const PRODUCERS = 4;
const RECORD = Buffer.alloc(100, 'x').toString('base64');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** A JSON POST over keep-alive connections (fetch costs more than the service under test). */
function post<T = unknown>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: T }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: (text ? JSON.parse(text) : undefined) as T });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------- the dashboard

let dash: ChildProcess | undefined;
process.on('exit', () => {
  try {
    if (dash) process.kill(-dash.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
});

async function startDashboard(dir: string): Promise<string> {
  const port = 18_900 + Math.floor(Math.random() * 500);
  dash = spawn(
    process.execPath,
    [
      '--max-semi-space-size=32',
      join(ROOT, 'dist/src/main.js'),
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--gateway-listen-addr',
      `127.0.0.1:${port + 1}`,
      '--data-dir',
      dir,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  for (const t0 = Date.now(); ;) {
    try {
      const r = await fetch(`${url}/api/versions`);
      await r.arrayBuffer();
      if (r.ok) return url;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > 30_000) throw new Error('the dashboard did not start');
    await sleep(50);
  }
}

/** A call of the stream service; `T` is the answer of `fn` (v3io-wire.ts). */
async function v3io<T>(url: string, path: string, fn: string, body: unknown): Promise<T> {
  const r = await post<T>(`${url}/v3io/${path}`, body, { 'x-v3io-function': fn });
  if (r.status >= 300) throw new Error(`${fn} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Puts N records into `path` from PRODUCERS producers, BATCH per PutRecords. */
async function produce(url: string, path: string): Promise<void> {
  const batches = Math.ceil(N / BATCH);
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      for (let b = next++; b < batches; b = next++) {
        const n = Math.min(BATCH, N - b * BATCH);
        const res = await v3io<PutRecordsAnswer>(url, path, 'PutRecords', {
          Records: Array.from({ length: n }, () => ({ Data: RECORD })),
        });
        if (res.FailedRecordCount) throw new Error(`${res.FailedRecordCount} records failed`);
      }
    }),
  );
}

/** Reads every shard of `path` until N records came back; returns when. */
async function readAll(url: string, path: string): Promise<void> {
  let total = 0;
  await Promise.all(
    Array.from({ length: SHARDS }, async (_, s) => {
      let loc = (await v3io<SeekAnswer>(url, `${path}${s}`, 'Seek', { Type: 'EARLIEST' })).Location;
      while (total < N) {
        const r = await v3io<GetRecordsAnswer>(url, `${path}${s}`, 'GetRecords', { Location: loc, Limit: 1000 });
        loc = r.NextLocation;
        total += r.Records.length;
        if (!r.Records.length) await sleep(1);
      }
    }),
  );
}

async function lag(url: string, stream: string): Promise<number> {
  // container+path → consumer group → shard → offsets
  const r = await post<Record<string, Record<string, Record<string, { lag: number; current: number }>>>>(
    `${url}/api/v3io_streams/get_shard_lags`,
    { containerName: 'bench', streamPath: `/${stream}`, consumerGroup: 'g' },
    { 'x-nuclio-project-name': 'default' },
  );
  if (r.status !== 200) throw new Error(`get_shard_lags: ${r.status} ${JSON.stringify(r.json)}`);
  const shards = Object.values(r.json[`bench/${stream}`].g);
  return shards.reduce((n, s) => n + s.lag, 0) + (shards.reduce((n, s) => n + s.current, 0) < N ? 1 : 0);
}

async function deployConsumer(url: string, name: string, stream: string, replicas: number): Promise<void> {
  const source = "exports.handler = (context, event) => context.callback('');\n";
  const r = await post(`${url}/api/functions`, {
    metadata: { name },
    spec: {
      runtime: 'nodejs',
      handler: 'handler:handler',
      minReplicas: replicas,
      maxReplicas: replicas,
      build: { functionSourceCode: b64(source) },
      triggers: {
        s: {
          kind: 'v3ioStream',
          attributes: {
            containerName: 'bench',
            streamPath: `/${stream}`,
            consumerGroup: 'g',
            seekTo: 'earliest',
            readBatchSize: 256,
            pollingIntervalMs: 10,
            heartbeatInterval: '200ms',
            sessionTimeout: '3s',
            sequenceNumberCommitInterval: '100ms',
          },
        },
      },
    },
  });
  if (r.status !== 202) throw new Error(`deploy ${name}: ${r.status} ${JSON.stringify(r.json)}`);
  for (;;) {
    const fn = (await (await fetch(`${url}/api/functions/${name}`)).json()) as {
      status?: { state?: string; message?: string };
    };
    if (fn.status?.state === 'ready') break;
    if (fn.status?.state === 'error') throw new Error(`deploy ${name}: ${fn.status.message}`);
    await sleep(20);
  }
  // Let every replica join the group and the shards settle before the clock starts.
  await sleep(1_000);
}

// ---------------------------------------------------------------- phases

/** Raw: append N while readers take them; records per second from the first put to the last read. */
async function raw(url: string): Promise<{ append: number; read: number; both: number }> {
  await v3io(url, 'bench/raw-a/', 'CreateStream', { ShardCount: SHARDS });
  let t0 = performance.now();
  await produce(url, 'bench/raw-a/');
  const append = N / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  await readAll(url, 'bench/raw-a/');
  const read = N / ((performance.now() - t0) / 1000);
  await v3io(url, 'bench/raw-b/', 'CreateStream', { ShardCount: SHARDS });
  t0 = performance.now();
  await Promise.all([produce(url, 'bench/raw-b/'), readAll(url, 'bench/raw-b/')]);
  const both = N / ((performance.now() - t0) / 1000);
  return { append, read, both };
}

/** A function with `replicas` replicas consumes N records produced while it runs; records per second to lag 0. */
async function consumed(url: string, replicas: number): Promise<number> {
  const stream = `fn-${replicas}`;
  await v3io(url, `bench/${stream}/`, 'CreateStream', { ShardCount: SHARDS });
  await deployConsumer(url, `bench-${replicas}`, stream, replicas);
  const t0 = performance.now();
  const producing = produce(url, `bench/${stream}/`);
  while ((await lag(url, stream)) > 0) await sleep(20);
  await producing;
  return N / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-bench-streams-'));
  try {
    const url = await startDashboard(dir);
    process.stderr.write(
      `streams bench: ${N} records of 100 bytes, ${SHARDS} shards, ${BATCH} per PutRecords, ${PRODUCERS} producers\n`,
    );
    const r = await raw(url);
    process.stderr.write(
      `  raw: append ${r.append.toFixed(0)}/s, read ${r.read.toFixed(0)}/s, side by side ${r.both.toFixed(0)}/s\n`,
    );
    const one = await consumed(url, 1);
    process.stderr.write(`  nodejs function, 1 replica: ${one.toFixed(0)}/s\n`);
    const two = await consumed(url, 2);
    process.stderr.write(`  nodejs function, 2 replicas: ${two.toFixed(0)}/s\n`);
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    const lines = [
      '| benchmark | records/s | baseline (same run) | ratio |',
      '| --- | --- | --- | --- |',
      `| stream service: append (PutRecords, ${BATCH} per call, fsync'd) | ${f(r.append)} | - | - |`,
      `| stream service: read a backlog (GetRecords, 1000 per call, ${SHARDS} shards) | ${f(r.read)} | - | - |`,
      `| stream service: append + read side by side (raw baseline) | ${f(r.both)} | - | - |`,
      `| nodejs function, 1 replica, to lag 0 | ${f(one)} | ${f(r.both)} raw append + read ` +
        `| ${(one / r.both).toFixed(2)} |`,
      `| nodejs function, 2 replicas, to lag 0 | ${f(two)} | ${f(r.both)} raw append + read ` +
        `| ${(two / r.both).toFixed(2)} |`,
      `| 2 replicas against 1 | ${f(two)} | ${f(one)} with 1 replica | ${(two / one).toFixed(2)} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (dash) {
      dash.kill('SIGTERM');
      await new Promise((r) => dash!.once('exit', r));
      dash = undefined;
    }
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
