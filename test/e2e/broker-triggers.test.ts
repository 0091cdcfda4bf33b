/**
 * Message triggers in the web dashboard (Debian's Chromium), against a real nats-server: add a NATS
 * trigger to a function in the configuration form, see the API's error next to the field left empty, fill
 * it, deploy, and the function consumes; the form shows the saved trigger again; a broker that cannot be
 * reached is shown as the function's state with the reason; a RabbitMQ trigger's fields round-trip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { CONSUMER, untilHandled } from '../helpers/broker-functions.js';
import { freePort, skipUnlessInstalled, startNats, type Broker } from '../helpers/brokers.js';
import { deploy, functionBody, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const skip = chromiumSkip || skipUnlessInstalled('nats');
const WEB_INDEX = join(PACKAGE_ROOT, 'web', 'dist', 'index.html');
const T = 15_000;

describe('message triggers in the web dashboard (Chromium, real nats-server)', { skip }, () => {
  let d: TestDashboard;
  let nats: Broker;
  let nc: NatsConnection;
  let ctx: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let work: string;
  const problems: string[] = [];
  let allowed: RegExp[] = [];

  before(async () => {
    if (!existsSync(WEB_INDEX)) {
      const r = spawnSync('npm', ['run', 'build:web', '--silent'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
      assert.equal(r.status, 0, 'npm run build:web failed');
    }
    work = mkdtempSync(join(tmpdir(), 'protium-e2e-brokers-'));
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    d = await startTestDashboard();
    userDataDir = mkdtempSync(join(tmpdir(), 'protium-chromium-'));
    ctx = await launchChromium(userDataDir);
    ctx.setDefaultTimeout(T);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' && !allowed.some((r) => r.test(m.text()))) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await ctx?.close().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await d?.close();
    await nats?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('add a NATS trigger: the empty subject is refused next to its field; filled in, the function deploys and consumes', async () => {
    const out = join(work, 'ui.jsonl');
    await deploy(d, functionBody('ui-nats', 'nodejs', CONSUMER, { spec: { env: [{ name: 'OUT', value: out }] } }));
    await page.goto(`${d.url}/projects/default/functions/ui-nats/config`);
    const cfg = page.getByTestId('config-form');
    await cfg.getByTestId('add-nats').click();
    const trig = cfg.getByTestId('trigger-nats-1');
    await trig.locator('input[name="trigger-nats-1-url"]').fill(nats.url);
    allowed = [/status of 400/];
    await page.getByTestId('deploy').click();
    await trig
      .locator('.field-error')
      .filter({ hasText: 'spec.triggers.nats-1.attributes.topic must be set to the subject' })
      .waitFor();
    allowed = [];

    await trig.locator('input[name="trigger-nats-1-attributes.topic"]').fill('ui.orders');
    await trig.locator('input[name="trigger-nats-1-numWorkers"]').fill('2');
    await page.getByTestId('deploy').click();
    await page.getByTestId('deploy-result').filter({ hasText: 'Deployed in' }).waitFor({ timeout: 60_000 });
    const fn = (await d.api<FunctionRecord>('GET', '/api/functions/ui-nats')).json;
    assert.deepEqual(
      { ...fn.spec.triggers?.['nats-1'] },
      { class: '', kind: 'nats', name: 'nats-1', url: nats.url, numWorkers: 2, attributes: { topic: 'ui.orders' } },
    );
    nc.publish('ui.orders', Buffer.from('from-the-ui'));
    await untilHandled(out, ['from-the-ui']);

    await page.reload();
    assert.equal(
      await page.getByTestId('trigger-nats-1').locator('input[name="trigger-nats-1-attributes.topic"]').inputValue(),
      'ui.orders',
    );
    assert.deepEqual(problems.splice(0), []);
  });

  test('a broker that cannot be reached: the deploy says the function runs but is not healthy, and why', async () => {
    const port = await freePort();
    await page.goto(`${d.url}/projects/default/functions/ui-nats/config`);
    const url = page.getByTestId('trigger-nats-1').locator('input[name="trigger-nats-1-url"]');
    await url.fill(`nats://127.0.0.1:${port}`);
    await page.getByTestId('deploy').click();
    await page
      .getByTestId('deploy-result')
      .filter({ hasText: 'but the function is not healthy' })
      .waitFor({ timeout: 60_000 });
    await page
      .getByTestId('deploy-result')
      .filter({ hasText: `Trigger nats-1 (nats) cannot reach nats://127.0.0.1:${port}` })
      .waitFor();
    await page.goto(`${d.url}/projects/default/functions`);
    await page.getByTestId('function-row-ui-nats').filter({ hasText: 'cannot reach' }).waitFor();
    assert.deepEqual(problems.splice(0), []);
  });

  test("a RabbitMQ trigger's fields round-trip through the form (routing keys, requeue, prefetch)", async () => {
    await page.goto(`${d.url}/projects/default/functions/ui-nats/config`);
    const cfg = page.getByTestId('config-form');
    await cfg.getByTestId('trigger-nats-1').getByRole('button', { name: 'Remove' }).click();
    await cfg.getByTestId('add-rabbitmq').click();
    const trig = cfg.getByTestId('trigger-rabbitmq-1');
    await trig.locator('input[name="trigger-rabbitmq-1-url"]').fill('amqp://guest:guest@127.0.0.1:1');
    await trig.locator('input[name="trigger-rabbitmq-1-attributes.exchangeName"]').fill('orders');
    await trig.locator('input[name="trigger-rabbitmq-1-attributes.topics"]').fill('orders.*, invoices.#');
    await trig.locator('input[name="trigger-rabbitmq-1-attributes.prefetchCount"]').fill('3');
    await trig.locator('input[name="trigger-rabbitmq-1-attributes.requeueOnError"]').check();
    await page.getByTestId('deploy').click();
    await page.getByTestId('deploy-result').waitFor({ timeout: 60_000 });
    const fn = (await d.api<FunctionRecord>('GET', '/api/functions/ui-nats')).json;
    assert.deepEqual(fn.spec.triggers?.['rabbitmq-1'].attributes, {
      exchangeName: 'orders',
      topics: ['orders.*', 'invoices.#'],
      prefetchCount: 3,
      requeueOnError: true,
    });
    assert.equal(fn.spec.triggers?.['nats-1'], undefined);
    assert.deepEqual(problems.splice(0), []);
  });
});
