/**
 * Following a replica's log (or the build log) live over GET /api/functions/<fn>/logs/<replica>: a
 * text/plain stream of JSON lines. The stream reconnects after a cut (without repeating lines it showed)
 * and waits for a log that does not exist yet.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, conn, errorMessage, isAbort, streamLines, type LogRecord } from '../api';
import { useConn } from '../hooks';
import { formatTime } from '../util';

export interface LogLine {
  id: number;
  raw: string;
  record?: LogRecord;
  /** A line the UI adds (reconnected, replica changed). */
  marker?: boolean;
}

export type StreamState = 'idle' | 'connecting' | 'live' | 'waiting' | 'missing' | 'ended' | 'offline';

const MAX_LINES = 3000;
let nextId = 1;

export function parseLine(raw: string): LogLine {
  let record: LogRecord | undefined;
  try {
    const j = JSON.parse(raw) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) record = j;
  } catch {
    /* a plain text line */
  }
  return { id: nextId++, raw, record };
}

export const markerLine = (text: string): LogLine => ({ id: nextId++, raw: text, marker: true });

/**
 * Follows `replica`'s log of function `fn` while `enabled`. A change of `resetKey` clears the lines (a
 * new deploy); a change of `reconnectKey` reads the log again (lines already shown are not repeated).
 * A log that does not exist (404) is asked for again only while `waitIfMissing`.
 */
export function useLogStream(
  fn: string,
  replica: string | undefined,
  opts: { enabled: boolean; tailLines?: number; resetKey?: unknown; reconnectKey?: unknown; waitIfMissing?: boolean },
) {
  // A lost dashboard ends the stream (a server shutting down waits for its followers to leave).
  const { epoch, online } = useConn();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<StreamState>('idle');
  const [error, setError] = useState<string | undefined>();
  const seen = useRef<string[]>([]);
  const waitRef = useRef(!!opts.waitIfMissing);
  waitRef.current = !!opts.waitIfMissing;

  useEffect(() => {
    setLines([]);
    seen.current = [];
  }, [fn, replica, opts.resetKey]);

  useEffect(() => {
    if (!opts.enabled || !replica) {
      setState('idle');
      return;
    }
    const ac = new AbortController();
    let attempt = 0;
    const append = (raw: string[]) => {
      const recent = new Set(seen.current);
      const fresh = raw.filter((l) => !recent.has(l));
      if (!fresh.length) return;
      seen.current = [...seen.current, ...fresh].slice(-1000);
      setLines((old) => {
        const next = old.concat(fresh.map(parseLine));
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    };
    const loop = async () => {
      while (!ac.signal.aborted) {
        if (!conn.online) {
          setState('offline');
          return; // the reconnect (epoch) starts this effect again
        }
        setState(attempt === 0 ? 'connecting' : 'waiting');
        try {
          await streamLines(
            `/api/functions/${encodeURIComponent(fn)}/logs/${encodeURIComponent(replica)}`,
            { follow: 'true', tailLines: opts.tailLines ?? 500 },
            append,
            ac.signal,
            () => {
              attempt = 0;
              setState('live');
              setError(undefined);
            },
          );
          if (ac.signal.aborted) return;
          // The server ended the stream (the replica stopped, the dashboard is restarting).
          setState('ended');
          setError(undefined);
        } catch (e) {
          if (ac.signal.aborted || isAbort(e)) return;
          if (e instanceof ApiError && e.status === 404) {
            setError(undefined);
            if (!waitRef.current) {
              setState('missing');
              return;
            }
            setState('waiting');
          } else {
            setError(errorMessage(e));
            setState(e instanceof ApiError && e.kind === 'network' ? 'offline' : 'ended');
            if (e instanceof ApiError && (e.kind === 'network' || e.kind === 'auth')) return;
          }
        }
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 4000)));
      }
    };
    void loop();
    return () => ac.abort();
  }, [fn, replica, opts.enabled, opts.tailLines, opts.reconnectKey, epoch, online, opts.waitIfMissing]);

  return {
    lines,
    state,
    error,
    addMarker: (text: string) => setLines((l) => l.concat(markerLine(text))),
    clear: () => {
      setLines([]);
      seen.current = [];
    },
  };
}

const LEVEL_CLASS: Record<string, string> = {
  debug: 'lv-debug',
  info: 'lv-info',
  warn: 'lv-warn',
  warning: 'lv-warn',
  error: 'lv-error',
};

function extras(r: LogRecord): string {
  const skip = new Set(['time', 'level', 'name', 'message']);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!skip.has(k)) rest[k] = v;
  return Object.keys(rest).length ? JSON.stringify(rest) : '';
}

/** Log lines, newest at the bottom; sticks to the bottom while the reader is there. */
export function LogLines(props: { lines: LogLine[]; empty: string; testId?: string; maxHeight?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [props.lines]);
  const onScroll = () => {
    const el = box.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
  };
  return (
    <div
      class="log-lines"
      ref={box}
      onScroll={onScroll}
      data-testid={props.testId}
      style={props.maxHeight ? { maxHeight: props.maxHeight } : undefined}
      role="log"
      aria-live="polite"
    >
      {props.lines.length === 0 && <div class="muted log-empty">{props.empty}</div>}
      {props.lines.map((l) => {
        if (l.marker)
          return (
            <div key={l.id} class="log-line log-marker">
              — {l.raw} —
            </div>
          );
        const r = l.record;
        if (!r)
          return (
            <div key={l.id} class="log-line">
              {l.raw}
            </div>
          );
        const level = String(r.level ?? 'info').toLowerCase();
        return (
          <div key={l.id} class={`log-line ${LEVEL_CLASS[level] ?? ''}`}>
            <span class="log-time">{formatTime(r.time)}</span>
            <span class="log-level">{level}</span>
            {r.name && <span class="log-name">{String(r.name)}</span>}
            <span class="log-msg">{String(r.message ?? '')}</span>
            <span class="log-extra">{extras(r)}</span>
          </div>
        );
      })}
    </div>
  );
}

export const streamStateLabel: Record<StreamState, string> = {
  idle: 'not following',
  connecting: 'connecting…',
  live: 'following live',
  waiting: 'waiting for the log…',
  missing: 'no log yet',
  ended: 'stream ended; reconnecting…',
  offline: 'dashboard unreachable; will resume',
};
