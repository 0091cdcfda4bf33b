/**
 * The v3ioStream trigger's client of the V3IO streams web API (the wire protocol: streams/v3io-wire.ts):
 * one typed call per operation, each a POST of JSON to `<url>/<container>/<stream path>/[<shard>]` with
 * `X-v3io-function` and the trigger's credentials, over keep-alive connections.
 */
import http from 'node:http';
import {
  FUNCTION_HEADER,
  type CommitOffsetRequest,
  type GetRecordsAnswer,
  type GetRecordsRequest,
  type HeartbeatAnswer,
  type HeartbeatRequest,
  type LeaveGroupRequest,
  type SeekAnswer,
  type SeekRequest,
  type StreamFunction,
} from '../../streams/v3io-wire.js';
import type { StreamTriggerConfig } from './v3io-stream-config.js';

/** A failed call: `status` is the HTTP status (0 when the service could not be reached). */
export class StreamCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'StreamCallError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A client of one stream (the trigger's url, container and stream path). */
export class StreamClient {
  private agent?: http.Agent;
  private request?: typeof http.request;
  private readonly base: URL;
  private readonly prefix: string;

  constructor(private readonly cfg: StreamTriggerConfig) {
    this.base = new URL(cfg.url);
    this.prefix = `${this.base.pathname.replace(/\/+$/, '')}/${encodeURIComponent(cfg.containerName)}/${cfg.streamPath.split('/').map(encodeURIComponent).join('/')}/`;
  }

  /** Loads the transport (https only when the url needs it: it costs start time). */
  async open(): Promise<void> {
    const mod = this.base.protocol === 'https:' ? (await import('node:https')).default : http;
    this.agent = new mod.Agent({ keepAlive: true, maxSockets: 64 });
    this.request = mod.request;
  }

  /** Joins (or stays in) the consumer group; hands back released shards. */
  heartbeat(body: HeartbeatRequest): Promise<HeartbeatAnswer> {
    return this.call('Heartbeat', body);
  }

  leaveGroup(body: LeaveGroupRequest, timeoutMs?: number): Promise<void> {
    return this.call('LeaveGroup', body, undefined, timeoutMs);
  }

  /** Rejects with status 409 when this member no longer owns the shard. */
  commitOffset(body: CommitOffsetRequest): Promise<void> {
    return this.call('CommitOffset', body);
  }

  /** Rejects with status 400 when the shard no longer holds the sequence number asked for. */
  seek(shard: number, body: SeekRequest): Promise<SeekAnswer> {
    return this.call('Seek', body, shard);
  }

  /** Rejects with status 400 when the location is no good any more (the stream was recreated). */
  getRecords(shard: number, body: GetRecordsRequest): Promise<GetRecordsAnswer> {
    return this.call('GetRecords', body, shard);
  }

  close(): void {
    this.agent?.destroy();
  }

  private call<T>(fn: StreamFunction, body: unknown, shard?: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    const payload = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = this.request!(
        {
          host: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || undefined,
          path: `${this.prefix}${shard === undefined ? '' : shard}`,
          method: 'POST',
          agent: this.agent,
          timeout: timeoutMs,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            [FUNCTION_HEADER]: fn,
            ...this.cfg.authHeaders,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new StreamCallError(0, `${fn} failed: ${e.message}`)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            if (status >= 200 && status < 300) return resolve(json as T);
            // The service's error body: {error} from the dashboard, {ErrorMessage} in v3io's own shape.
            const failure = json as { error?: string; ErrorMessage?: string } | undefined;
            reject(
              new StreamCallError(
                status,
                `${fn} answered ${status}: ${failure?.error ?? failure?.ErrorMessage ?? text.slice(0, 300)}`,
              ),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => reject(new StreamCallError(0, `${fn} failed: ${e.message}`)));
      req.end(payload);
    });
  }
}
