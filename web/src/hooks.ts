/** Data loading that survives a restarting dashboard: polls, keeps the last good data, reloads on reconnect. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, conn, isAbort, subscribe, type ConnState } from './api';

/** The connection state, re-rendering on change. */
export function useConn(): ConnState {
  const [, setTick] = useState(0);
  useEffect(() => subscribe(() => setTick((t) => t + 1)), []);
  return conn;
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again now; resolves when done. */
  reload: () => Promise<void>;
}

/**
 * Calls `load` now, then every `intervalMs` (0: once), again when `deps` change and when the connection
 * comes back. Errors are kept beside the last good data, never thrown; a 404 stops the polling.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, deps: unknown[]): Loaded<T> {
  const { epoch } = useConn();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const runRef = useRef<() => Promise<void>>(async () => {});

  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running: Promise<void> | undefined;
    setData(undefined);
    setLoading(true);
    setError(undefined);
    let gone = false;
    const run = async (): Promise<void> => {
      if (running) return running;
      clearTimeout(timer);
      running = (async () => {
        try {
          const value = await loadRef.current(ac.signal);
          if (ac.signal.aborted) return;
          setData(value);
          setError(undefined);
        } catch (e) {
          if (ac.signal.aborted || isAbort(e)) return;
          // A 404 will not go away by asking again: stop until the page (or a reload) asks.
          gone = e instanceof ApiError && e.status === 404;
          // A lost dashboard is told once, by the connection banner; the last data stays.
          if (e instanceof ApiError && e.kind === 'network') return;
          setError(e);
        } finally {
          if (!ac.signal.aborted) setLoading(false);
        }
      })();
      try {
        await running;
      } finally {
        running = undefined;
        // While the dashboard is away, the reconnect (epoch) restarts the polling.
        if (!ac.signal.aborted && intervalMs > 0 && conn.online && !gone)
          timer = setTimeout(() => void run(), intervalMs);
      }
    };
    runRef.current = run;
    void run();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
    // `load` is read through loadRef (a new closure each render must not restart polling); `deps` say when to.
  }, [...deps, epoch, intervalMs]);

  const reload = useCallback(() => runRef.current(), []);
  return { data, error, loading, reload };
}

/**
 * An action with its own busy flag and error: `run(fn)` never rejects; the error is kept for display
 * next to the control that started it.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  const run = useCallback(async <R>(fn: () => Promise<R>): Promise<R | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await fn();
    } catch (e) {
      if (mounted.current) setError(e);
      return undefined;
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** A ticking clock (ms since epoch) while `active`, for elapsed times. */
export function useNow(active: boolean, everyMs = 200): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [active, everyMs]);
  return now;
}
