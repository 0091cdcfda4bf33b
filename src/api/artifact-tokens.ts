/**
 * Credentials for fetching one artifact: what a platform gives the fetcher of a replica's artifact
 * (processor/fetch-artifact.ts) instead of the dashboard's token. A token names its artifact and an expiry
 * and is an HMAC of both under a key that lives only in the dashboard's memory (new at every start; on
 * --platform kube derived from a secret in the data dir, with lasting tokens: `issueLasting`), so
 * it opens that artifact alone, for a while, and nothing else — a handler that got hold of one could fetch
 * nothing it does not run already.
 *
 *     <expiry, ms since the epoch>.<base64url HMAC-SHA256(key, "artifact:" id ":" expiry)>
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Long enough for a big artifact's download (the fetcher gives up after 10 minutes). */
export const ARTIFACT_TOKEN_TTL_MS = 15 * 60_000;
/**
 * The expiry of a lasting token (the last millisecond a Date holds): on Kubernetes a pod may start long
 * after its Deployment was written, so its token lasts as long as the key — which is then a persisted one
 * (persisted-secret.ts) — and is the same at every apply, so re-applying a function changes nothing.
 */
export const LASTING_EXPIRY = 8_640_000_000_000_000;

export class ArtifactTokens {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  private mac(id: string, expiry: number): Buffer {
    return createHmac('sha256', this.key).update(`artifact:${id}:${expiry}`).digest();
  }

  /** A token for artifact `id`, good until `now + ttlMs`. */
  issue(id: string, ttlMs = ARTIFACT_TOKEN_TTL_MS, now = Date.now()): string {
    const expiry = now + ttlMs;
    return `${expiry}.${this.mac(id, expiry).toString('base64url')}`;
  }

  /** A token for artifact `id` that lasts as long as the key (the same string every time). */
  issueLasting(id: string): string {
    return `${LASTING_EXPIRY}.${this.mac(id, LASTING_EXPIRY).toString('base64url')}`;
  }

  /** True when `token` was issued for artifact `id` and has not expired. */
  verify(id: string, token: string, now = Date.now()): boolean {
    const m = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return false;
    const expiry = Number(m[1]);
    if (!(expiry > now)) return false;
    // Compared as text: base64url's last character carries 2 bits a decoder ignores, so comparing the
    // decoded bytes would also accept 3 other spellings of the MAC (and the test that alters it flaked).
    const given = Buffer.from(m[2]);
    const want = Buffer.from(this.mac(id, expiry).toString('base64url'));
    return given.length === want.length && timingSafeEqual(given, want);
  }
}
