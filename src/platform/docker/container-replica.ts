/**
 * One replica on the docker platform: a container of the function's template (container-spec.ts). It is
 * ready when the processor's health port says so (a user's image: when its port 8080 takes connections);
 * it reports its exit — the engine's exit code, and whether the kernel killed it for its memory limit —
 * and is restarted in place (the same container: its name and log go on); it stops gracefully (SIGTERM
 * lets idle keep-alive clients leave, SIGINT does not wait for them) and is then removed, its log with it.
 * A replica adopted from an earlier run of the dashboard is the same, found instead of created.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type Docker from 'dockerode';
import { CONTAINER_HEALTH_PORT, CONTAINER_HTTP_PORT } from '../../processor/config.js';
import type { ReplicaInfo, ReplicaState } from '../platform.js';
import { exitReason } from '../../util/exit-reason.js';
import { lastLines } from './container-logs.js';
import { engineMessage, engineStatus } from './engine.js';
import { loadOf, readHealth } from '../health-port.js';

/** How a replica ended on its own. */
export interface ReplicaExit {
  code: number;
  /** The kernel killed it for exceeding its memory limit. */
  oomKilled: boolean;
  /** In words: `exit code 3`, `killed by SIGKILL: out of memory (…)`. */
  why: string;
  /** Its last log lines (messages only). */
  lastLines: string;
  /** It was being stopped (not a crash). */
  stopping: boolean;
}

const READY_POLL_MS = 50;

/** The address of a container on the engine's network (the first network it is on). */
function addressOf(info: Docker.ContainerInspectInfo): string | undefined {
  const nets = Object.values(info.NetworkSettings?.Networks ?? {});
  return (
    nets.find((n) => n.IPAddress)?.IPAddress ||
    (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress ||
    undefined
  );
}

/** A message of a stored log line (JSON with `message`), else the line. */
function messageOf(line: string): string {
  try {
    const o = JSON.parse(line) as { message?: unknown; oomKilled?: unknown };
    return typeof o.message === 'string' ? o.message : line;
  } catch {
    return line;
  }
}

/** Why a container exited, in words. Pure. */
export function exitWhy(code: number, oomKilled: boolean, memoryLimit?: number): string {
  const base = exitReason(code, null, true);
  if (!oomKilled) return base;
  const limit = memoryLimit ? ` of ${Math.round(memoryLimit / 2 ** 20)} MiB` : '';
  return (
    `${base}: out of memory, the kernel killed it for exceeding its memory limit${limit} ` +
    `(spec.resources.limits.memory)`
  );
}

export class ContainerReplica extends EventEmitter {
  state: ReplicaState | 'exited' = 'starting';
  restarts = 0;
  startedAt = 0;
  inflight = 0;
  handled = 0;
  lastActivity = Date.now();
  address?: string;
  /** Connections it refused since it was last seen ready. */
  private refusals = 0;
  /**
   * A replica made from a pre-started container (container-pool.ts): after a restart the container waits
   * in pool mode again, and this makes it the same replica again.
   */
  respecialise?: (address: string, timeoutMs: number) => Promise<void>;

  constructor(
    private readonly docker: Docker,
    readonly container: Docker.Container,
    readonly name: string,
    /** The processor image (health port) or a user's image (its port only). */
    private readonly processor: boolean,
    readonly artifactId: string | undefined,
    private readonly memoryLimit?: number,
  ) {
    super();
  }

  get port(): number {
    return CONTAINER_HTTP_PORT;
  }
  get ready(): boolean {
    return this.state === 'ready';
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  refused(): void {
    if (++this.refusals >= 3 && this.state === 'ready') this.state = 'restarting';
  }

  info(): ReplicaInfo {
    return {
      name: this.name,
      state: this.state === 'exited' ? 'restarting' : this.state,
      restarts: this.restarts,
      startedAt: new Date(this.startedAt || Date.now()).toISOString(),
    };
  }

  /**
   * Starts the container (unless `running`: adopted, already up), then waits until it is ready; rejects
   * with the reason and its last log lines when it exits first or is not ready within `readinessMs`.
   */
  async start(readinessMs: number, running = false): Promise<void> {
    this.state = this.restarts > 0 ? 'restarting' : 'starting';
    this.refusals = 0;
    if (!running) {
      try {
        await this.container.start();
      } catch (e) {
        if (engineStatus(e) !== 304)
          throw new Error(`Failed to start the container ${this.name}: ${engineMessage(e)}`, { cause: e });
      }
    }
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.container.inspect();
    } catch (e) {
      throw new Error(`Failed to inspect the container ${this.name}: ${engineMessage(e)}`, { cause: e });
    }
    // A pre-started container became this replica now, not when it started.
    this.startedAt = (this.respecialise && running ? 0 : Date.parse(info.State.StartedAt)) || Date.now();
    this.address = addressOf(info);
    if (this.respecialise && !running) {
      if (!this.address) throw new Error(`The container ${this.name} has no address on the engine network`);
      try {
        await this.respecialise(this.address, readinessMs);
      } catch (e) {
        await this.container.kill().catch(() => {});
        throw new Error(
          `Failed to make the restarted container ${this.name} its replica again: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    const exited = this.watchExit();
    let gone: ReplicaExit | undefined;
    void exited.then((x) => {
      gone = x;
    });
    const deadline = Date.now() + readinessMs;
    while (!gone) {
      if ((this.state as string) === 'stopping')
        throw new Error(`The replica ${this.name} was stopped before it was ready`);
      if (this.address && (await this.probe(this.address))) {
        this.state = 'ready';
        this.lastActivity = Date.now();
        return;
      }
      if (Date.now() > deadline) {
        const lines = await this.lastLines();
        await this.container.kill().catch(() => {});
        throw new Error(
          `Function wasn't ready in time (${readinessMs / 1000} s, spec.readinessTimeoutSeconds). Logs:\n${lines}`,
        );
      }
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    const x = gone;
    throw new Error(`The replica exited (${x.why}) before it was ready${x.lastLines ? `. Logs:\n${x.lastLines}` : ''}`);
  }

  /** One readiness probe: the health port's /ready (processor image), or a connection to the http port. */
  private probe(address: string): Promise<boolean> {
    if (!this.processor) {
      return new Promise((resolve) => {
        const s = net.connect({ host: address, port: CONTAINER_HTTP_PORT, timeout: 1000 });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
        s.once('timeout', () => {
          s.destroy();
          resolve(false);
        });
      });
    }
    return fetch(`http://${address}:${CONTAINER_HEALTH_PORT}/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  }

  /** Resolves once the container stops (whatever the reason), and emits 'exit' unless it was being stopped. */
  private watchExit(): Promise<ReplicaExit> {
    return (async () => {
      let code = -1;
      try {
        code = ((await this.container.wait({ condition: 'not-running' })) as { StatusCode: number }).StatusCode;
      } catch {
        /* the container went (removed): an exit all the same */
      }
      const stopping = this.state === 'stopping';
      this.state = 'exited';
      this.inflight = 0;
      const lines = await lastLines(this.docker, this.container, 30);
      let oomKilled = lines.some((l) => /"oomKilled":true/.test(l));
      if (!oomKilled)
        oomKilled = await this.container.inspect().then(
          (i) => i.State.OOMKilled === true,
          () => false,
        );
      const x: ReplicaExit = {
        code,
        oomKilled,
        why: exitWhy(code, oomKilled, this.memoryLimit),
        lastLines: lines.map(messageOf).join('\n'),
        stopping,
      };
      if (!stopping) this.emit('exit', x);
      return x;
    })();
  }

  /** The last lines it logged, as messages (for error messages). */
  async lastLines(): Promise<string> {
    return (await lastLines(this.docker, this.container, 30)).map(messageOf).join('\n');
  }

  /**
   * Asks the processor how busy it is (health port /load) and, with `stats`, for its counters (`/stats`,
   * emitted as 'stats' for the platform's metrics events); a user's image has no such port.
   */
  async pollLoad(stats = false): Promise<void> {
    // A replica set aside for refusing connections comes back when it answers again (it did not exit).
    if (this.state === 'restarting' && this.refusals >= 3 && this.address && (await this.probe(this.address))) {
      this.refusals = 0;
      this.state = 'ready';
    }
    if (!this.processor || this.state !== 'ready' || !this.address) return;
    const [load, snapshot] = await Promise.all([
      readHealth(this.address, '/load').then(loadOf),
      stats ? readHealth(this.address, '/stats') : undefined,
    ]);
    // No answer: busy or gone, and its exit says which.
    if (load) {
      if (load.handled !== this.handled || load.inflight > 0) this.lastActivity = Date.now();
      this.inflight = load.inflight;
      this.handled = load.handled;
    }
    if (snapshot !== undefined) this.emit('stats', snapshot);
  }

  /**
   * Stops it (SIGTERM with `drain`: idle keep-alive clients get a few seconds to leave; SIGINT: they do
   * not) and removes the container — the engine kills it when it outlasts its stop timeout.
   */
  async stop(drain: boolean, timeoutMs: number): Promise<void> {
    const was = this.state;
    this.state = 'stopping';
    if (was !== 'exited') {
      try {
        await this.container.kill({ signal: drain ? 'SIGTERM' : 'SIGINT' });
        const waited = this.container.wait({ condition: 'not-running' }).catch(() => {});
        const timer = new Promise((r) => setTimeout(r, timeoutMs).unref());
        await Promise.race([waited, timer]);
      } catch {
        /* not running */
      }
    }
    await this.remove();
  }

  /** Removes the container at once (killing it if it runs). */
  async remove(): Promise<void> {
    this.state = 'stopping';
    await this.container.remove({ force: true }).catch((e) => {
      if (engineStatus(e) !== 404) throw new Error(`Failed to remove the container ${this.name}: ${engineMessage(e)}`);
    });
  }
}
