/**
 * The many spellings of one path. A request target can reach the same route as `/api/projects` through
 * `//api/projects`, `/%61pi/projects`, `/api/projects/`, `http://host/api/projects` (absolute form) and
 * more; the router accepts several of these. Nothing may decide access by comparing the raw URL with a
 * prefix: auth decides on the route the router matched (auth.ts), and what has no route (the web UI's
 * catch-all) asks `isServicePath`, which reads the path the most generous way — if any reading of it is
 * an /api or /v3io path, it is one. Pure.
 */

/** The services whose paths are never the web UI's, whatever their spelling. */
const SERVICE_SEGMENTS = ['api', 'v3io'];
/** Percent-decoding is repeated at most this often (`%2561` → `%61` → `a`). */
const MAX_DECODE_ROUNDS = 4;

/** Decodes %XX sequences of ASCII characters (others stay encoded: they cannot spell a service name). */
function decodeAscii(s: string): string {
  return s.replace(/%([0-7][0-9A-Fa-f])/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * The path of a request target, normalised every way a server or proxy might: the origin of an
 * absolute-form target dropped, the query and fragment cut, ASCII percent-escapes decoded (repeatedly),
 * backslashes read as slashes, empty and `.` segments dropped, `..` segments resolved. Always starts
 * with `/`; no trailing slash except for `/` itself.
 */
export function canonicalPath(target: string): string {
  let path = target;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(path);
  if (absolute) path = path.slice(absolute[0].length);
  path = path.split(/[?#]/, 1)[0]!;
  for (let i = 0; i < MAX_DECODE_ROUNDS; i++) {
    const next = decodeAscii(path);
    if (next === path) break;
    path = next;
  }
  // A decoded `?` or `#` is part of the path, not a delimiter: keep it as it is.
  const out: string[] = [];
  for (const segment of path.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * True when some reading of `target` is a path of the API or the stream service (`/api…`, `/v3io…`, in
 * any case, with any path parameters after `;`): such a path is never served as the web UI.
 */
export function isServicePath(target: string): boolean {
  const first = canonicalPath(target).split('/')[1] ?? '';
  const name = first.toLowerCase().split(';', 1)[0];
  return SERVICE_SEGMENTS.some((s) => name === s || (name.startsWith(s) && !/[a-z0-9]/.test(name.charAt(s.length))));
}
