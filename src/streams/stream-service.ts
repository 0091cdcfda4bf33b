/**
 * The embedded stream service: every stream under `<data dir>/streams/<container>/<path>/`, opened on
 * first use and kept open until the dashboard stops. The HTTP face is v3io-routes.ts; the shard lags of
 * `POST /api/v3io_streams/get_shard_lags` come from `shardLags`.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiError } from '../errors.js';
import { readJsonFile, writeJsonFileSync } from './json-file.js';
import { consumerGroupError, containerError, parseStreamPath, streamKey, type StreamAddress } from './names.js';
import { META_FILE, Stream, type StreamMeta } from './stream.js';

/** The most shards a stream may have (each is a folder and an open file). */
export const MAX_SHARDS = 256;
/** The longest retention accepted (a year). */
export const MAX_RETENTION_HOURS = 8760;
export const DEFAULT_RETENTION_HOURS = 24;

export interface StreamServiceOptions {
  /** The folder holding every stream (`<data dir>/streams`). */
  dir: string;
  /** Told about repairs made when a stream is opened (a torn write truncated after a crash). */
  onRepair?: (message: string) => void;
}

/** One shard's lag for a consumer group (the shape of get_shard_lags; committed 0 when nothing is). */
export interface ShardLag {
  committed: number;
  current: number;
  lag: number;
}

export class StreamService {
  private readonly streams = new Map<string, Promise<Stream>>();
  private closed = false;

  constructor(private readonly opts: StreamServiceOptions) {}

  /** A validated address, or a 400 naming what is wrong. */
  static address(container: string, rawPath: string): StreamAddress {
    const cErr = containerError(container);
    if (cErr) throw apiError('STREAM_REQUEST_INVALID', cErr);
    const p = parseStreamPath(rawPath);
    if ('error' in p) throw apiError('STREAM_REQUEST_INVALID', p.error);
    return { container, path: p.path };
  }

  private dirOf(a: StreamAddress): string {
    return join(this.opts.dir, a.container, ...a.path.split('/'));
  }

  /** Creates a stream (409 if it exists, or if it would nest inside another stream or around others). */
  async create(a: StreamAddress, settings: { shardCount: number; retentionHours: number }): Promise<void> {
    this.assertOpen();
    const { shardCount, retentionHours } = settings;
    if (!Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARDS) {
      throw apiError(
        'STREAM_REQUEST_INVALID',
        `ShardCount must be an integer from 1 to ${MAX_SHARDS}, got ${JSON.stringify(shardCount)}`,
      );
    }
    if (!Number.isSafeInteger(retentionHours) || retentionHours < 1 || retentionHours > MAX_RETENTION_HOURS) {
      throw apiError(
        'STREAM_REQUEST_INVALID',
        `RetentionPeriodHours must be an integer from 1 to ${MAX_RETENTION_HOURS}, ` +
          `got ${JSON.stringify(retentionHours)}`,
      );
    }
    const dir = this.dirOf(a);
    if (existsSync(join(dir, META_FILE))) throw apiError('STREAM_EXISTS', streamKey(a));
    const segments = a.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const outer = segments.slice(0, i).join('/');
      if (existsSync(join(this.opts.dir, a.container, ...segments.slice(0, i), META_FILE))) {
        throw apiError('STREAM_INSIDE_STREAM', streamKey(a), `${a.container}/${outer}`);
      }
    }
    if (existsSync(dir) && readdirSync(dir).length) throw apiError('STREAM_PATH_HOLDS_STREAMS', streamKey(a), a.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const meta: StreamMeta = { shardCount, retentionHours, createdAt: new Date().toISOString() };
    writeJsonFileSync(join(dir, META_FILE), meta);
  }

  /**
   * Creates the stream, or, when it exists and is not open yet, sets its retention (its shards stay as
   * they were): for streams the dashboard keeps for itself, whose retention follows a flag across restarts.
   */
  async ensure(a: StreamAddress, settings: { shardCount: number; retentionHours: number }): Promise<void> {
    this.assertOpen();
    const file = join(this.dirOf(a), META_FILE);
    const meta = readJsonFile(file) as StreamMeta | undefined;
    if (!meta) return this.create(a, settings);
    if (this.streams.has(streamKey(a))) throw new Error(`Stream ${streamKey(a)} is open: its retention cannot change`);
    if (meta.retentionHours !== settings.retentionHours)
      writeJsonFileSync(file, { ...meta, retentionHours: settings.retentionHours } satisfies StreamMeta);
  }

  /** The open stream at `a` (opening it on first use), or a 404. */
  stream(a: StreamAddress): Promise<Stream> {
    this.assertOpen();
    const key = streamKey(a);
    const known = this.streams.get(key);
    if (known) return known;
    const dir = this.dirOf(a);
    const meta = readJsonFile(join(dir, META_FILE)) as StreamMeta | undefined;
    if (!meta) {
      return Promise.reject(apiError('STREAM_NOT_FOUND', key));
    }
    const opening = Stream.open(a, dir, meta, this.opts.onRepair);
    this.streams.set(key, opening);
    opening.catch(() => {
      if (this.streams.get(key) === opening) this.streams.delete(key);
    });
    return opening;
  }

  /** Deletes a stream and its records and offsets. */
  async delete(a: StreamAddress): Promise<void> {
    const stream = await this.stream(a);
    this.streams.delete(streamKey(a));
    await stream.close();
    rmSync(this.dirOf(a), { recursive: true, force: true });
  }

  /** Every shard's committed and current sequence numbers and lag, for a consumer group. */
  async shardLags(query: { containerName: string; streamPath: string; consumerGroup: string }): Promise<ShardLag[]> {
    const gErr = consumerGroupError(query.consumerGroup);
    if (gErr) throw apiError('STREAM_REQUEST_INVALID', gErr);
    const stream = await this.stream(StreamService.address(query.containerName, query.streamPath));
    return stream.offsets(query.consumerGroup).map((o) => ({
      committed: o.committed ?? 0,
      current: o.current,
      lag: Math.max(0, o.current - (o.committed ?? 0)),
    }));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The stream service is closed');
  }

  /** Closes every open stream (appends in progress finish first). */
  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(
      open.map((p) =>
        p.then(
          (s) => s.close(),
          () => {},
        ),
      ),
    );
  }
}
