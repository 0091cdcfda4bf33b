/**
 * Security: the optional dashboard token, local source paths only inside allowed roots, secrets kept out
 * of exports, and what a replica can see of the dashboard (its environment, the store file).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, functionBody, request, startTestDashboard, waitFor, type TestDashboard } from '../helpers/start-dashboard.js';

describe('security', () => {
  let d: TestDashboard;
  let dir: string;
  const token = 'open-sesame-0123456789';
  const auth = { authorization: `Bearer ${token}` };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-sec-'));
    writeFileSync(join(dir, 'token'), `${token}\n`);
    mkdirSync(join(dir, 'sources', 'fn'), { recursive: true });
    writeFileSync(join(dir, 'sources', 'fn', 'handler.js'), 'exports.handler = (c) => c.callback(JSON.stringify(Object.keys(process.env).sort()));');
    process.env.PROTIUM_TEST_DASHBOARD_SECRET = 'must-not-leak';
    d = await startTestDashboard({ authTokenFile: join(dir, 'token'), sourceRoot: [join(dir, 'sources')] });
  });
  after(async () => {
    delete process.env.PROTIUM_TEST_DASHBOARD_SECRET;
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with --auth-token-file every /api route but versions needs the bearer token (401 JSON otherwise)', async () => {
    assert.equal((await d.api('GET', '/api/versions')).status, 200);
    for (const [method, path] of [['GET', '/api/functions'], ['GET', '/api/projects'], ['POST', '/api/projects'], ['GET', '/api/function_invocations'], ['GET', '/api/function_templates']] as const) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }] as Record<string, string>[]) {
        const res = await d.api(method, path, { headers, body: method === 'POST' ? {} : undefined });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('content-type'), 'application/json');
        assert.match(res.json.error, /token/);
      }
    }
    assert.equal((await d.api('GET', '/api/projects', { headers: auth })).status, 200);
  });

  it('a local spec.build.path deploys from inside --source-root, and is refused outside it', async () => {
    const res = await d.api('POST', '/api/functions', { headers: auth, body: { metadata: { name: 'from-folder' }, spec: { runtime: 'nodejs', handler: 'handler:handler', build: { path: join(dir, 'sources', 'fn') } } } });
    assert.equal(res.status, 202, res.text);
    const outside = await d.api('POST', '/api/functions', { headers: auth, body: { metadata: { name: 'outside' }, spec: { runtime: 'nodejs', handler: 'handler:handler', build: { path: join(dir, 'sources', '..', 'token') } } } });
    assert.equal(outside.status, 400);
    assert.match(outside.json.error, /must be an absolute path inside/);
  });

  it('a replica sees only its curated environment: none of the dashboard\'s variables', async () => {
    const fn = (await waitFor({ ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) }, 'from-folder', (f) => f.status.state === 'ready' || f.status.state === 'error')) as any;
    assert.equal(fn.status.state, 'ready', fn.status.message);
    const keys = (await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).json as string[];
    assert.ok(!keys.includes('PROTIUM_TEST_DASHBOARD_SECRET'));
    assert.ok(!keys.includes('NODE_OPTIONS') && !keys.includes('NODE_EXTRA_CA_CERTS'));
    assert.ok(keys.includes('PATH') && keys.includes('NUCLIO_FUNCTION_NAME'));
    assert.equal(statSync(join(d.dataDir, 'store.db')).mode & 0o077, 0, 'the store is readable by its owner only');
  });

  it('exports blank trigger passwords and secret-looking env values', async () => {
    const body = functionBody('with-secrets', 'nodejs', 'exports.handler = (c) => c.callback("x");', { spec: { env: [{ name: 'DB_PASSWORD', value: 'hunter2' }, { name: 'MODE', value: 'fast' }], triggers: { q: { kind: 'cron', password: 'p4ss', attributes: { interval: '1h' } } } } });
    assert.equal((await d.api('POST', '/api/functions', { headers: auth, body })).status, 202);
    await waitFor({ ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) }, 'with-secrets', (f) => f.status.state === 'ready');
    const exported = (await d.api('GET', '/api/functions/with-secrets?export=true', { headers: auth })).text;
    assert.doesNotMatch(exported, /hunter2|p4ss/);
    assert.match(exported, /"MODE","value":"fast"/);
    const bundle = (await d.api('GET', '/api/projects/default?export=true', { headers: auth })).text;
    assert.doesNotMatch(bundle, /hunter2|p4ss/);
    // The dashboard's own log and the build log never print env values (the replica logs are the handler's).
    const buildLog = readFileSync(join(d.dataDir, 'logs', 'nuclio', 'with-secrets', 'build.log'), 'utf8');
    assert.doesNotMatch(buildLog, /hunter2|p4ss/);
  });

  it('deploying with the token works end to end', async () => {
    const fn = await deploy({ ...d, api: (m, p, o) => d.api(m, p, { ...o, headers: { ...auth, ...(o?.headers ?? {}) } }) }, functionBody('authed', 'nodejs', 'exports.handler = (c) => c.callback("authed");'));
    const via = await d.api('GET', '/api/function_invocations', { headers: { ...auth, 'x-nuclio-function-name': 'authed' } });
    assert.equal(via.text, 'authed');
    assert.equal((await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).text, 'authed');
  });
});

describe('the bwrap sandbox (--sandbox bwrap)', () => {
  it('a sandboxed replica cannot see the store or other artifacts, cannot write outside its home, and still serves', async (t) => {
    const { findBwrap } = await import('../../src/platform/local/sandbox.js');
    if (!findBwrap()) { t.skip('bubblewrap is not installed'); return; }
    const d = await startTestDashboard({ sandbox: 'bwrap' });
    try {
      const src = [
        "const fs = require('fs');",
        'exports.handler = (c) => {',
        '  const tryIt = (f) => { try { f(); return "allowed"; } catch (e) { return e.code; } };',
        '  c.callback({',
        `    store: tryIt(() => fs.readFileSync(${JSON.stringify(join('DATA', 'store.db'))}.replace('DATA', process.env.PROTIUM_TEST_DATA_DIR))),`,
        "    artifacts: fs.readdirSync(process.env.PROTIUM_TEST_DATA_DIR + '/artifacts'),",
        "    etc: tryIt(() => fs.writeFileSync('/etc/protium-test', 'x')),",
        "    home: tryIt(() => fs.writeFileSync(process.env.HOME + '/note', 'x')),",
        "    own: tryIt(() => fs.readFileSync(__dirname + '/handler.js')),",
        '  });',
        '};',
      ].join('\n');
      const fn = await deploy(d, functionBody('boxed', 'nodejs', src, { spec: { env: [{ name: 'PROTIUM_TEST_DATA_DIR', value: d.dataDir }] } }));
      const res = (await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).json;
      assert.equal(res.store, 'ENOENT');
      assert.equal(res.etc, 'EROFS');
      assert.equal(res.home, 'allowed');
      assert.equal(res.own, 'allowed');
      assert.deepEqual(res.artifacts, [fn.spec.image.split(':')[1]], 'only its own artifact is visible');
    } finally {
      await d.close();
    }
  });
});
