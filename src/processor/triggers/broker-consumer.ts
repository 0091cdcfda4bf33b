/**
 * What the message triggers (nats, mqtt, rabbit-mq, kafka-cluster) share, in one place: keeping a
 * connection to the broker (connect, notice a loss, reconnect with back-off, forever — a broker that is down
 * never crashes the replica), reporting whether it is connected (the dashboard turns that into the
 * function's status), running each message on the trigger's workers with the outcome classified, and a
 * clean stop (no new messages, the ones in hand finish and are acknowledged, then the connection closes).
 *
 * Each broker's module supplies a `BrokerClient`: how to connect and consume, and what acknowledging means.
 */
import { randomUUID } from 'node:crypto';
import type { HandlerResult, NuclioEvent } from '../event.js';
import { WorkerUnavailableError } from '../worker-pool.js';
import type { Trigger, TriggerContext } from './trigger.js';

/** One live connection, consuming. */
export interface BrokerSession {
  /** Resolves when the connection ends on its own (broker gone, network), with the reason. Never rejects. */
  readonly lost: Promise<string>;
  /** Stops new deliveries (unsubscribe, cancel the consumer); messages already delivered still run. */
  stopIntake(): Promise<void>;
  /** Closes the connection; called once the messages in hand are settled. */
  close(): Promise<void>;
}

/** A broker's side of a trigger. */
export interface BrokerClient {
  /** What it connects to, credentials left out (for logs and the status). */
  readonly target: string;
  /** Connects and starts consuming; rejects with the reason when it cannot. */
  connect(): Promise<BrokerSession>;
}

/** What running a message on a worker came to. */
export interface Delivery {
  /** The handler answered below 500 (and not 408, a timeout). */
  ok: boolean;
  result?: HandlerResult;
  /** Why not, in a line (for logs). */
  failure?: string;
}

/** Runs an event on one of the trigger's workers (waiting up to `waitMs` for one; 0: as long as it takes). */
export type Deliver = (event: NuclioEvent, waitMs?: number) => Promise<Delivery>;

/** The trigger's side, given to the broker client. */
export interface ConsumerHandle {
  deliver: Deliver;
  /**
   * Delivers until the handler succeeds, waiting between attempts with back-off (at-least-once brokers:
   * the message is acknowledged only then). False when the trigger stopped first: leave it unacknowledged.
   */
  deliverUntilOk(event: NuclioEvent, what: string): Promise<boolean>;
  /** True once the trigger is stopping. */
  readonly stopping: boolean;
  /** Waits `ms`, or less when the trigger stops. */
  sleep(ms: number): Promise<void>;
}

export interface BrokerTriggerOptions {
  kind: string;
  /** Builds the broker client around the trigger's handle. */
  client: (handle: ConsumerHandle) => BrokerClient;
  /** The longest wait between two connection attempts (default 10 s). */
  maxBackoffMs?: number;
}

/** Back-off between attempts: 250 ms doubling up to `max`. Pure. */
export function backoffMs(attempt: number, max = 10_000): number {
  return Math.min(max, 250 * 2 ** Math.min(attempt, 16));
}

/**
 * A handler's answer as a delivery outcome: below 500 and not 408 is success, as the v3ioStream trigger counts it.
 * Pure.
 */
export function outcomeOf(result: HandlerResult): Delivery {
  if (result.status < 500 && result.status !== 408) return { ok: true, result };
  const body = typeof result.body === 'string' ? result.body : result.body.toString('utf8');
  return { ok: false, result, failure: `the handler answered ${result.status}: ${body.slice(0, 300)}` };
}

/** An event for a broker message: the fields every broker trigger fills the same way. */
export function messageEvent(kind: string, name: string, fields: Partial<NuclioEvent> & { body: Buffer }): NuclioEvent {
  return {
    id: randomUUID(),
    trigger: { kind, name, class: 'async' },
    method: 'POST',
    path: '',
    url: '',
    headers: {},
    fields: {},
    contentType: '',
    timestamp: new Date(),
    ...fields,
  };
}

/** Header values of any broker (numbers, buffers, lists) as the strings an event carries. */
export function headerText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map(headerText).join(', ');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      // An object JSON cannot hold (a cycle, a BigInt): its tag is all the text there is.
      return Object.prototype.toString.call(value);
    }
  }
  return ''; // a symbol or a function, which no broker's client decodes
}

class BrokerTrigger implements Trigger, ConsumerHandle {
  readonly kind: string;
  readonly name: string;
  private readonly client: BrokerClient;
  private readonly maxBackoffMs: number;
  private session?: BrokerSession;
  private loop?: Promise<void>;
  private stopRequested = false;
  private readonly sleepers = new Set<() => void>();
  private inflight = 0;
  private delivered = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private lastWarn = 0;
  private state?: { connected: boolean; message?: string };

  constructor(
    private readonly ctx: TriggerContext,
    opts: BrokerTriggerOptions,
  ) {
    this.kind = opts.kind;
    this.name = ctx.name;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.client = opts.client(this);
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Makes the first connection attempt (whatever its outcome), then keeps the connection in the background. */
  async start(): Promise<void> {
    let first!: () => void;
    const attempted = new Promise<void>((r) => {
      first = r;
    });
    this.loop = this.keepConnected(first);
    await attempted;
  }

  private async keepConnected(attempted: () => void): Promise<void> {
    const { log } = this.ctx;
    for (let attempt = 0; !this.stopRequested;) {
      let reason: string;
      try {
        const session = await this.client.connect();
        if (this.stopRequested) {
          await session.close().catch(() => {});
          attempted();
          return;
        }
        this.session = session;
        attempt = 0;
        log.info(`${this.kind} trigger ${this.name} is consuming from ${this.client.target}`);
        this.setState({ connected: true });
        attempted();
        reason = await session.lost;
        if (this.stopRequested) return;
        this.session = undefined;
        await session.close().catch(() => {});
        reason = `lost the connection: ${reason}`;
      } catch (e) {
        reason = (e as Error).message || String(e);
      }
      const delay = backoffMs(attempt++, this.maxBackoffMs);
      const message =
        `Trigger ${this.name} (${this.kind}) cannot reach ${this.client.target}: ${reason}; ` +
        `retrying with back-off`;
      this.warn(`${message} (next attempt in ${delay} ms)`);
      this.setState({ connected: false, message });
      attempted();
      await this.sleep(delay);
    }
  }

  /** Reports a change of state (not every retry: the status would be rewritten each time). */
  private setState(state: { connected: boolean; message?: string }): void {
    if (this.state && this.state.connected === state.connected && this.state.message === state.message) return;
    this.state = state;
    this.ctx.report?.(state);
  }

  /** A warning at most every 10 s (a broker that is down would flood the log), always the first. */
  private warn(message: string): void {
    if (Date.now() - this.lastWarn < 10_000) return;
    this.lastWarn = Date.now();
    this.ctx.log.warn(message);
  }

  sleep(ms: number): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  deliver: Deliver = async (event, waitMs = 0) => {
    this.inflight++;
    this.delivered++;
    try {
      const result = await this.ctx.pool.run(waitMs, (id) => this.ctx.submit(event, id));
      const outcome = outcomeOf(result);
      if (!outcome.ok)
        this.ctx.log.error(
          `${this.kind} trigger ${this.name}: event ${event.id}${event.topic ? ` on ${event.topic}` : ''} ` +
            `failed (${outcome.failure})`,
        );
      return outcome;
    } catch (e) {
      const failure = e instanceof WorkerUnavailableError ? e.message : `the handler failed: ${(e as Error).message}`;
      this.ctx.log.error(
        `${this.kind} trigger ${this.name}: event ${event.id}${event.topic ? ` on ${event.topic}` : ''} failed ` +
          `(${failure})`,
      );
      return { ok: false, failure };
    } finally {
      if (--this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  };

  async deliverUntilOk(event: NuclioEvent, what: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const d = await this.deliver(event);
      if (d.ok) return true;
      if (this.stopRequested) return false;
      const delay = backoffMs(attempt, 5_000);
      if (attempt < 3 || attempt % 20 === 0)
        this.ctx.log.warn(
          `${this.kind} trigger ${this.name}: retrying ${what} in ${delay} ms (attempt ${attempt + 2})`,
        );
      await this.sleep(delay);
      if (this.stopRequested) return false;
    }
  }

  /** No new messages; the ones in hand finish (up to `graceMs`) and are settled; then the connection closes. */
  async stop(graceMs: number): Promise<void> {
    this.stopRequested = true;
    for (const wake of [...this.sleepers]) wake();
    const deadline = Date.now() + graceMs;
    const session = this.session;
    if (session)
      await withTimeout(
        session.stopIntake().catch(() => {}),
        Math.max(0, deadline - Date.now()),
      );
    // Messages the broker had already sent this replica may still arrive after the intake stopped (an
    // MQTT session's queue, a prefetch): run until none is in hand and none came for a short while.
    for (;;) {
      if (this.inflight > 0)
        await withTimeout(new Promise<void>((r) => this.idleWaiters.push(r)), Math.max(0, deadline - Date.now()));
      const seen = this.delivered;
      await new Promise((r) => setTimeout(r, QUIET_MS));
      if ((this.inflight === 0 && this.delivered === seen) || Date.now() >= deadline) break;
    }
    if (session)
      await withTimeout(
        session.close().catch(() => {}),
        3_000,
      );
    await withTimeout(this.loop ?? Promise.resolve(), 1_000);
    this.ctx.log.info(`${this.kind} trigger ${this.name} stopped`);
  }
}

/** How long a stopping trigger waits for stragglers after its last message. */
const QUIET_MS = 150;

function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => {}),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A trigger that consumes from a broker through `opts.client`, with the mechanics above. */
export function brokerTrigger(ctx: TriggerContext, opts: BrokerTriggerOptions): Trigger {
  return new BrokerTrigger(ctx, opts);
}
