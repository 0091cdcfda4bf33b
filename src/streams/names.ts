/**
 * Names in the stream service: containers, stream paths, consumer groups and group members. Containers
 * and path segments become folder names under the data dir and group names become keys of a JSON file,
 * so they are checked strictly here, before anything touches the disk. Pure.
 */

/** One folder name: a letter, digit or underscore first (so never `.` or `..`), then also `.` and `-`. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Consumer groups: V3IO keeps offsets in attributes named `__<group>_committed_sequence_number`. */
const GROUP = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Members: the trigger sends `<replica name>:<pid>`. */
const MEMBER = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,255}$/;

/** The deepest stream path accepted (folders below the container). */
export const MAX_PATH_DEPTH = 16;

/** A stream's address: its container and its path inside it (segments joined by `/`, no outer slashes). */
export interface StreamAddress {
  container: string;
  path: string;
}

/** `<container>/<path>`, as error messages and the shard-lag answer name a stream. */
export const streamKey = (a: StreamAddress): string => `${a.container}/${a.path}`;

/** Why `name` is not a valid container name, or undefined when it is. */
export function containerError(name: string): string | undefined {
  if (!SEGMENT.test(name)) {
    return (
      `Container name ${JSON.stringify(name.slice(0, 140))} is invalid: use 1 to 128 letters, digits, '_', ` +
      `'.' or '-', starting with a letter, digit or '_'`
    );
  }
  return undefined;
}

/**
 * A stream path without its outer slashes (`/a/b/` → `a/b`), or an error message. Empty segments (`a//b`),
 * `.` and `..` and characters outside the folder alphabet are refused.
 */
export function parseStreamPath(raw: string): { path: string } | { error: string } {
  const trimmed = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!trimmed) return { error: 'Stream path must not be empty' };
  const segments = trimmed.split('/');
  if (segments.length > MAX_PATH_DEPTH)
    return {
      error: `Stream path ${JSON.stringify(raw.slice(0, 140))} is too deep: at most ${MAX_PATH_DEPTH} segments`,
    };
  for (const s of segments) {
    if (!SEGMENT.test(s)) {
      return {
        error:
          `Stream path ${JSON.stringify(raw.slice(0, 140))} is invalid: ` +
          `segment ${JSON.stringify(s.slice(0, 140))} must be 1 to 128 letters, digits, '_', '.' or '-', starting ` +
          `with a letter, digit or '_'`,
      };
    }
  }
  return { path: segments.join('/') };
}

/** Why `name` is not a valid consumer group name, or undefined when it is. */
export function consumerGroupError(name: unknown): string | undefined {
  if (typeof name !== 'string' || !name) return 'ConsumerGroup must be a non-empty string';
  if (!GROUP.test(name)) {
    return (
      `Consumer group name ${JSON.stringify(name.slice(0, 140))} is invalid: use 1 to 128 letters, digits, ` +
      `'_', '.' or '-', starting with a letter, digit or '_'`
    );
  }
  return undefined;
}

/** Why `id` is not a valid member id, or undefined when it is. */
export function memberIdError(id: unknown): string | undefined {
  if (typeof id !== 'string' || !id) return 'MemberId must be a non-empty string';
  if (!MEMBER.test(id)) {
    return (
      `Member id ${JSON.stringify(id.slice(0, 140))} is invalid: use 1 to 256 letters, digits, '_', '.', ` +
      `':', '@' or '-'`
    );
  }
  return undefined;
}
