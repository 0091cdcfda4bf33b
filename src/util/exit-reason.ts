/**
 * Why a process exited, in words, for error messages and logs.
 */
import { constants } from 'node:os';

/** Signal numbers to names; the first name wins where two share a number (SIGABRT, not SIGIOT). */
const SIGNAL_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.signals)) if (!SIGNAL_NAMES.has(n)) SIGNAL_NAMES.set(n, name);

/**
 * `killed by SIGKILL` or `exit code 3`. A wrapper (a confinement: unshare, bwrap) that reports a child
 * killed by signal N as exit code 128 + N is read back as the signal, as a shell does. Pure.
 */
export function exitReason(code: number | null, signal: string | null, signalsAsExitCodes: boolean): string {
  if (signal) return `killed by ${signal}`;
  const viaWrapper = signalsAsExitCodes && code !== null && code > 128 ? SIGNAL_NAMES.get(code - 128) : undefined;
  return viaWrapper ? `killed by ${viaWrapper}` : `exit code ${code}`;
}
