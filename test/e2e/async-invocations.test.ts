/**
 * Asynchronous invocations in the web dashboard (Debian's Chromium): the functions table shows each
 * function's queued and dead invocations; the dead count leads to the function's Invocations tab, where a
 * dead letter is requeued (and runs, now that the function's bug is fixed) and another discarded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import type { InvocationList } from '../../src/async/async-invocations.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { ended, enqueued, until, WORKER } from '../helpers/async-invocations.js';
import { deploy, functionBody, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';

const WEB_INDEX = join(PACKAGE_ROOT, 'web', 'dist', 'index.html');

describe('async invocations in the web dashboard (Chromium)', { skip: chromiumSkip }, () => {
  let d: TestDashboard;
  let ctx: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let work: string;
  const problems: string[] = [];

  before(async () => {
    if (!existsSync(WEB_INDEX)) {
      const r = spawnSync('npm', ['run', 'build:web', '--silent'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
      assert.equal(r.status, 0, 'npm run build:web failed');
    }
    work = mkdtempSync(join(tmpdir(), 'protium-e2e-async-'));
    d = await startTestDashboard({ asyncRetryDelay: '100ms' });
    await Promise.all([
      deploy(d, functionBody('ui-async', 'nodejs', WORKER)),
      deploy(d, functionBody('ui-busy', 'nodejs', WORKER, { spec: { maxReplicas: 1 } })),
    ]);
    userDataDir = mkdtempSync(join(tmpdir(), 'protium-chromium-'));
    ctx = await launchChromium(userDataDir);
    ctx.setDefaultTimeout(15_000);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await ctx?.close().catch(() => undefined);
    await d?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the functions table counts queued and dead invocations; a dead letter is requeued and another discarded', async () => {
    const flag = join(work, 'fixed');
    const dead: string[] = [];
    for (let n = 0; n < 2; n++)
      dead.push(await enqueued(d, 'ui-async', { n, flag }, { 'x-protium-max-attempts': '1' }));
    for (const id of dead) assert.equal((await ended(d, id)).state, 'dead');
    // ui-busy runs one at a time: one runs, two wait.
    const busy: string[] = [];
    for (let n = 0; n < 3; n++) busy.push(await enqueued(d, 'ui-busy', { n, sleep: 4_000 }));

    await page.goto(`${d.url}/projects/default/functions`);
    const asyncRow = page.getByTestId('function-row-ui-async').getByTestId('async-counts');
    await asyncRow.getByTestId('async-dead').filter({ hasText: '2 dead' }).waitFor();
    await page
      .getByTestId('function-row-ui-busy')
      .getByTestId('async-queued')
      .filter({ hasText: '2 queued' })
      .waitFor();

    await asyncRow.getByTestId('async-dead').click();
    await page.waitForURL(/\/projects\/default\/functions\/ui-async\/invocations$/);
    const panel = page.getByTestId('invocations-panel');
    await panel.getByTestId('count-dead').filter({ hasText: '2 dead' }).waitFor();
    await panel.getByTestId('invocation-state-filter').selectOption('dead');
    writeFileSync(flag, 'fixed');

    const first = panel.getByTestId(`invocation-${dead[0]}`);
    await first.getByTestId('requeue').click();
    await panel.getByTestId('count-succeeded').filter({ hasText: '1 succeeded' }).waitFor();
    await panel.getByTestId('count-dead').filter({ hasText: '1 dead' }).waitFor();
    await first.waitFor({ state: 'detached' });
    const again = await ended(d, dead[0]);
    assert.equal(again.state, 'succeeded');
    assert.deepEqual(
      again.attemptHistory.map((a) => a.status),
      [500, 200],
    );

    const second = panel.getByTestId(`invocation-${dead[1]}`);
    await second.getByTestId('discard').click();
    await second.getByRole('button', { name: 'Yes, discard' }).click();
    await second.waitFor({ state: 'detached' });
    await panel.getByTestId('count-dead').filter({ hasText: '0 dead' }).waitFor();
    assert.equal((await d.api('GET', `/api/function_invocations/${dead[1]}`)).status, 404);

    await until(
      'ui-busy drained',
      async () =>
        (await d.api<InvocationList>('GET', '/api/functions/ui-busy/invocations?state=succeeded')).json.counts
          .succeeded === 3
          ? true
          : undefined,
      20_000,
    );
    assert.deepEqual(problems, []);
  });
});
