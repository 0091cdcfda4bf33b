/**
 * The web app imports a few of the server's pure modules (the lifecycle, the API's types, the error
 * codes). `npm start` rebuilds the web app only when its inputs change (scripts/build-steps.mjs), so every
 * server file the app reaches — directly or through those modules' own imports — must be among the web
 * step's inputs, or an edit to it would leave web/dist stale.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

interface Step {
  inputs: string[];
}
const scriptUrl = new URL('../../../scripts/build-steps.mjs', import.meta.url).href;
const { STEPS } = (await import(scriptUrl)) as { STEPS: { web: Step } };

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

/** The file a relative specifier names: `x.js` → `x.ts`, `x` → `x.ts` / `x.tsx` / `x/index.ts`. */
function resolveSpecifier(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

describe('web app inputs (scripts/build-steps.mjs)', () => {
  it('every server module the web app reaches is an input of the web step', () => {
    const root = PACKAGE_ROOT;
    const web = join(root, 'web', `src${sep}`);
    const inputs = STEPS.web.inputs.map((i) => join(root, i));
    const covered = (file: string) => inputs.some((i) => file === i || file.startsWith(`${i}${sep}`));
    const seen = new Set<string>();
    const queue = sourceFiles(join(root, 'web', 'src'));
    const outside: string[] = [];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      if (!file.startsWith(web)) outside.push(file);
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        if (!m[1].startsWith('.')) continue;
        const target = resolveSpecifier(file, m[1]);
        assert.ok(target, `${relative(root, file)} imports ${m[1]}, which does not resolve`);
        queue.push(target);
      }
    }
    assert.ok(outside.length > 0, 'the web app imports server modules (the test would be empty otherwise)');
    for (const f of outside)
      assert.ok(
        covered(f),
        `${relative(root, f)} is imported by the web app but is not an input of the web build step`,
      );
  });
});
