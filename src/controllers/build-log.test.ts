import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildLogs, buildLogName } from './build-log.js';

describe('BuildLogs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-build-logs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const logs = new BuildLogs(dir);
  const ref = { namespace: 'nuclio', name: 'fn' };
  const read = async (q: { tailLines?: number } = {}) => {
    let text = '';
    for await (const chunk of await logs.read(ref, { follow: false, signal: AbortSignal.timeout(5_000), ...q }))
      text += chunk;
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { message: string }).message);
  };

  it("isBuildLog() knows the name Nuclio reads a build log by, in any case, and no replica's", () => {
    assert.equal(buildLogName(ref), 'nuclio-nuclio-fn-build');
    assert.equal(logs.isBuildLog(ref, 'nuclio-nuclio-fn-build'), true);
    assert.equal(logs.isBuildLog(ref, 'NUCLIO-nuclio-FN-Build'), true);
    assert.equal(logs.isBuildLog(ref, 'nuclio-nuclio-fn-abcde'), false);
    assert.equal(logs.isBuildLog(ref, 'nuclio-nuclio-other-build'), false);
  });

  it('read() of a function never built is a 404', async () => {
    await assert.rejects(
      logs.read({ namespace: 'nuclio', name: 'never' }, { follow: false, signal: AbortSignal.timeout(5_000) }),
      (e: { status?: number }) => e.status === 404,
    );
  });

  it("start() begins a fresh log: the previous build's lines go", async () => {
    const first = logs.start(ref);
    first.writeLine(JSON.stringify({ time: new Date().toISOString(), message: 'first build' }));
    first.close();
    assert.deepEqual(await read(), ['first build']);
    const second = logs.start(ref);
    second.writeLine(JSON.stringify({ time: new Date().toISOString(), message: 'second build' }));
    second.close();
    assert.deepEqual(await read(), ['second build']);
  });

  it("remove() takes the log and the folder the build's tools wrote into", async () => {
    logs.start(ref).close();
    assert.ok(existsSync(logs.folder(ref)));
    logs.remove(ref);
    assert.ok(!existsSync(logs.folder(ref)));
    await assert.rejects(read(), (e: { status?: number }) => e.status === 404);
  });
});
