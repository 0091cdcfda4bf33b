/**
 * The fake API server's kubelet: each Pod's containers run as real processes on this machine. Init
 * containers run in order to completion, then the containers; probes (startup, readiness, liveness: HTTP
 * GET or TCP) are made as the kubelet makes them and decide the Ready condition; a container that exits
 * is restarted with a back-off (CrashLoopBackOff in its status meanwhile, the last exit in lastState); a
 * deleted pod gets SIGTERM, then SIGKILL after its grace period; every line a container writes is kept,
 * with its time, for the log endpoint (follow, sinceSeconds, tailLines, previous).
 *
 * Where a node has what this machine lacks, the stand-ins are:
 * - images: `images` maps an image name to the program it runs (unknown images are ErrImagePull, then
 *   ImagePullBackOff, as a missing image is on a node), and folders of the image to folders here;
 * - network namespaces: each pod gets its own loopback address (127.77.x.y) and the image's bind-address
 *   variable is set to it, so every pod listens on its own IP with the same ports, as pods do;
 * - mounts: each volume is a folder (emptyDir: empty; configMap: its keys as files), and the container's
 *   paths under a mount point, in its environment, arguments, working folder and configMap files, are
 *   rewritten to that folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusError, type FakeApiServer, type Obj } from './fake-apiserver.js';

/** What an image runs here. */
export interface FakeImage {
  /**
   * The program and arguments for the container's `args` (the image's entry point), as paths of this
   * machine: only the `args` are the container's view (rewritten before this sees them), so a checkout
   * under a folder a pod mounts (`/tmp`) stays where it is.
   */
  command: (args: string[]) => string[];
  /** Folders of the image (`/opt/protium`) and where they are on this machine. */
  paths?: Record<string, string>;
  /** The environment variable the image binds to (its pod's IP is written there). */
  bindEnv?: string;
}

export interface KubeletOptions {
  images: Record<string, FakeImage>;
  /** Probe periods and back-offs are multiplied by this (1: the kubelet's; below 1 for faster tests). */
  timeScale?: number;
  /** Environment every container starts from (PATH). */
  baseEnv?: Record<string, string>;
}

interface LogLine {
  time: number;
  text: string;
}

interface ContainerRun {
  name: string;
  image: string;
  proc?: ChildProcess;
  startedAt?: string;
  restarts: number;
  state: Obj;
  lastState: Obj;
  started: boolean;
  ready: boolean;
  logs: LogLine[];
  previous: LogLine[];
  followers: Set<(l: LogLine) => void>;
  probeTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  backoffMs: number;
  failures: { startup: number; readiness: number; liveness: number };
  exited?: Promise<void>;
}

interface PodRun {
  ns: string;
  name: string;
  uid: string;
  ip: string;
  dir: string;
  mounts: Array<[string, string]>;
  init: ContainerRun[];
  main: ContainerRun[];
  phase: 'Pending' | 'Running';
  initDone: boolean;
  terminating: boolean;
  gone: boolean;
  startTime: string;
  pod: Obj;
}

const MAX_LOG_LINES = 20_000;

export class FakeKubelet {
  private readonly pods = new Map<string, PodRun>();
  private readonly root = mkdtempSync(join(tmpdir(), 'protium-fake-kubelet-'));
  private nextIp = 2;
  private readonly scale: number;
  private readonly ipBase = `127.77.${Math.floor(Math.random() * 200) + 20}`;

  constructor(
    private readonly api: FakeApiServer,
    private readonly opts: KubeletOptions,
  ) {
    this.scale = opts.timeScale ?? 1;
  }

  /** Starts what is new, stops what is deleted (called after every change of the store). */
  sync(): void {
    const live = new Set<string>();
    for (const pod of this.api.pods()) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      live.add(key);
      let run = this.pods.get(key);
      if (!run || run.uid !== pod.metadata.uid) {
        run = this.admit(pod);
        this.pods.set(key, run);
        void this.startPod(run);
      }
      run.pod = pod;
      if (pod.metadata.deletionTimestamp && !run.terminating) void this.terminate(run);
    }
    for (const [key, run] of this.pods)
      if (!live.has(key)) {
        // Deleted without grace (or by the collector after its owner went): stop at once.
        this.pods.delete(key);
        if (!run.gone) void this.kill(run, 0);
      }
  }

  private admit(pod: Obj): PodRun {
    const ip = `${this.ipBase}.${this.nextIp++}`;
    const dir = join(this.root, pod.metadata.uid as string);
    mkdirSync(dir, { recursive: true });
    const mk = (c: Obj): ContainerRun => ({
      name: c.name,
      image: c.image,
      restarts: 0,
      state: { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
      started: false,
      ready: false,
      logs: [],
      previous: [],
      followers: new Set(),
      backoffMs: 10_000,
      failures: { startup: 0, readiness: 0, liveness: 0 },
    });
    return {
      ns: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      ip,
      dir,
      mounts: [],
      init: (pod.spec.initContainers ?? []).map(mk),
      main: (pod.spec.containers ?? []).map(mk),
      phase: 'Pending',
      initDone: false,
      terminating: false,
      gone: false,
      startTime: new Date().toISOString(),
      pod,
    };
  }

  private spec(run: PodRun, name: string): Obj {
    return [...(run.pod.spec.initContainers ?? []), ...run.pod.spec.containers].find((c: Obj) => c.name === name);
  }

  private async startPod(run: PodRun): Promise<void> {
    // Volumes first: a configMap that does not exist (yet) keeps the pod in ContainerCreating.
    while (!run.terminating) {
      const missing = this.mountVolumes(run);
      if (!missing) break;
      this.report(run, `MountVolume.SetUp failed for volume "${missing}"`);
      await sleep(500 * this.scale);
    }
    for (const c of run.init) {
      while (!run.terminating) {
        const code = await this.runToExit(run, c);
        if (code === 0) break;
        await this.backoff(run, c);
      }
    }
    if (run.terminating) return;
    run.initDone = true;
    run.phase = 'Running';
    for (const c of run.main) this.startContainer(run, c);
    this.report(run);
  }

  private mountVolumes(run: PodRun): string | undefined {
    const mounts: Array<[string, string]> = [];
    const volumes = new Map<string, string>();
    for (const v of run.pod.spec.volumes ?? []) {
      const dir = join(run.dir, 'volumes', v.name as string);
      if (v.configMap) {
        const cm = this.api.configMap(run.ns, v.configMap.name as string);
        if (!cm) return v.name as string;
        mkdirSync(dir, { recursive: true });
        volumes.set(v.name as string, dir);
        continue;
      }
      mkdirSync(dir, { recursive: true });
      volumes.set(v.name as string, dir);
    }
    for (const c of [...(run.pod.spec.initContainers ?? []), ...run.pod.spec.containers])
      for (const m of c.volumeMounts ?? []) {
        const host = volumes.get(m.name as string);
        if (host && !mounts.some(([p]) => p === m.mountPath)) mounts.push([m.mountPath as string, host]);
      }
    run.mounts = mounts;
    // configMap files are written with the container's paths rewritten, as the mount would show them.
    for (const v of run.pod.spec.volumes ?? [])
      if (v.configMap) {
        const cm = this.api.configMap(run.ns, v.configMap.name as string)!;
        for (const [k, text] of Object.entries((cm.data ?? {}) as Record<string, string>))
          writeFileSync(join(volumes.get(v.name as string)!, k), this.rewrite(run, text, undefined), { mode: 0o444 });
      }
    return undefined;
  }

  /** The container's view of a path → this machine's. */
  private rewrite(run: PodRun, text: string, image: FakeImage | undefined): string {
    const maps = [...run.mounts, ...Object.entries(image?.paths ?? {})].sort((a, b) => b[0].length - a[0].length);
    let out = '';
    let i = 0;
    outer: while (i < text.length) {
      for (const [from, to] of maps)
        if (
          text.startsWith(from, i) &&
          (i === 0 || /[\s:="'[,]/.test(text[i - 1])) &&
          /^($|[/\s:"',\]])/.test(text.slice(i + from.length, i + from.length + 1))
        ) {
          out += to;
          i += from.length;
          continue outer;
        }
      out += text[i];
      i++;
    }
    return out;
  }

  private launch(run: PodRun, c: ContainerRun): ChildProcess | undefined {
    const spec = this.spec(run, c.name);
    const image = this.opts.images[c.image];
    if (!image) {
      c.state = {
        waiting: {
          reason: 'ErrImagePull',
          message: `rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": not found`,
        },
      };
      this.report(run);
      return undefined;
    }
    const env: Record<string, string> = { ...(this.opts.baseEnv ?? {}), HOSTNAME: run.name };
    for (const e of spec.env ?? []) {
      if (e.value !== undefined) env[e.name] = this.rewrite(run, String(e.value), image);
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = run.name;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = run.ip;
      else env[e.name] = '';
    }
    if (image.bindEnv) env[image.bindEnv] = run.ip;
    const argv = image.command(((spec.args ?? []) as string[]).map((a) => this.rewrite(run, a, image)));
    const cwd = spec.workingDir ? this.rewrite(run, spec.workingDir as string, image) : join(run.dir, 'volumes');
    mkdirSync(cwd, { recursive: true });
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
      env,
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.proc = proc;
    c.startedAt = new Date().toISOString();
    c.started = false;
    c.ready = false;
    c.failures = { startup: 0, readiness: 0, liveness: 0 };
    c.state = { running: { startedAt: c.startedAt } };
    const collect = (stream: NodeJS.ReadableStream) => {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop()!;
        for (const text of parts) this.log(c, text);
      });
      stream.on('end', () => rest && this.log(c, rest));
    };
    collect(proc.stdout);
    collect(proc.stderr);
    c.exited = new Promise((resolve) => proc.once('close', () => resolve()));
    return proc;
  }

  private log(c: ContainerRun, text: string): void {
    const line = { time: Date.now(), text };
    c.logs.push(line);
    if (c.logs.length > MAX_LOG_LINES) c.logs.shift();
    for (const f of c.followers) f(line);
  }

  private runToExit(run: PodRun, c: ContainerRun): Promise<number> {
    const proc = this.launch(run, c);
    this.report(run);
    if (!proc) return Promise.resolve(-1);
    return new Promise((resolve) =>
      proc.once('close', (code, signal) => {
        c.lastState = {};
        c.state = {
          terminated: {
            exitCode: code ?? 128,
            reason: code === 0 ? 'Completed' : 'Error',
            ...(signal ? { signal } : {}),
            startedAt: c.startedAt,
            finishedAt: new Date().toISOString(),
          },
        };
        this.report(run);
        resolve(code ?? 128);
      }),
    );
  }

  private async backoff(run: PodRun, c: ContainerRun): Promise<void> {
    const terminated = c.state.terminated as Obj | undefined;
    c.restarts++;
    if (terminated) c.lastState = { terminated };
    const waitMs = Math.min(c.backoffMs, 300_000) * this.scale;
    c.backoffMs *= 2;
    const pulled = !!this.opts.images[c.image];
    c.state = pulled
      ? {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(waitMs / 1000)}s restarting failed container=${c.name} pod=${run.name}`,
          },
        }
      : { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } };
    this.report(run);
    await sleep(waitMs);
  }

  private startContainer(run: PodRun, c: ContainerRun): void {
    if (run.terminating) return;
    const proc = this.launch(run, c);
    this.report(run);
    if (!proc) {
      void this.backoff(run, c).then(() => this.startContainer(run, c));
      return;
    }
    const started = Date.now();
    proc.once('close', (code, signal) => {
      clearTimeout(c.probeTimer);
      c.ready = false;
      c.started = false;
      if (run.terminating) return;
      // A container that ran for a while starts its back-off over (the kubelet resets it after 10 min).
      if (Date.now() - started > 600_000 * this.scale) c.backoffMs = 10_000;
      c.state = {
        terminated: {
          exitCode: code ?? 137,
          reason:
            code === 137 && this.spec(run, c.name).resources?.limits?.memory && signal === null ? 'OOMKilled' : 'Error',
          ...(signal ? { signal } : {}),
          startedAt: c.startedAt,
          finishedAt: new Date().toISOString(),
        },
      };
      c.previous = c.logs;
      c.logs = [];
      for (const f of c.followers) f({ time: -1, text: '' });
      void this.backoff(run, c).then(() => this.startContainer(run, c));
    });
    this.probeLoop(run, c, proc);
  }

  private probeLoop(run: PodRun, c: ContainerRun, proc: ChildProcess): void {
    const spec = this.spec(run, c.name);
    const period = (p: Obj | undefined) => Math.max(50, (p?.periodSeconds ?? 10) * 1000 * this.scale);
    const tick = async () => {
      if (run.terminating || c.proc !== proc || proc.exitCode !== null) return;
      const startup = spec.startupProbe as Obj | undefined;
      if (!c.started) {
        if (!startup || (await this.probe(run, spec, startup))) c.started = true;
        else if (++c.failures.startup >= (startup.failureThreshold ?? 3)) {
          this.log(c, `[kubelet] Startup probe failed ${c.failures.startup} times: restarting`);
          proc.kill('SIGKILL');
          return;
        }
      }
      if (c.started) {
        const readiness = spec.readinessProbe as Obj | undefined;
        const ok = !readiness || (await this.probe(run, spec, readiness));
        if (ok) c.failures.readiness = 0;
        else c.failures.readiness++;
        const ready = ok || c.failures.readiness < (readiness?.failureThreshold ?? 3);
        const liveness = spec.livenessProbe as Obj | undefined;
        if (liveness && !(await this.probe(run, spec, liveness))) {
          if (++c.failures.liveness >= (liveness.failureThreshold ?? 3)) {
            this.log(c, `[kubelet] Liveness probe failed ${c.failures.liveness} times: restarting`);
            proc.kill('SIGKILL');
            return;
          }
        } else c.failures.liveness = 0;
        if (ready !== c.ready && c.proc === proc && proc.exitCode === null) {
          c.ready = ready;
          this.report(run);
        }
      }
      c.probeTimer = setTimeout(() => void tick(), c.started ? period(spec.readinessProbe as Obj) : period(startup));
    };
    c.probeTimer = setTimeout(() => void tick(), 50);
  }

  private async probe(run: PodRun, spec: Obj, p: Obj): Promise<boolean> {
    const portOf = (port: unknown) =>
      typeof port === 'number' ? port : ((spec.ports ?? []) as Obj[]).find((x) => x.name === port)?.containerPort;
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    if (p.httpGet) {
      const port = portOf(p.httpGet.port);
      return new Promise((resolve) => {
        const req = http.get(
          { host: run.ip, port, path: p.httpGet.path ?? '/', agent: false, timeout: timeoutMs },
          (res) => {
            res.resume();
            resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      });
    }
    if (p.tcpSocket) {
      const port = portOf(p.tcpSocket.port);
      return new Promise((resolve) => {
        const s = net.connect({ host: run.ip, port: Number(port), timeout: timeoutMs });
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
    return false;
  }

  /** Writes the pod's status from its containers. */
  private report(run: PodRun, creating?: string): void {
    if (run.gone) return;
    const status = (c: ContainerRun, init: boolean) => ({
      name: c.name,
      image: c.image,
      imageID: this.opts.images[c.image] ? `fake://${c.image}` : '',
      ready: init ? 'terminated' in c.state && c.state.terminated.exitCode === 0 : c.ready,
      restartCount: c.restarts,
      started: init ? false : 'running' in c.state,
      state: c.state,
      lastState: c.lastState,
    });
    const ready = run.initDone && run.main.every((c) => c.ready) && !run.terminating;
    const cond = (type: string, ok: boolean, reason?: string) => ({
      type,
      status: ok ? 'True' : 'False',
      ...(reason && !ok ? { reason } : {}),
    });
    this.api.setPodStatus(run.ns, run.name, {
      phase: run.phase,
      hostIP: '127.0.0.1',
      podIP: run.ip,
      podIPs: [{ ip: run.ip }],
      startTime: run.startTime,
      conditions: [
        cond('PodScheduled', true),
        cond('Initialized', run.initDone, 'ContainersNotInitialized'),
        cond('ContainersReady', ready, 'ContainersNotReady'),
        cond('Ready', ready, 'ContainersNotReady'),
      ],
      ...(run.init.length ? { initContainerStatuses: run.init.map((c) => status(c, true)) } : {}),
      containerStatuses: run.main.map((c) => status(c, false)),
      ...(creating ? { message: creating } : {}),
    });
  }

  private async terminate(run: PodRun): Promise<void> {
    run.terminating = true;
    this.report(run);
    await this.kill(run, (run.pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000);
    this.api.podGone(run.ns, run.name);
  }

  private async kill(run: PodRun, graceMs: number): Promise<void> {
    run.terminating = true;
    const all = [...run.init, ...run.main];
    for (const c of all) {
      clearTimeout(c.probeTimer);
      clearTimeout(c.restartTimer);
    }
    const signal = (sig: NodeJS.Signals) => {
      for (const c of all)
        if (c.proc && c.proc.exitCode === null && c.proc.signalCode === null)
          try {
            process.kill(-c.proc.pid!, sig);
          } catch {
            /* gone */
          }
    };
    signal('SIGTERM');
    const exits = Promise.all(
      all.map((c) =>
        c.proc && c.proc.exitCode === null && c.proc.signalCode === null
          ? (c.exited ?? Promise.resolve())
          : Promise.resolve(),
      ),
    );
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    await exits;
    clearTimeout(timer);
    run.gone = true;
    for (const c of all) for (const f of c.followers) f({ time: -1, text: '' });
    rmSync(run.dir, { recursive: true, force: true });
  }

  /** GET .../pods/<name>/log */
  async serveLog(
    ns: string,
    name: string,
    q: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const run = this.pods.get(`${ns}/${name}`);
    if (!run || run.gone) throw new StatusError(404, 'NotFound', `pods "${name}" not found`);
    const containerName = q.get('container') ?? (run.main.length === 1 ? run.main[0].name : undefined);
    if (!containerName)
      throw new StatusError(
        400,
        'BadRequest',
        `a container name must be specified for pod ${name}, choose one of: [${run.main.map((c) => c.name).join(' ')}]`,
      );
    const c = [...run.init, ...run.main].find((x) => x.name === containerName);
    if (!c) throw new StatusError(400, 'BadRequest', `container ${containerName} is not valid for pod ${name}`);
    const previous = q.get('previous') === 'true';
    if (previous && !c.previous.length && c.restarts === 0)
      throw new StatusError(
        400,
        'BadRequest',
        `previous terminated container "${containerName}" in pod "${name}" not found`,
      );
    if (!previous && !c.proc && !c.logs.length)
      throw new StatusError(
        400,
        'BadRequest',
        `container "${containerName}" in pod "${name}" is waiting to start: ` +
          `${String(Object.values(c.state)[0]?.reason ?? 'ContainerCreating')}`,
      );
    const timestamps = q.get('timestamps') === 'true';
    const since = q.get('sinceSeconds') ? Date.now() - Number(q.get('sinceSeconds')) * 1000 : 0;
    const tail = q.get('tailLines') !== null ? Number(q.get('tailLines')) : undefined;
    let lines = (previous ? c.previous : c.logs).filter((l) => l.time >= since);
    if (tail !== undefined) lines = tail <= 0 ? [] : lines.slice(-tail);
    const fmt = (l: LogLine) => `${timestamps ? `${new Date(l.time).toISOString()} ` : ''}${l.text}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const l of lines) res.write(fmt(l));
    if (q.get('follow') !== 'true' || previous) {
      res.end();
      return;
    }
    const follower = (l: LogLine) => {
      if (l.time < 0) {
        c.followers.delete(follower);
        res.end();
      } else res.write(fmt(l));
    };
    c.followers.add(follower);
    req.on('close', () => c.followers.delete(follower));
    res.on('close', () => c.followers.delete(follower));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pods.values()].map((run) => this.kill(run, 2_000)));
    this.pods.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
