import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideScale, type FunctionLoad, type ReplicaLoad, type ScaleDecision, type ScalePolicy } from './scaling.js';

const NOW = 1_000_000;
const policy: ScalePolicy = { min: 1, max: 3, targetInflight: 4, scaleDownAfterMs: 30_000 };
const toZero: ScalePolicy = { ...policy, min: 0, idleWindowMs: 60_000 };
/** A ready replica with `inflight` events, last active `idleMs` ago. */
const r = (inflight: number, idleMs = 0, ready = true): ReplicaLoad => ({
  ready,
  inflight,
  lastActivity: NOW - idleMs,
});
const load = (replicas: ReplicaLoad[], extra: Partial<FunctionLoad> = {}): FunctionLoad => ({
  replicas,
  held: 0,
  lowSince: 0,
  ...extra,
});

describe('decideScale()', () => {
  const cases: [string, FunctionLoad, ScalePolicy, ScaleDecision][] = [
    [
      'no ready replica (starting, restarting): nothing, lowSince kept',
      load([r(0, 0, false)], { lowSince: 5 }),
      policy,
      { action: 'none', lowSince: 5 },
    ],
    ['no replica at all: nothing', load([]), policy, { action: 'none', lowSince: 0 }],
    ['load at the target with room: up', load([r(4)]), policy, { action: 'up', lowSince: 0 }],
    [
      'load over the target with room: up, and a low period ends',
      load([r(3), r(6)], { lowSince: NOW - 10 }),
      policy,
      { action: 'up', lowSince: 0 },
    ],
    ['load at the target at max: nothing', load([r(4), r(4), r(4)]), policy, { action: 'none', lowSince: 0 }],
    [
      'a starting replica counts toward max but not toward the load',
      load([r(4), r(0, 0, false), r(0, 0, false)]),
      policy,
      { action: 'none', lowSince: 0 },
    ],
    [
      'load between a quarter and the target: nothing, no low period',
      load([r(2), r(2)], { lowSince: NOW - 10 }),
      policy,
      { action: 'none', lowSince: 0 },
    ],
    [
      'low load above the floor: a low period starts now',
      load([r(0), r(0)]),
      policy,
      { action: 'none', lowSince: NOW },
    ],
    [
      'low load for less than scaleDownAfterMs: still waiting',
      load([r(0), r(0)], { lowSince: NOW - 29_999 }),
      policy,
      { action: 'none', lowSince: NOW - 29_999 },
    ],
    [
      'low load for scaleDownAfterMs: down, and the next one waits again',
      load([r(0), r(0)], { lowSince: NOW - 30_000 }),
      policy,
      { action: 'down', lowSince: NOW },
    ],
    [
      'low load at the floor (min): nothing',
      load([r(0)], { lowSince: NOW - 60_000 }),
      policy,
      { action: 'none', lowSince: 0 },
    ],
    [
      'min 0 keeps one replica when there is no idle window',
      load([r(0, 120_000)]),
      { ...policy, min: 0 },
      { action: 'none', lowSince: 0 },
    ],
    ['idle for the window with min 0: to zero', load([r(0, 60_000)]), toZero, { action: 'toZero', lowSince: 0 }],
    ['idle for less than the window: not yet', load([r(0, 59_999)]), toZero, { action: 'none', lowSince: 0 }],
    ['idle but min 1: never to zero', load([r(0, 600_000)]), { ...toZero, min: 1 }, { action: 'none', lowSince: 0 }],
    ['an event in flight keeps it up', load([r(1, 600_000)]), toZero, { action: 'none', lowSince: 0 }],
    ['a held connection keeps it up', load([r(0, 600_000)], { held: 1 }), toZero, { action: 'none', lowSince: 0 }],
    [
      'any replica active recently keeps it up (a restarting one too); one over the floor starts a low period',
      load([r(0, 600_000), r(0, 10, false)]),
      toZero,
      { action: 'none', lowSince: NOW },
    ],
  ];
  for (const [name, l, p, want] of cases) {
    it(`decideScale(): ${name}`, () => assert.deepEqual(decideScale(l, NOW, p), want));
  }
});
