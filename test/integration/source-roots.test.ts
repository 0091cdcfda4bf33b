/**
 * Local sources and --source-root with real symbolic links (issue 12, item 4): a path is judged by where it
 * really leads, links followed, at the API (400) and again when the build reads it; a folder's links that
 * lead out of the roots refuse the build; the data dir is never a source, even inside a root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  rawRequest,
  startTestDashboard,
  waitFor,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const reader = `const fs = require('fs');
exports.handler = (c, e) => {
  const name = e.path.replace(/^\\//, '') || 'handler.js';
  try { c.callback(fs.readFileSync(name, 'utf8')); }
  catch (err) { c.callback(new c.Response({ body: err.code, statusCode: 404 })); }
};`;

describe('local sources inside --source-root, with symbolic links', () => {
  let d: TestDashboard;
  let base: string;
  let root: string;
  let outside: string;
  const fn = (name: string, path: string) => ({
    metadata: { name, labels: { 'nuclio.io/project-name': 'default' } },
    spec: { runtime: 'nodejs', handler: 'handler:handler', build: { path } },
  });
  const folder = (dir: string, files: Record<string, string> = {}) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'handler.js'), reader);
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    return dir;
  };

  before(async () => {
    // realpath: the temp dir may itself be reached through a link (macOS /tmp); the roots are compared real.
    base = realpathSync(mkdtempSync(join(tmpdir(), 'protium-roots-')));
    root = join(base, 'src');
    outside = join(base, 'outside');
    folder(outside, { 'secret.txt': 'outside-secret' });
    folder(join(root, 'fn'));
    symlinkSync('/', join(root, 'slash'));
    symlinkSync(outside, join(root, 'out'));
    symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
    symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
    // The data dir inside the root: still never a source.
    const dataDir = join(root, '.data');
    symlinkSync(dataDir, join(root, 'data-link'));
    d = await startTestDashboard({ sourceRoot: [root] }, dataDir);
  });
  after(async () => {
    await d.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses at the API (400) a path that leads out of the roots or into the data dir through a link, whatever its spelling', async () => {
    const cases: [string, RegExp][] = [
      [join(root, 'slash'), /leads to "\/", outside the source roots .*through a symbolic link/],
      [join(root, 'slash', 'etc'), /leads to "\/etc", outside the source roots/],
      [join(root, 'slash', 'etc', 'hostname'), /leads to "\/etc\/hostname"/],
      [`${join(root, 'slash')}/..`, /leads to "\/", outside/],
      [`${join(root, 'fn')}/../slash/./`, /leads to "\/", outside/],
      [`${root}//out`, /outside the source roots/],
      [join(root, 'out', 'secret.txt'), /outside the source roots/],
      [join(root, 'data-link'), /leads into the dashboard's data directory/],
      [join(root, 'data-link', 'store.db'), /leads into the dashboard's data directory/],
      [join(root, '.data', 'store.db'), /leads into the dashboard's data directory/],
      [join(root, 'fn', '..', '..', 'outside'), /must be an absolute path inside/],
      [join(root, 'loop-a', 'handler.js'), /cannot be resolved: a loop of symbolic links/],
    ];
    for (const [i, [path, why]] of cases.entries()) {
      const res = await d.api<ErrorBody>('POST', '/api/functions', { body: fn(`refused-${i}`, path) });
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(res.json.field, 'spec.build.path', path);
      assert.match(res.json.error, why, path);
    }
    assert.deepEqual((await d.api('GET', '/api/functions')).json, {}, 'nothing was stored');
  });

  it('a folder inside the root deploys; its links inside the folder stay links, links elsewhere in the root are copied', async () => {
    const dir = folder(join(root, 'linked'), { 'real.txt': 'real' });
    mkdirSync(join(root, 'shared'));
    writeFileSync(join(root, 'shared', 'common.txt'), 'common');
    symlinkSync('real.txt', join(dir, 'alias.txt'));
    symlinkSync(join(root, 'shared', 'common.txt'), join(dir, 'common.txt'));
    const f = await deploy(d, fn('linked', dir));
    const get = (p: string) => rawRequest(`http://127.0.0.1:${f.status.httpPort}/${p}`, 'GET');
    assert.equal((await get('alias.txt')).text, 'real');
    assert.equal((await get('common.txt')).text, 'common');
    // The function also deploys through a link to its folder, inside the root.
    symlinkSync(dir, join(root, 'linked-alias'));
    await deploy(d, fn('via-alias', join(root, 'linked-alias')));
  });

  it('refuses the build (state error) of a folder holding a link that leads out of the roots, and copies nothing of it', async () => {
    const dir = folder(join(root, 'leaky'));
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'leak.txt'));
    const res = await d.api('POST', '/api/functions', { body: fn('leaky', dir) });
    assert.equal(res.status, 202, res.text);
    const f = await waitFor(d, 'leaky', (x) => x.status?.state === 'error' || x.status?.state === 'ready');
    assert.equal(f.status.state, 'error');
    assert.match(
      f.status.message ?? '',
      /The folder spec\.build\.path ".*leaky" was refused: the symbolic link "leak\.txt" leads to ".*outside\/secret\.txt", outside the source roots/,
    );

    const loop = folder(join(root, 'loop'));
    symlinkSync(root, join(loop, 'up'));
    assert.equal((await d.api('POST', '/api/functions', { body: fn('loop', loop) })).status, 202);
    const l = await waitFor(d, 'loop', (x) => x.status?.state === 'error' || x.status?.state === 'ready');
    assert.equal(l.status.state, 'error');
    assert.match(l.status.message ?? '', /the symbolic link "up" leads back to a folder it is in/);
  });

  it('checks again at build time: a folder swapped for a link out of the root after it was accepted does not build', async () => {
    // An imported function (skip-deploy) whose artifact is not on this machine: PATCH ready builds it.
    const dir = folder(join(root, 'swapped'));
    const imported = {
      ...fn('swapped', dir),
      metadata: { ...fn('swapped', dir).metadata, annotations: { 'skip-deploy': 'true' } },
    };
    imported.spec = { ...imported.spec, image: 'protium/processor-swapped:0123456789abcdef' } as typeof imported.spec;
    assert.equal((await d.api('POST', '/api/functions', { body: imported })).status, 202);
    assert.equal((await waitFor(d, 'swapped', (x) => x.status?.state === 'imported')).status.state, 'imported');
    renameSync(dir, join(base, 'swapped-away'));
    symlinkSync(outside, dir);
    assert.equal((await d.api('PATCH', '/api/functions/swapped', { body: { desiredState: 'ready' } })).status, 204);
    const f = await waitFor(d, 'swapped', (x) => x.status?.state === 'error' || x.status?.state === 'ready');
    assert.equal(f.status.state, 'error');
    assert.match(
      f.status.message ?? '',
      /spec\.build\.path ".*swapped" leads to ".*outside", outside the source roots/,
    );
  });

  it('a PATCH ready after the folder was swapped redeploys the artifact built before, reading nothing from the path', async () => {
    const dir = folder(join(root, 'redeployed'), { 'data.txt': 'built-before' });
    const deployed = await deploy(d, fn('redeployed', dir));
    renameSync(dir, join(base, 'redeployed-away'));
    symlinkSync(outside, dir);
    assert.equal((await d.api('PATCH', '/api/functions/redeployed', { body: { desiredState: 'ready' } })).status, 204);
    const f = await waitFor(d, 'redeployed', (x) => x.status?.state === 'error' || x.status?.state === 'ready');
    assert.equal(f.status.state, 'ready', f.status.message);
    assert.equal(f.spec.image, deployed.spec.image);
    const res = await rawRequest(`http://127.0.0.1:${f.status.httpPort}/data.txt`, 'GET');
    assert.equal(res.text, 'built-before');
  });
});
