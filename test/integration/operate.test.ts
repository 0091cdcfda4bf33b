/**
 * Operating functions: the invocation proxy and its headers, replicas and their logs (tail, since,
 * follow), PATCH to scaledToZero and back, waking on request with many requests held, idle scale-down,
 * and a dashboard restart that brings functions back on the same ports.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import {
  artifactOf,
  deploy,
  functionBody,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type EchoedEvent,
  type ErrorBody,
  type ReplicaNames,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const fixture = (rel: string) =>
  readFileSync(new URL(`../../../test/fixtures/functions/${rel}`, import.meta.url), 'utf8');
const at = (fn: FunctionRecord, path = '/') => `http://127.0.0.1:${fn.status.httpPort}${path}`;
const invoke = <T = unknown>(
  d: TestDashboard,
  name: string,
  method: string,
  headers: Record<string, string> = {},
  body?: unknown,
) => d.api<T>(method, '/api/function_invocations', { headers: { 'x-nuclio-function-name': name, ...headers }, body });

describe('operate', () => {
  let d: TestDashboard;
  let echo: FunctionRecord;
  before(async () => {
    d = await startTestDashboard();
    echo = await deploy(d, functionBody('op-echo', 'nodejs', fixture('echo/nodejs/handler.js')));
  });
  after(async () => {
    await d.close();
  });

  describe('invocation proxy', () => {
    it('passes method, x-nuclio-path, other headers and the body; returns status, headers and body', async () => {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await invoke<EchoedEvent>(
          d,
          'op-echo',
          method,
          { 'x-nuclio-path': '/via/proxy?q=1', 'x-extra': 'e' },
          method === 'GET' ? undefined : 'payload',
        );
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.method, method);
        assert.equal(res.json.path, '/via/proxy');
        assert.deepEqual(res.json.fields, { q: '1' });
        assert.equal(res.json.headers['X-Extra'], 'e');
        assert.equal(res.json.headers['X-Nuclio-Target'], 'op-echo');
        assert.equal(res.json.headers['X-Nuclio-Function-Name'], undefined);
        if (method !== 'GET') assert.equal(Buffer.from(res.json.bodyHex, 'hex').toString(), 'payload');
      }
      const r = await invoke(d, 'op-echo', 'GET', { 'x-mode': 'response' });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('x-custom'), 'v');
      assert.equal(r.headers.get('content-type'), 'application/x-custom');
    });

    it('streams a large body through without buffering it whole', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      const res = await invoke<EchoedEvent>(d, 'op-echo', 'POST', { 'content-type': 'application/octet-stream' }, big);
      assert.equal(res.status, 200);
      assert.equal(res.json.bodyHex.length, big.length * 2);
    });

    it("x-nuclio-invoke-url must be one of the function's URLs; missing name 400; unknown 404; bad timeout 400", async () => {
      const ok = await invoke(d, 'op-echo', 'GET', {
        'x-nuclio-invoke-url': echo.status.internalInvocationUrls?.[0] ?? '',
      });
      assert.equal(ok.status, 200);
      const bad = await invoke<ErrorBody>(d, 'op-echo', 'GET', { 'x-nuclio-invoke-url': 'example.com:80' });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /Invalid function url/);
      const noName = await d.api('GET', '/api/function_invocations');
      assert.equal(noName.status, 400);
      assert.equal(noName.headers.get('content-type'), 'application/json');
      assert.equal((await invoke(d, 'nobody', 'GET')).status, 404);
      const t = await invoke<ErrorBody>(d, 'op-echo', 'GET', { 'x-nuclio-invoke-timeout': 'soon' });
      assert.equal(t.status, 400);
      assert.match(t.json.error, /Invalid invoke timeout/);
    });

    it('x-nuclio-invoke-timeout ends a slow call with 504 JSON; a longer timeout than the default is honoured', async () => {
      const src =
        "exports.handler = (c, e) => setTimeout(() => c.callback('slow done'), Number(e.headers['X-Sleep'] || 0));";
      await deploy(
        d,
        functionBody('op-slow', 'nodejs', src, { spec: { triggers: { http: { kind: 'http', numWorkers: 4 } } } }),
      );
      const t0 = Date.now();
      const res = await invoke<ErrorBody>(d, 'op-slow', 'GET', {
        'x-nuclio-invoke-timeout': '300ms',
        'x-sleep': '3000',
      });
      assert.equal(res.status, 504);
      assert.match(res.json.error, /300 ms/);
      assert.ok(Date.now() - t0 < 2_000);
      const long = await invoke(d, 'op-slow', 'GET', { 'x-nuclio-invoke-timeout': '2m', 'x-sleep': '1200' });
      assert.equal(long.text, 'slow done');
    });

    it('right after an update is ready, the proxy answers with the new version (its keep-alive pool is renewed)', async () => {
      const v = (n: number) => `exports.handler = (c) => c.callback('version ${n}');`;
      await deploy(d, functionBody('op-versions', 'nodejs', v(1)));
      for (let n = 2; n <= 4; n++) {
        assert.equal((await invoke(d, 'op-versions', 'GET')).text, `version ${n - 1}`);
        const cur = (await d.api<FunctionRecord>('GET', '/api/functions/op-versions')).json;
        cur.spec.build.functionSourceCode = Buffer.from(v(n)).toString('base64');
        assert.equal(
          (
            await d.api('PUT', '/api/functions/op-versions', {
              headers: { 'x-nuclio-wait-function-action': 'true' },
              body: { metadata: cur.metadata, spec: cur.spec },
            })
          ).status,
          202,
        );
        assert.equal((await invoke(d, 'op-versions', 'GET')).text, `version ${n}`);
      }
    });

    it('a function that is not ready answers a clear 503', async () => {
      await d.api('POST', '/api/functions', {
        body: {
          metadata: { name: 'op-broken' },
          spec: { runtime: 'golang', handler: 'main:Handler', build: { functionSourceCode: 'eA==' } },
        },
      });
      await waitFor(d, 'op-broken', (f) => f.status.state === 'error');
      const res = await invoke<ErrorBody>(d, 'op-broken', 'GET');
      assert.equal(res.status, 503);
      assert.match(res.json.error, /not ready.*error/);
    });
  });

  describe('replicas and logs', () => {
    it("lists real replica names; logs honour tailLines, since and follow=false; another function's replica is 400", async () => {
      const names = (await d.api<ReplicaNames>('GET', '/api/functions/op-echo/replicas')).json.names;
      assert.equal(names.length, 1);
      assert.match(names[0], /^nuclio-nuclio-op-echo-[0-9a-f]{5}$/);
      for (let i = 0; i < 5; i++) await request(at(echo), 'GET', { headers: { 'x-mode': 'log' } });
      const path = `/api/functions/op-echo/logs/${names[0]}`;
      const tail = await d.api('GET', `${path}?follow=false&tailLines=2`);
      assert.equal(tail.status, 200);
      assert.equal(tail.headers.get('content-type'), 'text/plain');
      assert.equal(tail.text.trim().split('\n').length, 2);
      assert.match(tail.text, /logged from the handler/);
      const none = await d.api('GET', `${path}?follow=false&since=1ms`);
      assert.ok(none.text.trim().split('\n').filter(Boolean).length <= 1);
      const recent = await d.api('GET', `${path}?follow=false&since=1h`);
      assert.ok(recent.text.split('\n').filter((l) => l.includes('logged from the handler')).length >= 5);
      assert.equal(
        (await d.api('GET', `/api/functions/op-echo/logs/nuclio-nuclio-other-abcde?follow=false`)).status,
        400,
      );
      assert.equal((await d.api('GET', `${path}?follow=false&since=yesterday`)).status, 400);
      assert.equal((await d.api('GET', `${path}?follow=false&tailLines=-3`)).status, 400);
      assert.equal(
        (await d.api('GET', `/api/functions/op-echo/logs/nuclio-nuclio-op-echo-..%2F..%2Fx?follow=false`)).status,
        400,
      );
    });

    it('follow=true streams new lines until the client leaves', async () => {
      const name = (await d.api<ReplicaNames>('GET', '/api/functions/op-echo/replicas')).json.names[0];
      const url = new URL(`${d.url}/api/functions/op-echo/logs/${name}?tailLines=0`);
      const got = await new Promise<string>((resolve, reject) => {
        let text = '';
        const req = http.get(url, (res) => {
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (text.includes('logged from the handler')) {
              req.destroy();
              resolve(text);
            }
          });
        });
        req.on('error', (e) => {
          if (!text) reject(e);
        });
        setTimeout(() => {
          request(at(echo), 'GET', { headers: { 'x-mode': 'log' } }).catch(reject);
        }, 300);
        setTimeout(() => {
          req.destroy();
          reject(new Error(`no line followed; got ${JSON.stringify(text)}`));
        }, 5_000);
      });
      assert.match(got, /logged from the handler/);
      assert.equal((await d.api('GET', '/api/versions')).status, 200);
    });

    it('the build log is readable as the replica "<prefix>build"', async () => {
      const res = await d.api('GET', '/api/functions/op-echo/logs/nuclio-nuclio-op-echo-build?follow=false');
      assert.equal(res.status, 200);
      assert.match(res.text, /artifact/);
    });
  });

  describe('scale to zero', () => {
    it('PATCH scaledToZero: 412 with minReplicas > 0; with 0 it parks, keeps the port, and 64 concurrent requests wake it with no failure', async () => {
      const fn = await deploy(
        d,
        functionBody('op-zero', 'nodejs', fixture('echo/nodejs/handler.js'), {
          spec: { minReplicas: 0, maxReplicas: 1, triggers: { http: { kind: 'http', numWorkers: 8 } } },
        }),
      );
      const pinned = await deploy(
        d,
        functionBody('op-pinned', 'nodejs', 'exports.handler=(c)=>c.callback(1)', {
          spec: { minReplicas: 1, maxReplicas: 1 },
        }),
      );
      assert.equal(
        (await d.api('PATCH', '/api/functions/op-pinned', { body: { desiredState: 'scaledToZero' } })).status,
        412,
      );
      assert.equal(pinned.status.state, 'ready');
      assert.equal(
        (await d.api('PATCH', '/api/functions/op-zero', { body: { desiredState: 'scaledToZero' } })).status,
        204,
      );
      const parked = await waitFor(d, 'op-zero', (f) => f.status.state === 'scaledToZero');
      assert.equal(parked.status.httpPort, fn.status.httpPort);
      assert.deepEqual((await d.api<ReplicaNames>('GET', '/api/functions/op-zero/replicas')).json.names, []);
      const answers = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          request<EchoedEvent>(at(fn, `/wake/${i}`), 'GET', { timeoutMs: 30_000 }).catch((e) => ({
            status: 0,
            text: String(e),
            json: undefined,
          })),
        ),
      );
      const bad = answers.filter((a, i) => a.status !== 200 || a.json?.path !== `/wake/${i}`);
      assert.equal(bad.length, 0, JSON.stringify(bad.slice(0, 2)));
      const woke = await waitFor(d, 'op-zero', (f) => f.status.state === 'ready', 5_000);
      assert.equal(woke.status.state, 'ready');
      assert.equal((await d.api<ReplicaNames>('GET', '/api/functions/op-zero/replicas')).json.names.length, 1);
      // Through the invocation proxy too.
      await d.api('PATCH', '/api/functions/op-zero', {
        headers: { 'x-nuclio-wait-function-action': 'true' },
        body: { desiredState: 'scaledToZero' },
      });
      assert.equal((await d.api<FunctionRecord>('GET', '/api/functions/op-zero')).json.status.state, 'scaledToZero');
      const via = await invoke(d, 'op-zero', 'GET');
      assert.equal(via.status, 200);
      const ready = await d.api('PATCH', '/api/functions/op-zero', {
        headers: { 'x-nuclio-wait-function-action': 'true' },
        body: { desiredState: 'ready' },
      });
      assert.equal(ready.status, 204);
      assert.equal((await d.api<FunctionRecord>('GET', '/api/functions/op-zero')).json.status.state, 'ready');
    });

    it('a function idle for its scaleToZero window scales to zero by itself, and wakes again', async () => {
      const fn = await deploy(
        d,
        functionBody('op-idle', 'nodejs', 'exports.handler=(c)=>c.callback("awake")', {
          spec: {
            minReplicas: 0,
            maxReplicas: 1,
            scaleToZero: { scaleResources: [{ metricName: 'requests', windowSize: '2s', threshold: 0 }] },
          },
        }),
      );
      const parked = await waitFor(d, 'op-idle', (f) => f.status.state === 'scaledToZero', 15_000);
      assert.equal(parked.status.scaleToZero?.lastScaleEvent, 'scaleToZeroCompleted');
      assert.equal((await request(at(fn), 'GET')).text, 'awake');
    });

    it('between minReplicas and maxReplicas, replicas are added when requests queue up', async () => {
      const fn = await deploy(
        d,
        functionBody(
          'op-busy',
          'nodejs',
          'exports.handler = (c) => setTimeout(() => c.callback(String(process.env.HOSTNAME)), 150);',
          { spec: { minReplicas: 1, maxReplicas: 3 } },
        ),
      );
      assert.equal((await d.api<ReplicaNames>('GET', '/api/functions/op-busy/replicas')).json.names.length, 1);
      const pids = new Set<string>(); // replica names (HOSTNAME): pids are per-replica namespaces
      const t0 = Date.now();
      // Fresh connections (new clients), so that new replicas get some of them.
      while (Date.now() - t0 < 6_000 && pids.size < 2) {
        const answers = await Promise.all(
          Array.from({ length: 12 }, () => request(at(fn), 'GET', { headers: { connection: 'close' } })),
        );
        for (const a of answers) if (a.status === 200) pids.add(a.text);
      }
      const replicas = (await d.api<ReplicaNames>('GET', '/api/functions/op-busy/replicas')).json.names;
      assert.ok(replicas.length >= 2 && replicas.length <= 3, `replicas: ${replicas.join(', ')}`);
      assert.ok(pids.size >= 2, `answers came from ${pids.size} process(es)`);
    });

    it('a wake that fails answers 503 with the reason', async () => {
      const src =
        "if (process.env.BROKEN === 'yes' && require('fs').existsSync(__dirname + '/armed')) throw new " +
        "Error('cannot start'); exports.handler=(c)=>c.callback('x');";
      const fn = await deploy(
        d,
        functionBody('op-badwake', 'nodejs', src, {
          spec: { minReplicas: 0, maxReplicas: 1, env: [{ name: 'BROKEN', value: 'yes' }] },
        }),
      );
      await d.api('PATCH', '/api/functions/op-badwake', {
        headers: { 'x-nuclio-wait-function-action': 'true' },
        body: { desiredState: 'scaledToZero' },
      });
      const artifact = artifactOf((await d.api<FunctionRecord>('GET', '/api/functions/op-badwake')).json);
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${d.dataDir}/artifacts/${artifact}/armed`, '1');
      const res = await request<ErrorBody>(at(fn), 'GET', { timeoutMs: 20_000 });
      assert.equal(res.status, 503);
      assert.match(res.json.error, /cannot start/);
    });
  });

  it('a restarted dashboard brings functions back on the same ports, parked ones parked', async () => {
    // A dashboard of its own, with its own functions: no state from the tests above.
    const first = await startTestDashboard();
    const dir = first.dataDir;
    let second: TestDashboard | undefined;
    let firstClosed = false;
    try {
      const a = await deploy(
        first,
        functionBody('op-survivor', 'python', 'def handler(c, e):\n    return "survived"\n'),
      );
      const p = await deploy(
        first,
        functionBody('op-parked', 'nodejs', 'exports.handler = (c) => c.callback("woke");', {
          spec: { minReplicas: 0, maxReplicas: 1 },
        }),
      );
      assert.equal(
        (
          await first.api('PATCH', '/api/functions/op-parked', {
            headers: { 'x-nuclio-wait-function-action': 'true' },
            body: { desiredState: 'scaledToZero' },
          })
        ).status,
        204,
      );
      assert.equal(
        (await first.api<FunctionRecord>('GET', '/api/functions/op-parked')).json.status.state,
        'scaledToZero',
      );
      await first.dashboard.close();
      firstClosed = true;
      await assert.rejects(request(at(a), 'GET', { timeoutMs: 2_000 }));
      second = await startTestDashboard({}, dir);
      const back = await waitFor(second, 'op-survivor', (f) => f.status.state === 'ready');
      assert.equal(back.status.httpPort, a.status.httpPort);
      let res;
      for (let i = 0; i < 50; i++) {
        res = await request(at(back), 'GET').catch(() => undefined);
        if (res?.status === 200) break;
        await sleep(100);
      }
      assert.equal(res?.text, 'survived');
      // Every stored function has been reconciled: the parked one is still parked, with no replica, and
      // keeps its port (bound by the dashboard, so that a request wakes it).
      await second.dashboard.controller.idle();
      const parked = (await second.api<FunctionRecord>('GET', '/api/functions/op-parked')).json;
      assert.equal(parked.status.state, 'scaledToZero');
      assert.equal(parked.status.httpPort, p.status.httpPort);
      assert.deepEqual((await second.api<ReplicaNames>('GET', '/api/functions/op-parked/replicas')).json.names, []);
      assert.equal((await request(at(parked), 'GET')).text, 'woke');
      await waitFor(second, 'op-parked', (f) => f.status.state === 'ready', 5_000);
    } finally {
      if (second) await second.close();
      else if (!firstClosed) await first.dashboard.close();
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
