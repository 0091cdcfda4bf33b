/**
 * The pure parts of the shared broker-consumer mechanics, table-driven, and the connection loop against a
 * client that fails and recovers on command (a stand-in for a broker's network, not for our components):
 * the state reported to the dashboard, back-off between attempts, and a stop that waits for the message in
 * hand before closing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HandlerResult } from '../event.js';
import { ProcessorLogger } from '../logger.js';
import { WorkerPool } from '../worker-pool.js';
import {
  backoffMs,
  brokerTrigger,
  headerText,
  messageEvent,
  outcomeOf,
  type BrokerSession,
  type ConsumerHandle,
} from './broker-consumer.js';
import type { TriggerState } from './trigger.js';

const result = (status: number, body = ''): HandlerResult => ({ status, headers: {}, contentType: 'text/plain', body });

describe('backoffMs()', () => {
  const cases: [number, number, number][] = [
    [0, 10_000, 250],
    [1, 10_000, 500],
    [3, 10_000, 2_000],
    [6, 10_000, 10_000],
    [60, 10_000, 10_000],
    [5, 15_000, 8_000],
  ];
  for (const [attempt, max, want] of cases)
    it(`attempt ${attempt} (max ${max}) waits ${want} ms`, () => assert.equal(backoffMs(attempt, max), want));
});

describe('outcomeOf()', () => {
  const cases: [number, boolean][] = [
    [200, true],
    [204, true],
    [404, true],
    [499, true],
    [408, false],
    [500, false],
    [503, false],
  ];
  for (const [status, ok] of cases)
    it(`status ${status} is ${ok ? 'success' : 'failure'}`, () => assert.equal(outcomeOf(result(status, 'x')).ok, ok));
  it('says what the handler answered', () =>
    assert.equal(outcomeOf(result(500, 'boom')).failure, 'the handler answered 500: boom'));
});

describe('headerText()', () => {
  const cases: [unknown, string][] = [
    ['a', 'a'],
    [7, '7'],
    [Buffer.from('b'), 'b'],
    [['x', 'y'], 'x, y'],
    [{ k: 1 }, '{"k":1}'],
    [null, ''],
    [true, 'true'],
  ];
  for (const [value, want] of cases)
    it(`${JSON.stringify(value)} → ${JSON.stringify(want)}`, () => assert.equal(headerText(value), want));
});

describe('brokerTrigger()', () => {
  const log = new ProcessorLogger('test', 'error');

  /** A client whose connect fails while `down`, and whose sessions can be lost on command. */
  function flakyClient(handle: { current?: ConsumerHandle }) {
    const control = { down: true, attempts: 0, lose: (_r: string) => {}, closed: 0, intakeStopped: 0 };
    const client = (h: ConsumerHandle) => {
      handle.current = h;
      return {
        target: 'test://broker',
        async connect(): Promise<BrokerSession> {
          control.attempts++;
          if (control.down) throw new Error('connection refused');
          return {
            lost: new Promise<string>((r) => {
              control.lose = r;
            }),
            stopIntake: async () => {
              control.intakeStopped++;
            },
            close: async () => {
              control.closed++;
            },
          };
        },
      };
    };
    return { control, client };
  }

  it('reports the failure with the reason, retries with back-off, reports the recovery and a later loss; never throws', async () => {
    const states: TriggerState[] = [];
    const handle: { current?: ConsumerHandle } = {};
    const { control, client } = flakyClient(handle);
    const t = brokerTrigger(
      {
        name: 'in',
        spec: { class: '', kind: 'nats', name: 'in' },
        log,
        pool: new WorkerPool(1),
        submit: async () => result(200),
        report: (s) => states.push(s),
      },
      { kind: 'nats', client },
    );
    await t.start();
    assert.deepEqual(states, [
      {
        connected: false,
        message: 'Trigger in (nats) cannot reach test://broker: connection refused; retrying with back-off',
      },
    ]);
    control.down = false;
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(cond());
    };
    await until(() => states.length === 2);
    assert.deepEqual(states[1], { connected: true });
    assert.ok(control.attempts >= 2);
    control.lose('socket hang up');
    await until(() => states.length === 3);
    assert.equal(
      states[2].message,
      'Trigger in (nats) cannot reach test://broker: lost the connection: socket hang up; retrying with back-off',
    );
    await until(() => states.length === 4);
    await t.stop(1_000);
    assert.equal(control.intakeStopped, 1);
    assert.ok(control.closed >= 2, 'the lost session and the last one were closed');
  });

  it('a stop waits for the message in hand, then closes; deliverUntilOk retries a failure until it succeeds', async () => {
    const handle: { current?: ConsumerHandle } = {};
    const { control, client } = flakyClient(handle);
    control.down = false;
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const submit = async (): Promise<HandlerResult> => {
      calls++;
      if (calls === 1) return result(500, 'first fails');
      await gate;
      return result(200);
    };
    const t = brokerTrigger(
      { name: 'in', spec: { class: '', kind: 'mqtt', name: 'in' }, log, pool: new WorkerPool(1), submit },
      { kind: 'mqtt', client },
    );
    await t.start();
    const delivered = handle.current!.deliverUntilOk(
      messageEvent('mqtt', 'in', { body: Buffer.from('x') }),
      'message x',
    );
    while (calls < 2) await new Promise((r) => setTimeout(r, 10));
    let stopped = false;
    const stopping = t.stop(5_000).then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(stopped, false, 'the stop waits for the message in hand');
    assert.equal(control.closed, 0, 'the connection stays open until it is settled');
    release();
    assert.equal(await delivered, true);
    await stopping;
    assert.equal(control.closed, 1);
  });
});
