/**
 * Pre-started processors (--prewarm, issue 19): a function waking from zero takes a generic processor the
 * pool started before it knew the function, and must then be exactly the replica a cold start makes — its
 * own environment and nothing of the pool's, its home, its working folder, its installed modules and
 * sibling python modules importable — while the pool starts a replacement. A process serves one function
 * once: two functions never share one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deploy, functionBody, sleep, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import { procText } from '../helpers/proc.js';
import type { LocalPlatform } from '../../src/platform/local/local-platform.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const NODE_SRC = `exports.handler = (context, event) => context.callback(JSON.stringify({
  secret: process.env.SECRET,
  pool: process.env.PROTIUM_PROCESSOR_POOL ?? null,
  home: process.env.HOME,
  cwd: process.cwd(),
}));
`;

const PY_MAIN = `import os, json
import helper

def handler(context, event):
    return json.dumps({'secret': os.environ.get('SECRET'), 'pool': os.environ.get('PROTIUM_PROCESSOR_POOL'),
                       'home': os.environ.get('HOME'), 'cwd': os.getcwd(), 'helper': helper.VALUE,
                       'argv': open('/proc/self/cmdline').read().split('\\0')})
`;

const scaled = { minReplicas: 0, maxReplicas: 1 };

/** What the handlers above answer. */
interface Answer {
  secret?: string;
  pool: string | null;
  home: string;
  cwd: string;
  helper?: number;
  argv: string[];
}

interface Woken {
  answer: Answer;
  /** The pool's ready processes just before the wake. */
  pooled: number[];
  replicaPids: number[];
}

describe('pre-started processors (--prewarm)', () => {
  let d: TestDashboard;
  const pool = () => (d.dashboard.platform as LocalPlatform).pool!;

  async function poolReady(): Promise<number[]> {
    for (let i = 0; i < 300; i++) {
      const pids = pool().readyPids();
      if (pids.length) return pids;
      await sleep(50);
    }
    throw new Error('the pool never had a processor ready');
  }

  async function wake(fn: FunctionRecord): Promise<Woken> {
    const name = fn.metadata.name ?? '';
    const port = fn.status.httpPort ?? 0;
    const parked = await d.api('PATCH', `/api/functions/${name}`, {
      body: { desiredState: 'scaledToZero' },
      headers: { 'x-nuclio-wait-function-action': 'true' },
    });
    assert.ok(parked.status < 300, `scale ${name} to zero: ${parked.status} ${parked.text}`);
    const before = await poolReady();
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    // The held connection reaches the replica before it reports ready (the early hand-over): the answer
    // may come a moment before the platform lists it.
    let replicas = await d.dashboard.platform.replicas({ namespace: 'nuclio', name });
    for (let i = 0; i < 100 && !replicas.length; i++) {
      await sleep(20);
      replicas = await d.dashboard.platform.replicas({ namespace: 'nuclio', name });
    }
    return { answer: JSON.parse(text) as Answer, pooled: before, replicaPids: replicas.map((r) => r.pid ?? 0) };
  }

  before(async () => {
    d = await startTestDashboard({ prewarm: '1' });
  });
  after(async () => {
    await d.close();
  });

  it('a nodejs function woken from zero runs in a pooled processor with its own env, home and folder only', async () => {
    const one = await deploy(
      d,
      functionBody('warm-one', 'nodejs', NODE_SRC, { spec: { ...scaled, env: [{ name: 'SECRET', value: 'one' }] } }),
    );
    const two = await deploy(
      d,
      functionBody('warm-two', 'nodejs', NODE_SRC, { spec: { ...scaled, env: [{ name: 'SECRET', value: 'two' }] } }),
    );
    const a = await wake(one);
    assert.ok(
      a.replicaPids.some((p) => a.pooled.includes(p)),
      `the replica (${a.replicaPids.join(', ')}) is a pooled process (${a.pooled.join(', ')})`,
    );
    assert.equal(a.answer.secret, 'one');
    assert.equal(a.answer.pool, null, "the pool's own variable is gone: the environment is the function's alone");
    assert.match(a.answer.home, /\/home\/nuclio\/warm-one$/);
    assert.ok(existsSync(join(a.answer.cwd, 'handler.js')), `works in its artifact folder (${a.answer.cwd})`);

    // The pool started a replacement: the next function gets another process, never the first one's.
    const b = await wake(two);
    assert.equal(b.answer.secret, 'two');
    assert.notEqual(b.replicaPids[0], a.replicaPids[0]);
    assert.ok(!a.pooled.includes(b.replicaPids[0]), 'a process taken once is not pooled again');
    // The python interpreter the pooled processor started for a python function is not left running.
    const pythons = pythonsInGroup(b.replicaPids[0]);
    assert.deepEqual(pythons, [], 'no pooled python worker lingers in a nodejs replica');
  });

  it('a python function woken from zero takes the pooled interpreter, with its env, folder and sibling modules', async () => {
    // Inline code is one file: the module next to the handler comes from a build command.
    const deployed = await deploy(
      d,
      functionBody('warm-py', 'python:3.9', PY_MAIN, {
        spec: {
          ...scaled,
          env: [{ name: 'SECRET', value: 'py' }],
          build: {
            functionSourceCode: Buffer.from(PY_MAIN).toString('base64'),
            commands: ["printf 'VALUE = 42\\n' > helper.py"],
          },
        },
      }),
    );
    const w = await wake(deployed);
    assert.equal(w.answer.secret, 'py');
    assert.equal(w.answer.pool, null);
    assert.equal(w.answer.helper, 42, 'a module next to the handler imports');
    assert.ok(existsSync(join(w.answer.cwd, 'main.py')), `works in its artifact folder (${w.answer.cwd})`);
    assert.ok(w.answer.argv.includes('--pooled'), `the worker is the pooled interpreter (${w.answer.argv.join(' ')})`);
  });
});

/**
 * Python workers started for the pool in process group `pgid` (a replica's: the group of its pid, as the
 * dashboard sees it).
 */
function pythonsInGroup(pgid: number): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procText(entry, 'stat');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid || /^Z/.test(fields[0] ?? '')) continue;
    const argv = procText(entry, 'cmdline').split('\0');
    if (argv.includes('--pooled')) out.push(argv.join(' '));
  }
  return out;
}
