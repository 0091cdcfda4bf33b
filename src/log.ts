/**
 * The dashboard's logger: pino, one JSON object per line on stdout, and a child per component.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { name: 'protium' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything (tests that do not care about logs). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
