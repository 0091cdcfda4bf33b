/**
 * Pre-started processor containers (--prewarm N on the docker platform): N containers of the processor
 * image in pool mode (pool-spec.ts, processor/pool-specialise.ts), started and waiting, so that a replica —
 * above all one waking a function from zero — skips creating and starting a container and starting Node.
 * A replica takes one (`take`): the pool applies the function's resource limits when the engine can
 * (else the function is not served from the pool, said in a debug log), tells the container which replica
 * to become over its health port with the container's own token, renames it after the replica, and
 * starts a replacement. A taken container never comes back: it has run a function's code.
 *
 * A specialise that fails (the container died, the fetch failed) removes that container and answers
 * undefined: the caller starts a container cold. Pool containers carry role `pool` (labels.ts): the
 * platform removes those an earlier run left when it starts, taken ones included (labels cannot change
 * after creation, so a taken container is not adopted after a kill -9 of the dashboard; its function starts
 * a replica again), and `close` removes the idle ones.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from '../../log.js';
import { CONTAINER_HEALTH_PORT } from '../../processor/config.js';
import type { PrewarmStats } from '../platform.js';
import type { ReplicaTemplate } from './container-spec.js';
import { engineMessage, engineStatus } from './engine.js';
import { limitsUpdate, poolCreateOptions, specialiseRequest, type ArtifactFetch } from './pool-spec.js';

/** Give up refilling after this many containers in a row fail to start (a broken image or engine). */
const MAX_EARLY_FAILURES = 5;
/** A pool container not waiting for its specialise request this long after its start is removed. */
const START_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

export interface ContainerPoolOptions {
  docker: Docker;
  dashboardId: string;
  /** Containers kept started. */
  size: number;
  /** The processor image's tag (built on first need). */
  image: () => Promise<string>;
  /** The URL, a short-lived credential and the digest of an artifact, for a specialising container. */
  artifactFetch: (artifactId: string) => Promise<ArtifactFetch>;
  log: Logger;
}

interface Pooled {
  name: string;
  token: string;
  container?: Docker.Container;
  address?: string;
  ready: boolean;
}

/** A pool container made replica `name`: running, specialised, and how to specialise it again after a restart. */
export interface TakenContainer {
  container: Docker.Container;
  /** After the container restarted (it then waits in pool mode again): make it the same replica again. */
  respecialise: (address: string, timeoutMs: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The address of a container on the engine's network. */
function addressOf(info: Docker.ContainerInspectInfo): string | undefined {
  const nets = Object.values(info.NetworkSettings?.Networks ?? {});
  return nets.find((n) => n.IPAddress)?.IPAddress || undefined;
}

/** Polls a pool container's /pooled until it answers 200; false when the deadline passes (or `stop`) first. */
async function waitPooled(address: string, deadline: number, stop: () => boolean = () => false): Promise<boolean> {
  while (Date.now() < deadline && !stop()) {
    const ok = await fetch(`http://${address}:${CONTAINER_HEALTH_PORT}/pooled`, {
      signal: AbortSignal.timeout(1000),
    }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return true;
    await sleep(POLL_MS);
  }
  return false;
}

export class ContainerPool {
  private readonly idle = new Set<Pooled>();
  /** Starts in flight: `close` waits for them, so that it leaves no container behind. */
  private readonly starting = new Set<Promise<void>>();
  private earlyFailures = 0;
  private closed = false;
  /** Why the engine refused to apply resource limits to a started container (then limited functions go cold). */
  private limitsRefused?: string;
  /** Replicas made from a pool container, and replica starts that found none ready (PrewarmStats). */
  private taken = 0;
  private missed = 0;

  constructor(private readonly opts: ContainerPoolOptions) {}

  /** What GET /metrics reports of the pool (protium_prewarm_*). */
  stats(): PrewarmStats {
    return { size: this.opts.size, ready: this.readyCount, taken: this.taken, missed: this.missed };
  }

  /** Starts containers up to the pool's size (in the background). */
  fill(): void {
    while (!this.closed && this.idle.size < this.opts.size && this.earlyFailures < MAX_EARLY_FAILURES) {
      const run = this.startOne().finally(() => this.starting.delete(run));
      this.starting.add(run);
    }
  }

  /** Containers started and waiting now. */
  get readyCount(): number {
    return [...this.idle].filter((p) => p.ready).length;
  }

  /**
   * A pool container made replica `name` of template `t`, or undefined when none can be (none ready, a
   * user's image, limits the engine cannot apply, a failed specialise): then start one cold.
   */
  async take(t: ReplicaTemplate, name: string, timeoutMs: number): Promise<TakenContainer | undefined> {
    if (this.closed || !t.config || !t.artifactId) return undefined;
    const update = limitsUpdate(t);
    if (update && this.limitsRefused) {
      this.opts.log.debug(
        { replica: name, reason: this.limitsRefused },
        'not served from the pool: the engine cannot apply resource limits to a started container',
      );
      return undefined;
    }
    const p = [...this.idle].find((x) => x.ready);
    if (!p) {
      this.missed++;
      return undefined;
    }
    this.idle.delete(p);
    const container = p.container!;
    try {
      if (update) {
        try {
          await container.update(update);
        } catch (e) {
          this.limitsRefused = `the engine answered ${engineStatus(e) ?? 'an error'}: ${engineMessage(e)}`;
          this.opts.log.debug(
            { replica: name, reason: this.limitsRefused },
            'not served from the pool: the engine cannot apply resource limits to a started container',
          );
          await container.remove({ force: true }).catch(() => {});
          return undefined;
        }
      }
      const respecialise = async (address: string, ms: number) => {
        const deadline = Date.now() + ms;
        if (!(await waitPooled(address, deadline)))
          throw new Error(`The container of ${name} did not wait to be specialised within ${ms / 1000} s`);
        await this.specialise(address, p.token, t, name, deadline);
      };
      const started = Date.now();
      await this.specialise(p.address!, p.token, t, name, Date.now() + timeoutMs);
      this.opts.log.debug(
        { replica: name, container: p.name, ms: Date.now() - started },
        'a pre-started container became a replica',
      );
      // Its name (what `docker ps` and a look-up of its log by name find) becomes the replica's, as a
      // container made cold has; not waited for: the platform knows the container by its id.
      void container
        .rename({ name })
        .catch((e) =>
          this.opts.log.debug({ replica: name, err: engineMessage(e) }, 'could not rename a pool container'),
        );
      this.taken++;
      return { container, respecialise };
    } catch (e) {
      this.opts.log.warn(
        { replica: name, err: (e as Error).message },
        'a pre-started container failed to specialise: starting one cold',
      );
      await container.remove({ force: true }).catch(() => {});
      return undefined;
    } finally {
      this.fill();
    }
  }

  /** Removes every container of the pool. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle];
    this.idle.clear();
    await Promise.all([...all.map((p) => p.container?.remove({ force: true }).catch(() => {})), ...this.starting]);
  }

  private async specialise(
    address: string,
    token: string,
    t: ReplicaTemplate,
    name: string,
    deadline: number,
  ): Promise<void> {
    const body = specialiseRequest(t, name, await this.opts.artifactFetch(t.artifactId!));
    const res = await fetch(`http://${address}:${CONTAINER_HEALTH_PORT}/specialise`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())),
    });
    const text = await res.text().catch(() => '');
    if (res.status !== 200)
      throw new Error(`The pool container answered ${res.status} to specialise: ${text.slice(0, 500)}`);
  }

  private async startOne(): Promise<void> {
    const p: Pooled = {
      name: `protium-${this.opts.dashboardId}-pool-${randomBytes(4).toString('hex')}`,
      token: randomBytes(32).toString('base64url'),
      ready: false,
    };
    this.idle.add(p);
    try {
      const image = await this.opts.image();
      if (this.closed) throw new Error('closed');
      p.container = await this.opts.docker.createContainer(
        poolCreateOptions({ dashboardId: this.opts.dashboardId, image, name: p.name, token: p.token }),
      );
      if (this.closed) throw new Error('closed');
      await p.container.start();
      p.address = addressOf(await p.container.inspect());
      if (!p.address) throw new Error('the container has no address on the engine network');
      if (!(await waitPooled(p.address, Date.now() + START_TIMEOUT_MS, () => this.closed)))
        throw new Error(`it did not wait to be specialised within ${START_TIMEOUT_MS / 1000} s`);
      if (this.closed || !this.idle.has(p)) throw new Error('closed');
      p.ready = true;
      this.earlyFailures = 0;
      // One that dies while it waits (killed, OOM) leaves the pool at once, rather than fail a wake.
      const container = p.container;
      void container
        .wait({ condition: 'not-running' })
        .catch(() => {})
        .then(() => {
          if (!this.idle.delete(p) || this.closed) return;
          this.opts.log.warn({ container: p.name }, 'a pre-started container exited; starting another');
          void container.remove({ force: true }).catch(() => {});
          this.fill();
        });
    } catch (e) {
      const wasIdle = this.idle.delete(p);
      await p.container?.remove({ force: true }).catch(() => {});
      if (this.closed || !wasIdle) return;
      this.earlyFailures++;
      this.opts.log.warn({ container: p.name, err: engineMessage(e) }, 'a pre-started container failed to start');
      if (this.earlyFailures >= MAX_EARLY_FAILURES)
        this.opts.log.error('pre-started containers keep failing to start: the pool stays empty (--prewarm)');
      else setTimeout(() => this.fill(), 1000).unref();
    }
  }
}
