/**
 * Restart back-off of crashing replicas: doubling from 250 ms to 30 s, reset after a replica has served
 * for a minute. Pure.
 */
export const BACKOFF_MIN_MS = 250;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_RESET_AFTER_MS = 60_000;

/** Delay before restart number `attempt` (0-based) of a replica. */
export function backoffDelay(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, attempt));
}

/** The attempt counter after a crash: reset when the replica had been up long enough. */
export function nextAttempt(previous: number, upMs: number): number {
  return upMs >= BACKOFF_RESET_AFTER_MS ? 0 : previous + 1;
}
