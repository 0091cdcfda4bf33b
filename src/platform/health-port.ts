/**
 * Reading a processor's health port (processor/health-server.ts) from a platform that reaches its replicas
 * over the network (containers, pods): how busy it is (`/load`) and its counters (`/stats`). The replica
 * runs user code, so what it answers is bounded (size, time) and only parsed here; checking its shape is
 * the reader's (metrics/replica-totals.ts checks a snapshot before it counts).
 */
import http from 'node:http';
import { CONTAINER_HEALTH_PORT } from '../processor/config.js';

/** A snapshot is a few KB; anything larger is not one. */
const MAX_ANSWER_BYTES = 256 * 1024;
const TIMEOUT_MS = 1_000;

/**
 * GET `path` on the health port of `host`: the parsed JSON of a 200 answer, else undefined (another status,
 * no answer within a second, a body over 256 KB or not JSON).
 */
export function readHealth(host: string, path: '/load' | '/stats', port = CONTAINER_HEALTH_PORT): Promise<unknown> {
  return new Promise((resolve) => {
    // The socket's timeout bounds each wait for bytes; this bounds the whole answer (one trickled slowly).
    const deadline = setTimeout(() => req.destroy(new Error('no answer in time')), TIMEOUT_MS * 2);
    deadline.unref();
    const done = (v: unknown) => {
      clearTimeout(deadline);
      resolve(v);
    };
    const req = http.get({ host, port, path, agent: false, timeout: TIMEOUT_MS }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return done(undefined);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(new Error('the answer is too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        try {
          done(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          done(undefined);
        }
      });
      res.on('error', () => done(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', () => done(undefined));
  });
}

/** The `/load` answer's counts, when it has them. Pure. */
export function loadOf(answer: unknown): { inflight: number; handled: number } | undefined {
  const v = answer as { inflight?: unknown; handled?: unknown } | undefined;
  if (!v || typeof v.inflight !== 'number' || typeof v.handled !== 'number') return undefined;
  return { inflight: v.inflight, handled: v.handled };
}
