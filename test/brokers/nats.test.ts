/**
 * The `nats` trigger against a real nats-server (Debian's), started on a free 127.0.0.1 port by this file:
 * messages shared by two replicas through the queue group, each handled once; request/reply; a handler
 * error; a replica killed with -9 mid-stream; the server restarting under the function; a server that is
 * not there yet (status unhealthy with the reason, then ready); deletion leaving no subscriber; no idle
 * scale-to-zero for a broker function; and a Nuclio function.yaml deployed with the CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import {
  cli,
  deployConsumer,
  eventually,
  functionFolder,
  handledCounts,
  records,
  replicaPids,
  untilHandled,
} from '../helpers/broker-functions.js';
import { freePort, skipUnlessInstalled, startNats, type Broker } from '../helpers/brokers.js';
import {
  deploy,
  functionBody,
  startTestDashboard,
  waitFor,
  type ReplicaNames,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const skip = skipUnlessInstalled('nats');

describe('nats trigger (real nats-server)', { skip }, () => {
  let d: TestDashboard;
  let nats: Broker & { monitorUrl: string };
  let nc: NatsConnection;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'protium-nats-out-'));
    nats = await startNats();
    d = await startTestDashboard();
    nc = await connect({ servers: nats.url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });
  after(async () => {
    await nc?.close().catch(() => {});
    await d?.close();
    await nats?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const trigger = (subject: string, extra: Record<string, unknown> = {}) => ({
    in: { kind: 'nats', url: nats.url, numWorkers: 4, attributes: { topic: subject, ...extra } },
  });
  /** Connections of the server whose client name starts with `prefix` (the trigger names its connection). */
  const connectionsNamed = async (prefix: string): Promise<{ name?: string; subscriptions_list?: string[] }[]> => {
    const res = await fetch(`${nats.monitorUrl}/connz?subs=1&limit=1024`);
    const body = (await res.json()) as { connections: { name?: string; subscriptions_list?: string[] }[] };
    return body.connections.filter((c) => c.name?.startsWith(prefix));
  };
  /**
   * A request, retried until answered (core NATS is at most once: an unanswered request is the requester's to send
   * again).
   */
  async function requestUntilAnswered(subject: string, body: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const m = await nc.request(subject, Buffer.from(body), { timeout: 2_000 });
        return Buffer.from(m.data).toString();
      } catch (e) {
        if (Date.now() > deadline)
          throw new Error(`request ${body} on ${subject} was never answered: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  it('200 messages to 2 replicas: each handled exactly once, both replicas take a share; events carry the subject, headers, kind and name', async () => {
    const out = join(work, 'share.jsonl');
    const fn = await deployConsumer(d, 'nats-share', out, trigger('orders.*'), { replicas: 2 });
    assert.equal(fn.status.state, 'ready');
    assert.equal(
      (await connectionsNamed('nuclio-nuclio-nats-share-in')).length,
      2,
      'each replica has its own connection',
    );
    const bodies = Array.from({ length: 200 }, (_, i) => `m${i}`);
    for (const b of bodies) {
      const h = natsHeaders();
      h.set('X-Seq', b);
      nc.publish(`orders.${b === 'm7' ? 'special' : 'created'}`, Buffer.from(b), { headers: h });
    }
    await nc.flush();
    const counts = await untilHandled(out, bodies);
    assert.deepEqual(
      [...counts.values()].filter((n) => n !== 1),
      [],
      'no message handled twice',
    );
    const recs = records(out);
    const replicas = new Set(recs.map((r) => r.replica));
    assert.equal(replicas.size, 2, `both replicas handled messages (${[...replicas].join(', ')})`);
    const m7 = recs.find((r) => r.body === 'm7')!;
    assert.deepEqual(
      [m7.kind, m7.name, m7.path, m7.topic, m7.headers['X-Seq']],
      ['nats', 'in', 'orders.special', 'orders.special', 'm7'],
    );
    assert.equal(m7.url, nats.url);
  });

  it('request/reply: the answer reaches the requester with its headers; a failing handler answers with NATS service-error headers and is not redelivered', async () => {
    const out = join(work, 'reply.jsonl');
    await deployConsumer(d, 'nats-reply', out, trigger('rpc'));
    const m = await nc.request('rpc', Buffer.from('hello'), { timeout: 10_000 });
    assert.equal(Buffer.from(m.data).toString(), 'handled hello');
    assert.match(m.headers?.get('X-Handled-By') ?? '', /^nuclio-nuclio-/);
    assert.equal(m.headers?.get('Content-Type'), 'text/plain');

    const failed = await nc.request('rpc', Buffer.from('fail-always-1'), { timeout: 10_000 });
    assert.equal(failed.headers?.get('Nats-Service-Error-Code'), '500');
    assert.match(failed.headers?.get('Nats-Service-Error') ?? '', /answered 500/);
    assert.match(Buffer.from(failed.data).toString(), /failing on purpose: fail-always-1/);
    // At most once: a second request is a new message; the failed one never comes back by itself.
    assert.equal(await requestUntilAnswered('rpc', 'after'), 'handled after');
    assert.equal(records(out).filter((r) => r.body === 'fail-always-1').length, 1);
    // The handler's own error log line is in the replica's log.
    const replica = (await d.api<ReplicaNames>('GET', '/api/functions/nats-reply/replicas')).json.names[0];
    const log = (await d.api('GET', `/api/functions/nats-reply/logs/${replica}?follow=false`)).text;
    assert.match(log, /failing on purpose/);
    assert.match(log, /nats trigger in: event .* on rpc failed \(the handler answered 500/);
  });

  it('a replica killed with -9 mid-stream: every request is answered (the replica comes back, the queue group goes on)', async () => {
    const out = join(work, 'kill.jsonl');
    await deployConsumer(d, 'nats-kill', out, trigger('work'), { replicas: 2, delayMs: 20 });
    const bodies = Array.from({ length: 150 }, (_, i) => `k${i}`);
    let answered = 0;
    const all = Promise.all(
      bodies.map(async (b, i) => {
        await new Promise((r) => setTimeout(r, i * 5));
        const answer = await requestUntilAnswered('work', b, 90_000);
        assert.equal(answer, `handled ${b}`);
        answered++;
      }),
    );
    await eventually('some requests answered', () => answered >= 20, 60_000);
    const victim = (await replicaPids(d, 'nats-kill'))[0];
    process.kill(victim, 'SIGKILL');
    await all;
    const counts = handledCounts(out);
    assert.deepEqual(
      bodies.filter((b) => !counts.has(b)),
      [],
      'every answered request was handled',
    );
    await eventually(
      'the killed replica restarted',
      async () =>
        (await replicaPids(d, 'nats-kill')).length === 2 && !(await replicaPids(d, 'nats-kill')).includes(victim),
      60_000,
    );
  });

  it('the server restarting under the function: the trigger reconnects by itself, the replica is not restarted', async () => {
    const out = join(work, 'restart.jsonl');
    await deployConsumer(d, 'nats-restart', out, trigger('restart.*'));
    assert.equal(await requestUntilAnswered('restart.a', 'before'), 'handled before');
    const pids = await replicaPids(d, 'nats-restart');
    await nats.restart();
    assert.equal(await requestUntilAnswered('restart.b', 'after', 90_000), 'handled after');
    assert.deepEqual(await replicaPids(d, 'nats-restart'), pids, 'the same replica process');
    const replica = (await d.api<ReplicaNames>('GET', '/api/functions/nats-restart/replicas')).json.names[0];
    const log = (await d.api('GET', `/api/functions/nats-restart/logs/${replica}?follow=false`)).text;
    assert.match(log, /cannot reach nats:\/\/127\.0\.0\.1:\d+ .*lost the connection/);
    await waitFor(d, 'nats-restart', (f) => f.status.state === 'ready' && !f.status.message, 30_000);
  });

  it('a server that is not up yet: the function deploys unhealthy with the reason (no token shown), retries, and is ready once the server is up', async () => {
    const port = await freePort();
    const out = join(work, 'late.jsonl');
    const fn = await deployConsumer(
      d,
      'nats-late',
      out,
      { in: { kind: 'nats', url: `nats://s3cret-token@127.0.0.1:${port}`, attributes: { topic: 'late' } } },
      { expect: 'unhealthy' },
    );
    assert.equal(fn.status.state, 'unhealthy', JSON.stringify(fn.status));
    assert.match(
      fn.status.message ?? '',
      new RegExp(
        `^Trigger in \\(nats\\) cannot reach nats://127\\.0\\.0\\.1:${port} \\(subject late, queue group ` +
          `nuclio\\.nats-late-in\\): .+; retrying with back-off$`,
      ),
    );
    assert.ok(!JSON.stringify(fn.status).includes('s3cret-token'));
    const late = await startNats({ port });
    try {
      await waitFor(d, 'nats-late', (f) => f.status.state === 'ready' && !f.status.message, 60_000);
      const lc = await connect({ servers: late.url, token: 's3cret-token' }).catch(() =>
        connect({ servers: late.url }),
      );
      try {
        const m = await lc.request('late', Buffer.from('finally'), { timeout: 10_000 });
        assert.equal(Buffer.from(m.data).toString(), 'handled finally');
      } finally {
        await lc.close();
      }
      const replica = (await d.api<ReplicaNames>('GET', '/api/functions/nats-late/replicas')).json.names[0];
      const log = (await d.api('GET', `/api/functions/nats-late/logs/${replica}?follow=false`)).text;
      assert.ok(!log.includes('s3cret-token'), 'the replica log never shows the token');
    } finally {
      await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'nats-late' } } });
      await eventually(
        'nats-late is gone',
        async () => (await d.api('GET', '/api/functions/nats-late')).status === 404,
        30_000,
      );
      await late.stop();
    }
  });

  it('deleting the function leaves no connection or subscription behind', async () => {
    const out = join(work, 'delete.jsonl');
    await deployConsumer(d, 'nats-delete', out, trigger('gone'), { replicas: 2 });
    const before = await connectionsNamed('nuclio-nuclio-nats-delete-in');
    assert.equal(before.length, 2);
    assert.ok(
      before.every((c) => c.subscriptions_list?.includes('gone')),
      JSON.stringify(before),
    );
    assert.equal(
      (await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'nats-delete' } } })).status,
      204,
    );
    await eventually(
      'the function is gone',
      async () => (await d.api('GET', '/api/functions/nats-delete')).status === 404,
      30_000,
    );
    await eventually(
      'its connections are gone',
      async () => (await connectionsNamed('nuclio-nuclio-nats-delete-in')).length === 0,
      30_000,
    );
  });

  it('a broker function does not idle to zero (nothing would wake it), while an http-only one with the same window does', async () => {
    const idle = {
      minReplicas: 0,
      maxReplicas: 1,
      scaleToZero: { scaleResources: [{ metricName: 'x', windowSize: '1s', threshold: 0 }] },
    };
    await deploy(
      d,
      functionBody('nats-idle-http', 'nodejs', "exports.handler = (c, e) => c.callback('ok');\n", { spec: idle }),
    );
    const out = join(work, 'idle.jsonl');
    await deployConsumer(d, 'nats-idle', out, trigger('idle'), { replicas: 1, spec: idle });
    await waitFor(d, 'nats-idle-http', (f) => f.status.state === 'scaledToZero', 60_000);
    const fn = (await d.api<FunctionRecord>('GET', '/api/functions/nats-idle')).json;
    assert.equal(fn.status.state, 'ready');
    assert.equal((await replicaPids(d, 'nats-idle')).length, 1);
    assert.equal(await requestUntilAnswered('idle', 'still-here'), 'handled still-here');
  });

  it('a Nuclio function.yaml with a nats trigger deploys with the CLI and consumes', async () => {
    const out = join(work, 'cli.jsonl');
    const dir = functionFolder(
      join(work, 'cli-fn'),
      `apiVersion: "nuclio.io/v1"
kind: "NuclioFunction"
metadata:
  name: nats-cli
spec:
  runtime: nodejs
  handler: handler:handler
  env:
    - name: OUT
      value: ${out}
  triggers:
    myNatsTopic:
      kind: "nats"
      url: "${nats.url.replace('nats://', '')}"
      attributes:
        "topic": "my.topic"
        "queueName": "{{ .Namespace }}.{{ .Name }}.{{ .Id }}"
`,
    );
    const run = await cli(d.url, ['deploy', dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Function nats-cli is ready/);
    nc.publish('my.topic', Buffer.from('from-cli'));
    await untilHandled(out, ['from-cli']);
    const conns = await connectionsNamed('nuclio-nuclio-nats-cli-myNatsTopic');
    assert.equal(conns.length, 1);
    const get = await cli(d.url, ['get', 'function', 'nats-cli', '-o', 'yaml']);
    assert.match(get.stdout, /kind: nats/);
    assert.ok(readFileSync(out, 'utf8').includes('"kind":"nats"'));

    // A second trigger from the command line's short form; `get function` lists both.
    const again = await cli(d.url, ['deploy', dir, '--trigger', `flag:nats=${nats.url}?topic=cli.flag&numWorkers=2`]);
    assert.equal(again.code, 0, again.stderr);
    nc.publish('cli.flag', Buffer.from('from-flag'));
    await untilHandled(out, ['from-flag']);
    const table = await cli(d.url, ['get', 'function', 'nats-cli']);
    assert.match(table.stdout, /TRIGGER\s+KIND\s+SOURCE\s+CONSUMES\s+WORKERS/);
    assert.match(table.stdout, /flag\s+nats\s+nats:\/\/127\.0\.0\.1:\d+\s+subject cli\.flag\s+2/);
    assert.match(table.stdout, /myNatsTopic\s+nats\s+\S+\s+subject my\.topic, queue/);
  });
});
