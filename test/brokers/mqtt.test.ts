/**
 * The `mqtt` trigger against a real mosquitto (Debian's), started on a free 127.0.0.1 port by this file:
 * QoS 1 messages shared by two replicas (shared subscriptions), each handled once; MQTT 5 user properties
 * as headers; a failing handler retried until it succeeds; a replica killed with -9 mid-stream losing
 * nothing (the PUBACK leaves only after the handler succeeded, and the restarted replica resumes its
 * session); the broker restarting; deletion leaving no client or session behind; and a Nuclio
 * function.yaml deployed with the CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import {
  cli,
  deployConsumer,
  eventually,
  functionFolder,
  handledCounts,
  records,
  replicaLog,
  replicaPids,
  untilHandled,
} from '../helpers/broker-functions.js';
import { skipUnlessInstalled, startMosquitto, type Broker } from '../helpers/brokers.js';
import { startTestDashboard, waitFor, type ReplicaNames, type TestDashboard } from '../helpers/start-dashboard.js';

const skip = skipUnlessInstalled('mosquitto');

describe('mqtt trigger (real mosquitto)', { skip }, () => {
  let d: TestDashboard;
  let broker: Broker;
  let pub: MqttClient;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'protium-mqtt-out-'));
    broker = await startMosquitto();
    d = await startTestDashboard();
    pub = await mqtt.connectAsync(broker.url, {
      clientId: `protium-test-pub-${process.pid}`,
      clean: true,
      reconnectPeriod: 200,
      protocolVersion: 5,
    });
  });
  after(async () => {
    await pub?.endAsync(true).catch(() => {});
    await d?.close();
    await broker?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const trigger = (topic: string, extra: Record<string, unknown> = {}, qos = 1) => ({
    in: {
      kind: 'mqtt',
      url: broker.url.replace('mqtt://', 'tcp://'),
      numWorkers: 4,
      attributes: { subscriptions: [{ topic, qos }], ...extra },
    },
  });
  const publishAll = async (topic: string, bodies: string[], opts: mqtt.IClientPublishOptions = { qos: 1 }) => {
    for (const b of bodies) await pub.publishAsync(topic, b, opts);
  };

  it('300 QoS 1 messages to 2 replicas: each handled exactly once, both take a share; events carry the topic, packet id, kind and name', async () => {
    const out = join(work, 'share.jsonl');
    await deployConsumer(d, 'mqtt-share', out, trigger('sensors/+/temp'), { replicas: 2 });
    const bodies = Array.from({ length: 300 }, (_, i) => `m${i}`);
    await publishAll('sensors/kitchen/temp', bodies);
    const counts = await untilHandled(out, bodies);
    assert.deepEqual(
      [...counts.values()].filter((n) => n !== 1),
      [],
      'no message handled twice',
    );
    const recs = records(out);
    assert.equal(new Set(recs.map((r) => r.replica)).size, 2, 'both replicas handled messages');
    const r = recs[0];
    assert.deepEqual(
      [r.kind, r.name, r.path, r.topic, r.url],
      ['mqtt', 'in', 'sensors/kitchen/temp', 'sensors/kitchen/temp', broker.url],
    );
    assert.match(r.id, /^\d+$/, 'QoS 1: the event id is the packet id');
  });

  it("MQTT 5: user properties and the content type are the event's headers", async () => {
    const out = join(work, 'v5.jsonl');
    await deployConsumer(d, 'mqtt-v5', out, trigger('v5/in', { protocolVersion: 5 }));
    await pub.publishAsync('v5/in', '{"a":1}', {
      qos: 1,
      properties: { userProperties: { tenant: 'acme' }, contentType: 'application/json' },
    });
    await untilHandled(out, ['{"a":1}']);
    const r = records(out)[0];
    assert.equal(r.headers.tenant, 'acme');
    assert.equal(r.ct, 'application/json');
  });

  it('a failing handler: the QoS 1 message is retried until the handler succeeds, then handled no more', async () => {
    const out = join(work, 'fail.jsonl');
    await deployConsumer(d, 'mqtt-fail', out, trigger('fail/in'));
    await publishAll('fail/in', ['fail-once-a', 'ok-b']);
    await untilHandled(out, ['fail-once-a', 'ok-b']);
    const recs = records(out).filter((r) => r.body === 'fail-once-a');
    assert.deepEqual(
      recs.map((r) => r.failed === true),
      [true, false],
      'failed once, then succeeded',
    );
    // Acknowledged: a later message is handled and the retried one does not come back.
    await publishAll('fail/in', ['ok-c']);
    await untilHandled(out, ['ok-c']);
    assert.equal(handledCounts(out).get('fail-once-a'), 1);
  });

  it('a replica killed with -9 mid-stream: no message is lost (acknowledged only after its handler succeeded; the restarted replica resumes its session)', async () => {
    const out = join(work, 'kill.jsonl');
    await deployConsumer(d, 'mqtt-kill', out, trigger('kill/in'), { replicas: 2, delayMs: 20 });
    const bodies = Array.from({ length: 300 }, (_, i) => `k${i}`);
    const publishing = publishAll('kill/in', bodies);
    await eventually('some messages handled', () => records(out).length >= 40, 60_000);
    const victim = (await replicaPids(d, 'mqtt-kill'))[0];
    process.kill(victim, 'SIGKILL');
    await publishing;
    const counts = await untilHandled(out, bodies, 120_000);
    assert.equal(bodies.filter((b) => !counts.has(b)).length, 0);
    await eventually(
      'the killed replica restarted',
      async () =>
        (await replicaPids(d, 'mqtt-kill')).length === 2 && !(await replicaPids(d, 'mqtt-kill')).includes(victim),
      60_000,
    );
  });

  it('the broker restarting: the trigger reconnects by itself (same replica) and consumes what comes after', async () => {
    const out = join(work, 'restart.jsonl');
    await deployConsumer(d, 'mqtt-restart', out, trigger('restart/in'));
    await publishAll('restart/in', ['before']);
    await untilHandled(out, ['before']);
    const pids = await replicaPids(d, 'mqtt-restart');
    await broker.restart();
    // mosquitto gives a shared subscription's messages only to members that are connected: publish once
    // the trigger is back (its log says so), not in the quarter second before.
    await eventually(
      'the trigger consumes again',
      async () => ((await replicaLog(d, 'mqtt-restart')).match(/mqtt trigger in is consuming/g) ?? []).length >= 2,
      60_000,
    );
    await publishAll('restart/in', ['after']);
    await untilHandled(out, ['after'], 90_000);
    assert.deepEqual(await replicaPids(d, 'mqtt-restart'), pids, 'the same replica process');
    await waitFor(d, 'mqtt-restart', (f) => f.status.state === 'ready' && !f.status.message, 30_000);
  });

  it('deleting the function leaves no client and no session behind', async () => {
    const out = join(work, 'delete.jsonl');
    await deployConsumer(d, 'mqtt-delete', out, trigger('delete/in'), { replicas: 2 });
    await publishAll('delete/in', ['before-delete']);
    await untilHandled(out, ['before-delete']);
    // The replicas' client ids: the trigger's base and each replica's suffix.
    const ids = (await d.api<ReplicaNames>('GET', '/api/functions/mqtt-delete/replicas')).json.names.map(
      (r) => `nuclio-nuclio-mqtt-delete-in-${r.split('-').pop()}`,
    );
    assert.equal(ids.length, 2);
    const pids = await replicaPids(d, 'mqtt-delete');
    assert.equal(
      (await d.api('DELETE', '/api/functions', { body: { metadata: { name: 'mqtt-delete' } } })).status,
      204,
    );
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await eventually('its replicas have stopped', () => !pids.some(alive), 60_000);
    // Connecting with a replica's client id asks for its session: a connected replica or a session left
    // behind would answer "session present" (and be taken over); none may.
    for (const clientId of ids) {
      const probe = mqtt.connect(broker.url, {
        clientId,
        clean: false,
        protocolVersion: 5,
        reconnectPeriod: 0,
        properties: { sessionExpiryInterval: 0 },
      });
      probe.on('error', () => {});
      const sessionPresent = await new Promise<boolean>((resolve, reject) => {
        probe.once('connect', (connack) => resolve(connack.sessionPresent));
        probe.once('close', () => reject(new Error(`could not connect as ${clientId}`)));
      });
      await probe.endAsync();
      assert.equal(sessionPresent, false, `a session or client ${clientId} was left behind`);
    }
  });

  it('a Nuclio function.yaml with an mqtt trigger deploys with the CLI and consumes', async () => {
    const out = join(work, 'cli.jsonl');
    const dir = functionFolder(
      join(work, 'cli-fn'),
      `apiVersion: "nuclio.io/v1"
kind: "NuclioFunction"
metadata:
  name: mqtt-cli
spec:
  runtime: nodejs
  handler: handler:handler
  env:
    - name: OUT
      value: ${out}
  triggers:
    myMqttTrigger:
      kind: "mqtt"
      url: "${broker.url.replace('mqtt://', '')}"
      attributes:
        subscriptions:
        - topic: house/living-room/temperature
          qos: 0
        - topic: weather/humidity
          qos: 1
`,
    );
    const run = await cli(d.url, ['deploy', dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Function mqtt-cli is ready/);
    await pub.publishAsync('weather/humidity', '61%', { qos: 1 });
    await pub.publishAsync('house/living-room/temperature', '21C', { qos: 0 });
    await untilHandled(out, ['61%', '21C']);
  });
});
