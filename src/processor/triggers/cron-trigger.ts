/**
 * The cron trigger, with Nuclio's attributes: `interval` (a Go duration) or `schedule` (a cron expression, seconds
 * field allowed, or `@every <duration>`), firing events whose body and headers come from `attributes.event`. A tick
 * that finds every worker busy is skipped, as Nuclio does with missed ticks.
 */
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../../util/duration.js';
import { normaliseCronSchedule } from '../../resources/cron-schedule.js';
import type { NuclioEvent } from '../event.js';
import type { Trigger, TriggerContext, TriggerFactory } from './trigger.js';

class CronTrigger implements Trigger {
  readonly kind = 'cron';
  readonly name: string;
  private timer?: NodeJS.Timeout;
  private job?: { stop(): void };

  constructor(private readonly ctx: TriggerContext) {
    this.name = ctx.name;
  }

  async start(): Promise<void> {
    const a = this.ctx.spec.attributes ?? {};
    const schedule = typeof a.schedule === 'string' ? a.schedule.trim() : '';
    const every = schedule.startsWith('@every ') ? parseDuration(schedule.slice(7)) : undefined;
    const interval = typeof a.interval === 'string' ? parseDuration(a.interval) : every;
    if (interval && interval > 0) {
      this.timer = setInterval(() => this.tick(), interval);
      return;
    }
    if (!schedule) throw new Error(`cron trigger ${this.name} needs attributes.schedule or attributes.interval`);
    // croner is loaded only by functions that have a cron schedule: it costs start time otherwise.
    const { Cron } = await import('croner');
    this.job = new Cron(normaliseCronSchedule(schedule), () => this.tick());
  }

  private tick(): void {
    const a = this.ctx.spec.attributes ?? {};
    const ev = (a.event ?? {}) as { body?: unknown; headers?: Record<string, unknown> };
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ev.headers ?? {})) headers[k] = String(v);
    const event: NuclioEvent = {
      id: randomUUID(),
      trigger: { kind: 'cron', name: this.name, class: 'async' },
      method: 'POST',
      path: '/',
      url: '',
      headers,
      fields: {},
      contentType: headers['Content-Type'] ?? headers['content-type'] ?? 'text/plain',
      body: Buffer.from(typeof ev.body === 'string' ? ev.body : ev.body === undefined ? '' : JSON.stringify(ev.body)),
      timestamp: new Date(),
    };
    if (this.ctx.pool.inflight >= this.ctx.pool.size) {
      this.ctx.log.warn(`cron trigger ${this.name}: every worker is busy, skipping this tick`);
      return;
    }
    this.ctx.pool
      .run(0, (id) => this.ctx.submit(event, id))
      .then(
        (r) => {
          if (r.status >= 500)
            this.ctx.log.error(`cron trigger ${this.name}: the handler answered ${r.status}`, {
              body: r.body.toString('utf8').slice(0, 500),
            });
        },
        (e) => this.ctx.log.error(`cron trigger ${this.name}: ${(e as Error).message}`),
      );
  }

  async stop(graceMs: number): Promise<void> {
    clearInterval(this.timer);
    this.job?.stop();
    const deadline = Date.now() + graceMs;
    while (this.ctx.pool.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
}

export const cronTrigger: TriggerFactory = (ctx) => new CronTrigger(ctx);
