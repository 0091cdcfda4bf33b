/**
 * Where a function's code comes from (spec.build) and which sources this dashboard
 * accepts: inline base64, an http(s) URL, a local path inside an allowed root, a built-in template, or an
 * existing artifact (spec.image). Pure.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fieldError, quote } from '../errors.js';
import type { FunctionSpec } from './types.js';

export type SourceKind = 'inline' | 'url' | 'local' | 'template' | 'image';

/** How spec.build names its source. */
export function sourceKind(spec: FunctionSpec): SourceKind | undefined {
  const b = spec.build ?? {};
  if (b.codeEntryType === 'template') return 'template';
  if (b.functionSourceCode) return 'inline';
  if (b.path) return /^https?:\/\//i.test(b.path) ? 'url' : 'local';
  if (spec.image || b.image) return 'image';
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** True when `text` is standard base64 (whitespace allowed), as functionSourceCode must be. */
export function isBase64(text: string): boolean {
  return BASE64.test(text) && text.replace(/\s/g, '').length % 4 === 0;
}

/** True when `path` lies inside one of `roots` (after resolving `..`). */
export function insideRoots(path: string, roots: string[]): boolean {
  const abs = resolve(path);
  return roots.some((root) => {
    const rel = relative(root, abs);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
  });
}

/** Checks at the API edge: a source is given, and a local path is inside an allowed root. */
export function checkSource(spec: FunctionSpec, opts: { sourceRoots: string[] }): void {
  const kind = sourceKind(spec);
  if (!kind) {
    throw fieldError(
      'spec.build',
      'Function must have either spec.build.path, spec.build.functionSourceCode, spec.build.image or spec.image ' +
        'set in order to create',
    );
  }
  const b = spec.build;
  if (kind === 'url' && b.path && !/^https?:\/\/[^\s/]+/i.test(b.path)) {
    throw fieldError('spec.build.path', `spec.build.path ${quote(b.path)} is not a valid http(s) URL`);
  }
  if (kind === 'local') {
    const p = b.path!;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p))
      throw fieldError('spec.build.path', `spec.build.path ${quote(p)} must be an http(s) URL or a local path`);
    if (!opts.sourceRoots.length) {
      throw fieldError(
        'spec.build.path',
        `spec.build.path ${quote(p)} is a local path, and this dashboard allows none (start it with ` +
          `--source-root DIR to allow paths inside DIR)`,
      );
    }
    if (!isAbsolute(p) || !insideRoots(p, opts.sourceRoots)) {
      throw fieldError(
        'spec.build.path',
        `spec.build.path ${quote(p)} must be an absolute path inside ${opts.sourceRoots.join(' or ')}`,
      );
    }
  }
}
