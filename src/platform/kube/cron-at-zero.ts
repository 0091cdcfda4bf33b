/**
 * Cron triggers of functions scaled to zero (Nuclio's HPA cannot go below one replica, and its cron
 * triggers do not fire at zero). While a function has a pod, the processor's own cron trigger fires its
 * schedule; while it has none, the dashboard keeps the schedule and at each tick sends the trigger's event
 * through the activator (`route()`: the tick wakes the function), to the function's http trigger — as
 * Nuclio's "kube" cron mode has a CronJob call the function's Service. The event is the trigger's
 * `attributes.event` (body, headers), POSTed to `/`, with Nuclio's `X-Nuclio-Invoke-Trigger: cron` (what
 * its CronJobs send) and `X-Protium-Cron-Trigger: <trigger name>`.
 *
 * `cronTicks` is pure (what to fire, and when); `CronAtZero` keeps the timers.
 */
import { normaliseCronSchedule } from '../../resources/cron-schedule.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import { parseDuration } from '../../util/duration.js';

/** The header naming the cron trigger of an event the dashboard delivered. */
export const CRON_TRIGGER_HEADER = 'X-Protium-Cron-Trigger';
/** The header Nuclio's cron CronJobs send (`cron`): handlers written for them tell cron events by it. */
export const NUCLIO_INVOKE_TRIGGER_HEADER = 'X-Nuclio-Invoke-Trigger';

/** One cron trigger's schedule and event. */
export interface CronTick {
  trigger: string;
  /** Every `intervalMs` (attributes.interval, or a schedule `@every <duration>`)… */
  intervalMs?: number;
  /** …or a cron expression as croner takes it. */
  schedule?: string;
  body: string;
  headers: Record<string, string>;
}

/** The enabled cron triggers of a function, as ticks (none for a disabled function). */
export function cronTicks(fn: FunctionRecord): CronTick[] {
  if (fn.spec.disable) return [];
  const out: CronTick[] = [];
  for (const [name, t] of Object.entries(fn.spec.triggers ?? {})) {
    if (t.kind !== 'cron' || t.disabled) continue;
    const a = t.attributes ?? {};
    const schedule = typeof a.schedule === 'string' ? a.schedule.trim() : '';
    const every = schedule.startsWith('@every ') ? parseDuration(schedule.slice(7)) : undefined;
    const interval = typeof a.interval === 'string' ? parseDuration(a.interval) : every;
    const ev = (a.event ?? {}) as { body?: unknown; headers?: Record<string, unknown> };
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ev.headers ?? {})) headers[k] = String(v);
    headers[NUCLIO_INVOKE_TRIGGER_HEADER] = 'cron';
    headers[CRON_TRIGGER_HEADER] = name;
    const body = typeof ev.body === 'string' ? ev.body : ev.body === undefined ? '' : JSON.stringify(ev.body);
    if (interval && interval > 0) out.push({ trigger: name, intervalMs: interval, body, headers });
    else if (schedule) {
      try {
        out.push({ trigger: name, schedule: normaliseCronSchedule(schedule), body, headers });
      } catch {
        // The API refuses a bad schedule; one that got through anyway fires nowhere, as in the processor.
      }
    }
  }
  return out;
}

export interface CronAtZeroOptions {
  /** True when the function has no pod (so its processor's own trigger cannot fire). */
  atZero: (ref: FunctionRef) => boolean;
  /** Delivers one tick's event through the activator. */
  fire: (ref: FunctionRef, tick: CronTick) => Promise<void>;
  onError: (ref: FunctionRef, tick: CronTick, err: Error) => void;
}

interface Job {
  stop(): void;
}

export class CronAtZero {
  private readonly jobs = new Map<string, Job[]>();
  private croner?: Promise<typeof import('croner')>;

  constructor(private readonly opts: CronAtZeroOptions) {}

  /** Keeps the schedules of `fn` (replacing those it had). */
  async set(ref: FunctionRef, fn: FunctionRecord): Promise<void> {
    this.remove(ref);
    const ticks = cronTicks(fn);
    if (!ticks.length) return;
    const jobs: Job[] = [];
    this.jobs.set(key(ref), jobs);
    for (const tick of ticks) {
      const run = () => {
        if (!this.opts.atZero(ref)) return;
        this.opts.fire(ref, tick).catch((e: unknown) => this.opts.onError(ref, tick, e as Error));
      };
      if (tick.intervalMs) {
        const timer = setInterval(run, tick.intervalMs);
        timer.unref();
        jobs.push({ stop: () => clearInterval(timer) });
      } else if (tick.schedule) {
        // croner is loaded only when some function has a cron schedule.
        const { Cron } = await (this.croner ??= import('croner'));
        if (this.jobs.get(key(ref)) !== jobs) return; // removed meanwhile
        const job = new Cron(tick.schedule, { unref: true }, run);
        jobs.push({ stop: () => job.stop() });
      }
    }
  }

  remove(ref: FunctionRef): void {
    for (const j of this.jobs.get(key(ref)) ?? []) j.stop();
    this.jobs.delete(key(ref));
  }

  close(): void {
    for (const jobs of this.jobs.values()) for (const j of jobs) j.stop();
    this.jobs.clear();
  }
}

const key = (ref: FunctionRef) => `${ref.namespace}/${ref.name}`;
