/**
 * /api/docs in Chromium: the viewer renders every operation of the document, on a dashboard with a
 * token (the page is public), loading nothing from anywhere but the dashboard and logging no errors
 * (its Content-Security-Policy holds).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';

describe('/api/docs in Chromium', { skip: chromiumSkip }, () => {
  let d: TestDashboard;
  let dir: string;
  let ctx: BrowserContext;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-docs-e2e-'));
    writeFileSync(join(dir, 'token'), 'docs-e2e-token');
    d = await startTestDashboard({ authTokenFile: join(dir, 'token') });
    ctx = await launchChromium(join(dir, 'chromium'));
    ctx.setDefaultTimeout(30_000);
  });
  after(async () => {
    await ctx?.close().catch(() => undefined);
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("renders every operation of the document from the dashboard's own files", async () => {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${d.url}/api/docs`);
    await page.locator('.opblock').first().waitFor();
    const doc = (await (await fetch(`${d.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    assert.equal(await page.locator('.opblock').count(), operations);
    assert.ok(await page.getByText('Protium dashboard API').first().isVisible());
    // An operation opens with its parameters: the headers the route reads are there.
    await page.locator('#operations-Functions-createFunction').click();
    await page.getByText('x-nuclio-wait-function-action').first().waitFor();
    const foreign = requests.filter((u) => !u.startsWith(`${d.url}/`) && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'requests that left the dashboard');
    assert.deepEqual(problems, []);
  });
});
