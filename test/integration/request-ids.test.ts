/**
 * Request ids and W3C trace context on every way into a function — its port, the dashboard's invocation
 * endpoint, an API gateway: the handler sees `X-Request-Id` and `Traceparent` in event.headers (made when
 * the caller sent none, kept when valid, replaced when not), the answer carries the same two back, and the
 * replica's log lines of that request carry the id (nodejs and python handlers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  type Answer,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import { isValidTraceparent } from '../../src/util/trace-context.js';

const NODE = `
exports.handler = (context, event) => {
  context.logger.infoWith('seen by the handler', { path: event.path });
  context.callback(JSON.stringify({
    requestId: event.headers['X-Request-Id'],
    traceparent: event.headers['Traceparent'],
    tracestate: event.headers['Tracestate'] === undefined ? null : event.headers['Tracestate'],
  }));
};
`;
const PYTHON = `
import json

def handler(context, event):
    context.logger.info_with('python saw it', path=event.path)
    return json.dumps({'requestId': event.headers.get('X-Request-Id'), 'traceparent': event.headers.get('Traceparent')})
`;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('request ids and trace context', () => {
  let d: TestDashboard;
  const ports: Record<string, number> = {};

  before(async () => {
    d = await startTestDashboard();
    for (const [name, runtime, source] of [
      ['traced', 'nodejs', NODE],
      ['traced-py', 'python:3.9', PYTHON],
    ] as const)
      ports[name] = (await deploy(d, functionBody(name, runtime, source))).status.httpPort!;
    const gw = await d.api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'traced-gw' },
        spec: {
          host: 'traced.test',
          path: '/t',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'traced' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
    for (
      let i = 0;
      i < 100 &&
      (await d.api<{ status?: { state?: string } }>('GET', '/api/api_gateways/traced-gw')).json?.status?.state !==
        'ready';
      i++
    )
      await sleep(50);
  });
  after(async () => {
    await d?.close();
  });

  type Via = 'port' | 'proxy' | 'gateway';
  /** What the functions answer: the ids their handler saw. */
  type Seen = { requestId: string; traceparent: string; tracestate?: string | null };
  const call = (via: Via, headers: Record<string, string> = {}, fn = 'traced'): Promise<Answer<Seen>> => {
    if (via === 'port') return rawRequest(`http://127.0.0.1:${ports[fn]}/hello`, 'POST', { headers, body: 'x' });
    if (via === 'proxy')
      return rawRequest(`${d.url}/api/function_invocations`, 'POST', {
        headers: { ...headers, 'x-nuclio-function-name': fn, 'x-nuclio-path': '/hello' },
        body: 'x',
      });
    return rawRequest(`${d.gatewayUrl}/t/hello`, 'POST', { headers: { ...headers, host: 'traced.test' }, body: 'x' });
  };
  /** Waits for a line of the function's replica log holding `text`; returns it parsed. */
  const logLine = async (fn: string, text: string): Promise<Record<string, unknown>> => {
    const name = (await d.api<{ names: string[] }>('GET', `/api/functions/${fn}/replicas`)).json.names[0];
    for (let i = 0; i < 100; i++) {
      const log = (await d.api('GET', `/api/functions/${fn}/logs/${name}?follow=false`)).text;
      const line = log.split('\n').find((l) => l.includes(text));
      if (line) return JSON.parse(line) as Record<string, unknown>;
      await sleep(50);
    }
    assert.fail(`no log line of ${fn} holds ${text}`);
  };

  for (const via of ['port', 'proxy', 'gateway'] as const) {
    it(`via the ${via}: a request without ids gets both, the same in the handler, the answer and the log`, async () => {
      const r = await call(via);
      assert.equal(r.status, 200, r.text);
      const id = r.headers.get('x-request-id')!;
      const tp = r.headers.get('traceparent')!;
      assert.match(id, /^[\x21-\x7e]{1,128}$/);
      assert.ok(isValidTraceparent(tp), tp);
      assert.deepEqual(r.json, { requestId: id, traceparent: tp, tracestate: null });
      const line = await logLine('traced', id);
      assert.equal(line.requestId, id);
      assert.equal(line.message, 'seen by the handler');
    });

    it(`via the ${via}: a caller's valid X-Request-Id, traceparent and tracestate are kept end to end`, async () => {
      const id = `caller-${via}-${Date.now()}`;
      const r = await call(via, { 'x-request-id': id, traceparent: TRACEPARENT, tracestate: 'vendor=1' });
      assert.equal(r.headers.get('x-request-id'), id);
      assert.equal(r.headers.get('traceparent'), TRACEPARENT);
      assert.deepEqual(r.json, { requestId: id, traceparent: TRACEPARENT, tracestate: 'vendor=1' });
      assert.equal((await logLine('traced', id)).requestId, id);
    });

    it(`via the ${via}: a malformed traceparent and an unusable request id are replaced (tracestate dropped)`, async () => {
      const long = 'y'.repeat(300);
      const r = await call(via, {
        'x-request-id': long,
        traceparent: '00-nothex-00f067aa0ba902b7-01',
        tracestate: 'v=1',
      });
      const id = r.headers.get('x-request-id')!;
      assert.notEqual(id, long);
      assert.ok(isValidTraceparent(r.headers.get('traceparent')!));
      assert.deepEqual(r.json, { requestId: id, traceparent: r.headers.get('traceparent'), tracestate: null });
    });
  }

  it('a python handler sees both ids and its log lines carry the request id', async () => {
    const r = await call('port', { 'x-request-id': 'py-req-1' }, 'traced-py');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.requestId, 'py-req-1');
    assert.ok(isValidTraceparent(r.json.traceparent));
    const line = await logLine('traced-py', 'python saw it');
    assert.equal(line.requestId, 'py-req-1');
  });

  it("the dashboard's and the gateway's own error answers carry the request id too", async () => {
    const proxied = await rawRequest(`${d.url}/api/function_invocations`, 'POST', {
      headers: { 'x-nuclio-function-name': 'no-such-function', 'x-request-id': 'lost-1' },
      body: 'x',
    });
    assert.equal(proxied.status, 404);
    assert.equal(proxied.headers.get('x-request-id'), 'lost-1');
    const routed = await rawRequest(`${d.gatewayUrl}/nowhere`, 'GET', {
      headers: { host: 'unknown.test', 'x-request-id': 'lost-2' },
    });
    assert.equal(routed.status, 404);
    assert.equal(routed.headers.get('x-request-id'), 'lost-2');
    assert.ok(isValidTraceparent(routed.headers.get('traceparent')!));
  });

  it('a request id is the same for the gateway, the function and the log: one request followed end to end', async () => {
    const r = await call('gateway', { 'x-request-id': 'follow-me-42' });
    assert.equal(r.json.requestId, 'follow-me-42');
    const line = await logLine('traced', 'follow-me-42');
    assert.equal(line.path, '/hello');
  });
});
