import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeUserError } from './user-error.js';

/** The error Node itself throws when loading `source` as `file` (CommonJS, or ESM for .mjs). */
async function loadError(root: string, file: string, source: string): Promise<unknown> {
  const path = join(root, file);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, source);
  try {
    if (file.endsWith('.mjs')) await import(pathToFileURL(path).href);
    else createRequire(path)(path);
  } catch (e) {
    return e;
  }
  throw new Error(`${file} loaded without an error`);
}

describe('describeUserError()', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'protium-user-error-')));
  writeFileSync(join(root, 'package.json'), '{"type": "commonjs"}\n');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a syntax error: the error line with file and line first, then the code frame; no loader frames', async () => {
    const e = await loadError(
      root,
      'handler.js',
      'exports.handler = function (context, event) {\n  context.callback("x");\n});\n',
    );
    const text = describeUserError(e, root);
    const [first, ...rest] = text.split('\n');
    assert.match(first, /^SyntaxError: Unexpected token '\)' \(handler\.js:3\)$/);
    assert.equal(rest[0], 'handler.js:3');
    assert.ok(rest.includes('});'), text);
    assert.doesNotMatch(text, /node:internal|wrapSafe|Module\._compile/);
    assert.ok(!text.includes(root), 'paths are relative to the function');
  });

  it("an exception at the top level of a module: the error, the user frame, none of Node's", async () => {
    const e = await loadError(root, 'lib/top.js', '// a comment\nconst x = undefined;\nx.boom();\n');
    const text = describeUserError(e, root);
    assert.match(
      text.split('\n')[0],
      /^TypeError: Cannot read properties of undefined \(reading 'boom'\) \(lib\/top\.js:3:3\)$/,
    );
    assert.match(text, /\n {4}at .* \(lib\/top\.js:3:3\)/);
    assert.doesNotMatch(text, /node:internal|Module\._compile/);
  });

  it("an ES module that does not compile: node --check's report gives the file and line", async () => {
    await loadError(root, 'esm.mjs', 'export const handler = () => {\n  return 1;\n}}\n');
    let report = '';
    try {
      execFileSync(process.execPath, ['--check', join(root, 'esm.mjs')], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      report = String((e as { stderr: Buffer }).stderr);
    }
    const err = Object.assign(new SyntaxError("Unexpected token '}'"), { stack: report });
    const text = describeUserError(err, root);
    assert.match(text.split('\n')[0], /^SyntaxError: Unexpected token '\}' \(esm\.mjs:3\)$/);
    assert.ok(text.split('\n').includes('}}'), text);
  });

  it('a thrown string, and an error from outside the function, still say what happened', () => {
    assert.equal(describeUserError('no config', root), 'Uncaught "no config"');
    const outside = new RangeError('bad size');
    outside.stack = 'RangeError: bad size\n    at grow (/usr/lib/node_modules/x/index.js:1:1)';
    assert.equal(describeUserError(outside, root), 'RangeError: bad size');
  });
});
