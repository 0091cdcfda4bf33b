/**
 * API gateways routing for real on the gateway listener: host and path, each auth mode, the canary split,
 * updates under load without failed requests, waking a function scaled to zero through a gateway, and
 * gateway states for bad upstreams.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { ApiGateway, FunctionRecord } from '../../src/resources/types.js';
import { gatewayBody } from '../helpers/gateways.js';

const text = (t: string) => `exports.handler = (c, e) => c.callback(${JSON.stringify(t)} + ' ' + e.path);`;

describe('api gateways', () => {
  let d: TestDashboard;
  let keysDir: string;
  const via = <T = unknown>(host: string, path: string, headers: Record<string, string> = {}) =>
    rawRequest<T>(`${d.gatewayUrl}${path}`, 'GET', { headers: { host, ...headers } });
  async function create(body: ReturnType<typeof gatewayBody>, want = 'ready') {
    const res = await d.api('POST', '/api/api_gateways', { body });
    assert.equal(res.status, 202, res.text);
    const t0 = Date.now();
    for (;;) {
      const g = (await d.api<ApiGateway>('GET', `/api/api_gateways/${body.metadata.name}`)).json;
      if (g.status?.state === want) return g;
      if (Date.now() - t0 > 10_000)
        throw new Error(`gateway ${body.metadata.name} did not reach ${want}: ${JSON.stringify(g.status)}`);
      await sleep(50);
    }
  }

  before(async () => {
    keysDir = mkdtempSync(join(tmpdir(), 'protium-keys-'));
    writeFileSync(join(keysDir, 'keys'), '# access keys\nkey-one\n\nkey-two\n');
    d = await startTestDashboard({ accessKeysFile: join(keysDir, 'keys') });
    await Promise.all([
      deploy(
        d,
        functionBody('gw-a', 'nodejs', text('A'), { spec: { triggers: { http: { kind: 'http', numWorkers: 4 } } } }),
      ),
      deploy(
        d,
        functionBody('gw-b', 'nodejs', text('B'), { spec: { triggers: { http: { kind: 'http', numWorkers: 4 } } } }),
      ),
    ]);
  });
  after(async () => {
    await d.close();
    rmSync(keysDir, { recursive: true, force: true });
  });

  it('routes Host + path prefix to the function, passing the rest of the path and X-Forwarded-* headers', async () => {
    await create(gatewayBody('plain', 'plain.test', '/api', [['gw-a']]));
    assert.equal((await via('plain.test', '/api')).text, 'A /');
    assert.equal((await via('plain.test', '/api/items/7?x=1')).text, 'A /items/7');
    const miss = await via('plain.test', '/apix');
    assert.equal(miss.status, 404);
    assert.equal(miss.headers.get('content-type'), 'application/json');
    assert.equal((await via('unknown.test', '/api')).status, 404);
    const echo = await deploy(
      d,
      functionBody('gw-echo', 'nodejs', 'exports.handler = (c, e) => c.callback(e.headers);'),
    );
    assert.ok(echo);
    await create(gatewayBody('echo', 'echo.test', '/', [['gw-echo']]));
    const h = (await via<Record<string, string>>('echo.test', '/x')).json;
    assert.equal(h['X-Forwarded-Host'], 'echo.test');
    assert.match(h['X-Forwarded-For'], /127\.0\.0\.1/);
  });

  it('basic auth: 401 with WWW-Authenticate without or with wrong credentials, 200 with them; a flood of bad ones does not stop other routes', async () => {
    await create(
      gatewayBody('basic', 'basic.test', '/', [['gw-a']], {
        authenticationMode: 'basicAuth',
        authentication: { basicAuth: { username: 'ann', password: 's3cret' } },
      }),
    );
    const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    const none = await via('basic.test', '/');
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="basic"/);
    assert.equal((await via('basic.test', '/', auth('ann', 'wrong'))).status, 401);
    assert.equal((await via('basic.test', '/', auth('ann', 's3cret'))).text, 'A /');
    const flood = await Promise.all(
      Array.from({ length: 200 }, (_, i) => via('basic.test', '/', auth('ann', `guess-${i}`))),
    );
    assert.ok(flood.every((r) => r.status === 401));
    assert.equal((await via('plain.test', '/api')).status, 200);
  });

  it('access keys: a configured key (header or session cookie) passes, others get 401', async () => {
    await create(gatewayBody('keyed', 'keyed.test', '/', [['gw-b']], { authenticationMode: 'accessKey' }));
    assert.equal((await via('keyed.test', '/')).status, 401);
    assert.equal((await via('keyed.test', '/', { 'x-v3io-session-key': 'not-a-key' })).status, 401);
    assert.equal((await via('keyed.test', '/', { 'x-v3io-session-key': 'key-two' })).text, 'B /');
    assert.equal(
      (await via('keyed.test', '/', { cookie: `session=${encodeURIComponent('j:{"sid":"key-one"}')}` })).text,
      'B /',
    );
  });

  it('canary: 30% to the second upstream over 400 requests (within 10 points)', async () => {
    await create(gatewayBody('canary', 'canary.test', '/', [['gw-a'], ['gw-b', 30]]));
    const answers = [];
    for (let i = 0; i < 8; i++)
      answers.push(...(await Promise.all(Array.from({ length: 50 }, () => via('canary.test', '/')))));
    assert.ok(answers.every((r) => r.status === 200));
    const b = answers.filter((r) => r.text.startsWith('B')).length;
    assert.ok(Math.abs(b / 400 - 0.3) <= 0.1, `canary got ${b}/400`);
  });

  it('PUT changes the route without a restart and without failing requests under load; DELETE removes it', async () => {
    await create(gatewayBody('moving', 'moving.test', '/', [['gw-a']]));
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const load = (async () => {
      while (!stop) {
        const rs = await Promise.all(
          Array.from({ length: 5 }, () => via('moving.test', '/').catch((e) => ({ status: 0, text: String(e) }))),
        );
        for (const r of rs) {
          if (r.status === 200) seen.add(r.text[0]);
          else failures.push(`${r.status} ${r.text}`);
        }
      }
    })();
    await sleep(200);
    assert.equal(
      (await d.api('PUT', '/api/api_gateways/moving', { body: gatewayBody('moving', 'moving.test', '/', [['gw-b']]) }))
        .status,
      204,
    );
    const t0 = Date.now();
    while (!seen.has('B') && Date.now() - t0 < 5_000) await sleep(20);
    await sleep(200);
    stop = true;
    await load;
    assert.deepEqual(failures, []);
    assert.ok(seen.has('A') && seen.has('B'));
    assert.equal((await d.api('DELETE', '/api/api_gateways', { body: { metadata: { name: 'moving' } } })).status, 204);
    await sleep(100);
    assert.equal((await via('moving.test', '/')).status, 404);
  });

  it('wakes a function scaled to zero through the gateway', async () => {
    await deploy(d, functionBody('gw-sleepy', 'nodejs', text('Z'), { spec: { minReplicas: 0, maxReplicas: 1 } }));
    await create(gatewayBody('sleepy', 'sleepy.test', '/', [['gw-sleepy']]));
    await d.api('PATCH', '/api/functions/gw-sleepy', {
      headers: { 'x-nuclio-wait-function-action': 'true' },
      body: { desiredState: 'scaledToZero' },
    });
    assert.equal((await d.api<FunctionRecord>('GET', '/api/functions/gw-sleepy')).json.status.state, 'scaledToZero');
    const answers = await Promise.all(Array.from({ length: 16 }, () => via('sleepy.test', '/w')));
    assert.ok(
      answers.every((r) => r.status === 200 && r.text === 'Z /w'),
      JSON.stringify(answers.map((a) => a.status)),
    );
  });

  it('a gateway whose function does not exist is in state error, and becomes ready when it does', async () => {
    const g = await create(gatewayBody('orphan', 'orphan.test', '/', [['gw-later']]), 'error');
    assert.match(g.status.last_error ?? '', /gw-later does not exist/);
    assert.equal((await via('orphan.test', '/')).status, 503);
    await deploy(d, functionBody('gw-later', 'nodejs', text('L')));
    const t0 = Date.now();
    let state = '';
    while (state !== 'ready' && Date.now() - t0 < 5_000) {
      state = (await d.api<ApiGateway>('GET', '/api/api_gateways/orphan')).json.status.state ?? '';
      await sleep(50);
    }
    assert.equal(state, 'ready');
    assert.equal((await via('orphan.test', '/')).text, 'L /');
  });

  it('oversize headers get 431 and the listener keeps serving', async () => {
    // An answer, not a dropped connection: the client is told why.
    const res = await rawRequest(`${d.gatewayUrl}/`, 'GET', {
      headers: { host: 'plain.test', 'x-big': 'a'.repeat(40 * 1024) },
      fresh: true,
    });
    assert.equal(res.status, 431);
    assert.equal((await via('plain.test', '/api')).status, 200);
  });
});
