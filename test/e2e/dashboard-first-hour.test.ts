/**
 * The web dashboard where a new user stumbled (issue 13, item 11), in Debian's Chromium: state wording,
 * the cascading delete of a project that is not empty (its contents named before anything goes), a
 * template that fills the function's name, the replica defaults, the gateway listener's address with a
 * curl line that works, and a failed deploy that shows the user's error line first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import {
  deploy,
  functionBody,
  rawRequest,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const T = 15_000;
const PROJECT = { 'nuclio.io/project-name': 'firsthour' };

describe("web dashboard: a new user's first hour", { skip: chromiumSkip }, () => {
  let d: TestDashboard;
  let ctx: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const problems: string[] = [];
  let allowed: RegExp[] = [];
  const noProblems = () => assert.deepEqual(problems.splice(0), [], 'the page logged errors');

  before(async () => {
    d = await startTestDashboard();
    assert.equal(
      (await d.api('POST', '/api/projects', { body: { metadata: { name: 'firsthour' }, spec: {} } })).status,
      201,
    );
    // A function whose init_context fails, and one that works behind a gateway.
    const broken = functionBody(
      'broken',
      'python',
      'def init_context(context):\n    settings = {}\n    context.user_data.db = settings["db"]\n\ndef ' +
        'handler(context, event):\n    return "x"\n',
      { project: 'firsthour' },
    );
    await d.api('POST', '/api/functions', { body: broken });
    await deploy(
      d,
      functionBody(
        'greeter',
        'nodejs',
        'exports.handler = (context, event) => context.callback("hi " + event.path);\n',
        { project: 'firsthour' },
      ),
    );
    const gw = {
      metadata: { name: 'greeter-gw', labels: PROJECT },
      spec: {
        host: 'greeter.local',
        path: '/greet',
        upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'greeter' } }],
      },
    };
    assert.equal((await d.api('POST', '/api/api_gateways', { body: gw })).status, 202);
    await waitFor(d, 'broken', (f) => f.status?.state === 'error');

    userDataDir = mkdtempSync(join(tmpdir(), 'protium-chromium-'));
    ctx = await launchChromium(userDataDir);
    ctx.setDefaultTimeout(T);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' && !allowed.some((r) => r.test(m.text())))
        problems.push(`console error on ${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  after(async () => {
    await ctx?.close().catch(() => undefined);
    await d?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test("a failed deploy shows the user's error line first; the test pane words the state", async () => {
    await page.goto(`${d.url}/projects/firsthour/functions/broken`);
    const panel = page.getByTestId('function-error');
    await panel.waitFor();
    assert.equal(
      await panel.getByTestId('error-line').innerText(),
      "Failed to deploy the function: KeyError: 'db' (main.py, line 3, in init_context)",
    );
    assert.match(await panel.getByTestId('error-details').innerText(), /File "main\.py", line 3, in init_context/);
    assert.doesNotMatch(await panel.innerText(), /wrapper\.py|Traceback \(most recent call last\):$/m);
    assert.equal(
      await page.getByTestId('state-sentence').innerText(),
      'The function failed to deploy: a request fails until a deploy succeeds.',
    );
    assert.doesNotMatch(await page.getByTestId('test-pane').innerText(), /The function is error/);
    noProblems();
  });

  test('min and max replicas show their defaults', async () => {
    await page.goto(`${d.url}/projects/firsthour/functions/greeter/config`);
    const cfg = page.getByTestId('config-form');
    await cfg.waitFor();
    assert.equal(await cfg.locator('input[name=minReplicas]').getAttribute('placeholder'), '1');
    assert.equal(await cfg.locator('input[name=maxReplicas]').getAttribute('placeholder'), '1');
    await cfg.getByText('Empty: 1 (the default). 0 lets it scale to zero.').waitFor();
    await cfg.locator('input[name=minReplicas]').fill('3');
    await cfg.getByText('Empty: 3 (the default: as many as min replicas, at least 1).').waitFor();
    assert.equal(await cfg.locator('input[name=maxReplicas]').getAttribute('placeholder'), '3');
    noProblems();
  });

  test('choosing a template fills the name (not over a name the user typed)', async () => {
    await page.goto(`${d.url}/projects/firsthour/functions`);
    await page.getByTestId('new-function').click();
    const form = page.getByTestId('create-function');
    const name = form.locator('input[name=function-name]');
    await form.locator('select[name=template]').selectOption('helloworld:python');
    assert.equal(await name.inputValue(), 'helloworld');
    await form.locator('select[name=template]').selectOption('reverser:shell');
    assert.equal(await name.inputValue(), 'reverser', 'a filled name follows the template');
    await name.fill('my-reverser');
    await form.locator('select[name=template]').selectOption('json-echo:nodejs');
    assert.equal(await name.inputValue(), 'my-reverser', 'a typed name stays');
    await form.getByRole('button', { name: 'Cancel' }).click();
    noProblems();
  });

  test("the gateways page shows the listener's address and a curl line (Host header) that works", async () => {
    await page.goto(`${d.url}/projects/firsthour/gateways`);
    await page.getByTestId('gateway-listener').filter({ hasText: d.gatewayUrl }).waitFor();
    const row = page.getByTestId('gateway-row-greeter-gw');
    await row.locator('[data-state=ready]').waitFor();
    const curl = await row.getByTestId('gateway-curl').locator('code').innerText();
    assert.equal(curl, `curl -H 'Host: greeter.local' ${d.gatewayUrl}/greet`);
    // What the line does: that Host, that URL.
    const [, host, url] = /-H 'Host: ([^']+)' (\S+)$/.exec(curl)!;
    const res = await rawRequest(url, 'GET', { headers: { host: host } });
    assert.deepEqual([res.status, res.text], [200, 'hi /']);
    noProblems();
  });

  test('deleting a project that has functions names what goes and deletes it all on confirmation', async () => {
    await page.goto(`${d.url}/projects`);
    const row = page.getByTestId('project-row-firsthour');
    await row.getByRole('button', { name: 'Delete' }).click();
    allowed = [/status of 412/];
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    const offer = page.getByTestId('project-cascade-firsthour');
    await offer
      .filter({ hasText: 'firsthour still holds 2 functions (broken and greeter) and 1 API gateway (greeter-gw).' })
      .waitFor();
    allowed = [];
    assert.doesNotMatch(await row.innerText(), /X-Nuclio-Delete-Project-Strategy/, 'no header to send by hand');
    await offer.getByRole('button', { name: 'Delete with its contents' }).click();
    await offer
      .getByText(
        'Delete project firsthour and 2 functions (broken and greeter) and 1 API gateway (greeter-gw)? This ' +
          'cannot be undone.',
      )
      .waitFor();
    await offer.getByRole('button', { name: 'Yes, delete all' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await d.api('GET', '/api/projects/firsthour')).status, 404);
    assert.equal((await d.api('GET', '/api/functions/greeter')).status, 404);
    assert.equal((await d.api('GET', '/api/api_gateways/greeter-gw')).status, 404);
    noProblems();
  });
});
