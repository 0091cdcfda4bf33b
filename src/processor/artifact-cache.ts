/**
 * Where a node keeps the artifacts its replicas run, as the fetcher (fetch-artifact.ts) writes them and
 * a platform points replicas at them. Shared by both sides, pure.
 *
 *     <cache>/<digest hex>/            one artifact's files, complete (renamed into place when extracted)
 *     <cache>/.download-<random>       an archive being downloaded
 *     <cache>/.extract-<random>/       an archive being extracted
 *
 * Keyed by the archive's digest, not the artifact id: the id names the build's inputs, the digest the
 * bytes the dashboard served, which is what was checked.
 */
import { join } from 'node:path';

/** The environment of the fetcher. */
export const FETCH_ENV = {
  /** The artifact's URL on the dashboard (GET answers its archive: an uncompressed tar). */
  url: 'PROTIUM_ARTIFACT_URL',
  /** The credential for that URL (Authorization: Bearer). */
  token: 'PROTIUM_ARTIFACT_TOKEN',
  /** The digest the archive must have: `sha256:<64 hex>`. */
  digest: 'PROTIUM_ARTIFACT_DIGEST',
  /** The cache folder (see above). */
  cache: 'PROTIUM_ARTIFACT_CACHE',
} as const;

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The hex of a `sha256:<hex>` digest, or undefined when it is not one. */
export function digestHex(digest: string): string | undefined {
  return DIGEST.exec(digest)?.[1];
}

/** The folder an artifact with this archive digest is (or will be) extracted to. */
export function cachedArtifactDir(cache: string, digest: string): string {
  const hex = digestHex(digest);
  if (!hex) throw new Error(`Not an artifact digest: ${JSON.stringify(digest)} (expected sha256:<64 hex digits>)`);
  return join(cache, hex);
}
