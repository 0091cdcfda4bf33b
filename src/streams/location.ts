/**
 * Stream locations: the opaque cursor V3IO's Seek returns and GetRecords takes and advances. Ours is the
 * base64 of `p1:<shard>:<next sequence number>`, so a location names the next record to read. Pure.
 */

/** The location of sequence number `seq` in `shard`. */
export function encodeLocation(shard: number, seq: number): string {
  return Buffer.from(`p1:${shard}:${seq}`).toString('base64');
}

/** The shard and sequence number of a location, or undefined when it is not one of ours. */
export function decodeLocation(location: unknown): { shard: number; seq: number } | undefined {
  if (typeof location !== 'string' || location.length > 100) return undefined;
  const m = /^p1:(\d{1,9}):(\d{1,16})$/.exec(Buffer.from(location, 'base64').toString('latin1'));
  if (!m) return undefined;
  const shard = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(seq) && seq >= 1 ? { shard, seq } : undefined;
}
