/**
 * The web dashboard in a real browser (Debian's Chromium through playwright-core): the whole Nuclio loop
 * — project, python function from a template, edit and deploy, saved function event, test, live logs,
 * API gateway, scale to zero, delete, export/import — plus bad input (invalid names, a failing build),
 * a dashboard that restarts under the page, a lost network, and a dashboard that needs a token.
 *
 * Any console error or page error fails the test, except the browser's own "Failed to load resource"
 * lines inside the steps that provoke them on purpose (a refused name, a 401, the dashboard being down).
 *
 * PROTIUM_UPDATE_SCREENSHOTS=1 writes the screenshots to docs/screenshots/ (otherwise to a temp folder).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { b64, rawRequest, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import type { ApiGateway, FunctionEvent, FunctionRecord } from '../../src/resources/types.js';

const WEB_INDEX = join(PACKAGE_ROOT, 'web', 'dist', 'index.html');
const SHOTS = process.env.PROTIUM_UPDATE_SCREENSHOTS
  ? join(PACKAGE_ROOT, 'docs', 'screenshots')
  : mkdtempSync(join(tmpdir(), 'protium-shots-'));
const T = 15_000;

const SOURCE = `import os


def handler(context, event):
    body = event.body.decode() if isinstance(event.body, bytes) else str(event.body or '')
    context.logger.info_with('greeting', body=body, path=event.path)
    greeting = os.environ.get('GREETING', 'Hello')
    return context.Response(body={'hello': '%s, %s' % (greeting, body or 'world')},
                            content_type='application/json', status_code=200)
`;

describe('web dashboard in Chromium', { skip: chromiumSkip }, () => {
  let dataDir: string;
  let d: TestDashboard;
  let ctx: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let exported: string | undefined;
  const problems: string[] = [];
  let allowed: RegExp[] = [];

  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (allowed.some((r) => r.test(m.text()))) return;
      problems.push(`console error on ${p.url()}: ${m.text()} (${m.location().url})`);
    });
    p.on('pageerror', (e) => problems.push(`page error on ${p.url()}: ${e.message}`));
  };
  /** Runs a step in which the browser may log failed requests of the given kinds. */
  async function expecting<R>(patterns: RegExp[], fn: () => Promise<R>): Promise<R> {
    allowed = patterns;
    try {
      return await fn();
    } finally {
      await page.waitForTimeout(300);
      allowed = [];
    }
  }
  const failedStatus = (...codes: number[]) =>
    new RegExp(`Failed to load resource: the server responded with a status of (${codes.join('|')})`);
  const noProblems = () => assert.deepEqual(problems.splice(0), [], 'the page logged errors');
  const shot = async (name: string, p: Page = page) => {
    await p.waitForTimeout(150);
    await p.screenshot({ path: join(SHOTS, name) });
  };

  before(async () => {
    if (!existsSync(WEB_INDEX)) {
      const r = spawnSync('npm', ['run', 'build:web', '--silent'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
      assert.equal(r.status, 0, 'npm run build:web failed');
    }
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'protium-e2e-'));
    d = await startTestDashboard({}, dataDir);
    userDataDir = mkdtempSync(join(tmpdir(), 'protium-chromium-'));
    ctx = await launchChromium(userDataDir, { acceptDownloads: true });
    ctx.setDefaultTimeout(T);
    ctx.setDefaultNavigationTimeout(T);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    watch(page);
  });

  after(async () => {
    await ctx?.close().catch(() => undefined);
    await d?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('projects: an invalid name is refused next to the field; a project is created', async () => {
    await page.goto(`${d.url}/`);
    await page.waitForURL(/\/projects$/);
    await page.getByTestId('project-row-default').waitFor();

    const form = page.getByTestId('create-project');
    await form.locator('input[name=project-name]').fill('Bad Name');
    await expecting([failedStatus(400)], async () => {
      await form.getByRole('button', { name: 'Create project' }).click();
      await form.locator('.field-error').filter({ hasText: 'Project name must adhere' }).waitFor();
    });

    await form.locator('input[name=project-name]').fill('demo');
    await form.locator('input[name=project-description]').fill('The hello-world loop');
    await form.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(/\/projects\/demo\/functions$/);
    await page.getByText('No functions in demo yet').waitFor();
    noProblems();
  });

  test('a python function from a template builds and becomes ready', async () => {
    await page.getByTestId('new-function').click();
    const form = page.getByTestId('create-function');
    await form.locator('select[name=template]').selectOption('helloworld:python');
    await page.getByTestId('template-description').waitFor();
    // A name Kubernetes would refuse is reported next to the name field.
    await form.locator('input[name=function-name]').fill('hello world');
    await expecting([failedStatus(400)], async () => {
      await form.getByRole('button', { name: 'Create and deploy' }).click();
      await form.locator('.field-error').filter({ hasText: 'naming convention' }).waitFor();
    });
    await form.locator('input[name=function-name]').fill('hello');
    await shot('create-function.png');
    await form.getByRole('button', { name: 'Create and deploy' }).click();
    await page.waitForURL(/\/projects\/demo\/functions\/hello$/);
    await page.locator('.fn-title [data-state=ready]').waitFor({ timeout: 60_000 });
    await page.locator('.cm-content').filter({ hasText: 'Saying hello' }).waitFor();
    assert.equal(await page.locator('.code-editor').getAttribute('data-language'), 'python');
    // Highlighting: the editor styles python keywords.
    assert.ok((await page.locator('.cm-content span').count()) > 3, 'the source is highlighted');
    noProblems();
  });

  test('edit the code and configuration, deploy: progress, then the build log', async () => {
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(SOURCE);
    await page.getByTestId('unsaved').waitFor();

    await page.getByRole('tab', { name: 'Configuration' }).click();
    await page.waitForURL(/\/hello\/config$/);
    const cfg = page.getByTestId('config-form');
    await cfg.getByRole('button', { name: 'Add variable' }).click();
    await cfg.locator('input[name=env-name-0]').fill('GREETING');
    await cfg.locator('input[name=env-value-0]').fill('Hej');
    await cfg.getByTestId('add-cron').click();
    await cfg.locator('input[name=trigger-cron-1-interval]').fill('1h');

    await page.getByTestId('deploy').click();
    await page.getByTestId('deploy-result').filter({ hasText: 'Deployed in' }).waitFor({ timeout: 60_000 });
    await page.locator('.fn-title [data-state=ready]').waitFor();
    const fn = (await d.api<FunctionRecord>('GET', '/api/functions/hello')).json;
    assert.deepEqual(fn.spec.env, [{ name: 'GREETING', value: 'Hej' }]);
    assert.equal(fn.spec.triggers?.['cron-1'].attributes?.interval, '1h');
    assert.match(Buffer.from(fn.spec.build.functionSourceCode ?? '', 'base64').toString(), /info_with\('greeting'/);

    await page.getByRole('tab', { name: 'Build log' }).click();
    await page.getByTestId('build-log').filter({ hasText: 'Built the artifact' }).waitFor();
    await shot('function-build-log.png');
    await page.getByRole('tab', { name: 'Code' }).click();
    noProblems();
  });

  test('test pane: save a function event, send it, read status, body, headers, time and handler logs', async () => {
    const pane = page.getByTestId('test-pane');
    await pane.locator('select[name=method]').selectOption('POST');
    await pane.locator('input[name=path]').fill('/greet');
    await pane.locator('textarea[name=headers]').fill('Content-Type: text/plain\nX-Demo: 1');
    await pane.locator('textarea[name=body]').fill('protium');
    await pane.locator('input[name=event-name]').fill('greeting');
    await pane.getByTestId('save-event').click();
    await pane.getByText('Saved "greeting".').waitFor();
    const events = (
      await d.api<Record<string, FunctionEvent>>('GET', '/api/function_events', {
        headers: { 'x-nuclio-function-name': 'hello' },
      })
    ).json;
    const saved = Object.values(events);
    assert.equal(saved.length, 1);
    assert.equal(saved[0].spec.attributes?.path, '/greet');
    assert.equal(saved[0].spec.body, 'protium');

    // The saved event survives a reload and fills the request.
    await page.reload();
    await pane.locator('select[name=saved-event]').selectOption({ label: 'greeting' });
    assert.equal(await pane.locator('textarea[name=body]').inputValue(), 'protium');
    assert.equal(await pane.locator('input[name=path]').inputValue(), '/greet');

    await pane.getByTestId('send').click();
    const res = pane.getByTestId('response');
    await res.getByTestId('response-status').filter({ hasText: '200' }).waitFor();
    await res.getByTestId('response-body').filter({ hasText: '"hello": "Hej, protium"' }).waitFor();
    await res.getByTestId('response-logs').filter({ hasText: 'greeting' }).waitFor();
    assert.match(await res.getByTestId('response-time').innerText(), /\d+(\.\d+)? (ms|s)/);
    await shot('function-test.png');
    await res.getByRole('button', { name: /Show headers/ }).click();
    await res.getByTestId('response-headers').filter({ hasText: 'application/json' }).waitFor();

    // Edit the saved event.
    await pane.locator('textarea[name=body]').fill('nuclio');
    await pane.getByRole('button', { name: 'Update event' }).click();
    await pane.getByText('Updated "greeting".').waitFor();
    const again = Object.values(
      (
        await d.api<Record<string, FunctionEvent>>('GET', '/api/function_events', {
          headers: { 'x-nuclio-function-name': 'hello' },
        })
      ).json,
    );
    assert.equal(again[0].spec.body, 'nuclio');
    noProblems();
  });

  test('the Logs tab follows the replica log live', async () => {
    await page.getByRole('tab', { name: 'Logs' }).click();
    const log = page.getByTestId('replica-log');
    await page.getByTestId('log-stream-state').filter({ hasText: 'following live' }).waitFor();
    await log.filter({ hasText: 'greeting' }).waitFor();
    // A request made elsewhere shows up while we watch.
    const r = await d.api('POST', '/api/function_invocations', {
      headers: { 'x-nuclio-function-name': 'hello' },
      body: 'live-check',
    });
    assert.equal(r.status, 200);
    await log.filter({ hasText: 'live-check' }).waitFor();
    await shot('function-logs.png');
    noProblems();
  });

  test('bad configuration is refused at its field; a failing build says why; a fix recovers', async () => {
    await page.getByRole('tab', { name: 'Configuration' }).click();
    const cfg = page.getByTestId('config-form');
    await cfg.locator('input[name=minReplicas]').fill('3');
    await cfg.locator('input[name=maxReplicas]').fill('1');
    await expecting([failedStatus(400)], async () => {
      await page.getByTestId('deploy').click();
      await cfg
        .locator('.field-error')
        .filter({ hasText: 'Min replicas must be less than or equal to max replicas' })
        .waitFor();
    });
    await cfg.locator('input[name=minReplicas]').fill('');
    await cfg.locator('input[name=maxReplicas]').fill('');

    await cfg.locator('textarea[name=build-commands]').fill('echo preparing the build\nexit 3');
    await page.getByTestId('deploy').click();
    await page.getByTestId('deploy-result').filter({ hasText: 'Deploy failed' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('deploy-result').filter({ hasText: 'exit code 3' }).waitFor();
    await page.locator('.fn-title [data-state=error]').waitFor();
    await page.getByRole('tab', { name: 'Build log' }).click();
    await page.getByTestId('build-log').filter({ hasText: 'Build command failed' }).waitFor();
    await page.getByTestId('build-log').filter({ hasText: 'preparing the build' }).waitFor();
    await shot('function-build-error.png');

    await page.getByRole('tab', { name: 'Configuration' }).click();
    await cfg.locator('textarea[name=build-commands]').fill('');
    await page.getByTestId('deploy').click();
    await page.getByTestId('deploy-result').filter({ hasText: 'Deployed in' }).waitFor({ timeout: 60_000 });
    await page.locator('.fn-title [data-state=ready]').waitFor();
    await page.getByRole('tab', { name: 'Code' }).click();
    await shot('function-code.png');
    noProblems();
  });

  test('an API gateway exposes the function (host, path, basic auth); bad hosts are refused at the field', async () => {
    await page.goto(`${d.url}/projects/demo/gateways`);
    await page.getByText('No API gateways in demo').waitFor();
    await page.getByTestId('new-gateway').click();
    const form = page.getByTestId('gateway-form');
    await form.locator('input[name=gateway-name]').fill('hello-gw');
    await form.locator('input[name=gateway-host]').fill('not a host!');
    await form.locator('input[name=gateway-path]').fill('/hello');
    await form.locator('select[name=gateway-primary]').selectOption('hello');
    await form.locator('select[name=gateway-auth]').selectOption('basicAuth');
    await form.locator('input[name=gateway-username]').fill('demo');
    await form.locator('input[name=gateway-password]').fill('s3cret');
    await expecting([failedStatus(400)], async () => {
      await form.getByRole('button', { name: 'Create gateway' }).click();
      await form.locator('.field-error').filter({ hasText: 'not a valid host name' }).waitFor();
    });
    await form.locator('input[name=gateway-host]').fill('hello.local');
    await form.getByRole('button', { name: 'Create gateway' }).click();
    const row = page.getByTestId('gateway-row-hello-gw');
    await row.locator('[data-state=ready]').waitFor();

    const url = `${d.gatewayUrl}/hello`;
    const denied = await rawRequest(url, 'POST', { headers: { host: 'hello.local' }, body: 'gw' });
    assert.equal(denied.status, 401);
    const ok = await rawRequest(url, 'POST', {
      headers: { host: 'hello.local', authorization: `Basic ${b64('demo:s3cret')}` },
      body: 'gateway',
    });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /Hej, gateway/);

    // Edit: a canary split to the same function is refused (an upstream named twice) — choose none instead.
    await row.getByRole('button', { name: 'Edit' }).click();
    await form.locator('input[name=gateway-description]').fill('Greets through the gateway');
    await form.getByRole('button', { name: 'Save gateway' }).click();
    await row.filter({ hasText: 'Greets through the gateway' }).waitFor();
    await shot('gateways.png');
    noProblems();
  });

  test('scale to zero from the functions list, then wake up', async () => {
    await page.getByRole('tab', { name: 'Functions' }).click();
    const row = page.getByTestId('function-row-hello');
    await row.locator('[data-state=ready]').waitFor();
    await row.getByRole('button', { name: 'Scale to zero' }).click();
    await row.locator('[data-state=scaledToZero]').waitFor();
    await row.getByTestId('replica-count').filter({ hasText: /^0/ }).waitFor();
    await shot('functions.png');
    await row.getByRole('button', { name: 'Wake up' }).click();
    await row.locator('[data-state=ready]').waitFor({ timeout: 60_000 });
    noProblems();
  });

  test('export (secrets blanked); delete is refused while functions exist; delete gateway, function, project; import brings them back but the gateway, whose password was blanked', async () => {
    await page.goto(`${d.url}/projects`);
    const row = page.getByTestId('project-row-demo');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: 'Export' }).click(),
    ]);
    const file = join(userDataDir, 'demo.project.json');
    await download.saveAs(file);
    exported = readFileSync(file, 'utf8');
    const bundle = JSON.parse(exported) as {
      functions: Record<string, unknown>;
      apiGateways: Record<string, ApiGateway>;
    };
    assert.ok(bundle.functions.hello, 'the export has the function');
    assert.equal(Object.keys(bundle.apiGateways).length, 1);
    assert.equal(
      bundle.apiGateways['hello-gw'].spec.authentication?.basicAuth?.password,
      '',
      'an export blanks secrets',
    );

    await row.getByRole('button', { name: 'Delete' }).click();
    await expecting([failedStatus(412, 409)], async () => {
      await row.getByRole('button', { name: 'Yes, delete' }).click();
      await page.getByTestId('project-delete-error-demo').waitFor();
    });
    await shot('projects.png');

    await page.goto(`${d.url}/projects/demo/gateways`);
    const gw = page.getByTestId('gateway-row-hello-gw');
    await gw.getByRole('button', { name: 'Delete' }).click();
    await gw.getByRole('button', { name: 'Yes, delete' }).click();
    await gw.waitFor({ state: 'detached' });

    await page.getByRole('tab', { name: 'Functions' }).click();
    const fn = page.getByTestId('function-row-hello');
    await fn.getByRole('button', { name: 'Delete' }).click();
    await fn.getByRole('button', { name: 'Yes, delete' }).click();
    await fn.waitFor({ state: 'detached' });

    await page.goto(`${d.url}/projects`);
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await d.api('GET', '/api/projects/demo')).status, 404);

    await page.getByTestId('import-project').locator('input[type=file]').setInputFiles(file);
    // The gateway's basic-auth password was blanked in the export: the import says the gateway needs it.
    const result = page
      .getByTestId('import-result')
      .filter({ hasText: 'Imported demo: 1 functions, 1 function events, 0 API gateways' });
    await result
      .getByText(/API gateway hello-gw: Basic authentication needs .*password \(an export blanks the password/)
      .waitFor();
    await row.waitFor();
    assert.equal((await d.api('GET', '/api/functions/hello')).status, 200);
    // An imported function waits to be deployed.
    await row.getByRole('link', { name: 'demo' }).click();
    const imported = page.getByTestId('function-row-hello');
    await imported.locator('[data-state=imported]').waitFor();
    await imported.getByRole('button', { name: 'Deploy' }).click();
    await imported.locator('[data-state=ready]').waitFor({ timeout: 60_000 });
    await page.goto(`${d.url}/projects`);
    // A file that is not an export says so.
    const junk = join(userDataDir, 'junk.json');
    writeFileSync(junk, '{"not": "a bundle"}');
    await page.getByTestId('import-project').locator('input[type=file]').setInputFiles(junk);
    await page.getByTestId('import-project').getByText('is not a project export').waitFor();
    noProblems();
  });

  test('a lost network and a restarting dashboard: the page says so and recovers', async () => {
    await page.goto(`${d.url}/projects/demo/functions`);
    await page.getByTestId('function-row-hello').waitFor();

    await expecting([/Failed to load resource/, /ERR_INTERNET_DISCONNECTED/], async () => {
      await ctx.setOffline(true);
      try {
        await page.getByTestId('new-function').click();
        await page.locator('input[name=function-name]').fill('offline');
        await page.getByRole('button', { name: 'Create and deploy' }).click();
        await page
          .getByTestId('create-function')
          .getByText(/Could not create the function: The browser is offline/)
          .waitFor();
        await page.getByTestId('connection-banner').waitFor();
      } finally {
        await ctx.setOffline(false);
      }
      await page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 20_000 });
    });
    await page.getByRole('button', { name: 'Cancel' }).click();

    // The dashboard restarts while the page follows a replica's log.
    await page.getByTestId('function-row-hello').getByRole('link', { name: 'hello' }).click();
    await page.getByRole('tab', { name: 'Logs' }).click();
    await page.getByTestId('log-stream-state').filter({ hasText: 'following live' }).waitFor();
    const port = new URL(d.url).port;
    await expecting(
      [/Failed to load resource/, /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/],
      async () => {
        await d.close();
        await page.getByTestId('connection-banner').waitFor({ timeout: 20_000 });
        // The last data stays on screen while the dashboard is away.
        assert.ok(
          (await page.locator('.cm-content').count()) === 1 && (await page.getByTestId('replica-log').isVisible()),
        );
        await shot('connection-lost.png');
        d = await startTestDashboard({ listenAddr: `127.0.0.1:${port}` }, dataDir);
        await page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 20_000 });
      },
    );
    await page.locator('.fn-title [data-state=ready]').waitFor({ timeout: 60_000 });
    // The log follows the replica the new dashboard started.
    await page.getByTestId('log-stream-state').filter({ hasText: 'following live' }).waitFor();
    const r = await d.api('POST', '/api/function_invocations', {
      headers: { 'x-nuclio-function-name': 'hello' },
      body: 'after-restart',
    });
    assert.equal(r.status, 200, r.text);
    await page.getByTestId('replica-log').filter({ hasText: 'after-restart' }).waitFor();
    noProblems();
  });

  test('a dashboard started with a token asks for it once per session', async () => {
    const tokenFile = join(dataDir, 'token');
    writeFileSync(tokenFile, 'e2e-secret-token\n');
    const secured = await startTestDashboard({ authTokenFile: tokenFile });
    const p = await ctx.newPage();
    watch(p);
    try {
      await expecting([failedStatus(401)], async () => {
        await p.goto(`${secured.url}/projects`);
        const dialog = p.getByTestId('token-dialog');
        await dialog.waitFor();
        await dialog.locator('input[name=token]').fill('wrong');
        await dialog.getByRole('button', { name: 'Sign in' }).click();
        await dialog.getByText('The dashboard refused this token.').waitFor();
        await shot('token.png', p);
        await dialog.locator('input[name=token]').fill('e2e-secret-token');
        await dialog.getByRole('button', { name: 'Sign in' }).click();
        await dialog.waitFor({ state: 'detached' });
      });
      await p.getByTestId('project-row-default').waitFor();
      // Kept for the session: a reload does not ask again.
      await p.reload();
      await p.getByTestId('project-row-default').waitFor();
      assert.equal(await p.getByTestId('token-dialog').count(), 0);
    } finally {
      await p.close();
      await secured.close();
    }
    noProblems();
  });

  test('a narrow screen gets one column and no sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${d.url}/projects/demo/functions`);
    await page.getByTestId('function-row-hello').locator('[data-state]').waitFor();
    await shot('narrow-functions.png');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
    await page.goto(`${d.url}/projects/demo/functions/hello`);
    await page.locator('.fn-title [data-state]').waitFor();
    await page.locator('.cm-content').waitFor();
    await shot('narrow-function.png');
    const overflow2 = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow2 <= 1, `the function page scrolls sideways by ${overflow2}px`);
    await page.setViewportSize({ width: 1440, height: 900 });
    noProblems();
  });
});
