import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON_RUNTIME_DIR } from '../../paths.js';
import type { ProcessorConfig } from '../config.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import { ProcessorLogger } from '../logger.js';
import { pythonRuntime } from './python-runtime.js';
import type { Runtime } from './runtime.js';

/** Answers with the event's path and id; /slow first sleeps 0.4 s; each event logs its path. */
const HANDLER = `
import os, time

def handler(context, event):
    context.logger.info('handling ' + event.path)
    if event.path == '/slow':
        time.sleep(0.4)
    if event.path == '/pid':
        time.sleep(0.3)
        return str(os.getpid())
    return '%s %s' % (event.path, event.id)
`;

function event(path: string, id: string, over: Partial<NuclioEvent> = {}): NuclioEvent {
  return {
    id,
    requestId: `req-${path}-${id}`,
    trigger: { kind: 'http', name: 'http', class: 'sync' },
    method: 'GET',
    path,
    url: path,
    headers: {},
    fields: {},
    contentType: '',
    body: Buffer.alloc(0),
    timestamp: new Date(),
    ...over,
  };
}

const text = (r: HandlerResult) => r.body.toString();

describe('the python runtime', { timeout: 60_000 }, () => {
  let dir: string;
  const runtimes: Runtime[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'protium-pyrt-'));
    writeFileSync(join(dir, 'main.py'), HANDLER);
  });
  after(async () => {
    await Promise.all(runtimes.map((r) => r.stop(0)));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(workers: number): Promise<Runtime> {
    const config: ProcessorConfig = {
      replica: 'test',
      namespace: 'nuclio',
      functionName: 'py',
      family: 'python',
      runtime: 'python',
      handler: 'main:handler',
      artifactDir: dir,
      triggers: { http: { kind: 'http', name: 'http', numWorkers: workers } as ProcessorConfig['triggers'][string] },
      env: [],
      eventTimeoutMs: 0,
      runtimeAttributes: {},
      pythonPath: 'python3',
      pythonRuntimeDir: PYTHON_RUNTIME_DIR,
      logLevel: 'error',
    };
    process.env.PYTHONPATH = PYTHON_RUNTIME_DIR;
    const rt = pythonRuntime({ config, log: new ProcessorLogger('test', 'error'), workers });
    runtimes.push(rt);
    await rt.start();
    return rt;
  }

  it(
    'events with the same id (a broker may repeat a message id) each get their own answer',
    { timeout: 10_000 },
    async () => {
      const rt = await start(1);
      const answers = await Promise.all(['/a', '/b', '/c'].map((p) => rt.invoke(event(p, 'same'), 0)));
      assert.deepEqual(answers.map(text), ['/a same', '/b same', '/c same']);
    },
  );

  it(
    'a timed-out event is forgotten: its late answer is dropped, the next event gets its own',
    { timeout: 10_000 },
    async () => {
      const rt = await start(1);
      const slow = event('/slow', 's1');
      let slowAnswered = false;
      void rt.invoke(slow, 0).then(() => (slowAnswered = true));
      const next = rt.invoke(event('/next', 'n1'), 0);
      rt.forget!(slow, 0);
      assert.equal(text(await next), '/next n1');
      assert.equal(slowAnswered, false);
    },
  );

  it('log records go with the event that wrote them, with its request id', { timeout: 10_000 }, async () => {
    const rt = await start(1);
    const results = await Promise.all(
      ['/x', '/y', '/z'].map((p) => rt.invoke(event(p, 'id' + p, { logLevel: 'info' }), 0)),
    );
    for (const [i, p] of ['/x', '/y', '/z'].entries()) {
      const logs = results[i].logs as { message: string; requestId?: string }[];
      assert.deepEqual(
        logs.map((l) => [l.message, l.requestId]),
        [[`handling ${p}`, `req-${p}-id${p}`]],
      );
    }
  });

  it('with two workers, two events run at once in two processes', { timeout: 10_000 }, async () => {
    const rt = await start(2);
    const pids = await Promise.all([rt.invoke(event('/pid', '1'), 0), rt.invoke(event('/pid', '2'), 1)]);
    assert.notEqual(text(pids[0]), text(pids[1]));
  });
});
