/**
 * Slow clients (slowloris) against every listener: the dashboard API, the API gateway listener, a
 * function's port with a replica up, and a function's port while the function is scaled to zero (the
 * dashboard holds connections while it wakes). The dashboard runs as its own process with a low
 * descriptor limit (ulimit -n 512), as a real one would run out at some limit; each attack holds 600
 * connections that send nothing, send their headers a byte at a time, or send a body a byte at a time,
 * and opens a new one whenever one is closed. Meanwhile a normal client must be served, the dashboard's
 * (and the replica's) descriptors must stay bounded, and once the attack stops reopening, the server must
 * close every slow connection by itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { functionBody, request, sleep } from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const FD_LIMIT = 512;
const CAP = 100;
const ATTACKERS = 600;
/** Descriptors a process may hold beyond its baseline and the cap (pipes, log files, a few in flight). */
const SLACK = 40;
/** The attacking host (Linux routes all of 127/8 to the loopback interface). */
const ATTACKER_ADDRESS = '127.0.0.2';

/** Open descriptors of a process (0 once it is gone: a replica may restart while we watch). */
function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** A process's TCP sockets by local port, remote port and state (for a failure message). */
function socketBreakdown(pid: number): string {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    /* gone */
  }
  for (const fd of fds) {
    try {
      const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(l);
      if (m) inodes.add(m[1]);
    } catch {
      /* gone */
    }
  }
  const counts = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9])) continue;
    const lp = parseInt(f[1].split(':')[1], 16);
    const rp = parseInt(f[2].split(':')[1], 16);
    const key = `local ${lp} remote ${rp < 32768 && rp > 0 ? rp : rp === 0 ? 0 : 'eph'} st ${f[3]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k}: ${v}`).join('; ') + ` (sockets ${inodes.size})`;
}

/** Children of `pid` running the processor (the dashboard's replicas). */
function replicaPids(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('processor/main.js')) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** One request on a fresh connection (a new client), with the status and body. */
function probe(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<{ status: number; text: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: Date.now() - t0 }));
      res.on('error', (e) => resolve({ status: -1, text: e.message, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: -1, text: e.message, ms: Date.now() - t0 }));
    req.end();
  });
}

/**
 * A slowloris: keeps `count` connections to a port, a third silent, a third sending headers a byte at a
 * time, a third sending a body a byte at a time; reopens each one the server closes (at most `budget`
 * connections in all, so the test stays bounded).
 */
class Slowloris {
  private readonly live = new Set<net.Socket>();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  opened = 0;
  closedByServer = 0;

  constructor(
    private readonly port: number,
    count: number,
    private readonly budget: number,
    private readonly headers = 'Host: slow.local\r\n',
  ) {
    for (let i = 0; i < count; i++) this.open(i % 3);
    let tick = 0;
    this.timer = setInterval(() => {
      tick++;
      const header = 'X-Slow: 1\r\n';
      for (const s of this.live) {
        const mode = (s as net.Socket & { mode?: number }).mode;
        if (!s.writable || s.connecting) continue;
        if (mode === 1) s.write(header.charAt(tick % header.length));
        else if (mode === 2) s.write('x');
      }
    }, 200);
  }

  /** True once the attack has used its whole budget of connections. */
  get spent(): boolean {
    return this.opened >= this.budget;
  }

  private open(mode: number): void {
    if (this.stopped || this.opened >= this.budget) return;
    this.opened++;
    // From its own address, as one attacking host is (the normal client comes from 127.0.0.1).
    const s = net.connect({ port: this.port, host: '127.0.0.1', localAddress: ATTACKER_ADDRESS }) as net.Socket & {
      mode?: number;
    };
    s.mode = mode;
    this.live.add(s);
    s.on('connect', () => {
      if (mode === 1) s.write(`POST /slow HTTP/1.1\r\n${this.headers}`);
      if (mode === 2)
        s.write(`POST /slow HTTP/1.1\r\n${this.headers}Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n`);
    });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => {
      this.live.delete(s);
      if (this.stopped) return;
      this.closedByServer++;
      // Each reopens on its own schedule, as the connections of a real attacker do.
      setTimeout(() => this.open(mode), 250 + Math.floor(Math.random() * 750)).unref();
    });
  }

  /** Waits until every connection was opened once. */
  async ready(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ([...this.live].some((s) => s.connecting) && Date.now() < deadline) await sleep(20);
  }

  /** Stops reopening; resolves with how many connections the server left open after `waitMs`. */
  async stop(waitMs: number): Promise<number> {
    this.stopped = true;
    const counted = new Set(this.live);
    for (const s of counted)
      s.removeAllListeners('close').on('close', () => {
        counted.delete(s);
        this.live.delete(s);
      });
    const deadline = Date.now() + waitMs;
    while (counted.size && Date.now() < deadline) await sleep(50);
    const left = counted.size;
    clearInterval(this.timer);
    for (const s of this.live) s.destroy();
    return left;
  }
}

describe('slow clients', () => {
  let child: ChildProcess;
  let dir: string;
  let api = 0;
  let gateway = 0;
  const call = <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    request<T>(`http://127.0.0.1:${api}${path}`, method, { body, headers });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-slow-'));
    // The limit applies to the dashboard and, inherited, to its replicas.
    child = spawn(
      'bash',
      [
        '-c',
        `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`,
        process.execPath,
        MAIN,
        '--listen-addr',
        '127.0.0.1:0',
        '--gateway-listen-addr',
        '127.0.0.1:0',
        '--data-dir',
        dir,
        '--max-connections',
        String(CAP),
        '--headers-timeout',
        '1s',
        '--request-timeout',
        '2s',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout! });
    const listening = await new Promise<{ url: string; gatewayUrl: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the dashboard did not start within 20 s')), 20_000);
      lines.on('line', (line) => {
        try {
          const rec = JSON.parse(line) as { url?: string; gatewayUrl?: string };
          if (rec.url && rec.gatewayUrl) {
            clearTimeout(timer);
            resolve({ url: rec.url, gatewayUrl: rec.gatewayUrl });
          }
        } catch {
          /* not JSON */
        }
      });
      child.once('exit', (code) => reject(new Error(`the dashboard exited with ${code}`)));
    });
    lines.on('line', () => {});
    api = Number(new URL(listening.url).port);
    gateway = Number(new URL(listening.gatewayUrl).port);
    const src = 'exports.handler = (c, e) => c.callback("served " + e.method);';
    assert.equal(
      (
        await call(
          'POST',
          '/api/functions',
          functionBody('slow-fn', 'nodejs', src, { spec: { minReplicas: 0, maxReplicas: 1 } }),
        )
      ).status,
      202,
    );
    assert.equal(
      (
        await call('POST', '/api/api_gateways', {
          metadata: { name: 'slow-gw' },
          spec: {
            host: 'slow.local',
            path: '/',
            upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'slow-fn' } }],
          },
        })
      ).status,
      202,
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      const fn = (await call<FunctionRecord | undefined>('GET', '/api/functions/slow-fn')).json;
      if (fn?.status?.state === 'ready') break;
      if (fn?.status?.state === 'error' || Date.now() > deadline)
        throw new Error(`slow-fn: ${JSON.stringify(fn?.status)}`);
      await sleep(100);
    }
  });

  after(async () => {
    child?.kill('SIGTERM');
    await new Promise((r) => {
      if (child.exitCode !== null) r(undefined);
      else child.once('exit', r);
    });
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Runs an attack on `port` while a normal client makes 10 requests with `serve`; checks each is served,
   * that the processes in `watch` stay within their descriptor bound (`perConnection` descriptors per
   * allowed connection), and that the server closes every slow connection once the attack stops reopening.
   */
  async function underAttack(
    t: { diagnostic(msg: string): void },
    port: number,
    serve: () => Promise<{ status: number; text: string; ms: number }>,
    want: RegExp,
    watch: () => number[],
    perConnection = 1,
  ) {
    const baseline = new Map(watch().map((pid) => [pid, fdCount(pid)]));
    // The budget only keeps a runaway attack bounded: reopening (each after 0.25–1 s) lasts as long as the
    // normal client takes.
    const attack = new Slowloris(port, ATTACKERS, 100 * ATTACKERS);
    await attack.ready();
    // The first burst settles (connections being passed to a replica are in flight for a moment).
    await sleep(300);
    let worstMs = 0;
    let peakFds = 0;
    let closedDuring: number;
    let left: number;
    try {
      for (let i = 0; i < 10; i++) {
        assert.ok(!attack.spent, 'the attack still reopens what the server closes when the client comes');
        const res = await serve();
        assert.ok(
          res.status === 200 && want.test(res.text),
          `request ${i} during the attack: ${res.status} ${res.text.slice(0, 120)}`,
        );
        worstMs = Math.max(worstMs, res.ms);
        for (const pid of watch()) {
          const n = fdCount(pid);
          peakFds = Math.max(peakFds, n);
          const base = baseline.get(pid) ?? n;
          assert.ok(
            n <= base + perConnection * CAP + SLACK,
            `process ${pid} holds ${n} descriptors (baseline ${base}, cap ${CAP}): ${socketBreakdown(pid)}`,
          );
        }
        await sleep(100);
      }
    } finally {
      closedDuring = attack.closedByServer;
      left = await attack.stop(8_000);
    }
    t.diagnostic(
      `opened ${attack.opened} slow connections, ${closedDuring} closed by the server during the attack; normal ` +
        `client: worst ${worstMs} ms; peak descriptors ${peakFds}; left open 8 s after the attack stopped: ${left}`,
    );
    assert.ok(
      closedDuring >= ATTACKERS - CAP,
      `the server was full: it closed ${closedDuring} of ${attack.opened} slow connections while the attack went on`,
    );
    assert.equal(left, 0, 'every slow connection is closed by the server');
  }

  it('the dashboard API serves a normal client while slow clients hold more connections than it allows', async (t) => {
    await underAttack(
      t,
      api,
      () => probe(api, '/api/versions'),
      /"dashboard"/,
      () => [child.pid!],
    );
  });

  it('the API gateway listener does too', async (t) => {
    // A forwarded request costs the dashboard up to 4 descriptors: the client's, the upstream connection's,
    // and that connection's accepted end on the function port (held, or being passed to the replica).
    await underAttack(
      t,
      gateway,
      () => probe(gateway, '/hello', { host: 'slow.local' }),
      /served GET/,
      () => [child.pid!],
      4,
    );
  });

  // On a function port the dashboard holds up to the cap for a replica, and passes up to the cap at once.
  it('a function port with a replica up does too (the replica bounds its connections)', async (t) => {
    const port = (await call<FunctionRecord>('GET', '/api/functions/slow-fn')).json.status.httpPort ?? 0;
    await underAttack(
      t,
      port,
      () => probe(port, '/'),
      /served GET/,
      () => [child.pid!, ...replicaPids(child.pid!)],
      2,
    );
  });

  it('a function port while the function wakes from zero does too (held connections are bounded)', async (t) => {
    const port = (await call<FunctionRecord>('GET', '/api/functions/slow-fn')).json.status.httpPort ?? 0;
    const parked = await call(
      'PATCH',
      '/api/functions/slow-fn',
      { desiredState: 'scaledToZero' },
      { 'x-nuclio-wait-function-action': 'true' },
    );
    assert.equal(parked.status, 204, parked.text);
    assert.equal((await call<FunctionRecord>('GET', '/api/functions/slow-fn')).json.status.state, 'scaledToZero');
    await underAttack(
      t,
      port,
      () => probe(port, '/'),
      /served GET/,
      () => [child.pid!, ...replicaPids(child.pid!)],
      2,
    );
    // The dashboard's own API was never starved meanwhile.
    assert.equal((await probe(api, '/api/versions')).status, 200);
  });
});
