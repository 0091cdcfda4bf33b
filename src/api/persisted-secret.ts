/**
 * A secret the dashboard keeps in its data dir, for credentials that must outlive a restart: on
 * `--platform kube` the artifact credential and the stream credential are written into a function's
 * Deployment and ConfigMap, which a pod may use days later (a scale from zero) — a key new at every start
 * would break them, and a credential that changed at every start would roll every function over.
 *
 * The file holds 32 random bytes (hex), readable by the dashboard's user only. Each use derives a key of
 * its own (`deriveKey`), so one credential never opens what another does. Deleting the file rotates every
 * credential derived from it (functions then need a redeploy to get new ones).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';

const HEX = /^[0-9a-f]{64}$/;

/** The secret at `path`, made (atomically: exclusive create) when the file does not exist. */
export function loadOrCreateSecret(path: string): Buffer {
  try {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!HEX.test(text))
    throw new Error(
      `Failed to read the dashboard's secret ${path}: it must hold 64 hex digits ` +
        '(delete it to make a new one, which invalidates credentials already given out)',
    );
  // Whatever made it, only the dashboard's user reads it.
  chmodSync(path, 0o600);
  return Buffer.from(text, 'hex');
}

/** A key for one purpose, derived from the secret (HMAC-SHA256 of the purpose). */
export function deriveKey(secret: Buffer, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`protium:${purpose}`).digest();
}
