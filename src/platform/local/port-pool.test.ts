import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { candidatePorts, listenOnFree } from './port-pool.js';

describe('candidatePorts', () => {
  const ranges: [number, number][] = [
    [30000, 32767],
    [100, 149],
    [5000, 5000],
    [1, 300],
  ];
  for (const range of ranges) {
    for (const seed of ['nuclio/f1', 'nuclio/f2', '']) {
      it(`candidatePorts() stays within ${range.join('-')} without duplicates for seed ${JSON.stringify(seed)}`, () => {
        const ports = candidatePorts(range, seed);
        assert.ok(ports.length > 0);
        assert.equal(new Set(ports).size, ports.length);
        for (const p of ports) assert.ok(p >= range[0] && p <= range[1] && Number.isInteger(p), String(p));
      });
    }
  }

  it('candidatePorts() lists the whole of a small range', () => {
    const ports = candidatePorts([100, 149], 'x');
    assert.deepEqual(
      [...ports].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => 100 + i),
    );
  });

  it('candidatePorts() lists consecutive ports from the seed start, wrapping around', () => {
    const ports = candidatePorts([100, 149], 'x');
    for (let i = 1; i < ports.length; i++) {
      assert.equal(ports[i], ports[i - 1] === 149 ? 100 : ports[i - 1] + 1);
    }
  });

  it('candidatePorts() caps a large range at 200 candidates', () => {
    assert.equal(candidatePorts([30000, 32767], 'f').length, 200);
    assert.equal(candidatePorts([30000, 32767], 'f', 31000).length, 200);
  });

  it('candidatePorts() is deterministic per seed', () => {
    assert.deepEqual(candidatePorts([30000, 32767], 'nuclio/f1'), candidatePorts([30000, 32767], 'nuclio/f1'));
  });

  it('candidatePorts() starts elsewhere for different seeds', () => {
    const starts = new Set(
      ['a', 'b', 'c', 'nuclio/f1', 'nuclio/f2', 'nuclio/hello'].map((s) => candidatePorts([30000, 32767], s)[0]),
    );
    assert.ok(starts.size >= 5, `starts: ${[...starts].join(',')}`);
  });

  const preferred: [[number, number], number | undefined, boolean][] = [
    [[30000, 32767], 31234, true],
    [[30000, 32767], 30000, true],
    [[30000, 32767], 32767, true],
    [[30000, 32767], 29999, false],
    [[30000, 32767], 40000, false],
    [[30000, 32767], 0, false],
    [[30000, 32767], undefined, false],
  ];
  for (const [range, pref, first] of preferred) {
    it(`candidatePorts() ${first ? 'puts' : 'does not put'} preferred port ${pref} first in ${range.join('-')}`, () => {
      const ports = candidatePorts(range, 'seed', pref);
      if (first) {
        assert.equal(ports[0], pref);
        assert.equal(ports.filter((p) => p === pref).length, 1, 'the preferred port appears once');
      } else {
        assert.ok(!ports.includes(pref as number));
      }
      assert.equal(new Set(ports).size, ports.length);
    });
  }

  it('candidatePorts() with a preferred port inside a small range still lists every port once', () => {
    const ports = candidatePorts([100, 109], 'seed', 105);
    assert.equal(ports[0], 105);
    assert.deepEqual(
      [...ports].sort((a, b) => a - b),
      [100, 101, 102, 103, 104, 105, 106, 107, 108, 109],
    );
  });

  it('candidatePorts() of a one-port range is that port', () => {
    assert.deepEqual(candidatePorts([5000, 5000], 'x'), [5000]);
    assert.deepEqual(candidatePorts([5000, 5000], 'x', 5000), [5000]);
  });
});

describe('listenOnFree', () => {
  const close = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));
  const listen = (s: net.Server) =>
    new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));

  it('listenOnFree() skips ports in use and taken ports, reports the taken ones, and listens on the next', async () => {
    const taken = net.createServer();
    const takenPort = await listen(taken);
    const probe = net.createServer();
    const freePort = await listen(probe);
    await close(probe);
    const s = net.createServer();
    try {
      const reported: number[] = [];
      const port = await listenOnFree(s, '127.0.0.1', [takenPort, 1, freePort], new Set([1]), {
        onTaken: (p) => reported.push(p),
      });
      assert.equal(port, freePort);
      assert.deepEqual(reported, [takenPort]);
      assert.equal((s.address() as net.AddressInfo).port, freePort);
    } finally {
      await close(s);
      await close(taken);
    }
  });

  it('listenOnFree() with exact refuses a taken first port naming it', async () => {
    const taken = net.createServer();
    const takenPort = await listen(taken);
    const s = net.createServer();
    try {
      await assert.rejects(
        listenOnFree(s, '127.0.0.1', [takenPort, 0], new Set(), { exact: true }),
        new RegExp(`Port ${takenPort} .* is taken`),
      );
    } finally {
      await close(taken);
    }
  });

  it('listenOnFree() fails when every candidate is in use', async () => {
    await assert.rejects(
      listenOnFree(net.createServer(), '127.0.0.1', [1, 2], new Set([1, 2])),
      /No free port in the function port range/,
    );
  });
});
