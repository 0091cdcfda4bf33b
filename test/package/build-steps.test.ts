/**
 * scripts/build-steps.mjs decides what `npm start` rebuilds: a step runs only when its inputs changed since
 * its last successful run (or its output is missing). Checked on a scratch tree, so nothing here builds.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

interface Step {
  inputs: string[];
  extensions: string[];
  output: string;
  stamp: string;
}
/** The module's exports: plain functions (no `this`), so they can be destructured. */
interface BuildSteps {
  STEPS: Record<'server' | 'web', Step>;
  fingerprint: (root: string, step: Step) => string;
  isStale: (root: string, step: Step, hash?: string) => boolean;
  markBuilt: (root: string, step: Step, hash: string) => void;
}

const scriptUrl = new URL('../../../scripts/build-steps.mjs', import.meta.url).href;
const { STEPS, fingerprint, isStale, markBuilt } = (await import(scriptUrl)) as BuildSteps;

describe('build steps (scripts/build-steps.mjs)', () => {
  const root = mkdtempSync(join(tmpdir(), 'protium-build-steps-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('src/main.ts', 'export {};\n');
  write('tsconfig.json', '{}\n');
  write('package-lock.json', '{}\n');
  write('web/src/app.tsx', 'export const x = 1;\n');
  write('web/index.html', '<!doctype html>\n');

  const build = (name: 'server' | 'web') => {
    const step = STEPS[name];
    write(step.output, 'built\n');
    markBuilt(root, step, fingerprint(root, step));
  };

  it('a step never built, or whose output is gone, is stale', () => {
    assert.equal(isStale(root, STEPS.server), true);
    assert.equal(isStale(root, STEPS.web), true);
    build('server');
    build('web');
    assert.equal(isStale(root, STEPS.server), false);
    rmSync(join(root, STEPS.web.output));
    assert.equal(isStale(root, STEPS.web), true);
    build('web');
  });

  it('nothing changed: nothing to build', () => {
    assert.equal(isStale(root, STEPS.server), false);
    assert.equal(isStale(root, STEPS.web), false);
  });

  it('a changed web file makes only the web step stale; a changed source only the server step', () => {
    write('web/src/app.tsx', 'export const x = 2;\n');
    assert.equal(isStale(root, STEPS.web), true);
    assert.equal(isStale(root, STEPS.server), false);
    build('web');
    write('src/new-module.ts', 'export const y = 1;\n');
    assert.equal(isStale(root, STEPS.server), true);
    assert.equal(isStale(root, STEPS.web), false);
    build('server');
  });

  it('a deleted input counts as a change; files the build writes (dist, node_modules) do not', () => {
    rmSync(join(root, 'src/new-module.ts'));
    assert.equal(isStale(root, STEPS.server), true);
    build('server');
    write('src/node_modules/x.ts', 'noise\n');
    write('web/dist/assets/app.js', 'noise\n');
    assert.equal(isStale(root, STEPS.server), false);
    assert.equal(isStale(root, STEPS.web), false);
  });

  it('the dependency lockfile is an input of both', () => {
    write('package-lock.json', '{"changed": true}\n');
    assert.equal(isStale(root, STEPS.server), true);
    assert.equal(isStale(root, STEPS.web), true);
  });
});
