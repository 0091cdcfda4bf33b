/**
 * The processor's counters on its health port: a processor run without IPC (as the container and kube
 * platforms run it) answers `GET /stats` there with its counters — the same snapshot IPC carries on this
 * machine — so a platform that reaches replicas over the network can read them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROCESSOR_MAIN } from '../../src/paths.js';
import type { ProcessorConfig } from '../../src/processor/config.js';
import { checkedStats } from '../../src/metrics/replica-totals.js';
import { rawRequest, sleep } from '../helpers/start-dashboard.js';
import { freePort } from '../helpers/free-port.js';

describe('processor stats on the health port (listen mode)', () => {
  let dir: string;
  let child: ChildProcess;
  let port: number;
  let statsPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-standalone-'));
    writeFileSync(
      join(dir, 'handler.js'),
      'exports.handler = (context, event) => context.callback(' +
        "event.path === '/fail' ? new context.Response('no', {}, 'text/plain', 503) : 'ok');\n",
    );
    const config: ProcessorConfig = {
      replica: 'standalone-1',
      namespace: 'nuclio',
      functionName: 'standalone',
      family: 'nodejs',
      runtime: 'nodejs',
      handler: 'handler:handler',
      artifactDir: dir,
      triggers: { web: { class: '', kind: 'http', name: 'web', numWorkers: 2 } },
      env: [],
      eventTimeoutMs: 0,
      runtimeAttributes: {},
      logLevel: 'warn',
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    port = await freePort();
    statsPort = await freePort();
    child = spawn(process.execPath, [PROCESSOR_MAIN], {
      env: {
        PATH: process.env.PATH,
        PROTIUM_PROCESSOR_CONFIG: join(dir, 'config.json'),
        PROTIUM_PROCESSOR_PORT: String(port),
        PROTIUM_PROCESSOR_HOST: '127.0.0.1',
        PROTIUM_PROCESSOR_HEALTH_PORT: String(statsPort),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (let i = 0; i < 200; i++) {
      const ok = await rawRequest(`http://127.0.0.1:${statsPort}/stats`, 'GET', { fresh: true }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(50);
    }
    assert.fail('the health port never answered /stats');
  });
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /stats answers the counters of each trigger, in the shape the dashboard checks', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await rawRequest(`http://127.0.0.1:${port}/`, 'GET')).text, 'ok');
    assert.equal((await rawRequest(`http://127.0.0.1:${port}/fail`, 'GET')).status, 503);
    const res = await rawRequest(`http://127.0.0.1:${statsPort}/stats`, 'GET');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const stats = checkedStats(res.json);
    assert.ok(stats, res.text);
    const web = stats.triggers.find((t) => t.name === 'web');
    assert.equal(web?.kind, 'http');
    assert.equal(web?.success, 4);
    assert.equal(web?.failure, 1);
    assert.equal(
      web?.durationBuckets.reduce((a, b) => a + b, 0),
      5,
    );
    assert.equal(web?.workers, 2);
  });

  it('the health port answers GET only, and nothing but its own paths', async () => {
    assert.equal((await rawRequest(`http://127.0.0.1:${statsPort}/`, 'GET')).status, 404);
    assert.equal((await rawRequest(`http://127.0.0.1:${statsPort}/stats`, 'POST', { body: 'x' })).status, 405);
  });
});
