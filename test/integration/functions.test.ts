/**
 * Functions built and run for real: each runtime's event and response model on the function's own port,
 * build commands, build errors a user can act on, crashing handlers coming back, updates that do not drop
 * requests, deletes that free the port, cron and event timeouts, and every built-in template.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  b64,
  deploy,
  functionBody,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type Answer,
  type EchoedEvent,
  type ErrorBody,
  type ReplicaNames,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionConfig, FunctionRecord } from '../../src/resources/types.js';

const fixture = (rel: string) =>
  readFileSync(new URL(`../../../test/fixtures/functions/${rel}`, import.meta.url), 'utf8');
const at = (fn: FunctionRecord, path = '/') => `http://127.0.0.1:${fn.status.httpPort}${path}`;

/** Each built-in template: requests that exercise it and what it must answer (templates/<name>/). */
const hmac = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const TEMPLATE_CASES: Record<
  string,
  { method?: string; body?: string; headers?: Record<string, string>; check: (res: Answer, what: string) => void }[]
> = {
  'helloworld:nodejs': [
    {
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.equal(r.text, 'Hello, from Nuclio :]', w);
      },
    },
  ],
  'helloworld:python': [
    {
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.equal(r.text, 'Hello, from Nuclio :]', w);
      },
    },
  ],
  'helloworld:shell': [
    {
      method: 'PUT',
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.equal(r.text, 'Hello, from Nuclio :]\nYou sent a PUT request to /\n', w);
      },
    },
  ],
  ...Object.fromEntries(
    ['json-echo:nodejs', 'json-echo:python'].map((n) => [
      n,
      [
        {
          body: '{"a": [1, "two", null], "b": {"c": true}}',
          headers: { 'content-type': 'application/json' },
          check: (r: Answer, w: string) => {
            assert.equal(r.status, 200, w);
            assert.match(r.headers.get('content-type') ?? '', /^application\/json/, w);
            assert.deepEqual(r.json, { a: [1, 'two', null], b: { c: true } }, w);
          },
        },
        {
          body: 'not json',
          headers: { 'content-type': 'text/plain' },
          check: (r: Answer, w: string) => {
            assert.equal(r.status, 400, w);
            assert.match((r.json as Partial<ErrorBody> | undefined)?.error ?? '', /not valid JSON/, w);
          },
        },
      ],
    ]),
  ),
  'reverser:python': [
    {
      body: 'héllo wörld',
      headers: { 'content-type': 'text/plain' },
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.equal(r.text, 'dlröw olléh', w);
      },
    },
  ],
  'reverser:shell': [
    {
      body: 'héllo\nwörld\n',
      headers: { 'content-type': 'text/plain' },
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.equal(r.text, 'olléh\ndlröw\n', w);
      },
    },
  ],
  'dates:nodejs': [
    {
      body: '{"value": 2, "unit": "days"}',
      headers: { 'content-type': 'application/json' },
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        const ms = Date.parse(r.text);
        assert.ok(Math.abs(ms - (Date.now() + 2 * 86_400_000)) < 60_000, w);
      },
    },
    {
      body: '{"value": 2, "unit": "fortnights"}',
      headers: { 'content-type': 'application/json' },
      check: (r, w) => {
        assert.equal(r.status, 400, w);
        assert.match((r.json as Partial<ErrorBody> | undefined)?.error ?? '', /"unit" must be one of/, w);
      },
    },
  ],
  'webhook-signature:nodejs': [
    {
      body: '{"zen": "ok"}',
      headers: {
        'x-hub-signature-256': hmac('change-me', '{"zen": "ok"}'),
        'x-github-event': 'ping',
        'content-type': 'text/plain',
      },
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.deepEqual(r.json, { verified: true, bytes: 13, event: 'ping' }, w);
      },
    },
    {
      body: '{"zen": "ok"}',
      headers: { 'x-hub-signature-256': hmac('wrong', '{"zen": "ok"}'), 'content-type': 'text/plain' },
      check: (r, w) => {
        assert.equal(r.status, 401, w);
        assert.match((r.json as Partial<ErrorBody> | undefined)?.error ?? '', /signature mismatch/, w);
      },
    },
    {
      body: '{"zen": "ok"}',
      headers: { 'content-type': 'text/plain' },
      check: (r, w) => {
        assert.equal(r.status, 401, w);
      },
    },
  ],
  // The count of cron ticks so far (its interval is 30 s: 0 or a few here).
  'cron-ticker:python': [
    {
      method: 'GET',
      check: (r, w) => {
        assert.equal(r.status, 200, w);
        assert.match(r.text, /^\d+$/, w);
      },
    },
  ],
};

describe('functions', () => {
  let d: TestDashboard;
  let node: FunctionRecord;
  let py: FunctionRecord;
  let sh: FunctionRecord;
  before(async () => {
    d = await startTestDashboard();
    [node, py, sh] = await Promise.all([
      deploy(d, functionBody('echo-node', 'nodejs', fixture('echo/nodejs/handler.js'))),
      deploy(d, functionBody('echo-py', 'python:3.9', fixture('echo/python/main.py'))),
      deploy(
        d,
        functionBody('echo-sh', 'shell', fixture('echo/shell/main.sh'), {
          spec: { runtimeAttributes: { responseHeaders: { 'x-shell': 'yes' } } },
        }),
      ),
    ]);
  });
  after(async () => {
    await d.close();
  });

  it('a ready function reports its port and host:port invocation URLs that answer', async () => {
    assert.ok((node.status.httpPort ?? 0) > 0);
    assert.deepEqual(node.status.internalInvocationUrls, [`127.0.0.1:${node.status.httpPort}`]);
    assert.match(node.spec.image ?? '', /^protium\/processor-echo-node:[0-9a-f]{32}$/);
    const res = await request(`http://${node.status.externalInvocationUrls?.[0]}/`, 'GET');
    assert.equal(res.status, 200);
  });

  for (const [rt, get] of [
    ['nodejs', () => node],
    ['python', () => py],
  ] as const) {
    it(`${rt}: the event carries method, path, query fields, canonical headers and the raw body`, async () => {
      const body = Buffer.from([0, 1, 2, 250, 255]);
      const res = await request<EchoedEvent>(at(get(), '/a/b?x=1&y=two'), 'PUT', {
        headers: { 'x-probe': 'p', 'content-type': 'application/octet-stream' },
        body,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.method, 'PUT');
      assert.equal(res.json.path, '/a/b');
      assert.deepEqual(res.json.fields, { x: '1', y: 'two' });
      assert.equal(res.json.headers['X-Probe'], 'p');
      assert.equal(res.json.bodyHex, body.toString('hex'));
      assert.equal(res.json.triggerKind, 'http');
    });

    it(`${rt}: string, object, Response and (status, body) answers map as Nuclio maps them`, async () => {
      const s = await request(at(get()), 'GET', { headers: { 'x-mode': 'string' } });
      assert.equal(s.headers.get('content-type'), 'text/plain');
      const o = await request(at(get()), 'GET', { headers: { 'x-mode': 'object' } });
      assert.equal(o.headers.get('content-type'), 'application/json');
      assert.deepEqual(o.json, { ok: true });
      const r = await request(at(get()), 'GET', { headers: { 'x-mode': 'response' } });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('x-custom'), 'v');
      assert.equal(r.headers.get('content-type'), 'application/x-custom');
      const p = await request(at(get()), 'GET', { headers: { 'x-mode': 'pair' } });
      assert.equal(p.status, 202);
      assert.equal(p.text, 'accepted');
    });

    it(`${rt}: an exception answers 500 with the message; X-Nuclio-Log-Level returns the logs in X-Nuclio-Logs`, async () => {
      const e = await request(at(get()), 'GET', { headers: { 'x-mode': 'throw' } });
      assert.equal(e.status, 500);
      assert.match(e.text, /deliberate failure/);
      const l = await request(at(get()), 'GET', { headers: { 'x-mode': 'log', 'x-nuclio-log-level': 'info' } });
      const logs = JSON.parse(l.headers.get('x-nuclio-logs') ?? '[]') as { message?: string }[];
      assert.ok(
        logs.some((r) => r.message === 'logged from the handler'),
        JSON.stringify(logs),
      );
    });
  }

  it('python: a JSON body arrives decoded; init_context runs once per worker', async () => {
    const res = await request(at(py), 'POST', { headers: { 'x-mode': 'json' }, body: { a: [1, 2] } });
    assert.deepEqual(res.json, { type: 'dict', value: { a: [1, 2] }, initialised: true });
  });

  it('shell: stdout is the body, the event is in NUCLIO_EVENT_*, responseHeaders are added, a failing script is a 500', async () => {
    const res = await request(at(sh, '/path/x'), 'POST', { body: 'abc' });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'POST /path/x abc');
    assert.equal(res.headers.get('x-shell'), 'yes');
    const fail = await request(at(sh, '/fail'), 'GET');
    assert.equal(fail.status, 500);
    assert.match(fail.text, /shell says no/);
  });

  it('build commands run inside the artifact with /bin/sh, and their files are there at run time', async () => {
    const src =
      "const fs = require('fs');\nexports.handler = (c) => c.callback(fs.readFileSync(__dirname + '/built.txt', " +
      "'utf8').trim() + '|' + process.env.GREETING);\n";
    const fn = await deploy(
      d,
      functionBody('with-commands', 'nodejs', src, {
        spec: {
          env: [{ name: 'GREETING', value: 'hi' }],
          build: {
            functionSourceCode: b64(src),
            commands: ['echo "made by a build command" > built.txt', 'test -f handler.js'],
          },
        },
      }),
    );
    const res = await request(at(fn), 'GET');
    assert.equal(res.text, 'made by a build command|hi');
  });

  describe('build and start errors end in state error with a message a user can act on', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'bad-b64',
        { runtime: 'nodejs', handler: 'handler:handler', build: { functionSourceCode: '!!!not base64!!!' } },
        /not valid base64/,
      ],
      [
        'no-export',
        {
          runtime: 'nodejs',
          handler: 'handler:main',
          build: { functionSourceCode: b64('exports.handler = () => {};') },
        },
        /"main" is not exported/,
      ],
      [
        'py-syntax',
        {
          runtime: 'python',
          handler: 'main:handler',
          build: { functionSourceCode: b64('def handler(c, e)\n  return 1\n') },
        },
        /SyntaxError/,
      ],
      [
        'py-no-func',
        { runtime: 'python', handler: 'main:nothere', build: { functionSourceCode: b64('x = 1\n') } },
        /"nothere" is not defined/,
      ],
      [
        'cmd-fails',
        {
          runtime: 'nodejs',
          handler: 'handler:handler',
          build: {
            functionSourceCode: b64('exports.handler=(c)=>c.callback(1)'),
            commands: ['echo about to fail; exit 3'],
          },
        },
        /Build command failed \(exit code 3\): echo about to fail; exit 3\nabout to fail/,
      ],
      [
        'cmd-hangs',
        {
          runtime: 'nodejs',
          handler: 'handler:handler',
          build: {
            functionSourceCode: b64('exports.handler=(c)=>c.callback(1)'),
            commands: ['sleep 30'],
            buildTimeoutSeconds: 1,
          },
        },
        /timed out after 1 s/,
      ],
      [
        'unknown-rt',
        { runtime: 'cobol', handler: 'main:handler', build: { functionSourceCode: b64('x') } },
        /Runtime "cobol" is not supported/,
      ],
      [
        'golang-rt',
        { runtime: 'golang', handler: 'main:Handler', build: { functionSourceCode: b64('package main') } },
        /not available on this platform/,
      ],
      [
        'dead-url',
        { runtime: 'nodejs', handler: 'handler:handler', build: { path: 'http://127.0.0.1:1/handler.js' } },
        /Failed to download http:\/\/127.0.0.1:1\/handler.js/,
      ],
      [
        'init-fails',
        {
          runtime: 'nodejs',
          handler: 'handler:handler',
          build: {
            functionSourceCode: b64(
              'exports.initContext = () => { throw new Error("no config"); };\nexports.handler = (c) => c.callback(1);',
            ),
          },
        },
        /initContext failed: Error: no config/,
      ],
    ];
    for (const [name, spec, message] of cases) {
      it(name, async () => {
        const res = await d.api('POST', '/api/functions', { body: { metadata: { name }, spec } });
        assert.equal(res.status, 202, res.text);
        const fn = await waitFor(d, name, (f) => f.status?.state === 'error' || f.status?.state === 'ready', 40_000);
        assert.equal(fn.status.state, 'error');
        assert.match(fn.status.message ?? '', message);
        assert.ok((await d.api('GET', '/api/versions')).status === 200);
      });
    }
  });

  it('a function served from an http(s) URL, a tar.gz archive by URL, and an archive with ../ refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-src-'));
    try {
      writeFileSync(join(dir, 'handler.js'), 'exports.handler = (c) => c.callback("from a url");');
      execFileSync('tar', ['-czf', join(dir, 'fn.tar.gz'), '-C', dir, 'handler.js']);
      execFileSync('python3', [
        '-c',
        `import tarfile, io\nt = tarfile.open('${join(dir, 'evil.tgz')}', 'w:gz')\ndata = b'x'\ni = ` +
          `tarfile.TarInfo('../evil.js'); i.size = len(data); t.addfile(i, io.BytesIO(data)); t.close()`,
      ]);
      const server = http.createServer((req, res) => {
        try {
          res.end(readFileSync(join(dir, (req.url ?? '/').slice(1))));
        } catch {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as { port: number }).port;
      try {
        const plain = await deploy(d, {
          metadata: { name: 'from-url' },
          spec: {
            runtime: 'nodejs',
            handler: 'handler:handler',
            build: { path: `http://127.0.0.1:${port}/handler.js` },
          },
        });
        assert.equal((await request(at(plain), 'GET')).text, 'from a url');
        const arch = await deploy(d, {
          metadata: { name: 'from-tgz' },
          spec: {
            runtime: 'nodejs',
            handler: 'handler:handler',
            build: { path: `http://127.0.0.1:${port}/fn.tar.gz` },
          },
        });
        assert.equal((await request(at(arch), 'GET')).text, 'from a url');
        await d.api('POST', '/api/functions', {
          body: {
            metadata: { name: 'evil-tgz' },
            spec: {
              runtime: 'nodejs',
              handler: 'handler:handler',
              build: { path: `http://127.0.0.1:${port}/evil.tgz` },
            },
          },
        });
        const evil = await waitFor(d, 'evil-tgz', (f) => ['error', 'ready'].includes(f.status?.state ?? ''));
        assert.equal(evil.status.state, 'error');
        assert.match(evil.status.message ?? '', /leaves the archive/);
        await d.api('POST', '/api/functions', {
          body: {
            metadata: { name: 'tgz-no-handler' },
            spec: {
              runtime: 'nodejs',
              handler: 'other:handler',
              build: { path: `http://127.0.0.1:${port}/fn.tar.gz` },
            },
          },
        });
        const nh = await waitFor(d, 'tgz-no-handler', (f) => ['error', 'ready'].includes(f.status?.state ?? ''));
        assert.match(nh.status.message ?? '', /handler file other.js is not in the function's source/);
        const missing = await d.api('POST', '/api/functions', {
          body: {
            metadata: { name: 'url-404' },
            spec: {
              runtime: 'nodejs',
              handler: 'handler:handler',
              build: { path: `http://127.0.0.1:${port}/nope.js` },
            },
          },
        });
        assert.equal(missing.status, 202);
        const m = await waitFor(d, 'url-404', (f) => ['error', 'ready'].includes(f.status?.state ?? ''));
        assert.match(m.status.message ?? '', /answered 404/);
      } finally {
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a crashing handler (process.exit) is restarted and serves again; the state says so meanwhile', async () => {
    const src = "exports.handler = (c, e) => { if (e.path === '/die') process.exit(7); c.callback('alive'); };";
    const fn = await deploy(d, functionBody('crasher', 'nodejs', src));
    // POST: a client library may retry a GET whose connection was reset, which would crash it again.
    await request(at(fn, '/die'), 'POST', { headers: { connection: 'close' } }).catch(() => undefined);
    const t0 = Date.now();
    let ok = false;
    while (Date.now() - t0 < 10_000) {
      const res = await request(at(fn), 'GET', { timeoutMs: 5_000 }).catch(() => undefined);
      if (res?.text === 'alive') {
        ok = true;
        break;
      }
      await sleep(50);
    }
    assert.ok(ok, 'the function did not come back within 10 s');
    assert.ok(Date.now() - t0 < 2_000, `came back after ${Date.now() - t0} ms`);
    const state = await waitFor(d, 'crasher', (f) => f.status.state === 'ready', 5_000);
    assert.equal(state.status.state, 'ready');
    const replicas = (await d.api<ReplicaNames>('GET', '/api/functions/crasher/replicas')).json.names;
    assert.equal(replicas.length, 1);
  });

  it('python: sys.exit in a handler answers 500 and the next request is served by a new worker', async () => {
    const src =
      'import sys\n\ndef handler(context, event):\n    if event.path == "/exit":\n        sys.exit(3)\n    ' +
      'return "still here"\n';
    const fn = await deploy(d, functionBody('py-exit', 'python', src));
    const dead = await request(at(fn, '/exit'), 'GET');
    assert.equal(dead.status, 500);
    let text = '';
    for (let i = 0; i < 50 && text !== 'still here'; i++) {
      text = (await request(at(fn), 'GET')).text;
      if (text !== 'still here') await sleep(50);
    }
    assert.equal(text, 'still here');
  });

  it('PUT rolls to the new code without failing requests in flight, on the same port', async () => {
    const v = (n: number) => `exports.handler = (c) => setTimeout(() => c.callback('v${n}'), 5);`;
    const fn = await deploy(
      d,
      functionBody('rolling', 'nodejs', v(1), { spec: { triggers: { http: { kind: 'http', numWorkers: 8 } } } }),
    );
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            try {
              const r = await request(at(fn), 'GET', { timeoutMs: 10_000 });
              if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
              else seen.add(r.text);
            } catch (e) {
              failures.push((e as Error).message);
            }
          }),
        );
      }
    })();
    await sleep(200);
    const cur = (await d.api<FunctionRecord>('GET', '/api/functions/rolling')).json;
    cur.spec.build.functionSourceCode = b64(v(2));
    assert.equal(
      (await d.api('PUT', '/api/functions/rolling', { body: { metadata: cur.metadata, spec: cur.spec } })).status,
      202,
    );
    const after2 = await waitFor(d, 'rolling', (f) => f.status.state === 'ready' && f.spec.image !== cur.spec.image);
    const t0 = Date.now();
    while (!seen.has('v2') && Date.now() - t0 < 5_000) await sleep(50);
    await sleep(300);
    stop = true;
    await load;
    assert.deepEqual(failures, []);
    assert.ok(seen.has('v1') && seen.has('v2'), [...seen].join(','));
    assert.equal(after2.status.httpPort, fn.status.httpPort);
  });

  it('DELETE stops the replicas and frees the port', async () => {
    const fn = await deploy(d, functionBody('deleted', 'nodejs', 'exports.handler = (c) => c.callback("x");'));
    assert.equal((await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'deleted' } } })).status, 204);
    const t0 = Date.now();
    let refused = false;
    while (Date.now() - t0 < 5_000) {
      try {
        await request(at(fn), 'GET', { timeoutMs: 1_000 });
      } catch {
        refused = true;
        break;
      }
      await sleep(50);
    }
    assert.ok(refused, 'the port still answers after the delete');
  });

  it('a cron trigger fires with the configured body; spec.eventTimeout answers 408', async () => {
    const src =
      "exports.handler = (c, e) => { if (e.trigger.kind === 'cron') c.logger.info('tick ' + e.body.toString()); " +
      "if (e.path === '/slow') return setTimeout(() => c.callback('late'), 3000); c.callback('ok'); };";
    const fn = await deploy(
      d,
      functionBody('ticker', 'nodejs', src, {
        spec: {
          eventTimeout: '500ms',
          triggers: { tick: { kind: 'cron', attributes: { interval: '300ms', event: { body: 'payload' } } } },
        },
      }),
    );
    const slow = await request(at(fn, '/slow'), 'GET');
    assert.equal(slow.status, 408);
    const replica = (await d.api<ReplicaNames>('GET', '/api/functions/ticker/replicas')).json.names[0];
    const t0 = Date.now();
    let text = '';
    while (Date.now() - t0 < 5_000 && !text.includes('tick payload')) {
      text = (await d.api('GET', `/api/functions/ticker/logs/${replica}?follow=false`)).text;
      await sleep(200);
    }
    assert.match(text, /tick payload/);
  });

  it('every built-in template deploys and answers what its description says', async () => {
    const list = (await d.api<Record<string, FunctionConfig>>('GET', '/api/function_templates')).json;
    const names = Object.keys(list).sort();
    const missing = names.filter((n) => !TEMPLATE_CASES[n]);
    assert.deepEqual(missing, [], 'a template without a case in TEMPLATE_CASES is untested: add what it answers');
    const fns = await Promise.all(
      names.map((t, i) => deploy(d, { metadata: { name: `tpl-${i}` }, spec: { ...list[t].spec } })),
    );
    for (const [i, fn] of fns.entries()) {
      for (const c of TEMPLATE_CASES[names[i]]) {
        const res = await request(at(fn), c.method ?? 'POST', { body: c.body, headers: c.headers });
        c.check(res, `${names[i]} ${c.method ?? 'POST'} ${JSON.stringify(c.body ?? '')}: ${res.status} ${res.text}`);
      }
    }
  });
});
