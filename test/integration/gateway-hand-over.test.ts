/**
 * Gateway connections handed to replicas (src/gateway/handed-route.ts), where a black-box test of the
 * gateway cannot tell them from proxying (gateway-connections.test.ts checks that the function sees the
 * same either way): that a connection is handed over only for routes without authentication, as
 * `protium_gateway_connections_total` counts; and what an attacker could try — a client claiming to be
 * a replica sending a request back (its made-up client address is not used and the marker header does
 * not reach the function), and a function's code forging the request counts replicas report for the
 * gateway's metrics (only its own routes are counted).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import { gatewayBody } from '../helpers/gateways.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus-text.js';

/** Answers the headers it saw; at /forge, sends the dashboard made-up request counts for `victim-gw`. */
const HANDLER = `
exports.handler = (context, event) => {
  if (event.path === '/forge') {
    const buckets = new Array(17).fill(0);
    buckets[0] = 1000;
    const row = (name) => ({ gateway: { namespace: 'nuclio', name }, byStatus: [[200, 1000]], buckets, sum: 1 });
    process.send({ t: 'gw-requests', rows: [row('victim-gw'), row('no-such-gw')] });
  }
  const headers = {};
  for (const k of Object.keys(event.headers)) headers[k.toLowerCase()] = event.headers[k];
  context.callback(new context.Response(JSON.stringify({ path: event.path, headers }), {}, 'application/json', 200));
};
`;

describe('gateway connections handed to replicas', () => {
  let d: TestDashboard;

  const gateway = async (name: string, host: string, upstreams: [string, number?][], spec = {}) => {
    const res = await d.api('POST', '/api/api_gateways', { body: gatewayBody(name, host, '/', upstreams, spec) });
    assert.equal(res.status, 202, res.text);
    for (let i = 0; i < 100; i++) {
      const g = await d.api<{ status?: { state?: string } }>('GET', `/api/api_gateways/${name}`);
      if (g.json?.status?.state === 'ready') return;
      await sleep(50);
    }
    assert.fail(`gateway ${name} not ready`);
  };
  const metrics = async () => parsePrometheus((await d.api<string>('GET', '/metrics')).text);
  const connections = async (by: string) =>
    valueOf(await metrics(), 'protium_gateway_connections_total', { served_by: by }) ?? 0;
  const requests = async (gw: string, fn: string) =>
    valueOf(await metrics(), 'protium_gateway_requests_total', {
      namespace: 'nuclio',
      gateway: gw,
      function: fn,
      code: '200',
    }) ?? 0;

  before(async () => {
    d = await startTestDashboard();
    await deploy(d, functionBody('handed', 'nodejs', HANDLER));
    await deploy(d, functionBody('victim', 'nodejs', HANDLER));
    await gateway('handed-gw', 'handed.test', [['handed']]);
    await gateway('victim-gw', 'victim.test', [['victim']]);
    await gateway('forge-gw', 'forge.test', [['handed']]);
    await gateway('split-gw', 'split.test', [['handed'], ['victim', 50]]);
    await gateway('locked-gw', 'locked.test', [['handed']], {
      authenticationMode: 'basicAuth',
      authentication: { basicAuth: { username: 'u', password: 'p' } },
    });
  });
  after(async () => {
    await d?.close();
  });

  it('hands a connection over for a route without authentication, and serves one with it itself', async () => {
    const replica = await connections('replica');
    const dashboard = await connections('dashboard');
    const open = await rawRequest(`${d.gatewayUrl}/x`, 'GET', { headers: { host: 'handed.test' }, fresh: true });
    assert.equal(open.status, 200, open.text);
    assert.equal(await connections('replica'), replica + 1);
    const auth = { host: 'locked.test', authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };
    const locked = await rawRequest(`${d.gatewayUrl}/x`, 'GET', { headers: auth, fresh: true });
    assert.equal(locked.status, 200, locked.text);
    assert.equal(await connections('dashboard'), dashboard + 1);
    assert.equal(await connections('replica'), replica + 1);
  });

  it('a canary splits requests on new connections exactly (reading a first request does not count it)', async () => {
    const seen = { handed: 0, victim: 0 };
    for (let i = 0; i < 20; i++) {
      const res = await rawRequest<{ headers: Record<string, string> }>(`${d.gatewayUrl}/x`, 'GET', {
        headers: { host: 'split.test' },
        fresh: true,
      });
      assert.equal(res.status, 200, res.text);
      seen[res.json.headers['x-nuclio-target'] as keyof typeof seen]++;
    }
    assert.deepEqual(seen, { handed: 10, victim: 10 });
  });

  it("a client's own X-Protium-Handed-Back does not make up its address, and the function never sees it", async () => {
    const headers = { host: 'handed.test', 'x-protium-handed-back': '0123456789abcdef 10.9.9.9' };
    const res = await rawRequest<{ headers: Record<string, string> }>(`${d.gatewayUrl}/x`, 'GET', {
      headers,
      fresh: true,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(res.json.headers['x-protium-handed-back'], undefined);
  });

  it("a function's made-up request counts for another function's gateway, or none, are not counted", async () => {
    // Requests on one handed connection: the replica counts them, and reports within about a second.
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(`${d.gatewayUrl}/forge`, 'GET', { headers: { host: 'forge.test' } });
      assert.equal(res.status, 200, res.text);
    }
    const deadline = Date.now() + 5_000;
    while ((await requests('forge-gw', 'handed')) < 3 && Date.now() < deadline) await sleep(100);
    await sleep(1_500);
    assert.equal(await requests('forge-gw', 'handed'), 3);
    assert.equal(await requests('victim-gw', 'victim'), 0);
    const text = (await d.api<string>('GET', '/metrics')).text;
    assert.ok(!text.includes('no-such-gw'), 'a gateway that does not exist got a series');
  });
});
