import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { dataLayout } from '../../paths.js';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import { PROCESS_GROUP_ONLY } from './confinement.js';
import { LocalPlatform } from './local-platform.js';
import { candidatePorts } from './port-pool.js';

/** Functions are applied parked: the platform binds their ports and starts no replica. */
describe('LocalPlatform ports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-platform-'));
  const lines: { level: number; msg: string }[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as { level: number; msg: string });
      },
    },
  );
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Three consecutive ports, the first held by another program. */
  async function range(): Promise<[number, number]> {
    for (;;) {
      const lo = 20_000 + Math.floor(Math.random() * 9_000);
      const blocker = net.createServer();
      const ok = await new Promise<boolean>((r) => {
        blocker.once('error', () => r(false));
        blocker.listen(lo, '127.0.0.1', () => r(true));
      });
      if (!ok) continue;
      cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
      return [lo, lo + 2];
    }
  }
  const platformOn = (portRange: [number, number], reservedPorts: { ref: FunctionRef; port: number }[] = []) => {
    const p = new LocalPlatform({
      layout: dataLayout(dir),
      host: '127.0.0.1',
      portRange,
      externalIps: [],
      program: '/nonexistent/main.js',
      pythonRuntimeDir: dir,
      log,
      confinement: PROCESS_GROUP_ONLY('a test'),
      reservedPorts,
    });
    cleanups.push(() => p.close());
    return p;
  };
  const fn = (name: string): FunctionRecord =>
    ({
      metadata: { name, namespace: 'nuclio' },
      spec: { runtime: 'nodejs', handler: 'handler:handler' },
      status: {},
    }) as FunctionRecord;
  const artifact = {
    id: 'a'.repeat(32),
    image: 'protium/processor-x:a',
    runtime: 'nodejs',
    family: 'nodejs' as const,
    handler: 'handler:handler',
  };
  /** A function name whose first choice of port is `port`. */
  const nameStartingAt = (r: [number, number], port: number, prefix: string) => {
    for (let i = 0; ; i++) if (candidatePorts(r, `nuclio/${prefix}${i}`)[0] === port) return `${prefix}${i}`;
  };

  it('a port taken by another program is a debug line, not an error, and the function moves on', async () => {
    const r = await range();
    const p = platformOn(r);
    const name = nameStartingAt(r, r[0], 'clash');
    lines.length = 0;
    const endpoint = await p.apply(fn(name), artifact, { parked: true });
    assert.equal(endpoint.httpPort, r[0] + 1);
    assert.deepEqual(
      lines.filter((l) => l.level >= 40).map((l) => l.msg),
      [],
      'nothing at warn or above',
    );
    assert.ok(
      lines.some((l) => l.level === 20 && /port taken/.test(l.msg)),
      'a debug line says so',
    );
  });

  it('reservedPorts keeps a stored port for its function, even from one that binds first', async () => {
    const r = await range();
    const stored = r[0] + 1;
    const p = platformOn(r, [{ ref: { namespace: 'nuclio', name: 'owner' }, port: stored }]);
    const early = nameStartingAt(r, stored, 'early');
    assert.equal(
      (await p.apply(fn(early), artifact, { parked: true })).httpPort,
      r[0] + 2,
      'the newcomer skips the reserved port',
    );
    assert.equal((await p.apply(fn('owner'), artifact, { parked: true })).httpPort, stored);
  });

  it('reservedPorts: a function removed before it binds gives its reservation up', async () => {
    const r = await range();
    const stored = r[0] + 1;
    const p = platformOn(r, [{ ref: { namespace: 'nuclio', name: 'gone' }, port: stored }]);
    await p.remove({ namespace: 'nuclio', name: 'gone' });
    assert.equal((await p.apply(fn(nameStartingAt(r, stored, 'later')), artifact, { parked: true })).httpPort, stored);
  });
});
