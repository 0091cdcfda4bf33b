/**
 * `protium invoke --async` and `protium invocations list|get|retry|discard`, end to end: the built CLI
 * (bin/protium.js) as a subprocess against a real dashboard and a real function that fails until a flag
 * file exists — queue, see the dead letter, fix the function, requeue it, see it succeed, discard another;
 * bad input is one line and exit 2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InvocationList } from '../../src/async/async-invocations.js';
import type { InvocationView } from '../../src/async/invocation.js';
import { ended, WORKER, type WorkerAnswer } from '../helpers/async-invocations.js';
import { deploy, functionBody, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';

const BIN = fileURLToPath(new URL('../../../bin/protium.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(url: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PROTIUM_URL: url };
  delete env.PROTIUM_TOKEN;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : -1
        : 0;
      if (err && code === -1) return reject(new Error(`protium ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exactly one `protium: …` line on stderr matching `re`, nothing on stdout, exit `code`. */
function oneErrorLine(r: Run, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^protium: /);
  assert.match(lines[0], re);
}

describe('protium invoke --async and protium invocations', () => {
  let d: TestDashboard;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'protium-async-cli-'));
    d = await startTestDashboard({ asyncRetryDelay: '100ms' });
    await deploy(d, functionBody('cli-async', 'nodejs', WORKER));
  });
  after(async () => {
    await d?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('queues with --async, lists the dead letter, requeues it once the function is fixed, discards another', async () => {
    const flag = join(work, 'fixed');
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const r = await cli(d.url, [
        'invoke',
        'cli-async',
        '--async',
        '--max-attempts',
        '2',
        '--body',
        JSON.stringify({ n, flag }),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      assert.match(id, /^[0-9a-f-]{36}$/, 'the id alone on stdout');
      assert.match(r.stderr, new RegExp(`protium invocations get ${id}`));
      ids.push(id);
    }
    const [first, second] = ids as [string, string];
    for (const id of ids) assert.equal((await ended(d, id)).state, 'dead');

    const list = await cli(d.url, ['invocations', 'list', 'cli-async', '--state', 'dead']);
    assert.equal(list.code, 0, list.stderr);
    const [header, ...rows] = list.stdout.trim().split('\n');
    assert.deepEqual(header.split(/\s{2,}/), ['ID', 'STATE', 'ATTEMPTS', 'OUTCOME', 'AGE']);
    assert.deepEqual(
      rows.map((l) => l.split(/\s{2,}/).slice(0, 4)),
      [
        [second, 'dead', '2', '500'],
        [first, 'dead', '2', '500'],
      ],
      'newest first',
    );
    assert.match(list.stderr, /cli-async: 2 dead/);

    const got = await cli(d.url, ['invocations', 'get', first]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stderr, /state: +dead/);
    assert.match(got.stderr, /attempts: +2 \(0 of 2 left\)/);
    assert.match(got.stderr, /answer: +500/);
    assert.equal((JSON.parse(got.stdout) as WorkerAnswer).n, 1, "the function's last answer on stdout");

    writeFileSync(flag, 'fixed');
    const retry = await cli(d.url, ['invocations', 'retry', first, '--max-attempts', '1']);
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(retry.stdout, `Invocation ${first} queued again\n`);
    const done = await ended(d, first);
    assert.equal(done.state, 'succeeded');
    const json = await cli(d.url, ['invocations', 'get', first, '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const inv = JSON.parse(json.stdout) as InvocationView;
    assert.equal(inv.state, 'succeeded');
    assert.deepEqual(
      inv.attemptHistory.map((a) => a.status),
      [500, 500, 200],
    );

    const discard = await cli(d.url, ['invocations', 'discard', second]);
    assert.equal(discard.code, 0, discard.stderr);
    assert.equal(discard.stdout, `Invocation ${second} discarded\n`);
    oneErrorLine(await cli(d.url, ['invocations', 'get', second]), 1, new RegExp(second));
    oneErrorLine(await cli(d.url, ['invocations', 'retry', first]), 1, /is succeeded: only a dead or failed/);

    const left = await cli(d.url, ['invocations', 'list', 'cli-async', '-o', 'json']);
    assert.equal(left.code, 0, left.stderr);
    assert.deepEqual(
      (JSON.parse(left.stdout) as InvocationList).invocations.map((x) => [x.id, x.state]),
      [[first, 'succeeded']],
    );
  });

  it('meets bad input with one line: an unknown state, async-only flags without --async, a missing function', async () => {
    oneErrorLine(await cli(d.url, ['invocations', 'list', 'cli-async', '--state', 'lost']), 2, /--state "lost"/);
    oneErrorLine(
      await cli(d.url, ['invoke', 'cli-async', '--callback-url', 'http://127.0.0.1:1/']),
      2,
      /--callback-url needs --async/,
    );
    oneErrorLine(await cli(d.url, ['invocations', 'list', 'no-such-function']), 1, /no-such-function/);
    oneErrorLine(await cli(d.url, ['invocations', 'list', 'cli-async', '--since', 'yesterday']), 1, /since/);
  });
});
