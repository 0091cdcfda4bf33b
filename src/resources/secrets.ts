/**
 * What counts as a secret in a resource that is exported (function, function event, API gateway), and
 * blanking it (the value becomes ''). Exports are meant to be shared; `?includeSecrets=true` (CLI
 * `--include-secrets`) is the explicit choice to keep them. Pure.
 *
 * A value is a secret when
 *  - its field or variable name says so: a word secret(s), password(s), passwd, pass, pwd, passphrase,
 *    token(s), credential(s), creds, authorization, cookie, or key(s) with another word (`accessKey`,
 *    `AWS_SECRET_ACCESS_KEY`, `X-Api-Key`; a field named just `key` is a name, as in Kubernetes selectors).
 *    Words are split at `_ - . /`, spaces and camelCase. A name whose last word marks a reference to a
 *    secret rather than the secret itself (`secretName`, `TOKEN_FILE`, `passwordPath`, `secretKeyRef`)
 *    is not one;
 *    Under such a name a string, a number or a list of them is blanked; an object is looked into field
 *    by field (`secret: {secretName, items: [{key, path}]}` of a Kubernetes volume holds only names);
 *  - its field is one Nuclio scrubs though its name does not say so (`caCert`, `accessCertificate`);
 *  - whatever its name, it holds a URL with credentials (`postgres://user:pw@host`, `https://token@host`),
 *    a PEM private key, or a `password=` / `pwd=` pair of a connection string.
 * Nuclio's own scrubbed references (`$ref:…`) are kept: they point at a secret, they are not one.
 */

const SECRET_WORDS = new Set([
  'secret',
  'secrets',
  'password',
  'passwords',
  'passwd',
  'pass',
  'pwd',
  'passphrase',
  'token',
  'tokens',
  'credential',
  'credentials',
  'creds',
  'authorization',
  'cookie',
  'cookies',
  // the same run together, as in APIKEY or accesskey
  'apikey',
  'accesskey',
  'accesskeyid',
  'secretkey',
  'secretaccesskey',
  'privatekey',
  'sessionkey',
  'masterkey',
  'authtoken',
  'accesstoken',
  'refreshtoken',
  'clientsecret',
]);
/** Words that are secrets only next to another word: `accessKey` is, `key` alone is a name. */
const PAIRED_WORDS = new Set(['key', 'keys']);
/** Last words that make a name a reference to a secret, not the secret. */
const REFERENCE_WORDS = new Set([
  'name',
  'names',
  'file',
  'files',
  'path',
  'paths',
  'dir',
  'ref',
  'type',
  'kind',
  'mode',
  'enabled',
  'length',
]);
/** Ends of names Nuclio scrubs though they do not say secret (normalised: lower case, no separators). */
const KNOWN_SECRET_ENDINGS = ['cacert', 'accesscertificate', 'accesscert'];
/** Parts that make a name secret wherever they appear in it (PGPASSWD, DBSECRET): none is part of a common word. */
const SECRET_PARTS = ['password', 'passwd', 'secret', 'credential'];

/** The words of a name: `AWS_SECRET_ACCESS_KEY` → aws secret access key, `accessKeyID` → access key id. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** True when a field or variable named `name` holds a secret. */
export function isSecretName(name: string): boolean {
  const words = nameWords(name);
  if (!words.length) return false;
  const joined = words.join('');
  if (KNOWN_SECRET_ENDINGS.some((e) => joined.endsWith(e))) return true;
  if (REFERENCE_WORDS.has(words[words.length - 1])) return false;
  return (
    words.some((w) => SECRET_WORDS.has(w) || (PAIRED_WORDS.has(w) && words.length > 1)) ||
    SECRET_PARTS.some((p) => joined.includes(p))
  );
}

/** scheme://userinfo@ — credentials in a URL (user only counts: tokens travel as user names). */
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const CONNECTION_PASSWORD = /(?:^|[;&\s?])(?:password|pwd)\s*=/i;

/** True when a string holds a secret whatever its field is called. */
export function isSecretValue(value: string): boolean {
  return URL_CREDENTIALS.test(value) || PRIVATE_KEY.test(value) || CONNECTION_PASSWORD.test(value);
}

/** A scrubbed reference of Nuclio (`$ref:/spec/...`): kept, it is not the secret itself. */
const isReference = (v: string) => v.startsWith('$ref:');

/**
 * A copy of `value` with every secret blanked: strings and numbers under a secret name (directly or in a
 * list) become '', and any string holding a secret value does. `secret` says the value sits under a
 * secret name.
 */
export function redactSecrets<T>(value: T, secret = false): T {
  return walk(value, secret) as T;
}

function walk(value: unknown, secret: boolean): unknown {
  if (typeof value === 'string') return (secret && !isReference(value)) || isSecretValue(value) ? '' : value;
  if (typeof value === 'number') return secret ? '' : value;
  if (Array.isArray(value)) return value.map((v) => walk(v, secret));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // An object is judged field by field, not by the name it sits under.
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, isSecretName(k));
    return out;
  }
  return value;
}

/** Environment variables ({name, value}) with the values of secret ones blanked; valueFrom references stay. */
export function redactEnv<T extends { name?: string; value?: unknown }>(env: T[]): T[] {
  return env.map((e) => {
    if (typeof e.value !== 'string' || e.value === '') return e;
    const secret =
      (typeof e.name === 'string' && isSecretName(e.name) && !isReference(e.value)) || isSecretValue(e.value);
    return secret ? { ...e, value: '' } : e;
  });
}
