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
    it(`isOverdue() says ${want} for a connection in ${state.phase} since 0 at ${now} ms`, () => assert.equal(isOverdue(state, now, limits), want));
  }
});

describe('pickVictim', () => {
  it('pickVictim() picks the connection that has waited longest on its client', () => {
    const all = [
      { id: 'a', phase: 'answering' as const, since: 1 },
      { id: 'b', phase: 'body' as const, since: 5 },
      { id: 'c', phase: 'headers' as const, since: 3 },
      { id: 'd', phase: 'headers' as const, since: 9 },
    ];
    assert.equal(pickVictim(all)?.id, 'c');
  });

  it('pickVictim() never picks a connection being answered', () => {
    assert.equal(pickVictim([{ phase: 'answering', since: 0 }, { phase: 'answering', since: 1 }]), undefined);
    assert.equal(pickVictim([]), undefined);
  });
});
