/**
 * Cron triggers fire while the function is scaled to zero (kube platform over the fake API server, pods
 * running the real processor): with no pod, the platform's tick goes through the activator, wakes the
 * function and delivers the trigger's event; once a pod runs, its own processor's trigger fires and the
 * platform stops delivering (no tick twice).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { enrichFunction } from '../../src/resources/function-enrich.js';
import type { FunctionConfig, FunctionRecord } from '../../src/resources/types.js';
import { kubeSubject, type KubeSubject } from './kube-subject.js';

/** Reports each event it gets to $SINK: its trigger, body and the header naming a delivered cron tick. */
const HANDLER = `exports.handler = async (context, event) => {
  const h = event.headers || {};
  const cron = Object.entries(h).find(([k]) => k.toLowerCase() === 'x-protium-cron-trigger');
  await fetch(process.env.SINK, { method: 'POST', body: JSON.stringify({
    kind: event.trigger && event.trigger.kind, body: event.body.toString(), delivered: cron ? cron[1] : null,
    tick: Object.entries(h).find(([k]) => k.toLowerCase() === 'x-tick')?.[1] ?? null,
    invoke: Object.entries(h).find(([k]) => k.toLowerCase() === 'x-nuclio-invoke-trigger')?.[1] ?? null,
    pod: process.env.HOSTNAME }) });
  return 'ok';
};
`;

interface Hit {
  kind: string;
  body: string;
  delivered: string | null;
  tick: string | null;
  invoke: string | null;
  pod: string;
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cron triggers of a function scaled to zero (kube platform, fake API server)', { timeout: 180_000 }, () => {
  let subject: KubeSubject;
  let sink: http.Server;
  const hits: Hit[] = [];

  before(async () => {
    sink = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        hits.push(JSON.parse(text) as Hit);
        res.end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    subject = await kubeSubject();
  });
  after(async () => {
    await subject?.close();
    sink.closeAllConnections();
    await new Promise((r) => sink.close(r));
  });

  it('a tick at zero wakes the function and delivers the event; with a pod running the pod fires, not the platform', async () => {
    const artifact = await subject.artifactFor({ runtime: 'nodejs', handler: 'handler:handler', code: HANDLER });
    const fn = {
      ...enrichFunction({
        metadata: { name: 'ticker', namespace: 'contract' },
        spec: {
          runtime: 'nodejs',
          handler: 'handler:handler',
          minReplicas: 0,
          maxReplicas: 1,
          env: [{ name: 'SINK', value: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/` }],
          triggers: {
            http: { kind: 'http', numWorkers: 2 },
            tick: {
              kind: 'cron',
              attributes: { interval: '1s', event: { body: 'tick-body', headers: { 'X-Tick': 'yes' } } },
            },
          },
        },
      } as unknown as FunctionConfig),
      status: {},
    } as FunctionRecord;
    await subject.platform.apply(fn, artifact, { parked: true });
    assert.equal(subject.api!.pods().length, 0, 'scaled to zero: no pod');

    await until('a delivered tick', () => hits.length > 0);
    const first = hits[0];
    assert.deepEqual(
      { body: first.body, delivered: first.delivered, tick: first.tick, invoke: first.invoke },
      { body: 'tick-body', delivered: 'tick', tick: 'yes', invoke: 'cron' },
      "the trigger's event, delivered by the platform",
    );
    assert.match(first.pod, /^nuclio-contract-ticker-/, 'a pod the tick woke');

    // Running now: the pod's own cron trigger fires, and the platform delivers no more.
    await until("the pod's own trigger fires", () => hits.some((h) => h.kind === 'cron' && h.delivered === null));
    const delivered = hits.filter((h) => h.delivered !== null).length;
    const own = hits.filter((h) => h.kind === 'cron').length;
    await until('three more ticks of the pod', () => hits.filter((h) => h.kind === 'cron').length >= own + 3, 30_000);
    assert.equal(hits.filter((h) => h.delivered !== null).length, delivered, 'no tick delivered while a pod runs');
    assert.equal(subject.api!.pods().length, 1);
  });
});
