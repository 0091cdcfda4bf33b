/**
 * Nuclio's event model: what a trigger hands a runtime, and what a runtime answers.
 */

export interface NuclioEvent {
  id: string;
  trigger: { kind: string; name: string; class: string };
  method: string;
  /** URI path without the query. */
  path: string;
  /** Path and query as received. */
  url: string;
  headers: Record<string, string>;
  /** Query-string arguments. */
  fields: Record<string, string>;
  contentType: string;
  body: Buffer;
  timestamp: Date;
  shardId?: number;
  numShards?: number;
  offset?: number;
  /** The topic, subject or routing key a broker message came on. */
  topic?: string;
  /** A Kafka record's key (UTF-8). */
  key?: string;
  /** Level of logs to capture for X-Nuclio-Logs (from X-Nuclio-Log-Level), if asked. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface HandlerResult {
  status: number;
  headers: Record<string, string>;
  contentType: string;
  /** Text stays a string: Node then writes head and body in one syscall. */
  body: string | Buffer;
  /** Captured log records (X-Nuclio-Logs). */
  logs?: unknown[];
}

export function errorResult(status: number, message: string, logs?: unknown[]): HandlerResult {
  return { status, headers: {}, contentType: 'text/plain', body: message, ...(logs ? { logs } : {}) };
}
