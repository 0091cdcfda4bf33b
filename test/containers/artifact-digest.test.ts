/**
 * On real containers: a replica runs only an artifact whose archive has the digest the dashboard recorded.
 * An archive changed after it was packed (on the dashboard's disk, or on its way) is refused by the fetcher
 * before anything of it is extracted, and the deploy fails saying so.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { enrichFunction } from '../../src/resources/function-enrich.js';
import type { FunctionConfig, FunctionRecord } from '../../src/resources/types.js';
import { dockerSubject } from './docker-subject.js';
import { engineMissing, leftovers } from './engine.js';

const missing = await engineMissing();
const source = {
  runtime: 'nodejs',
  handler: 'handler:handler',
  code: 'exports.handler = (c) => c.callback("digest ok");\n',
};

const record = (name: string): FunctionRecord => ({
  ...enrichFunction({
    metadata: { name, namespace: 'contract' },
    spec: { runtime: source.runtime, handler: source.handler, minReplicas: 1, maxReplicas: 1 },
  } as FunctionConfig),
  status: {},
});

describe('the artifact digest on real containers', { skip: missing }, () => {
  it(
    'an archive that is not the one packed is refused: the deploy fails naming the digest, no replica runs',
    { timeout: 180_000 },
    async () => {
      const s = await dockerSubject();
      try {
        const artifact = await s.artifactFor(source);
        const packed = (await s.archives.archive(artifact.id))!;
        appendFileSync(packed.path, Buffer.alloc(1024));
        await assert.rejects(s.platform.apply(record('tampered'), artifact), (e: Error) =>
          new RegExp(
            `Refusing the artifact .*its digest is sha256:[0-9a-f]{64}, not the expected ${packed.digest}`,
          ).test(e.message),
        );
        assert.deepEqual(await s.platform.replicas({ namespace: 'contract', name: 'tampered' }), []);
        const left = await leftovers(s.platform.dashboardId);
        assert.deepEqual(
          left.containers.map((c) => c.Names),
          [],
          'neither the fetch container nor a replica is left',
        );
      } finally {
        await s.close();
      }
    },
  );
});
