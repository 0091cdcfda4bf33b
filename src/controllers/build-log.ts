/**
 * Build logs: the function controller's own record of a function's last build and deploy (the builder's
 * output, the deploy's steps, the new replicas' start-up lines, the outcome), kept apart from replica
 * logs, which are the platform's. The logs endpoint serves a build log as the pseudo-replica
 * `nuclio-<namespace>-<function>-build`, the name Nuclio's tools read it by.
 *
 * On disk: `builds/<namespace>/<function>/build.log` (util/log-files.ts: JSON lines, 4 MiB with one
 * rotated generation), and beside it `npm/`, the debug logs npm writes during the build's commands.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiError } from '../errors.js';
import type { FunctionRef } from '../resources/types.js';
import { readLog, RotatingLog, type ReadQuery } from '../util/log-files.js';

/** The name the logs endpoint serves a function's build log under. */
export function buildLogName(ref: FunctionRef): string {
  return `nuclio-${ref.namespace}-${ref.name}-build`;
}

/** The build logs of every function, under the data dir's `builds/`. */
export class BuildLogs {
  /** `dir`: the data dir's builds folder. */
  constructor(private readonly dir: string) {}

  /** The folder of a function's build log, also given to the build for the logs its tools write. */
  folder(ref: FunctionRef): string {
    return join(this.dir, ref.namespace, ref.name);
  }

  private file(ref: FunctionRef): string {
    return join(this.folder(ref), 'build.log');
  }

  /** True when `name` (as a client spells it, in any case) names the build log of `ref`. */
  isBuildLog(ref: FunctionRef, name: string): boolean {
    return name.toLowerCase() === buildLogName(ref).toLowerCase();
  }

  /** Starts a function's build log afresh (the previous build's goes); the caller closes it. */
  start(ref: FunctionRef): RotatingLog {
    const path = this.file(ref);
    rmSync(path, { force: true });
    rmSync(`${path}.1`, { force: true });
    return new RotatingLog(path);
  }

  /** The build log's lines (tail, since, follow as for replica logs); a 404 when the function has none. */
  async read(ref: FunctionRef, query: ReadQuery): Promise<AsyncIterable<string>> {
    const path = this.file(ref);
    if (!existsSync(path) && !existsSync(`${path}.1`)) {
      throw apiError('REPLICA_LOG_NOT_FOUND', buildLogName(ref), ref.name);
    }
    return readLog(path, query);
  }

  /** Removes a function's build logs (the function is gone). */
  remove(ref: FunctionRef): void {
    rmSync(this.folder(ref), { recursive: true, force: true });
  }
}
