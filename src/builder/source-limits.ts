/**
 * Bounds of a function's source once fetched (--max-source-size, --max-source-files): what an archive
 * expands to, a local folder copies to, a download or inline code decodes to. Bytes are counted as they
 * are written, never taken from what an archive or a server declares — a zip bomb declares what it likes.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { SourceLimits } from '../config.js';
import { BuildError } from './builder.js';

export type { SourceLimits };

/** `1 MiB (1048576 bytes)`: a limit as a person reads it, with the exact number. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const short = u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
  return u === 0 ? short : `${short} (${n} bytes)`;
}

/** The message of a source over --max-source-size; `subject` is e.g. "The archive". */
export function sizeLimitMessage(subject: string, limits: SourceLimits): string {
  return `${subject} is over the size limit of ${formatBytes(limits.maxBytes)} (--max-source-size)`;
}

/** The message of a source over --max-source-files. */
export function filesLimitMessage(subject: string, limits: SourceLimits): string {
  return `${subject} holds more than ${limits.maxFiles} files and folders, the limit (--max-source-files)`;
}

/** What one source has used of its limits so far. Each method throws a BuildError naming the limit once over. */
export class SourceBudget {
  private bytes = 0;
  private entries = 0;

  constructor(
    readonly limits: SourceLimits,
    private readonly subject: string,
  ) {}

  /** One more file or folder. */
  addEntry(): void {
    if (++this.entries > this.limits.maxFiles) throw new BuildError(filesLimitMessage(this.subject, this.limits));
  }

  /** `n` more bytes written. */
  addBytes(n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) throw new BuildError(sizeLimitMessage(this.subject, this.limits));
  }

  /** Bytes still allowed. */
  remaining(): number {
    return Math.max(0, this.limits.maxBytes - this.bytes);
  }

  /** A pass-through stream that counts what flows through it and fails (with the BuildError) once over. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) => {
        try {
          this.addBytes(chunk.length);
        } catch (e) {
          return done(e as Error);
        }
        done(null, chunk);
      },
    });
  }
}
