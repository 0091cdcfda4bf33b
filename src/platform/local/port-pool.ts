/**
 * Function ports: bound by the dashboard (so a function scaled to zero keeps its port and wakes on the
 * next connection) from a configured range. A function keeps the port it had (status.httpPort) when it is
 * free, so URLs survive updates and dashboard restarts.
 */
import net from 'node:net';

/** Candidate ports: the preferred one first, then the range from a per-name start, wrapping around. */
export function candidatePorts(range: [number, number], seed: string, preferred?: number): number[] {
  const [lo, hi] = range;
  const size = hi - lo + 1;
  let h = 0;
  for (const ch of seed) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const start = h % size;
  const out: number[] = [];
  if (preferred && preferred >= lo && preferred <= hi) out.push(preferred);
  for (let i = 0; i < size && out.length < 200; i++) {
    const p = lo + ((start + i) % size);
    if (p !== preferred) out.push(p);
  }
  return out;
}

export interface ListenOptions {
  /** Only the first candidate will do (an http trigger's attributes.port). */
  exact?: boolean;
  /** A candidate was taken by another program and the next one is tried (expected: worth a debug line). */
  onTaken?: (port: number, err: Error) => void;
}

/** Listens `server` on the first free candidate not in `inUse`. */
export async function listenOnFree(
  server: net.Server,
  host: string,
  candidates: number[],
  inUse: Set<number>,
  opts: ListenOptions = {},
): Promise<number> {
  const exact = opts.exact === true;
  let lastError: Error | undefined;
  for (const port of candidates) {
    if (inUse.has(port)) continue;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => {
          server.off('listening', onListening);
          reject(e);
        };
        const onListening = () => {
          server.off('error', onError);
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen({ port, host, exclusive: true });
      });
      return port;
    } catch (e) {
      lastError = e as Error;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
      if (exact) break;
      opts.onTaken?.(port, lastError);
    }
  }
  throw new Error(
    exact
      ? `Port ${candidates[0]} (the http trigger's attributes.port) is taken: ${lastError?.message ?? 'in use'}`
      : `No free port in the function port range: ${lastError?.message ?? 'all in use'}`,
  );
}
