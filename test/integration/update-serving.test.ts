/**
 * Invocation while a function updates (issue 12, item 9): while a new version builds and rolls over, the
 * previous version still serves on the function's port, so the invocation endpoint and API gateways must
 * keep answering through it. They answer 503 only when no version serves (the first build still running).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  waitFor,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { ApiGateway } from '../../src/resources/types.js';

const versioned = (v: number) => `exports.handler = (c) => c.callback('v${v}');`;

describe('invocation during updates', () => {
  let d: TestDashboard;

  before(async () => {
    d = await startTestDashboard();
  });
  after(async () => {
    await d.close();
  });

  it('a burst of invocations (endpoint and gateway) while the function rebuilds again and again has no answer but 200', async () => {
    await deploy(
      d,
      functionBody('rolling', 'nodejs', versioned(0), {
        spec: { triggers: { http: { kind: 'http', numWorkers: 4 } } },
      }),
    );
    const gw = await d.api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'rolling-gw', labels: { 'nuclio.io/project-name': 'default' } },
        spec: {
          host: 'rolling.test',
          path: '/',
          authenticationMode: 'none',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'rolling' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
    for (
      let i = 0;
      (await d.api<ApiGateway | undefined>('GET', '/api/api_gateways/rolling-gw')).json?.status?.state !== 'ready';
      i++
    ) {
      assert.ok(i < 100, 'the gateway did not become ready');
      await sleep(50);
    }

    let stop = false;
    const failures: string[] = [];
    const seen = new Set<string>();
    let answered = 0;
    const client = async (call: () => Promise<{ status: number; text: string }>) => {
      while (!stop) {
        const res = await call().catch((e: Error) => ({ status: 0, text: e.message }));
        answered++;
        if (res.status !== 200) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
        else seen.add(res.text);
      }
    };
    const endpoint = () =>
      rawRequest(`${d.url}/api/function_invocations`, 'POST', {
        headers: { 'x-nuclio-function-name': 'rolling' },
        body: 'x',
      });
    const gateway = () => rawRequest(`${d.gatewayUrl}/`, 'GET', { headers: { host: 'rolling.test' } });
    const clients = [
      ...Array.from({ length: 3 }, () => client(endpoint)),
      ...Array.from({ length: 2 }, () => client(gateway)),
    ];

    // Each update changes the source: a real rebuild into a new artifact, then a rollover.
    const UPDATES = 5;
    try {
      for (let v = 1; v <= UPDATES; v++) {
        const res = await d.api('PUT', '/api/functions/rolling', {
          body: functionBody('rolling', 'nodejs', versioned(v), {
            spec: { triggers: { http: { kind: 'http', numWorkers: 4 } } },
          }),
        });
        assert.equal(res.status, 202, res.text);
        const fn = await waitFor(d, 'rolling', (f) => f.status?.state === 'ready' || f.status?.state === 'error');
        assert.equal(fn.status.state, 'ready', fn.status.message);
        // Let the clients see the new version before the next update.
        for (let i = 0; !seen.has(`v${v}`); i++) {
          assert.ok(i < 200, `version v${v} never answered`);
          await sleep(10);
        }
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${answered} answers were not 200`);
    assert.ok(answered > 50, `only ${answered} requests went through`);
    assert.deepEqual(
      [...seen].sort(),
      Array.from({ length: UPDATES + 1 }, (_, v) => `v${v}`),
    );
  });

  it('answers 503 while nothing serves yet (the first build still running), then serves', async () => {
    const body = functionBody('first', 'nodejs', versioned(1));
    body.spec.build.commands = ['sleep 2'];
    assert.equal((await d.api('POST', '/api/functions', { body })).status, 202);
    const gw = await d.api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'first-gw', labels: { 'nuclio.io/project-name': 'default' } },
        spec: {
          host: 'first.test',
          path: '/',
          authenticationMode: 'none',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'first' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
    await sleep(200);
    const early = await rawRequest<ErrorBody>(`${d.url}/api/function_invocations`, 'GET', {
      headers: { 'x-nuclio-function-name': 'first' },
    });
    assert.equal(early.status, 503, early.text);
    assert.match(early.json.error, /not ready to be invoked \(state building\)/);
    const earlyGw = await rawRequest(`${d.gatewayUrl}/`, 'GET', { headers: { host: 'first.test' } });
    assert.equal(earlyGw.status, 503, earlyGw.text);
    await waitFor(d, 'first', (f) => f.status?.state === 'ready');
    const later = await rawRequest(`${d.url}/api/function_invocations`, 'GET', {
      headers: { 'x-nuclio-function-name': 'first' },
    });
    assert.equal(later.text, 'v1');
  });

  it('a failed update leaves the previous version serving (as Nuclio does), while the state says error', async () => {
    await deploy(d, functionBody('keeps', 'nodejs', versioned(1)));
    // The new version builds but cannot start: its handler throws at load.
    const res = await d.api('PUT', '/api/functions/keeps', {
      body: functionBody('keeps', 'nodejs', 'throw new Error("broken at load");'),
    });
    assert.equal(res.status, 202);
    const fn = await waitFor(d, 'keeps', (f) => f.status?.state === 'error' || f.status?.state === 'ready');
    assert.equal(fn.status.state, 'error');
    const via = await rawRequest(`${d.url}/api/function_invocations`, 'GET', {
      headers: { 'x-nuclio-function-name': 'keeps' },
    });
    assert.equal(via.status, 200, via.text);
    assert.equal(via.text, 'v1');
  });
});
