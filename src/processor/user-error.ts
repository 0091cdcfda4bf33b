/**
 * A nodejs handler's start-up failure (its module does not compile, its top level or initContext throws)
 * told the way a person reads it: the error line with the user's file and line first — never the
 * loader's or the processor's frames — then the code frame Node printed and the frames in the function's
 * own files. The first line is what status.message, a 503 and the CLI show. Pure.
 *
 *   SyntaxError: Unexpected token '}' (handler.js:3)
 *   handler.js:3
 *   });
 *    ^
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A path (or file: URL) inside `root`, relative to it; undefined for anything outside. */
function inside(root: string, path: string): string | undefined {
  let p = path;
  if (p.startsWith('file://')) {
    try {
      p = fileURLToPath(p);
    } catch {
      return undefined;
    }
  }
  const base = root.endsWith(sep) ? root : root + sep;
  return p.startsWith(base) ? relative(root, p) : undefined;
}

/** `at fn (/root/file.js:3:5)` or `at /root/file.js:3:5` → [function, relative location], for the user's files. */
function userFrame(line: string, root: string): { fn: string; where: string } | undefined {
  const m = /^\s*at (?:(.*?) \()?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?$/.exec(line);
  if (!m) return undefined;
  const file = inside(root, m[2]);
  return file ? { fn: m[1] ?? '<anonymous>', where: `${file}:${m[3]}:${m[4]}` } : undefined;
}

export function describeUserError(err: unknown, root: string): string {
  if (!(err instanceof Error)) return `Uncaught ${typeof err === 'string' ? JSON.stringify(err) : String(err)}`;
  const stack = err.stack ?? `${err.name}: ${err.message}`;
  const lines = stack.split('\n');
  const headline = `${err.name}: ${err.message}`.split('\n')[0];

  // A compile error: Node puts "<file>:<line>", the offending line and a caret above the message.
  const loc = /^((?:file:\/\/)?\/.*):(\d+)$/.exec(lines[0] ?? '');
  const compileFile = loc ? inside(root, loc[1]) : undefined;
  if (loc && compileFile) {
    const frame: string[] = [`${compileFile}:${loc[2]}`];
    for (const l of lines.slice(1)) {
      if (!l.trim() || l.startsWith(headline.split(':')[0])) break;
      frame.push(l);
    }
    return [`${headline} (${compileFile}:${loc[2]})`, ...frame].join('\n');
  }

  const frames = lines
    .map((l) => userFrame(l, root))
    .filter((f): f is { fn: string; where: string } => f !== undefined);
  if (!frames.length) return headline;
  return [`${headline} (${frames[0].where})`, ...frames.map((f) => `    at ${f.fn} (${f.where})`)].join('\n');
}
