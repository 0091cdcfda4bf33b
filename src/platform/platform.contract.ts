/**
 * The contract every Platform must pass (as store.contract.ts is for stores, and hono's
 * router/common.case.test.ts for routers): call `platformContract` from a `*.test.ts` file with a factory
 * of fresh platforms. The local platform runs it in local-platform.contract.test.ts; a container or
 * Kubernetes platform runs it unchanged.
 *
 * It uses nothing but the seam: functions are applied from artifacts the factory builds out of a nodejs
 * source, and reached over real HTTP at the host:port `route` gives. It never looks at processes, ports
 * the dashboard binds, or files.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Pool } from 'undici';
import type { Artifact } from '../builder/builder.js';
import { enrichFunction } from '../resources/function-enrich.js';
import type { FunctionConfig, FunctionRecord, FunctionRef, FunctionSpec } from '../resources/types.js';
import type { Platform, PlatformEvent } from './platform.js';

/** A function's source as the contract writes it: one nodejs file. */
export interface ContractSource {
  runtime: 'nodejs';
  /** `handler:handler`: the file is `handler.js`. */
  handler: string;
  code: string;
}

/** One platform under test and what it needs around it; `close` stops it and removes what it left. */
export interface ContractSubject {
  platform: Platform;
  /** Builds (or reuses) the artifact of `source`, as the platform's builder does. */
  artifactFor(source: ContractSource): Promise<Artifact>;
  close(): Promise<void>;
}

const NS = 'contract';
const TIMEOUT_MS = 90_000;

/**
 * The contract's function: answers `<version> <replica>`; `/crash` ends the process (a replica that
 * dies on its own), `/log/<word>` logs `contract-log <word>`, `/slow` takes 50 ms.
 */
function source(version: string): ContractSource {
  return {
    runtime: 'nodejs',
    handler: 'handler:handler',
    code: `exports.handler = async (context, event) => {
  const path = event.path || '/';
  if (path === '/crash') { setTimeout(() => process.exit(3), 20); return 'crashing'; }
  if (path.startsWith('/log/')) { context.logger.info('contract-log ' + path.slice(5)); return 'logged'; }
  if (path === '/slow') await new Promise((r) => setTimeout(r, 50));
  return ${JSON.stringify(version)} + ' ' + (process.env.HOSTNAME || '');
};
`,
  };
}

/** A source whose handler fails to load: the replica never becomes ready. */
const BROKEN: ContractSource = {
  runtime: 'nodejs',
  handler: 'handler:handler',
  code: 'throw new Error("contract: this handler does not load");\n',
};

/** A function as the Store holds it (enriched: Nuclio's defaults), with an http trigger of 8 workers. */
function fnRecord(name: string, s: ContractSource, spec: Partial<FunctionSpec> = {}): FunctionRecord {
  const config = enrichFunction({
    metadata: { name, namespace: NS },
    spec: {
      runtime: s.runtime,
      handler: s.handler,
      minReplicas: 1,
      maxReplicas: 1,
      triggers: { http: { class: '', kind: 'http', name: 'http', numWorkers: 8 } },
      ...spec,
    },
  } as FunctionConfig);
  return { ...config, status: {} };
}

const refOf = (name: string): FunctionRef => ({ namespace: NS, name });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** One GET on a connection of its own. */
function get(route: string, path = '/'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${route}${path}`, { agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${route}${path} within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Reads a log to its end (follow: false) as lines. */
async function readLines(
  p: Platform,
  ref: FunctionRef,
  replica: string,
  q: { tailLines?: number; sinceMs?: number } = {},
): Promise<string[]> {
  let text = '';
  for await (const chunk of await p.logs(ref, replica, {
    follow: false,
    signal: AbortSignal.timeout(TIMEOUT_MS),
    ...q,
  }))
    text += chunk;
  return text.split('\n').filter((l) => l.length > 0);
}

const statusOf = (e: unknown) => (e as { status?: number }).status;

/** Registers the contract's cases (node:test) for the platform `makeSubject` builds, a fresh one per case. */
export function platformContract(label: string, makeSubject: () => Promise<ContractSubject>): void {
  describe(`Platform contract: ${label}`, () => {
    let subject: ContractSubject | undefined;
    let events: PlatformEvent[] = [];
    afterEach(async () => {
      await subject?.close();
      subject = undefined;
    });
    /** A fresh platform whose events are recorded in `events`. */
    const start = async (): Promise<Platform> => {
      subject = await makeSubject();
      events = [];
      subject.platform.subscribe((e) => events.push(e));
      return subject.platform;
    };
    const statuses = (name: string) =>
      events
        .filter((e): e is Extract<PlatformEvent, { type: 'status' }> => e.type === 'status' && e.ref.name === name)
        .map((e) => e.status);

    it(
      'apply() resolves once the function serves; its route answers over HTTP; artifactsInUse() holds its artifact',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        const endpoint = await p.apply(fnRecord('hello', source('v1')), artifact);
        assert.ok(endpoint.httpPort > 0, 'an http port');
        assert.ok(
          endpoint.internalInvocationUrls.length > 0 && endpoint.externalInvocationUrls.length > 0,
          'invocation URLs',
        );
        const route = await p.route(refOf('hello'));
        assert.match(route, /^(\[[0-9a-f:.]+\]|[^:/\s]+):\d+$/, 'host:port, no scheme');
        const res = await get(route);
        assert.equal(res.status, 200);
        assert.match(res.text, /^v1 /);
        assert.ok((await p.artifactsInUse()).has(artifact.id), 'the artifact it runs is in use');
      },
    );

    it('replicas() reaches minReplicas, each ready and named apart', { timeout: TIMEOUT_MS }, async () => {
      const p = await start();
      const artifact = await subject!.artifactFor(source('v1'));
      await p.apply(fnRecord('twins', source('v1'), { minReplicas: 2, maxReplicas: 2 }), artifact);
      const replicas = await p.replicas(refOf('twins'));
      assert.equal(replicas.length, 2, JSON.stringify(replicas));
      assert.deepEqual(
        replicas.map((r) => r.state),
        ['ready', 'ready'],
      );
      assert.equal(new Set(replicas.map((r) => r.name)).size, 2, 'distinct names');
      for (const r of replicas)
        assert.ok(!Number.isNaN(Date.parse(r.startedAt)), `startedAt is an ISO time: ${r.startedAt}`);
    });

    it(
      'route() of a function that serves no version rejects with a 503 naming it: never applied, disabled',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        await assert.rejects(p.route(refOf('nobody')), (e: Error) => statusOf(e) === 503 && /nobody/.test(e.message));
        const artifact = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('off', source('v1'), { disable: true }), artifact);
        await assert.rejects(p.route(refOf('off')), (e: Error) => statusOf(e) === 503 && /off/.test(e.message));
      },
    );

    it(
      'apply() of a version that fails to start rejects; a first deploy is then not routable, an update leaves the ' +
        'previous version serving',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const broken = await subject!.artifactFor(BROKEN);
        await assert.rejects(
          p.apply(fnRecord('never', BROKEN, { readinessTimeoutSeconds: 20 }), broken),
          /does not load|exited|ready/,
        );
        await assert.rejects(p.route(refOf('never')), (e: Error) => statusOf(e) === 503);
        const good = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('kept', source('v1')), good);
        await assert.rejects(
          p.apply(fnRecord('kept', BROKEN, { readinessTimeoutSeconds: 20 }), broken),
          /does not load|exited|ready/,
        );
        const res = await get(await p.route(refOf('kept')));
        assert.equal(res.status, 200);
        assert.match(res.text, /^v1 /, 'the previous version answers');
      },
    );

    it(
      'a rollover drops no request: a client hammering the route while a new version is applied gets every answer',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const [v1, v2] = [await subject!.artifactFor(source('v1')), await subject!.artifactFor(source('v2'))];
        await p.apply(fnRecord('roll', source('v1'), { minReplicas: 2, maxReplicas: 2 }), v1);
        const route = await p.route(refOf('roll'));
        // A keep-alive client, as the dashboard's Invoker is: it renews its pool when the route changes.
        let pool = new Pool(`http://${route}`, { connections: 8 });
        const unsubscribe = p.subscribe((e) => {
          if (e.type === 'routeChanged' && e.targets.includes(route)) {
            void pool.close();
            pool = new Pool(`http://${route}`, { connections: 8 });
          }
        });
        const failures: string[] = [];
        const seen = { v1: 0, v2: 0 };
        let stop = false;
        const hammer = async () => {
          while (!stop) {
            try {
              const res = await pool.request({
                path: '/slow',
                method: 'GET',
                headersTimeout: 30_000,
                bodyTimeout: 30_000,
              });
              const text = await res.body.text();
              if (res.statusCode !== 200) failures.push(`${res.statusCode} ${text.slice(0, 200)}`);
              else if (text.startsWith('v1 ')) seen.v1++;
              else if (text.startsWith('v2 ')) seen.v2++;
              else failures.push(`unexpected answer ${text.slice(0, 200)}`);
            } catch (e) {
              failures.push((e as Error).message);
            }
          }
        };
        const clients = Array.from({ length: 6 }, hammer);
        try {
          await until('v1 answers', () => seen.v1 >= 20);
          await p.apply(fnRecord('roll', source('v2'), { minReplicas: 2, maxReplicas: 2 }), v2);
          const v2At = seen.v2;
          await until('v2 answers after the rollover', () => seen.v2 >= v2At + 50);
        } finally {
          stop = true;
          await Promise.all(clients);
          unsubscribe();
          await pool.close();
        }
        assert.deepEqual(failures, [], `no request failed (${seen.v1} v1 and ${seen.v2} v2 answers)`);
        const after = await get(route);
        assert.match(after.text, /^v2 /, 'a new connection reaches the new version');
      },
    );

    it(
      'scaleToZero() stops every replica; a request through the route wakes the function and succeeds',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('sleepy', source('v1')), artifact);
        await p.scaleToZero(refOf('sleepy'));
        await until('no replica left', async () => (await p.replicas(refOf('sleepy'))).length === 0);
        events.length = 0;
        const res = await get(await p.route(refOf('sleepy')));
        assert.equal(res.status, 200);
        assert.match(res.text, /^v1 /);
        assert.ok((await p.replicas(refOf('sleepy'))).length >= 1, 'a replica runs again');
        await until('a status event reports it ready again', () => statuses('sleepy').some((s) => s.state === 'ready'));
      },
    );

    it(
      'apply() parked makes the function routable without a replica; the first request wakes it',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('parked', source('v1')), artifact, { parked: true });
        assert.deepEqual(await p.replicas(refOf('parked')), []);
        const res = await get(await p.route(refOf('parked')));
        assert.equal(res.status, 200);
        assert.match(res.text, /^v1 /);
      },
    );

    it(
      'logs() of a replica: its lines, tailLines, since, and follow until the signal aborts',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('talker', source('v1')), artifact);
        const ref = refOf('talker');
        const route = await p.route(ref);
        const [replica] = await p.replicas(ref);
        assert.ok(replica);
        assert.equal((await get(route, '/log/first')).status, 200);
        await until('the first line is in the log', async () =>
          (await readLines(p, ref, replica.name)).some((l) => l.includes('contract-log first')),
        );
        // `since` cuts by time: the gap between the two lines is far wider than the window asked for.
        await sleep(1_500);
        assert.equal((await get(route, '/log/second')).status, 200);
        await until('the second line is in the log', async () =>
          (await readLines(p, ref, replica.name)).some((l) => l.includes('contract-log second')),
        );
        const all = await readLines(p, ref, replica.name);
        assert.deepEqual(
          await readLines(p, ref, replica.name, { tailLines: 1 }),
          all.slice(-1),
          'tailLines: 1 is the last line',
        );
        assert.deepEqual(await readLines(p, ref, replica.name, { tailLines: 0 }), [], 'tailLines: 0 is nothing');
        const recent = await readLines(p, ref, replica.name, { sinceMs: 750 });
        assert.ok(
          recent.some((l) => l.includes('contract-log second')),
          'since keeps the recent line',
        );
        assert.ok(!recent.some((l) => l.includes('contract-log first')), 'since leaves the older line out');

        const ac = new AbortController();
        const followed = await p.logs(ref, replica.name, { follow: true, tailLines: 0, signal: ac.signal });
        let text = '';
        const reading = (async () => {
          for await (const chunk of followed) text += chunk;
        })();
        assert.equal((await get(route, '/log/third')).status, 200);
        await until('follow delivers the new line', () => text.includes('contract-log third'));
        assert.ok(!text.includes('contract-log first'), 'tailLines: 0 left the old lines out');
        ac.abort();
        await reading;
      },
    );

    it(
      "logs() of a name that is none of the function's replicas rejects with 400",
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('owner', source('v1')), artifact);
        await assert.rejects(
          p.logs(refOf('owner'), 'not-a-replica', { follow: false, signal: AbortSignal.timeout(5_000) }),
          (e) => statusOf(e) === 400,
        );
      },
    );

    it(
      'a replica that crashes is reported by a status event, restarted, and the function answers again',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        await p.apply(fnRecord('crashy', source('v1')), artifact);
        const route = await p.route(refOf('crashy'));
        assert.equal((await get(route, '/crash')).text, 'crashing');
        await until('a status event reports the crash', () =>
          statuses('crashy').some(
            (s) => s.state === 'unhealthy' && typeof s.message === 'string' && s.message.length > 0,
          ),
        );
        await until('the replica is restarted', async () =>
          (await p.replicas(refOf('crashy'))).some((r) => r.restarts >= 1 && r.state === 'ready'),
        );
        await until('the restart is reported as a metrics event', () =>
          events.some((e) => e.type === 'metrics' && e.ref.name === 'crashy' && e.metrics.kind === 'restart'),
        );
        await until('a status event reports it ready again', () => {
          const s = statuses('crashy');
          return s.findIndex((x) => x.state === 'ready') > s.findIndex((x) => x.state === 'unhealthy');
        });
        const res = await get(route);
        assert.equal(res.status, 200);
        assert.match(res.text, /^v1 /);
      },
    );

    it(
      'metrics events: replica counters reach the requests made through the route; ' +
        'a wake from zero is one cold start',
      { timeout: TIMEOUT_MS },
      async () => {
        const p = await start();
        const artifact = await subject!.artifactFor(source('v1'));
        const ref = refOf('counted');
        await p.apply(fnRecord('counted', source('v1'), { minReplicas: 0 }), artifact);
        const route = await p.route(ref);
        for (let i = 0; i < 5; i++) assert.equal((await get(route)).status, 200);
        /** Events handled by the http trigger: each replica's latest snapshot, summed. */
        const handled = () => {
          const latest = new Map<string, number>();
          for (const e of events)
            if (e.type === 'metrics' && e.ref.name === 'counted' && e.metrics.kind === 'replica')
              latest.set(
                e.metrics.replica,
                e.metrics.stats.triggers.filter((t) => t.name === 'http').reduce((n, t) => n + t.success, 0),
              );
          return [...latest.values()].reduce((a, b) => a + b, 0);
        };
        await until('the replicas report 5 events handled', () => handled() === 5);
        const coldStarts = () =>
          events.filter((e) => e.type === 'metrics' && e.ref.name === 'counted' && e.metrics.kind === 'coldStart');
        assert.equal(coldStarts().length, 0, 'a deploy is no cold start');
        await p.scaleToZero(ref);
        await until('no replica runs', async () => (await p.replicas(ref)).length === 0);
        assert.equal((await get(await p.route(ref))).status, 200);
        await until('one cold start is reported', () => coldStarts().length === 1);
        const c = coldStarts()[0];
        assert.ok(c.type === 'metrics' && c.metrics.kind === 'coldStart' && c.metrics.durationMs > 0);
      },
    );

    it('remove() is idempotent: the route goes, the replicas go, their logs go', { timeout: TIMEOUT_MS }, async () => {
      const p = await start();
      const artifact = await subject!.artifactFor(source('v1'));
      await p.apply(fnRecord('gone', source('v1')), artifact);
      const ref = refOf('gone');
      const route = await p.route(ref);
      const [replica] = await p.replicas(ref);
      assert.equal((await get(route, '/log/before-remove')).status, 200);
      await until('the line is in the log', async () =>
        (await readLines(p, ref, replica.name)).some((l) => l.includes('before-remove')),
      );
      events.length = 0;
      await p.remove(ref);
      await p.remove(ref);
      await p.remove(refOf('never-there'));
      await assert.rejects(p.route(ref), (e) => statusOf(e) === 503);
      assert.deepEqual(await p.replicas(ref), []);
      await assert.rejects(
        p.logs(ref, replica.name, { follow: false, signal: AbortSignal.timeout(5_000) }),
        (e) => statusOf(e) === 404,
      );
      assert.ok(
        events.some((e) => e.type === 'routeChanged' && e.targets.includes(route)),
        'clients of the route are told it changed',
      );
    });
  });
}
