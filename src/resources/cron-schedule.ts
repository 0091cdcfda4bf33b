/**
 * Cron schedules as Nuclio's cron trigger (robfig/cron) accepts them, normalised for croner. Pure and
 * free of croner itself, so the processor loads croner only when a function has a cron schedule.
 */
import { parseDuration } from '../util/duration.js';
import { quote } from '../errors.js';

/** robfig/cron descriptors, as plain cron expressions (croner lacks some of them). */
const ROBFIG_DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * Nuclio's cron trigger accepts the robfig/cron forms: 5 or 6 fields and descriptors such as `@every 1m`
 * or `@hourly`. croner takes 5–7 fields and the common descriptors; `@every` is mapped to an interval by
 * the trigger, so here it is only checked for a valid duration.
 */
export function normaliseCronSchedule(schedule: string): string {
  const s = schedule.trim();
  if (Object.hasOwn(ROBFIG_DESCRIPTORS, s)) return ROBFIG_DESCRIPTORS[s];
  if (s.startsWith('@every ')) {
    const ms = parseDuration(s.slice(7));
    if (!(ms! > 0)) throw new Error(`"@every" needs a positive duration, got ${quote(s.slice(7))}`);
    return '* * * * * *';
  }
  return s;
}
