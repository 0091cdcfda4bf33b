/**
 * The log of one deploy, as Nuclio shows it in a function's `status.logs`: the build's records and the
 * start-up records of its replicas, in order, while the deploy runs and after it ends (its web UI's
 * build-log panes read nothing else). Every record goes to the build log file whole; `status.logs` keeps a
 * bounded view (the first records, a marker saying how many were left out, the last ones), published to
 * the store at most once per interval so that a chatty build does not turn into a write per line.
 */
import type { LogRecord } from '../resources/types.js';

/** status.logs holds at most this many records. */
export const STATUS_LOG_RECORDS = 100;
/** …of which the first ones of the deploy (what started it) are always kept. */
const HEAD_RECORDS = 10;
/** Store writes of status.logs while a deploy runs: at most one per this interval. */
export const PUBLISH_INTERVAL_MS = 1000;

/**
 * The bounded view: all records when they fit, else the first `head`, one marker record counting what was
 * left out, and the last ones. Pure.
 */
export function boundedRecords(head: LogRecord[], tail: LogRecord[], dropped: number, whereFull: string): LogRecord[] {
  if (!dropped) return [...head, ...tail];
  const marker: LogRecord = {
    level: 'info',
    time: tail[0]?.time ?? head[head.length - 1]?.time ?? Date.now(),
    name: 'deployer',
    message: `… ${dropped} log record${dropped === 1 ? '' : 's'} left out here (the full log: ${whereFull})`,
  };
  return [...head, marker, ...tail];
}

export interface DeployLogOptions {
  /** Receives every record (the build log file). */
  write?: (record: LogRecord) => void;
  /** Stores the bounded view as status.logs; a rejection is ignored (the next publish retries). */
  publish: (records: LogRecord[]) => Promise<void>;
  /** Where the whole log can be read, for the marker record. */
  whereFull: string;
  limit?: number;
  intervalMs?: number;
}

export class DeployLog {
  private readonly head: LogRecord[] = [];
  private readonly tail: LogRecord[] = [];
  private dropped = 0;
  private changed = false;
  private timer?: NodeJS.Timeout;
  private publishing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly limit: number;

  constructor(private readonly opts: DeployLogOptions) {
    this.limit = Math.max(HEAD_RECORDS + 2, opts.limit ?? STATUS_LOG_RECORDS);
  }

  add(record: LogRecord): void {
    this.opts.write?.(record);
    if (this.head.length < HEAD_RECORDS) {
      this.head.push(record);
    } else {
      this.tail.push(record);
      // One slot goes to the marker once records are left out.
      while (this.tail.length > this.limit - HEAD_RECORDS - 1) {
        this.tail.shift();
        this.dropped++;
      }
    }
    this.changed = true;
    if (!this.closed && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.intervalMs ?? PUBLISH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** The bounded view of every record so far. */
  records(): LogRecord[] {
    return boundedRecords(this.head, this.tail, this.dropped, this.opts.whereFull);
  }

  /** Publishes the records now if anything changed since the last publish; publishes never overlap. */
  flush(): Promise<void> {
    this.publishing = this.publishing.then(async () => {
      if (!this.changed || this.closed) return;
      this.changed = false;
      await this.opts.publish(this.records()).catch(() => {
        /* the final status write carries them anyway */
      });
    });
    return this.publishing;
  }

  /** Stops publishing (the deploy's final status write carries the records); waits for a publish in flight. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.publishing;
  }
}
