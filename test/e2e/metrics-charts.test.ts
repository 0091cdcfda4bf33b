/**
 * The charts in a real browser (Debian's Chromium through playwright-core): traffic through a function's
 * port shows on its Metrics tab (requests, latency quantiles, errors, replicas) and as a sparkline in the
 * functions list, from the ring the dashboard keeps — no Prometheus server.
 *
 * PROTIUM_UPDATE_SCREENSHOTS=1 writes docs/screenshots/function-metrics.png (it then runs longer traffic,
 * so the picture has a few minutes of shape).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import {
  deploy,
  functionBody,
  rawRequest,
  sleep,
  startTestDashboard,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const WEB_INDEX = join(PACKAGE_ROOT, 'web', 'dist', 'index.html');
const UPDATE = !!process.env.PROTIUM_UPDATE_SCREENSHOTS;
const SHOTS = UPDATE ? join(PACKAGE_ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'protium-shots-'));
const T = 15_000;

/** Takes a few milliseconds (more for some requests, so the quantiles differ), and fails one call in 20. */
const HANDLER = `
let n = 0;
exports.handler = (context, event) => {
  n++;
  if (n % 20 === 0) return context.callback(new context.Response('failed', {}, 'text/plain', 500));
  setTimeout(() => context.callback('ok'), n % 10 === 0 ? 40 : 2 + (n % 5));
};
`;

describe('charts in Chromium', { skip: chromiumSkip }, () => {
  let d: TestDashboard;
  let ctx: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const problems: string[] = [];
  let port: number;

  /** Calls the function from `concurrency` loops for `ms`; returns how many answers came back. */
  const traffic = async (concurrency: number, ms: number) => {
    const until = Date.now() + ms;
    let answered = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < until) {
          await rawRequest(`http://127.0.0.1:${port}/`, 'GET');
          answered++;
        }
      }),
    );
    return answered;
  };

  before(async () => {
    if (!existsSync(WEB_INDEX)) {
      const r = spawnSync('npm', ['run', 'build:web', '--silent'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
      assert.equal(r.status, 0, 'npm run build:web failed');
    }
    mkdirSync(SHOTS, { recursive: true });
    d = await startTestDashboard();
    port = (await deploy(d, functionBody('checkout', 'nodejs', HANDLER))).status.httpPort!;
    await deploy(d, functionBody('quiet', 'nodejs', HANDLER));
    userDataDir = mkdtempSync(join(tmpdir(), 'protium-chromium-'));
    ctx = await launchChromium(userDataDir);
    ctx.setDefaultTimeout(T);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  after(async () => {
    await ctx?.close().catch(() => undefined);
    await d?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test("a function's Metrics tab charts its traffic, and the functions list shows a sparkline", async () => {
    // Traffic that changes pace, so the charts have a shape; a bucket closes every ten seconds.
    const phases = UPDATE ? [2, 6, 3, 8, 4, 1, 5, 2] : [3, 3];
    for (const c of phases) assert.ok((await traffic(c, 6_000)) > 0);
    await page.goto(`${d.url}/projects/default/functions/checkout/metrics`);
    await page.getByTestId('metrics-panel').waitFor();
    for (const id of ['chart-requests', 'chart-latency', 'chart-errors', 'chart-replicas'])
      await page.getByTestId(id).waitFor();
    // The panel refreshes as buckets close: wait until the requests chart has a line.
    const requestsPath = page.getByTestId('chart-requests').locator('path');
    const deadline = Date.now() + 30_000;
    while (!/\d+(\.\d+)?,\d/.test((await requestsPath.getAttribute('d')) ?? '') || !(await hasTraffic(page))) {
      assert.ok(Date.now() < deadline, 'the requests chart never showed the traffic');
      await sleep(1000);
      await page.reload();
      await page.getByTestId('chart-requests').waitFor();
    }
    // Latency has three lines (p50, p95, p99), each drawn.
    const latency = page.getByTestId('chart-latency').locator('path');
    assert.equal(await latency.count(), 3);
    for (let i = 0; i < 3; i++) assert.match((await latency.nth(i).getAttribute('d')) ?? '', /^M/);
    // The replicas chart says one is ready; the errors chart saw the failures.
    assert.match(await page.getByTestId('chart-replicas').locator('figcaption').innerText(), /ready 1\b/);
    await page.getByRole('button', { name: '5 min', exact: true }).click();
    await page.getByRole('button', { name: '5 min', exact: true, pressed: true }).waitFor();
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(SHOTS, 'function-metrics.png') });

    await page.goto(`${d.url}/projects/default/functions`);
    const spark = page.getByTestId('sparkline-checkout');
    await spark.waitFor();
    assert.match((await spark.locator('polyline').nth(1).getAttribute('points')) ?? '', /\d/);
    await page.getByTestId('sparkline-quiet').waitFor();
    assert.deepEqual(problems, [], 'the page logged errors');
  });
});

/** True when some point of the requests chart is above zero (its legend's latest value, or any point). */
async function hasTraffic(page: Page): Promise<boolean> {
  const d = (await page.getByTestId('chart-requests').locator('path').getAttribute('d')) ?? '';
  // The baseline (zero) is at the bottom of the plot: a point above it means requests were drawn.
  const ys = [...d.matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1]));
  return ys.length > 0 && Math.min(...ys) < Math.max(...ys);
}
