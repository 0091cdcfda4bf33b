/**
 * Faults: a dashboard killed with -9 in the middle of builds and traffic, and again at random points of a
 * create/update/delete/import loop; replicas killed or crashing in a loop, a handler that leaks memory
 * past its limit, a data dir that is not writable or fills up. After each, the platform must come back to
 * the desired state with nothing lost, duplicated or left running.
 *
 * Processes are audited through /proc, as an operator would: every process with the data dir in its
 * environment or working directory (replicas, their wrappers, python workers, shell children and whatever
 * a handler detached, build commands) must belong to a replica the restarted dashboard lists, in the
 * numbers the store asks for. (`npm run test:faults` runs this file alone, with PROTIUM_FAULT_CYCLES=50.)
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config.js';
import { startDashboard, StartupError } from '../../src/dashboard.js';
import { silentLogger } from '../../src/log.js';
import { PROCESSOR_MAIN } from '../../src/paths.js';
import { candidatePorts } from '../../src/platform/local/port-pool.js';
import {
  artifactOf,
  b64,
  deploy,
  functionBody,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type Answer,
  type ReplicaNames,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord, Trigger } from '../../src/resources/types.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
/** Kill cycles of the fault loop: 50 under `npm run test:faults`, a few in `npm test`. */
const CYCLES = Number(process.env.PROTIUM_FAULT_CYCLES ?? 4);
/**
 * A window of function ports of its own, below the ephemeral range and away from the default range other
 * dashboards on this machine use: a restarted dashboard must find its ports free.
 */
const portWindow = (size: number): [number, number] => {
  const lo = 20_000 + Math.floor(Math.random() * 9_000);
  return [lo, lo + size - 1];
};
const at = (fn: FunctionRecord, path = '/') => `http://127.0.0.1:${fn.status.httpPort}${path}`;

/** A process started for a data dir, as /proc shows it. */
interface Proc {
  pid: number;
  argv: string[];
  /** The replica it belongs to (from PROTIUM_PROCESSOR_CONFIG), if any. */
  replica?: string;
  /** Part of a build (its HOME or working directory is a staging folder). */
  build: boolean;
  role: 'processor' | 'python-worker' | 'wrapper' | 'child';
}

/** Every live process whose environment or working directory is inside `dataDir`, but `exclude`. */
function processesOf(dataDir: string, exclude: number[] = []): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || exclude.includes(Number(entry))) continue;
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${entry}/status`, 'utf8'))) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        /* not ours to read */
      }
      if (!env.some((kv) => kv.includes(`=${dataDir}/`)) && !cwd.startsWith(`${dataDir}/`)) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const config = env
        .find((kv) => kv.startsWith('PROTIUM_PROCESSOR_CONFIG='))
        ?.slice('PROTIUM_PROCESSOR_CONFIG='.length);
      const home = env.find((kv) => kv.startsWith('HOME=')) ?? '';
      const role =
        argv[0] === process.execPath && argv.includes(PROCESSOR_MAIN)
          ? 'processor'
          : argv.some((a) => a.endsWith('/wrapper.py'))
            ? 'python-worker'
            : argv.includes(PROCESSOR_MAIN) || argv.includes('protium-init')
              ? 'wrapper'
              : 'child';
      out.push({
        pid: Number(entry),
        argv,
        ...(config ? { replica: basename(config, '.json') } : {}),
        build: home.includes('/.staging-') || cwd.includes('/.staging-'),
        role,
      });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const describeProcs = (ps: Proc[]) =>
  ps
    .map(
      (p) =>
        `${p.pid} ${p.role}${p.replica ? ` of ${p.replica}` : ''}${p.build ? ' (build)' : ''}: ` +
        `${p.argv.join(' ').slice(0, 120)}`,
    )
    .join('\n');

/** The processor processes of `dataDir` (the node programs, not their wrappers). */
const processorPids = (dataDir: string) =>
  processesOf(dataDir)
    .filter((p) => p.role === 'processor')
    .map((p) => p.pid);

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A dashboard in its own process, so that it can be killed with -9. */
async function dashboardProcess(dataDir: string, port: number, range: [number, number]): Promise<ChildProcess> {
  const args = [
    MAIN,
    '--listen-addr',
    `127.0.0.1:${port}`,
    '--gateway-listen-addr',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--port-range',
    `${range[0]}-${range[1]}`,
    '--log-level',
    'warn',
  ];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  await until(
    'dashboard up',
    async () => {
      if (child.exitCode !== null) throw new Error(`the dashboard exited (${child.exitCode})`);
      return (await request(`http://127.0.0.1:${port}/api/versions`, 'GET').then(
        (r) => r.status,
        () => 0,
      )) === 200
        ? true
        : undefined;
    },
    30_000,
  );
  return child;
}

/** The functions as stored (read from the store file of a dashboard that is not running). */
function storedFunctions(dataDir: string): Map<string, FunctionRecord> {
  const db = new Database(join(dataDir, 'store.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT name, body FROM resources WHERE kind = 'function'").all() as {
      name: string;
      body: string;
    }[];
    return new Map(rows.map((r) => [r.name, JSON.parse(r.body) as FunctionRecord]));
  } finally {
    db.close();
  }
}

/** A request to a dashboard (of another process, or in this one); `T` as in `Answer<T>`. */
/** POST /api/projects?import=true: per resource family, how many were created. */
type ImportAnswer = Record<string, { createdAmount?: number } | undefined>;

type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<Answer<T>>;

const SETTLED = new Set(['ready', 'error', 'scaledToZero', 'imported']);

/** Waits until no function has work pending; returns them all. */
async function settled(api: Api, timeoutMs = 120_000): Promise<Record<string, FunctionRecord>> {
  return until(
    'every function settled',
    async () => {
      const list = (await api<Record<string, FunctionRecord>>('GET', '/api/functions')).json;
      return Object.values(list).every((f) => SETTLED.has(f.status?.state ?? '')) ? list : undefined;
    },
    timeoutMs,
  );
}

/** The version a handler answers with is built into its source: `VERSION=<v>;`. */
const versionOf = (fn: FunctionRecord) =>
  /VERSION=([\w@.-]+);/.exec(Buffer.from(fn.spec.build.functionSourceCode ?? '', 'base64').toString())?.[1];

/**
 * Compares the store with every process of the data dir: each process belongs to a replica the dashboard
 * lists for an existing function; each listed replica has one processor (and numWorkers python workers);
 * each running function has its replicas (no more, no fewer); no build runs; and each running function
 * answers with the version stored for it. Returns the problems found (empty: consistent).
 */
async function audit(api: Api, dataDir: string, dashboardPid: number): Promise<string[]> {
  const problems: string[] = [];
  const fns = (await api<Record<string, FunctionRecord>>('GET', '/api/functions')).json;
  const listed = new Map<string, string>();
  for (const [name, fn] of Object.entries(fns)) {
    const names = (await api<ReplicaNames | undefined>('GET', `/api/functions/${name}/replicas`)).json?.names ?? [];
    for (const r of names) listed.set(r, name);
    const state = fn.status.state;
    const want = state === 'ready' ? Math.max(fn.spec.minReplicas ?? 1, 1) : 0;
    if (names.length !== want)
      problems.push(`${name} (${state}) lists ${names.length} replicas, the store asks for ${want}`);
    if (state === 'error') problems.push(`${name} is in error: ${fn.status.message}`);
  }
  const procs = processesOf(dataDir, [dashboardPid]);
  const orphans = procs.filter((p) => !p.replica || !listed.has(p.replica));
  if (orphans.length) problems.push(`processes no listed replica owns:\n${describeProcs(orphans)}`);
  for (const [replica, name] of listed) {
    const mine = procs.filter((p) => p.replica === replica);
    const processors = mine.filter((p) => p.role === 'processor').length;
    if (processors !== 1) problems.push(`replica ${replica} of ${name} has ${processors} processor processes`);
    const fn = fns[name];
    if (fn.spec.runtime?.startsWith('python')) {
      const want: Trigger | undefined = Object.values(fn.spec.triggers ?? {}).find((t) => t.kind === 'http');
      const workers = mine.filter((p) => p.role === 'python-worker').length;
      if (workers !== (want?.numWorkers ?? 1))
        problems.push(
          `replica ${replica} of ${name} has ${workers} python workers, numWorkers is ${want?.numWorkers ?? 1}`,
        );
    }
  }
  if (procs.some((p) => p.build))
    problems.push(`build processes run while nothing builds:\n${describeProcs(procs.filter((p) => p.build))}`);
  for (const [name, fn] of Object.entries(fns)) {
    if (fn.status.state !== 'ready') continue;
    const served = await request(at(fn), 'GET', { timeoutMs: 10_000 }).then(
      (r) => r.text,
      (e) => `(${(e as Error).message})`,
    );
    if (served !== versionOf(fn))
      problems.push(`${name} serves ${JSON.stringify(served)}, the store has version ${versionOf(fn)}`);
  }
  return problems;
}

/** A nodejs handler answering its version. */
const nodeSrc = (v: string) => `// VERSION=${v};\nexports.handler = (c) => c.callback(${JSON.stringify(v)});`;
/** A python handler answering its version. */
const pySrc = (v: string) => `# VERSION=${v};\ndef handler(context, event):\n    return ${JSON.stringify(v)}\n`;
/** A shell handler answering its version, leaving a detached child behind at every call. */
const shSrc = (v: string) =>
  `#!/bin/sh\n# VERSION=${v};\nsetsid sleep 1000 </dev/null >/dev/null 2>&1 &\nprintf '%s' ${JSON.stringify(v)}\n`;

describe('faults', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('kill -9 of the dashboard during a build and traffic: everything it started goes, and a restart brings back every function and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-fault-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = 18_600 + Math.floor(Math.random() * 300);
    const base = `http://127.0.0.1:${port}`;
    const api: Api = (method, path, body) => request(`${base}${path}`, method, { body });
    const range = portWindow(40);
    let dash = await dashboardProcess(dir, port, range);
    cleanups.push(() => {
      dash.kill('SIGKILL');
    });
    const fnReady = async (name: string) =>
      until(
        `${name} ready`,
        async () => {
          const f = (await api<FunctionRecord | undefined>('GET', `/api/functions/${name}`)).json;
          if (f?.status?.state === 'error') throw new Error(`${name}: ${f.status.message}`);
          return f?.status?.state === 'ready' ? f : undefined;
        },
        60_000,
      );
    const pyWorkers = { triggers: { http: { kind: 'http', numWorkers: 2, attributes: {} } } };
    await api('POST', '/api/functions', functionBody('steady-node', 'nodejs', nodeSrc('node-1')));
    await api('POST', '/api/functions', functionBody('steady-py', 'python:3.9', pySrc('py-1'), { spec: pyWorkers }));
    await api('POST', '/api/functions', functionBody('steady-sh', 'shell', shSrc('sh-1')));
    await api(
      'POST',
      '/api/functions',
      functionBody('parked', 'nodejs', nodeSrc('parked-1'), { spec: { minReplicas: 0, maxReplicas: 1 } }),
    );
    const before: Record<string, FunctionRecord> = {};
    for (const name of ['steady-node', 'steady-py', 'steady-sh', 'parked']) before[name] = await fnReady(name);
    await request(`${base}/api/functions/parked`, 'PATCH', {
      body: { desiredState: 'scaledToZero' },
      headers: { 'x-nuclio-wait-function-action': 'true' },
    });
    // The shell handler leaves a detached child behind; python runs two workers.
    assert.equal((await request(at(before['steady-sh']), 'POST', { body: 'x' })).text, 'sh-1');
    // The handler answers before its background `setsid` has become `sleep 1000`: wait for it.
    const running = await until("the shell handler's detached child runs", () => {
      const procs = processesOf(dir, [dash.pid!]);
      return procs.some((p) => p.argv.join(' ') === 'sleep 1000') ? procs : undefined;
    });
    assert.equal(running.filter((p) => p.role === 'processor').length, 3, describeProcs(running));
    assert.equal(running.filter((p) => p.role === 'python-worker').length, 2, describeProcs(running));

    // One function is in the middle of its build when the dashboard dies.
    const slow = nodeSrc('slow-1');
    await api(
      'POST',
      '/api/functions',
      functionBody('building', 'nodejs', slow, {
        spec: {
          build: {
            functionSourceCode: b64(slow),
            commands: ['setsid sleep 1000 </dev/null >/dev/null 2>&1 &', 'sleep 3'],
          },
        },
      }),
    );
    const building = await until(
      'a build command running',
      () => {
        const b = processesOf(dir, [dash.pid!]).filter((p) => p.build);
        return b.some((p) => p.argv.join(' ') === 'sleep 3') ? b : undefined;
      },
      30_000,
    );
    const staging = readdirSync(join(dir, 'artifacts')).filter((n) => n.startsWith('.staging-'));
    assert.equal(staging.length, 1, 'the build is in its staging folder');
    const traffic = Promise.all(
      Array.from({ length: 20 }, () => request(at(before['steady-node']), 'GET').catch(() => undefined)),
    );
    dash.kill('SIGKILL');
    await traffic;
    const stored = storedFunctions(dir);
    // Everything it started goes with it: replicas, python workers, the shell's detached child, the build
    // and what the build detached.
    await until(
      'every process of the dead dashboard gone',
      () => (processesOf(dir).length === 0 ? true : undefined),
      10_000,
    ).catch(() =>
      assert.fail(
        `left running after the kill (the build had ${building.length}):\n${describeProcs(processesOf(dir))}`,
      ),
    );

    dash = await dashboardProcess(dir, port, range);
    const list = await settled(api);
    assert.deepEqual(Object.keys(list).sort(), ['building', 'parked', 'steady-node', 'steady-py', 'steady-sh']);
    assert.equal(list.parked.status.state, 'scaledToZero');
    for (const [name, fn] of stored)
      if (fn.status.httpPort) assert.equal(list[name].status.httpPort, fn.status.httpPort, `${name} kept its port`);
    assert.ok(!existsSync(join(dir, 'artifacts', staging[0])), "the killed build's staging folder is gone");
    assert.deepEqual(await audit(api, dir, dash.pid!), []);
    assert.equal((await request(at(list.parked), 'GET')).text, 'parked-1');
    const projects = (await request<Record<string, unknown>>(`${base}/api/projects`, 'GET')).json;
    assert.deepEqual(Object.keys(projects), ['default']);
    dash.kill('SIGTERM');
    await new Promise((r) => dash.once('exit', r));
    await until(
      'every process gone after a clean stop',
      () => (processesOf(dir).length === 0 ? true : undefined),
      10_000,
    );
  });

  it(`kill -9 at random points of a create/update/delete/import loop (${CYCLES} cycles): nothing acknowledged lost, nothing deleted back, no orphan process, ports unchanged, served version = stored`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-fault-loop-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = 18_900 + Math.floor(Math.random() * 300);
    const range = portWindow(60);
    const api: Api = (method, path, body) =>
      request(`http://127.0.0.1:${port}${path}`, method, { body, timeoutMs: 30_000 });
    let dash: ChildProcess | undefined;
    cleanups.push(() => {
      dash?.kill('SIGKILL');
    });
    // PROTIUM_FAULT_SEED replays a run (the seed is printed at the end and in every failure).
    const seed0 = Number(process.env.PROTIUM_FAULT_SEED ?? 1 + (Date.now() % 100_000));
    let seed = seed0;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return (seed % 10_000) / 10_000;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
    /** What the dashboard acknowledged: for each name, the versions it may have (null: absent). */
    const model = new Map<string, Set<string | null>>();
    type Body = ReturnType<typeof functionBody>;
    const bodies = new Map<string, (v: string, slow: boolean) => Body>();
    /** A slow build (a build command) makes it likelier that a kill lands in the middle of one. */
    const withBuild = (body: Body, slow: boolean): Body =>
      slow ? { ...body, spec: { ...body.spec, build: { ...body.spec.build, commands: ['sleep 2'] } } } : body;
    const kinds: Record<string, (name: string, v: string, slow: boolean) => Body> = {
      node: (name, v, slow) => withBuild(functionBody(name, 'nodejs', nodeSrc(v)), slow),
      py: (name, v, slow) =>
        withBuild(
          functionBody(name, 'python:3.9', pySrc(v), {
            spec: { triggers: { http: { kind: 'http', numWorkers: 2, attributes: {} } } },
          }),
          slow,
        ),
      sh: (name, v, slow) => withBuild(functionBody(name, 'shell', shSrc(v)), slow),
    };
    let next = 0;
    let buildsKilled = 0;
    let stored = new Map<string, FunctionRecord>();
    const report: string[] = [];

    for (let cycle = 0; cycle <= CYCLES; cycle++) {
      dash = await dashboardProcess(dir, port, range);
      const list = await settled(api);
      // Nothing acknowledged lost, nothing deleted back, every version as acknowledged.
      for (const [name, allowed] of model) {
        const actual = list[name] ? (versionOf(list[name]) ?? '(no version)') : null;
        const show = (v: string | null) => v ?? '(absent)';
        assert.ok(
          allowed.has(actual),
          `cycle ${cycle} (seed ${seed0}): ${name} is ${show(actual)}, ` +
            `acknowledged: ${[...allowed].map(show).join(' or ')}`,
        );
      }
      for (const name of Object.keys(list))
        assert.ok(model.has(name), `cycle ${cycle} (seed ${seed0}): ${name} exists but was never acknowledged`);
      for (const [name, fn] of stored) {
        if (list[name] && fn.status.httpPort)
          assert.equal(
            list[name].status.httpPort,
            fn.status.httpPort,
            `cycle ${cycle} (seed ${seed0}): ${name} moved from its stored port`,
          );
      }
      const problems = await audit(api, dir, dash.pid!);
      assert.deepEqual(problems, [], `cycle ${cycle} (seed ${seed0}): ${problems.join('\n')}`);
      if (cycle === CYCLES) break;
      for (const name of model.keys()) model.set(name, new Set([list[name] ? versionOf(list[name])! : null]));

      // Work, and a kill at a random point of it (every third cycle: as soon as a build command runs).
      // Operations overlap (a kill can cut several off), but never two on one function.
      const busy = new Set<string>();
      const present = () => [...model].filter(([n, s]) => s.size === 1 && !s.has(null) && !busy.has(n)).map(([n]) => n);
      const waitForBuild = cycle % 3 === 1;
      let killed = false;
      let buildAtKill = false;
      const kill = () => {
        if (killed) return;
        buildAtKill = processesOf(dir, [dash!.pid!]).some((p) => p.build);
        killed = true;
        dash!.kill('SIGKILL');
      };
      const timer = waitForBuild ? undefined : setTimeout(kill, Math.floor(random() * 1500));
      const ops: Promise<void>[] = [];
      let acked = 0;
      let unanswered = 0;
      for (let i = 0; i < 6 && !killed; i++) {
        const names = present();
        const op =
          cycle === 0 && i < 3
            ? 'create'
            : waitForBuild && i === 0
              ? names.length
                ? 'update'
                : 'create'
              : names.length < 4
                ? pick(['create', 'import'])
                : names.length > 9
                  ? 'delete'
                  : pick(['create', 'update', 'update', 'delete', 'import']);
        const slow = waitForBuild ? i === 0 : random() < 0.3;
        const v = `c${cycle}-${i}`;
        let name: string;
        let send: () => Promise<boolean>;
        if (op === 'create' || op === 'import') {
          const kind = cycle === 0 && i < 3 ? (['node', 'py', 'sh'] as const)[i] : 'node';
          name = `f${next++}-${kind}`;
          bodies.set(name, (version, s) => kinds[kind](name, version, s));
          const body = bodies.get(name)!(v, slow);
          send =
            op === 'create'
              ? async () => (await api('POST', '/api/functions', body)).status === 202
              : async () => {
                  const r = await api<ImportAnswer | undefined>('POST', '/api/projects?import=true', {
                    project: { metadata: { name: 'default' } },
                    functions: { [name]: body },
                  });
                  return r.status === 201 && r.json?.functionImportResult?.createdAmount === 1;
                };
        } else if (op === 'update') {
          name = pick(names);
          const body = bodies.get(name)!(v, slow);
          send = async () => (await api('PUT', `/api/functions/${name}`, body)).status === 202;
        } else {
          name = pick(names);
          send = async () => (await api('DELETE', '/api/functions', { metadata: { name } })).status === 204;
        }
        const target = op === 'delete' ? null : v;
        const before = new Set(model.get(name) ?? [null]);
        model.set(name, new Set([...before, target]));
        busy.add(name);
        const done = send()
          .then(
            (ok) => {
              if (ok) {
                model.set(name, new Set([target]));
                acked++;
              } else if (!killed) model.set(name, before);
              else unanswered++;
            },
            () => {
              unanswered++; /* no answer: either outcome is acceptable */
            },
          )
          .finally(() => busy.delete(name));
        ops.push(done);
        if (waitForBuild && i === 0) await done;
        if (waitForBuild && i === 0 && !killed) {
          await until(
            'a build command running',
            () => (processesOf(dir, [dash!.pid!]).some((p) => p.build) ? true : undefined),
            30_000,
          ).catch(() => undefined);
          kill();
        }
        if (!killed) await sleep(Math.floor(random() * 300));
      }
      kill();
      clearTimeout(timer);
      await Promise.allSettled(ops);
      await new Promise((r) =>
        dash!.exitCode !== null || dash!.signalCode !== null ? r(undefined) : dash!.once('exit', r),
      );
      if (buildAtKill) buildsKilled++;
      stored = storedFunctions(dir);
      report.push(
        `cycle ${cycle}: ${acked} acknowledged, ${unanswered} cut off, ${stored.size} ` +
          `stored${buildAtKill ? ', killed mid-build' : ''}`,
      );
      // Everything the dead dashboard started goes with it.
      await until(
        'every process of the dead dashboard gone',
        () => (processesOf(dir).length === 0 ? true : undefined),
        10_000,
      ).catch(() => assert.fail(`cycle ${cycle}: left running after the kill:\n${describeProcs(processesOf(dir))}`));
    }
    dash!.kill('SIGTERM');
    await new Promise((r) => dash!.once('exit', r));
    t.diagnostic(`seed ${seed0}; ${report.join('; ')}`);
    assert.ok(
      buildsKilled >= Math.floor(CYCLES / 3),
      `a build was in flight at ${buildsKilled} of ${CYCLES} kills:\n${report.join('\n')}`,
    );
  });

  it('a restart with many functions gives every function its stored port, even to one that binds before the others', async () => {
    // A window of ports just big enough: one function without a stored port must take the free one.
    const range = portWindow(14);
    const dir = mkdtempSync(join(tmpdir(), 'protium-ports-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let d = await startTestDashboard({ portRange: `${range[0]}-${range[1]}` }, dir);
    const names = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    await Promise.all(
      names.map((n) => d.api('POST', '/api/functions', { body: functionBody(n, 'nodejs', nodeSrc(n)) })),
    );
    const ports = new Map<string, number>();
    for (const n of names) ports.set(n, (await waitFor(d, n, (f) => f.status.state === 'ready')).status.httpPort ?? 0);
    // A function that has no port yet when the dashboard stops (its build is held), named so that it sorts
    // (and is reconciled) first and its first choice of port is the stored port of the function reconciled last.
    const last = ports.get(names.at(-1)!)!;
    let early = '';
    for (let i = 0; !early; i++) if (candidatePorts(range, `nuclio/a${i}`)[0] === last) early = `a${i}`;
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    const src = nodeSrc(early);
    assert.equal(
      (
        await d.api('POST', '/api/functions', {
          body: functionBody(early, 'nodejs', src, {
            spec: { build: { functionSourceCode: b64(src), commands: [`while [ -e ${hold} ]; do sleep 0.05; done`] } },
          }),
        })
      ).status,
      202,
    );
    await sleep(300);
    await d.close();
    rmSync(hold);
    d = await startTestDashboard({ portRange: `${range[0]}-${range[1]}` }, dir);
    cleanups.push(() => d.close());
    const back = await settled((method, path) => d.api(method, path));
    for (const n of names) assert.equal(back[n].status.httpPort, ports.get(n), `${n} kept its port`);
    assert.equal(back[early].status.state, 'ready');
    assert.ok(!names.some((n) => ports.get(n) === back[early].status.httpPort), `${early} took a port of its own`);
  });

  describe('replicas', () => {
    let d: TestDashboard;
    it('a replica killed with -9 is serving again within two seconds', async () => {
      d = await startTestDashboard();
      cleanups.push(() => d.close());
      const fn = await deploy(d, functionBody('victim', 'nodejs', 'exports.handler = (c) => c.callback("alive");'));
      const [pid] = processorPids(d.dataDir);
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      const t0 = Date.now();
      await until(
        'serving again',
        async () =>
          (await request(at(fn), 'GET', { timeoutMs: 3_000 }).catch(() => undefined))?.text === 'alive'
            ? true
            : undefined,
        5_000,
      );
      assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms`);
      await waitFor(d, 'victim', (f) => f.status.state === 'ready', 5_000);
    });

    it('a replica that keeps crashing is restarted with growing back-off, and the state says so', async () => {
      const src =
        "if (require('fs').existsSync(__dirname + '/armed')) process.exit(9);\nexports.handler = (c) => " +
        "c.callback('ok');";
      const fn = await deploy(d, functionBody('crashloop', 'nodejs', src));
      writeFileSync(join(d.dataDir, 'artifacts', artifactOf(fn), 'armed'), '1');
      process.kill(
        processorPids(d.dataDir).find((p) => readFileSync(`/proc/${p}/environ`, 'utf8').includes('crashloop'))!,
        'SIGKILL',
      );
      const delays: number[] = [];
      await until(
        'three restarts',
        async () => {
          const f = (await d.api<FunctionRecord>('GET', '/api/functions/crashloop')).json;
          const m = /restarting in (\d+) ms/.exec(f.status.message ?? '');
          if (f.status.state === 'unhealthy' && m && !delays.includes(Number(m[1]))) delays.push(Number(m[1]));
          return delays.length >= 3 ? true : undefined;
        },
        15_000,
      );
      assert.ok(delays[1] > delays[0] && delays[2] > delays[1], `delays ${delays.join(', ')}`);
      assert.match(
        (await d.api<FunctionRecord>('GET', '/api/functions/crashloop')).json.status.message ?? '',
        /exit code 9/,
      );
      // Fixed: it comes back by itself.
      rmSync(join(d.dataDir, 'artifacts', artifactOf(fn), 'armed'));
      await waitFor(d, 'crashloop', (f) => f.status.state === 'ready', 20_000);
      assert.equal((await request(at(fn), 'GET')).text, 'ok');
    });

    it('a handler that leaks memory past spec.resources.limits.memory dies, is restarted, and serves again', async () => {
      const src =
        "const leak = [];\nexports.handler = (c, e) => { if (e.path === '/leak') { for (let i = 0; i < 40; i++) " +
        "leak.push(new Array(100000).fill(i + Math.random())); } c.callback('held ' + leak.length); };";
      const fn = await deploy(
        d,
        functionBody('leaker', 'nodejs', src, { spec: { resources: { limits: { memory: '64Mi' } } } }),
      );
      let died = false;
      for (let i = 0; i < 40 && !died; i++) {
        const r = await request(at(fn, '/leak'), 'POST', { body: 'x', timeoutMs: 10_000 }).catch(() => undefined);
        if (!r || r.status >= 500) died = true;
      }
      assert.ok(died, 'the leaking replica never died');
      await until(
        'serving again',
        async () =>
          (await request(at(fn), 'GET', { timeoutMs: 3_000 }).catch(() => undefined))?.text === 'held 0'
            ? true
            : undefined,
        10_000,
      );
    });
  });

  describe('the data dir', () => {
    it('a data dir that cannot be written stops the start with a clear error', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'protium-file-')), 'not-a-dir');
      writeFileSync(file, 'x');
      cleanups.push(() => rmSync(join(file, '..'), { recursive: true, force: true }));
      const config = loadConfig(
        { listenAddr: '127.0.0.1:0', gatewayListenAddr: '127.0.0.1:0', dataDir: join(file, 'data') },
        {},
      );
      await assert.rejects(
        startDashboard(config, silentLogger()),
        (e: Error) =>
          e instanceof StartupError && /is not writable/.test(e.message) && e.message.includes(join(file, 'data')),
      );
      const out = (() => {
        try {
          execFileSync(process.execPath, [MAIN, '--listen-addr', '127.0.0.1:0', '--data-dir', join(file, 'data')], {
            stdio: 'pipe',
            timeout: 20_000,
          });
          return '';
        } catch (e) {
          return String((e as { stderr?: Buffer }).stderr);
        }
      })();
      assert.match(out, /^protium: The data directory .* is not writable/);
      assert.doesNotMatch(out, /at .*\.js:\d+/);
    });

    it('a port that is taken stops the start with a clear error', async () => {
      const blocker = (await import('node:net')).createServer().listen(0, '127.0.0.1');
      await new Promise((r) => blocker.once('listening', r));
      const port = (blocker.address() as { port: number }).port;
      const dir = mkdtempSync(join(tmpdir(), 'protium-port-'));
      try {
        const config = loadConfig(
          { listenAddr: `127.0.0.1:${port}`, gatewayListenAddr: '127.0.0.1:0', dataDir: dir },
          {},
        );
        await assert.rejects(
          startDashboard(config, silentLogger()),
          (e: Error) =>
            e instanceof StartupError &&
            e.message.includes(`Port ${port}`) &&
            /already in use \(--listen-addr\)/.test(e.message),
        );
        const gwConfig = loadConfig(
          { listenAddr: '127.0.0.1:0', gatewayListenAddr: `127.0.0.1:${port}`, dataDir: dir },
          {},
        );
        await assert.rejects(
          startDashboard(gwConfig, silentLogger()),
          (e: Error) => e instanceof StartupError && /--gateway-listen-addr/.test(e.message),
        );
      } finally {
        blocker.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a data dir that fills up during a build: the build fails with a clear error and the store stays intact', async (t) => {
      const mnt = mkdtempSync(join(tmpdir(), 'protium-small-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mnt], { stdio: 'ignore' });
      } catch {
        rmSync(mnt, { recursive: true, force: true });
        t.skip('mounting a small tmpfs needs root');
        return;
      }
      cleanups.push(() => {
        try {
          execFileSync('umount', ['-l', mnt]);
        } catch {
          /* gone */
        }
        rmSync(mnt, { recursive: true, force: true });
      });
      mkdirSync(join(mnt, 'data'));
      const d = await startTestDashboard({}, join(mnt, 'data'));
      cleanups.push(() => d.close());
      const ok = await deploy(d, functionBody('small', 'nodejs', 'exports.handler = (c) => c.callback("small");'));
      const src = 'exports.handler = (c) => c.callback("big");';
      const res = await d.api('POST', '/api/functions', {
        body: {
          ...functionBody('big', 'nodejs', src),
          spec: {
            ...functionBody('big', 'nodejs', src).spec,
            build: {
              functionSourceCode: Buffer.from(src).toString('base64'),
              commands: ['dd if=/dev/zero of=filler bs=1M count=40'],
            },
          },
        },
      });
      assert.equal(res.status, 202);
      const big = await waitFor(d, 'big', (f) => f.status.state === 'error' || f.status.state === 'ready');
      assert.equal(big.status.state, 'error');
      assert.match(big.status.message ?? '', /No space left on device/);
      // The failed build's files are gone, so the store and the other function work on.
      assert.equal((await request(at(ok), 'GET')).text, 'small');
      assert.equal((await d.api('GET', '/api/functions')).status, 200);
      const later = await deploy(d, functionBody('after', 'nodejs', 'exports.handler = (c) => c.callback("after");'));
      // Builds run in artifacts/.staging-*: the failed one left no folder behind, only the good artifacts.
      const artifacts = readdirSync(join(mnt, 'data', 'artifacts')).sort();
      assert.deepEqual(artifacts, [ok, later].map(artifactOf).sort(), `artifacts left: ${artifacts.join(', ')}`);
      // The store is intact: SQLite's own check, and every function with its state.
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(mnt, 'data', 'store.db'), { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        db.close();
      }
      const states = Object.fromEntries(
        Object.entries((await d.api<Record<string, FunctionRecord>>('GET', '/api/functions')).json).map(([k, f]) => [
          k,
          f.status.state,
        ]),
      );
      assert.deepEqual(states, { after: 'ready', big: 'error', small: 'ready' });
    });
  });
});
