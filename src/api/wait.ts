/**
 * Waiting for a function to reach a state (X-Nuclio-Wait-Function-Action): watches the store instead of
 * polling, bounded by a timeout and by the client going away.
 */
import type { Store } from '../store/store.js';
import type { FunctionRecord, FunctionRef } from '../resources/types.js';

/**
 * Resolves with the function once `done(fn)` holds (or undefined if it is deleted), or with the last seen
 * function when the timeout passes or the signal aborts.
 */
export function waitForFunction(
  store: Store,
  ref: FunctionRef,
  done: (fn: FunctionRecord) => boolean,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<FunctionRecord | undefined> {
  return new Promise((resolve) => {
    let last: FunctionRecord | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      stop();
      opts.signal?.removeEventListener('abort', finish);
      resolve(last);
    };
    const stop = store.watch((c) => {
      if (c.kind !== 'function' || c.namespace !== ref.namespace || c.name !== ref.name) return;
      if (c.type === 'deleted') {
        last = undefined;
        finish();
        return;
      }
      last = c.object as FunctionRecord;
      if (done(last)) finish();
    });
    const timer = setTimeout(finish, opts.timeoutMs);
    opts.signal?.addEventListener('abort', finish);
    void store.get('function', ref.namespace, ref.name).then((fn) => {
      if (finished) return;
      last = fn;
      if (!fn || done(fn)) finish();
    });
  });
}

/** An AbortSignal that fires when the client of `raw` disconnects before the answer is sent. */
export function clientGone(
  raw: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  raw.once('aborted', () => ac.abort());
  return ac.signal;
}
