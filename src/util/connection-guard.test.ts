import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isOverdue, pickVictim, type ConnectionLimits, type ConnectionState } from './connection-guard.js';

const limits: ConnectionLimits = { maxConnections: 10, headersTimeoutMs: 1000, requestTimeoutMs: 5000 };

describe('isOverdue', () => {
  const cases: [ConnectionState, number, boolean][] = [
    [{ phase: 'headers', since: 0 }, 1000, false],
    [{ phase: 'headers', since: 0 }, 1001, true],
    [{ phase: 'body', since: 0 }, 1001, false],
    [{ phase: 'body', since: 0 }, 5000, false],
    [{ phase: 'body', since: 0 }, 5001, true],
    [{ phase: 'answering', since: 0 }, 1e9, false],
  ];
  for (const [state, now, want] of cases) {
    it(`isOverdue() says ${want} for a connection in ${state.phase} since 0 at ${now} ms`, () =>
      assert.equal(isOverdue(state, now, limits), want));
  }
});

describe('pickVictim', () => {
  const counts = (list: { address: string }[]) => {
    const m = new Map<string, number>();
    for (const c of list) m.set(c.address, (m.get(c.address) ?? 0) + 1);
    return m;
  };
  type Peer = { id: string; address: string; phase: 'headers' | 'body' | 'answering'; since: number };
  const peer = (id: string, address: string, phase: Peer['phase'], since: number): Peer => ({
    id,
    address,
    phase,
    since,
  });

  const cases: [string, Peer[], string, string | undefined][] = [
    [
      'the oldest waiting connection of the address holding the most',
      [
        peer('a1', 'A', 'headers', 5),
        peer('a2', 'A', 'body', 3),
        peer('a3', 'A', 'answering', 1),
        peer('b1', 'B', 'headers', 0),
      ],
      'C',
      'a2',
    ],
    [
      'from the heaviest address even when a lighter one waited longer',
      [peer('a1', 'A', 'headers', 9), peer('a2', 'A', 'headers', 8), peer('b1', 'B', 'headers', 0)],
      'C',
      'a2',
    ],
    [
      'a newcomer from the hoarding address replaces its own oldest',
      [peer('a1', 'A', 'headers', 2), peer('a2', 'A', 'headers', 1), peer('b1', 'B', 'headers', 0)],
      'A',
      'a2',
    ],
    [
      'nothing when every connection is being answered',
      [peer('a1', 'A', 'answering', 0), peer('b1', 'B', 'answering', 0)],
      'C',
      undefined,
    ],
    [
      "nothing when the newcomer's address would hold more than the victim's",
      [peer('a1', 'A', 'answering', 0), peer('a2', 'A', 'answering', 0), peer('b1', 'B', 'headers', 0)],
      'A',
      undefined,
    ],
    [
      'the one waiting longest when every connection comes from one address (a proxy)',
      [peer('p1', 'P', 'headers', 7), peer('p2', 'P', 'body', 4), peer('p3', 'P', 'headers', 6)],
      'P',
      'p2',
    ],
    [
      'the hoarder, skipping its connections being answered',
      [
        peer('a1', 'A', 'answering', 0),
        peer('a2', 'A', 'answering', 0),
        peer('a3', 'A', 'headers', 9),
        peer('b1', 'B', 'headers', 1),
      ],
      'C',
      'a3',
    ],
  ];
  for (const [what, list, address, want] of cases) {
    it(`pickVictim() picks ${what}`, () => assert.equal(pickVictim(list, counts(list), address)?.id, want));
  }

  it('pickVictim() picks nothing from an empty listener', () => {
    assert.equal(pickVictim([], new Map(), 'A'), undefined);
  });
});
