/**
 * Artifact collection (issue 12, item 5): an artifact no function refers to any more, and no replica runs
 * from, is removed — after an update once the new version serves, after a delete, and at start for what a
 * previous run left; an artifact two functions share stays while one of them remains.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  artifactOf,
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const source = (v: string) => `exports.handler = (c) => c.callback(${JSON.stringify(v)});`;

describe('artifact collection', () => {
  let dataDir: string;
  let d: TestDashboard;
  const artifacts = () =>
    readdirSync(join(dataDir, 'artifacts'))
      .filter((n) => /^[0-9a-f]{32}$/.test(n))
      .sort();
  /** Polls until the artifacts folder holds exactly `want` (sorted). */
  const until = async (want: string[], what: string) => {
    for (let i = 0; ; i++) {
      if (JSON.stringify(artifacts()) === JSON.stringify([...want].sort())) return;
      assert.ok(i < 600, `${what}: artifacts are ${JSON.stringify(artifacts())}, want ${JSON.stringify(want)}`);
      await sleep(50);
    }
  };
  const remove = async (name: string) => {
    const res = await d.api('DELETE', '/api/functions', { body: { metadata: { name } } });
    assert.equal(res.status, 204, res.text);
  };
  /** Waits until the platform has let go of a deleted function (its replicas stopped). */
  const gone = async (name: string) => {
    const routed = () =>
      d.dashboard.platform.route({ namespace: 'nuclio', name }).then(
        () => true,
        () => false,
      );
    for (let i = 0; (await routed()) || (await d.api('GET', `/api/functions/${name}`)).status !== 404; i++) {
      assert.ok(i < 600, `${name} is still there`);
      await sleep(50);
    }
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'protium-artifacts-'));
    d = await startTestDashboard({}, dataDir);
  });
  after(async () => {
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('deploy, 20 updates (each a new artifact), delete: the artifacts folder is back to what it was', async () => {
    const at0 = artifacts();
    let fn = await deploy(d, functionBody('churn', 'nodejs', source('v0')));
    for (let v = 1; v <= 20; v++) {
      const res = await d.api('PUT', '/api/functions/churn', {
        body: functionBody('churn', 'nodejs', source(`v${v}`)),
      });
      assert.equal(res.status, 202, res.text);
      fn = await waitFor(d, 'churn', (f) => f.status?.state === 'ready' || f.status?.state === 'error');
      assert.equal(fn.status.state, 'ready', fn.status.message);
    }
    assert.equal((await rawRequest(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).text, 'v20');
    // Once the old versions have drained, only the one serving is left.
    await until([...at0, artifactOf(fn)], 'after 20 updates');
    await remove('churn');
    await until(at0, 'after the delete');
  });

  it('an artifact two functions share stays while one of them remains', async () => {
    const at0 = artifacts();
    const a = await deploy(d, functionBody('share-a', 'nodejs', source('shared')));
    const b = await deploy(d, functionBody('share-b', 'nodejs', source('shared')));
    const c = await deploy(d, functionBody('share-c', 'nodejs', source('alone')));
    assert.equal(artifactOf(a), artifactOf(b), 'same inputs, same artifact');
    await remove('share-a');
    await gone('share-a');
    // A collection that runs after share-a is gone (it removes share-c's artifact) keeps the shared one.
    await remove('share-c');
    await until([...at0, artifactOf(b)], 'after deleting share-a and share-c');
    assert.equal((await rawRequest(`http://127.0.0.1:${b.status.httpPort}/`, 'GET')).text, 'shared');
    assert.ok(c);
    await remove('share-b');
    await until(at0, 'after deleting share-b');
  });

  it('a failed update keeps both the artifact that still serves and the new one its spec names', async () => {
    const ok = await deploy(d, functionBody('half', 'nodejs', source('ok')));
    const res = await d.api('PUT', '/api/functions/half', {
      body: functionBody('half', 'nodejs', 'throw new Error("no");'),
    });
    assert.equal(res.status, 202);
    const failed = await waitFor(d, 'half', (f) => f.status?.state === 'error');
    // Deleting another function makes a collection run; neither artifact of "half" may go.
    await deploy(d, functionBody('other', 'nodejs', source('other')));
    const other = (await d.api<FunctionRecord>('GET', '/api/functions/other')).json;
    await remove('other');
    for (let i = 0; artifacts().includes(artifactOf(other)); i++) {
      assert.ok(i < 600, 'the collection did not run');
      await sleep(50);
    }
    assert.ok(artifacts().includes(artifactOf(ok)), 'the version still serving keeps its artifact');
    assert.ok(artifacts().includes(artifactOf(failed)), 'the artifact the spec names stays');
    assert.equal((await rawRequest(`http://127.0.0.1:${ok.status.httpPort}/`, 'GET')).text, 'ok');
    await remove('half');
  });

  it('at start, removes artifacts no stored function refers to and half-done builds a previous run left', async () => {
    const kept = await deploy(d, functionBody('kept', 'nodejs', source('kept')));
    await d.close();
    const stray = join(dataDir, 'artifacts', 'f'.repeat(32));
    mkdirSync(join(stray, '.protium'), { recursive: true });
    writeFileSync(join(stray, '.protium', 'artifact.json'), '{}');
    const staging = join(dataDir, 'artifacts', '.staging-0123456789ab');
    mkdirSync(staging);
    d = await startTestDashboard({}, dataDir);
    await until([artifactOf(kept)], 'after a restart');
    assert.equal(existsSync(staging), false);
    const back = await waitFor(d, 'kept', (f) => f.status?.state === 'ready');
    assert.equal((await rawRequest(`http://127.0.0.1:${back.status.httpPort}/`, 'GET')).text, 'kept');
  });
});
