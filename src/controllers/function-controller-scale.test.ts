/**
 * The function controller with many functions at once (issue 21): deploys overlap, replica starts and
 * stops are bounded by their own limit, a busy function does not starve the others, and a restart brings
 * functions scaled to zero back parked (no replica) while the others start bounded.
 *
 * The store and the builder are the real ones; the platform is a recording one at the Platform seam whose
 * apply() holds each start until the test lets it go, so that the test sees how many run at once.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../builder/artifact-store.js';
import type { Artifact } from '../builder/builder.js';
import { BuildCommands } from '../builder/build-commands.js';
import { LocalBuilder } from '../builder/local-builder.js';
import { TemplateCatalog } from '../builder/template-catalog.js';
import { loadConfig } from '../config.js';
import { silentLogger } from '../log.js';
import { TEMPLATES_DIR } from '../paths.js';
import { PROCESS_GROUP_ONLY } from '../platform/local/confinement.js';
import type { ApplyOptions, Endpoint, Platform, PlatformListener } from '../platform/platform.js';
import type { FunctionRecord, FunctionRef, FunctionState } from '../resources/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { BuildLogs } from './build-log.js';
import { FunctionController, type ControllerLimits } from './function-controller.js';

/** A Platform whose apply() and scaleToZero() wait for release(); it counts how many wait at once. */
class GatedPlatform implements Platform {
  readonly name = 'gated';
  active = 0;
  most = 0;
  /** Calls that returned (or threw). */
  finished = 0;
  /** Every start or stop, in the order they began. */
  readonly calls: { name: string; op: 'apply' | 'scaleToZero'; parked: boolean }[] = [];
  private readonly held: (() => void)[] = [];

  private async hold(name: string, op: 'apply' | 'scaleToZero', parked: boolean, signal?: AbortSignal) {
    this.calls.push({ name, op, parked });
    this.active++;
    this.most = Math.max(this.most, this.active);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.held.indexOf(go);
          if (i >= 0) this.held.splice(i, 1);
          reject(signal!.reason as Error);
        };
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.held.push(go);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      this.active--;
      this.finished++;
    }
  }

  /** Lets the oldest held call finish; false when none is held. */
  release(): boolean {
    const next = this.held.shift();
    next?.();
    return next !== undefined;
  }

  async apply(fn: FunctionRecord, _artifact: Artifact, opts: ApplyOptions = {}): Promise<Endpoint> {
    await this.hold(fn.metadata.name!, 'apply', opts.parked === true, opts.signal);
    return { httpPort: 1, internalInvocationUrls: [], externalInvocationUrls: [] };
  }
  async scaleToZero(ref: FunctionRef): Promise<void> {
    await this.hold(ref.name, 'scaleToZero', true);
  }
  async remove(): Promise<void> {}
  async route(): Promise<string> {
    throw new Error('not routed in this test');
  }
  async replicas() {
    return [];
  }
  async logs(): Promise<AsyncIterable<string>> {
    throw new Error('no logs in this test');
  }
  async artifactsInUse() {
    return new Set<string>();
  }
  subscribe(_l: PlatformListener) {
    return () => {};
  }
  async close() {}
}

let debug: () => unknown = () => undefined;
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} ${JSON.stringify(debug())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('FunctionController with many functions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-controller-scale-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  function setup(limits: Partial<ControllerLimits>, file = join(dir, `store-${n++}.db`)) {
    const store = new SqliteStore(file);
    const platform = new GatedPlatform();
    const builder = new LocalBuilder({
      artifacts: new ArtifactStore(join(dir, 'artifacts')),
      templates: TemplateCatalog.load(TEMPLATES_DIR),
      sourceRoots: { roots: [], forbidden: [dir] },
      sourceLimits: loadConfig({ dataDir: dir }, {}).sourceLimits,
      commands: new BuildCommands({
        baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        packageManagers: { env: {}, files: [] },
        jail: PROCESS_GROUP_ONLY('a test'),
        pidDir: join(dir, 'run', 'builds'),
      }),
    });
    const controller = new FunctionController({
      store,
      builder,
      platform,
      log: silentLogger(),
      buildLogs: new BuildLogs(join(dir, 'builds')),
      limits,
    });
    return { store, platform, controller, file };
  }

  const record = (name: string, state: FunctionState = 'building', source = name): FunctionRecord =>
    ({
      metadata: { name, namespace: 'nuclio', labels: { 'nuclio.io/project-name': 'default' } },
      spec: {
        runtime: 'python:3.9',
        handler: 'main:handler',
        minReplicas: 1,
        maxReplicas: 1,
        build: {
          functionSourceCode: Buffer.from(`def handler(context, event):\n    return '${source}'\n`).toString('base64'),
        },
      },
      status: { state },
    }) as unknown as FunctionRecord;

  const states = async (store: SqliteStore) =>
    (await store.list('function', 'nuclio')).map((f) => `${f.metadata.name}:${f.status.state}`).sort();

  /**
   * Lets held calls go one at a time, each only once `limit` are held (or all `total` have begun): a
   * controller that ran fewer at once would never get there (the test times out), one that ran more is
   * seen in `most`. `total` counts every call, aborted ones too.
   */
  async function drive(platform: GatedPlatform, limit: number, total: number) {
    while (platform.finished < total) {
      await until(
        `${limit} calls at once (or all ${total} begun)`,
        () =>
          platform.active >= limit ||
          (platform.calls.length >= total && platform.active > 0) ||
          platform.finished >= total,
      );
      const before = platform.finished;
      if (platform.release()) await until('the released call to finish', () => platform.finished > before);
    }
  }

  it('deploys many functions at once, with at most `startsAndStops` replica starts at a time', async () => {
    const { store, platform, controller } = setup({ reconciles: 64, startsAndStops: 3 });
    await controller.start();
    const names = Array.from({ length: 10 }, (_, i) => `fn-${i}`);
    await Promise.all(names.map((name) => store.create('function', record(name), { by: 'api' })));
    await drive(platform, 3, names.length);
    await controller.idle();
    assert.equal(platform.most, 3, 'three starts ran together, never more');
    assert.deepEqual(await states(store), names.map((n) => `${n}:ready`).sort());
    await controller.stop();
    await store.close();
  });

  it('a function changed again and again while it deploys goes behind the functions waiting (fair)', async () => {
    const { store, platform, controller } = setup({ reconciles: 1, startsAndStops: 1 });
    debug = () => ({ calls: platform.calls, active: platform.active, finished: platform.finished });
    await controller.start();
    await store.create('function', record('busy'), { by: 'api' });
    await until('busy to start', () => platform.active === 1);
    await store.create('function', record('b'), { by: 'api' });
    await store.create('function', record('c'), { by: 'api' });
    // Each change of the busy function aborts its deploy and asks for another.
    for (const tag of ['v2', 'v3', 'v4']) {
      const busy = (await store.get('function', 'nuclio', 'busy'))!;
      await store.update('function', { ...record('busy', 'building', tag), metadata: busy.metadata }, { by: 'api' });
    }
    await drive(platform, 1, 4);
    await controller.idle();
    assert.deepEqual(
      platform.calls.map((c) => c.name),
      ['busy', 'b', 'c', 'busy'],
      'b and c deployed before the busy function ran again, and it ran once more, not once per change',
    );
    assert.deepEqual(await states(store), ['b:ready', 'busy:ready', 'c:ready']);
    await controller.stop();
    await store.close();
  });

  it('after a restart, functions scaled to zero come back parked; the others start, bounded', async () => {
    const first = setup({});
    const zero = Array.from({ length: 4 }, (_, i) => `zero-${i}`);
    const running = Array.from({ length: 6 }, (_, i) => `run-${i}`);
    for (const name of zero) await first.store.create('function', record(name, 'scaledToZero', 'same'));
    for (const name of running) await first.store.create('function', record(name, 'ready', 'same'));
    await first.store.close();
    // The restarted controller: nothing runs, the store says what ran before. No artifact exists here,
    // so each one is rebuilt from its source (the same source: built once) and applied.
    const { store, platform, controller } = setup({ reconciles: 64, startsAndStops: 2 }, first.file);
    await controller.start();
    await drive(platform, 2, zero.length + running.length);
    await controller.idle();
    assert.equal(platform.most, 2);
    const applied = Object.fromEntries(platform.calls.map((c) => [c.name, c.parked]));
    for (const name of zero) assert.equal(applied[name], true, `${name} came back with no replica`);
    for (const name of running) assert.equal(applied[name], false, `${name} started a replica`);
    assert.deepEqual(
      await states(store),
      [...running.map((n) => `${n}:ready`), ...zero.map((n) => `${n}:scaledToZero`)].sort(),
    );
    await controller.stop();
    await store.close();
  });
});
