/**
 * The runtime catalogue: which runtime names the API accepts, which this platform can run, and how a
 * handler string (`module:function`) maps to the file the inline source is written to (clients send
 * `main:handler` and expect `main.py`).
 */

/** Runtimes the local platform builds and runs. */
export type RuntimeFamily = 'nodejs' | 'python' | 'shell';

/** Runtimes Nuclio knows but this platform cannot run: accepted, and their build ends in `error`. */
export const KNOWN_UNAVAILABLE = ['golang', 'java', 'dotnetcore', 'ruby'] as const;

const PYTHON_VERSIONED = /^python:3(\.\d+)?$/;

/** The family of a runtime name, or undefined when this platform cannot run it. */
export function runtimeFamily(runtime: string | undefined): RuntimeFamily | undefined {
  if (!runtime) return undefined;
  if (runtime === 'nodejs' || runtime.startsWith('nodejs:')) return 'nodejs';
  if (runtime === 'python' || PYTHON_VERSIONED.test(runtime)) return 'python';
  if (runtime === 'shell') return 'shell';
  return undefined;
}

/** Why a runtime cannot be built here, in words a user can act on. */
export function unavailableRuntimeMessage(runtime: string | undefined): string {
  if (!runtime) return 'spec.runtime must be set (one of nodejs, python, python:3.x, shell)';
  const base = runtime.split(':')[0];
  if ((KNOWN_UNAVAILABLE as readonly string[]).includes(base)) {
    return (
      `Runtime "${runtime}" is not available on this platform: it runs nodejs, python (python:3.x) and ` +
      `shell functions only`
    );
  }
  return `Runtime "${runtime}" is not supported: use one of nodejs, python, python:3.x, shell`;
}

/** The default handler of a family, used when spec.handler is empty. */
export const DEFAULT_HANDLER: Record<RuntimeFamily, string> = {
  nodejs: 'main:handler',
  python: 'main:handler',
  shell: 'main.sh:main',
};

export interface ParsedHandler {
  /** The module part: a file name without its runtime extension (nodejs/python) or the script (shell). */
  module: string;
  /** The entry point inside the module ('' for shell commands). */
  entry: string;
  /** The file inline source is written to, relative to the artifact root. */
  file: string;
}

const PY_HANDLER = /^([\w-]+(?:\.[\w-]+)*):(\w+)$/;
const JS_HANDLER = /^(?:([\w.\-/]+):)?([\w$]+)$/;
/** Nuclio's nodejs runtime loads a handler given without a file part from this module. */
const JS_DEFAULT_MODULE = 'handler';

/**
 * Parses a handler string for a family, with the forms Nuclio's runtimes accept. Returns a message
 * (string) when the handler is malformed.
 * nodejs `main:handler` → main.js, and a bare `handler` (no file part, as Nuclio's "dates" example) →
 * handler.js, export `handler`; python `main:handler` → main.py (dots are packages; python needs the
 * module part, as Nuclio's wrapper does); shell `main.sh:main` → main.sh, or a bare script or command.
 */
export function parseHandler(family: RuntimeFamily, handler: string): ParsedHandler | string {
  if (family === 'python') {
    const m = PY_HANDLER.exec(handler);
    if (!m) return `spec.handler ${JSON.stringify(handler)} must look like "module:function" (e.g. "main:handler")`;
    const module = m[1];
    return { module, entry: m[2], file: `${module.replace(/\.py$/, '').split('.').join('/')}.py` };
  }
  if (family === 'nodejs') {
    const m = JS_HANDLER.exec(handler);
    if (!m)
      return (
        `spec.handler ${JSON.stringify(handler)} must look like "file:exportName" (e.g. "handler:handler") ` +
        `or "exportName" (file handler.js)`
      );
    const module = m[1] ?? JS_DEFAULT_MODULE;
    if (module.includes('..') || module.startsWith('/'))
      return `spec.handler ${JSON.stringify(handler)} must name a file inside the function`;
    const file = /\.(c|m)?js$/.test(module) ? module : `${module}.js`;
    return { module, entry: m[2], file };
  }
  const idx = handler.indexOf(':');
  const module = idx >= 0 ? handler.slice(0, idx) : handler;
  if (
    !module ||
    module.includes('..') ||
    module.startsWith('/') ||
    /\s/.test(module) ||
    handler.indexOf(':', idx + 1) > idx
  ) {
    return `spec.handler ${JSON.stringify(handler)} must name a script or command (e.g. "main.sh:main")`;
  }
  return { module, entry: idx >= 0 ? handler.slice(idx + 1) : '', file: module };
}
