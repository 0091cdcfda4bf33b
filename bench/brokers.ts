/**
 * `npm run bench -- --only brokers`: messages per second through a function's broker trigger (NATS and
 * RabbitMQ, Debian's servers started here on free ports) against the broker's own publish → consume rate
 * with a bare client (nats.js, amqplib) in a process of its own, in the same run. The ratio is what the
 * trigger costs: event building, the worker pool, the handler call, the acknowledgement after it.
 *
 * Each phase publishes N small messages from this process as fast as the client takes them and ends when
 * the consumer has had the N-th (it writes the time); the rate is N over that span. After one untimed
 * round of each, baseline and subject alternate, and the median of each is kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { connect } from 'nats';
import { missing, startNats, startRabbit } from '../test/helpers/brokers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Row {
  benchmark: string;
  measured: string;
  baseline: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
}
interface Dash {
  dir: string;
}

/** What the bench runner lends this benchmark. */
export interface BenchKit<D extends Dash> {
  dashboard(): Promise<D>;
  stopDashboard(d: D): Promise<void>;
  deploy(d: D, name: string, runtime: string, source: string, spec: Record<string, unknown>): Promise<unknown>;
  row(r: Row): void;
  quick: boolean;
  repeat: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const WORKERS = 16;

/** Counts events; writes the time to $DONE.<k> after every N-th (so one replica serves several phases). */
const COUNTER = `const fs = require('fs');
let n = 0;
const N = Number(process.env.N);
exports.handler = (context, event) => {
  n++;
  if (n % N === 0) fs.writeFileSync(process.env.DONE + '.' + (n / N), String(Date.now()));
  context.callback('');
};
`;

/** A bare consumer in its own process: sends 'ready' once consuming, then {done: ms} at the N-th message. */
function bareConsumer(code: string): Promise<{ child: ChildProcess; done: Promise<number> }> {
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let settle!: (t: number) => void;
  const done = new Promise<number>((r) => {
    settle = r;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bare consumer exited (${code})`)));
    child.on('message', (m: unknown) => {
      if (m === 'ready') resolve({ child, done });
      else if (m && typeof m === 'object' && 'done' in m) settle((m as { done: number }).done);
    });
  });
}

async function waitFile(path: string, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} was not written within ${timeoutMs} ms`);
    await sleep(5);
  }
  await sleep(5);
  return Number(readFileSync(path, 'utf8'));
}

export async function brokersBench<D extends Dash>(kit: BenchKit<D>): Promise<void> {
  const N = kit.quick ? 10_000 : 40_000;
  const why = missing('nats') ?? missing('rabbitmq');
  if (why) {
    process.stderr.write(`  (${why}: skipped)\n`);
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'protium-bench-brokers-'));
  const nats = await startNats();
  const rabbit = await startRabbit();
  const d = await kit.dashboard();
  try {
    // ---------------------------------------------------------------- NATS
    const nc = await connect({ servers: nats.url });
    await kit.deploy(d, 'bench-nats', 'nodejs', COUNTER, {
      env: [
        { name: 'N', value: String(N) },
        { name: 'DONE', value: join(out, 'nats') },
      ],
      triggers: { in: { kind: 'nats', url: nats.url, numWorkers: WORKERS, attributes: { topic: 'bench.fn' } } },
    });
    const payload = Buffer.from('0123456789abcdef');
    const natsPublish = async (subject: string) => {
      for (let i = 0; i < N; i++) {
        nc.publish(subject, payload);
        // Let the socket drain now and then: a client that only buffers measures its own memory.
        if (i % 1000 === 999) await nc.flush();
      }
      await nc.flush();
    };
    const natsBare = async (): Promise<number> => {
      const c = await bareConsumer(`const { connect } = require('nats');
        (async () => {
          const nc = await connect({ servers: ${JSON.stringify(nats.url)} });
          const sub = nc.subscribe('bench.bare', { queue: 'bare' });
          await nc.flush();
          process.send('ready');
          let n = 0;
          for await (const m of sub) { if (++n === ${N}) { process.send({ done: Date.now() }); break; } }
          await nc.close();
          setTimeout(() => process.exit(0), 50);
        })();`);
      const t0 = Date.now();
      await natsPublish('bench.bare');
      const t1 = await c.done;
      c.child.kill();
      return N / ((t1 - t0) / 1000);
    };
    let natsRun = 0;
    const natsFn = async (): Promise<number> => {
      natsRun++;
      const t0 = Date.now();
      await natsPublish('bench.fn');
      const t1 = await waitFile(join(out, `nats.${natsRun}`));
      return N / ((t1 - t0) / 1000);
    };
    const nb: number[] = [];
    const nf: number[] = [];
    // One untimed round first: the broker, both clients and the replica warm up (JIT, buffers).
    await natsBare();
    await natsFn();
    for (let i = 0; i < kit.repeat; i++) {
      nb.push(await natsBare());
      nf.push(await natsFn());
    }
    await nc.close();
    kit.row({
      benchmark: `nats: messages/s through a nodejs function (${N} per phase, ${WORKERS} workers)`,
      measured: median(nf).toFixed(0),
      baseline: `${median(nb).toFixed(0)} bare nats.js queue subscriber`,
      ratio: median(nf) / median(nb),
      target: 'report',
      pass: null,
    });

    // ---------------------------------------------------------------- RabbitMQ
    const conn = await amqp.connect(rabbit.url);
    const ch = await conn.createChannel();
    await kit.deploy(d, 'bench-rabbit', 'nodejs', COUNTER, {
      env: [
        { name: 'N', value: String(N) },
        { name: 'DONE', value: join(out, 'rabbit') },
      ],
      triggers: {
        in: { kind: 'rabbit-mq', url: rabbit.url, numWorkers: WORKERS, attributes: { queueName: 'bench-fn' } },
      },
    });
    await ch.assertQueue('bench-bare', { durable: false, autoDelete: false });
    const rabbitPublish = async (queue: string) => {
      for (let i = 0; i < N; i++) {
        if (!ch.sendToQueue(queue, payload)) await new Promise((r) => ch.once('drain', r));
      }
    };
    const rabbitBare = async (): Promise<number> => {
      const c = await bareConsumer(`const amqp = require('amqplib');
        (async () => {
          const conn = await amqp.connect(${JSON.stringify(rabbit.url)});
          const ch = await conn.createChannel();
          await ch.prefetch(${WORKERS});
          let n = 0;
          await ch.consume('bench-bare', (m) => { ch.ack(m); if (++n === ${N}) process.send({ done: Date.now() }); });
          process.send('ready');
        })();`);
      const t0 = Date.now();
      await rabbitPublish('bench-bare');
      const t1 = await c.done;
      c.child.kill();
      return N / ((t1 - t0) / 1000);
    };
    let rabbitRun = 0;
    const rabbitFn = async (): Promise<number> => {
      rabbitRun++;
      const t0 = Date.now();
      await rabbitPublish('bench-fn');
      const t1 = await waitFile(join(out, `rabbit.${rabbitRun}`));
      return N / ((t1 - t0) / 1000);
    };
    const rb: number[] = [];
    const rf: number[] = [];
    await rabbitBare();
    await rabbitFn();
    for (let i = 0; i < kit.repeat; i++) {
      rb.push(await rabbitBare());
      rf.push(await rabbitFn());
    }
    await conn.close();
    kit.row({
      benchmark: `rabbit-mq: messages/s through a nodejs function (${N} per phase, prefetch ${WORKERS})`,
      measured: median(rf).toFixed(0),
      baseline: `${median(rb).toFixed(0)} bare amqplib consumer, prefetch ${WORKERS}`,
      ratio: median(rf) / median(rb),
      target: 'report',
      pass: null,
    });
  } finally {
    await kit.stopDashboard(d);
    await nats.stop();
    await rabbit.stop();
    rmSync(out, { recursive: true, force: true });
  }
}
