/**
 * Process containment without the sandbox (issue 12, item 12): whatever a handler starts — a `setsid`
 * child, a double-forked `nohup` daemon, a python subprocess in a new session — ends with its replica,
 * whether the function is deleted, the replica is killed with -9, or it is replaced by an update.
 * Processes are found through /proc by a marker in their environment, never by machine-wide counts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBwrap } from '../../src/platform/local/sandbox.js';
import {
  b64,
  deploy,
  functionBody,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';
import { procText } from '../helpers/proc.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;

/** Live processes (not zombies) whose environment holds `name=value`. */
function markedPids(name: string, value: string): number[] {
  const needle = `${name}=${value}\0`;
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      out.push(Number(pid));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

async function gone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const alive = () =>
    pids.filter((p) => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false;
      }
    });
  const t0 = Date.now();
  while (alive().length && Date.now() - t0 < timeoutMs) await sleep(100);
  return alive();
}

/** A handler that starts detached processes and answers with their pids (as it sees them). */
const NODE_DETACHER = `
const { spawn, execSync } = require('child_process');
exports.handler = (c) => {
  const a = spawn('setsid', ['sleep', '1000'], { detached: true, stdio: 'ignore' });
  a.unref();
  execSync('nohup sh -c "sleep 1000 & exit 0" >/dev/null 2>&1 &');
  c.callback('started');
};`;

const PY_DETACHER = `
import subprocess
def handler(context, event):
    subprocess.Popen(['sleep', '1000'], start_new_session=True)
    return 'started'
`;

const SHELL_DETACHER = '#!/bin/sh\nsetsid sleep 1000 </dev/null >/dev/null 2>&1 &\necho started\n';

describe('process containment (--sandbox none)', () => {
  let d: TestDashboard;
  after(async () => {
    await d?.close();
  });

  it("a handler's setsid and nohup children end when the function is deleted (nodejs, python, shell)", async () => {
    d = await startTestDashboard();
    const cases: [string, string, string][] = [
      ['det-node', 'nodejs', NODE_DETACHER],
      ['det-py', 'python:3.9', PY_DETACHER],
      ['det-sh', 'shell', SHELL_DETACHER],
    ];
    for (const [name, runtime, src] of cases) {
      const mark = randomBytes(6).toString('hex');
      const fn = await deploy(
        d,
        functionBody(name, runtime, src, { spec: { env: [{ name: 'PROTIUM_TEST_MARK', value: mark }] } }),
      );
      assert.equal(
        (await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'x' })).text.trim(),
        'started',
      );
      const sleepers = () =>
        markedPids('PROTIUM_TEST_MARK', mark).filter((p) => procText(p, 'cmdline').startsWith('sleep\0'));
      // Wait for the detached processes to exist (the nohup one is started asynchronously).
      const t0 = Date.now();
      while (sleepers().length < (runtime === 'nodejs' ? 2 : 1) && Date.now() - t0 < 5_000) await sleep(50);
      const detached = sleepers();
      assert.ok(detached.length >= 1, `${name}: the handler started its detached children`);
      const all = markedPids('PROTIUM_TEST_MARK', mark);
      assert.equal((await d.api('DELETE', '/api/functions', { body: { metadata: { name } } })).status, 204);
      const left = await gone(all);
      assert.deepEqual(
        left,
        [],
        `${name}: processes left after the ` +
          `delete: ${left.map((p) => procText(p, 'cmdline').replace(/\0/g, ' ')).join('; ')}`,
      );
    }
  });

  it('a replica killed with -9 takes its detached children along, and the restarted one serves', async () => {
    const mark = randomBytes(6).toString('hex');
    const fn = await deploy(
      d,
      functionBody('det-kill', 'python:3.9', PY_DETACHER, {
        spec: { env: [{ name: 'PROTIUM_TEST_MARK', value: mark }] },
      }),
    );
    await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'x' });
    const before = markedPids('PROTIUM_TEST_MARK', mark);
    const processor = before.find((p) => procText(p, 'cmdline').startsWith(`${process.execPath}\0`));
    assert.ok(processor, 'the processor runs');
    process.kill(processor, 'SIGKILL');
    const left = await gone(before);
    assert.deepEqual(
      left,
      [],
      `left after the kill: ${left.map((p) => procText(p, 'cmdline').replace(/\0/g, ' ')).join('; ')}`,
    );
    await waitFor(d, 'det-kill', (f) => f.status.state === 'ready', 10_000);
    assert.equal((await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'x' })).text, 'started');
  });

  it('an update replaces the replica and its detached children end with the old one', async () => {
    const mark = randomBytes(6).toString('hex');
    const body = functionBody('det-update', 'nodejs', NODE_DETACHER, {
      spec: { env: [{ name: 'PROTIUM_TEST_MARK', value: mark }] },
    });
    const fn = await deploy(d, body);
    await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'x' });
    await sleep(200);
    const before = markedPids('PROTIUM_TEST_MARK', mark);
    const src2 = `${NODE_DETACHER}\n// v2`;
    const res = await d.api('PUT', '/api/functions/det-update', {
      body: { ...body, spec: { ...body.spec, build: { functionSourceCode: b64(src2) } } },
    });
    assert.equal(res.status, 202);
    await waitFor(d, 'det-update', (f) => f.status.state === 'ready' && f.spec.build.functionSourceCode === b64(src2));
    // The old replica drains (a few seconds), then it and everything it started are gone.
    const left = await gone(before, 20_000);
    assert.deepEqual(left, []);
  });
});

describe(
  'process containment for a dashboard that is not root',
  {
    skip:
      process.getuid?.() !== 0
        ? 'needs root to become another user'
        : !existsSync('/usr/bin/setpriv')
          ? 'needs setpriv'
          : false,
  },
  () => {
    const NOBODY = 65_534;
    const dir = mkdtempSync(join(tmpdir(), 'protium-nobody-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const sandbox of ['none', ...(findBwrap() ? ['bwrap'] : [])]) {
      it(`--sandbox ${sandbox}: replicas run as that user, in a PID namespace (through a user namespace), and a setsid child ends with the delete`, async (t) => {
        const data = join(dir, `data-${sandbox}`);
        const home = join(dir, `home-${sandbox}`);
        for (const d of [data, home]) {
          mkdirSync(d);
          chownSync(d, NOBODY, NOBODY);
        }
        chownSync(dir, NOBODY, NOBODY);
        // The dashboard runs as nobody from this checkout: it must be readable by others (a clone inside a
        // mode-700 folder such as `mktemp -d` is not).
        const readable = spawnSync('setpriv', [
          '--reuid',
          String(NOBODY),
          '--regid',
          String(NOBODY),
          '--clear-groups',
          '--',
          'test',
          '-r',
          MAIN,
        ]);
        assert.equal(readable.status, 0, `user nobody cannot read ${MAIN}: put the checkout where others can read it`);
        const port = 19_200 + Math.floor(Math.random() * 400);
        const lo = 20_000 + Math.floor(Math.random() * 9_000);
        const dash = spawn(
          'setpriv',
          [
            '--reuid',
            String(NOBODY),
            '--regid',
            String(NOBODY),
            '--clear-groups',
            '--',
            process.execPath,
            MAIN,
            '--listen-addr',
            `127.0.0.1:${port}`,
            '--gateway-listen-addr',
            '127.0.0.1:0',
            '--data-dir',
            data,
            '--port-range',
            `${lo}-${lo + 20}`,
            '--sandbox',
            sandbox,
            '--log-level',
            'info',
          ],
          { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        t.after(() => {
          dash.kill('SIGKILL');
        });
        let out = '';
        dash.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        const api = <T = unknown>(method: string, path: string, body?: unknown) =>
          request<T>(`http://127.0.0.1:${port}${path}`, method, { body });
        const t0 = Date.now();
        while (
          (await api('GET', '/api/versions').then(
            (r) => r.status,
            () => 0,
          )) !== 200
        ) {
          assert.ok(Date.now() - t0 < 20_000 && dash.exitCode === null, `the dashboard started: ${out}`);
          await sleep(100);
        }
        const containment = out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { containment?: string })
          .find((l) => l.containment);
        assert.equal(
          containment?.containment,
          sandbox === 'bwrap' ? 'bwrap' : 'pid-namespace',
          'the start-up log says which containment is in use',
        );
        const mark = randomBytes(6).toString('hex');
        assert.equal(
          (
            await api(
              'POST',
              '/api/functions',
              functionBody('det-nobody', 'nodejs', NODE_DETACHER, {
                spec: { env: [{ name: 'PROTIUM_TEST_MARK', value: mark }] },
              }),
            )
          ).status,
          202,
        );
        let fn: FunctionRecord | undefined;
        while (
          (fn = (await api<FunctionRecord | undefined>('GET', '/api/functions/det-nobody')).json)?.status?.state !==
          'ready'
        ) {
          assert.notEqual(fn?.status?.state, 'error', fn?.status?.message);
          assert.ok(Date.now() - t0 < 60_000, 'deployed');
          await sleep(100);
        }
        assert.equal(
          (await request(`http://127.0.0.1:${fn?.status.httpPort}/`, 'POST', { body: 'x' })).text,
          'started',
        );
        await sleep(300);
        const all = markedPids('PROTIUM_TEST_MARK', mark);
        assert.ok(
          all.some((p) => procText(p, 'cmdline').startsWith('sleep\0')),
          'the detached children run',
        );
        for (const p of all)
          assert.match(
            readFileSync(`/proc/${p}/status`, 'utf8'),
            new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'),
            `process ${p} runs as the dashboard's user`,
          );
        assert.equal((await api('DELETE', '/api/functions', { metadata: { name: 'det-nobody' } })).status, 204);
        assert.deepEqual(await gone(all), []);
        dash.kill('SIGTERM');
        await new Promise((r) => dash.once('exit', r));
      });
    }
  },
);
