/**
 * The CLI's errors as a new user meets them: a function in error, a --url that is a web page or ends in
 * /api — each one line on stderr and a non-zero exit, never a JSON body on stdout — and a function's own
 * error answer, which stays the function's answer on stdout. On a terminal the answer ends with a newline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { deploy, functionBody, startTestDashboard, waitFor, type TestDashboard } from '../helpers/start-dashboard.js';

const BIN = fileURLToPath(new URL('../../../bin/protium.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(url: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PROTIUM_URL: url };
  delete env.PROTIUM_TOKEN;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : -1
        : 0;
      // err is an Error whenever it is set; instanceof tells the types so (ExecFileException, an Omit<>, does not).
      if (err instanceof Error && code === -1) return reject(err);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exactly one `protium: …` line on stderr matching `re`, nothing on stdout, exit 1. */
function oneErrorLine(r: Run, re: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^protium: /);
  assert.match(lines[0], re);
}

describe('protium CLI errors', () => {
  let d: TestDashboard;
  let web: http.Server;
  let webUrl = '';
  before(async () => {
    d = await startTestDashboard();
    // Something that is not a dashboard: a web server answering pages for every path.
    web = http.createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!DOCTYPE html><html><body>Welcome</body></html>'),
    );
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const source =
      'exports.handler = (context, event) => {\n' +
      '  if (event.path === "/own-error") return context.callback(new context.Response({ error: "the ' +
      'function\'s own" }, {}, "application/json", 503));\n' +
      '  context.callback(event.body.toString());\n};\n';
    await deploy(d, functionBody('cli-echo-js', 'nodejs', source));
    await d.api('POST', '/api/functions', {
      body: functionBody('cli-broken', 'python', 'def handler(context, event)\n    return 1\n'),
    });
    await waitFor(d, 'cli-broken', (f) => f.status?.state === 'error');
  });
  after(async () => {
    await d.close();
    await new Promise((r) => web.close(r));
  });

  it("invoking a function in error: the dashboard's refusal is one line on stderr, not JSON on stdout", async () => {
    const r = await cli(d.url, ['invoke', 'cli-broken']);
    oneErrorLine(
      r,
      /^protium: Function cli-broken is not ready to be invoked \(state error: Failed to deploy the function: SyntaxError: .*main\.py, line 1\)\)$/,
    );
    oneErrorLine(await cli(d.url, ['invoke', 'no-such-function']), /Function not found: no-such-function @ nuclio/);
  });

  it("a function's own error answer stays its answer: the body on stdout, exit 1 for a 5xx", async () => {
    const r = await cli(d.url, ['invoke', 'cli-echo-js', '--path', '/own-error']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { error: "the function's own" });
    assert.equal(r.stderr, '');
  });

  it('a --url that answers web pages is "not a Protium/Nuclio dashboard", for any verb', async () => {
    for (const args of [
      ['get', 'functions'],
      ['invoke', 'cli-echo-js', '--body', 'x'],
      ['get', 'projects'],
      ['logs', 'cli-echo-js'],
    ]) {
      oneErrorLine(
        await cli(webUrl, args),
        new RegExp(
          `^protium: ${webUrl.replace(/[.:/]/g, '\\$&')} answered with an HTML page: this is not a ` +
            `Protium/Nuclio dashboard`,
        ),
      );
    }
  });

  it('a --url ending in /api says to drop it', async () => {
    oneErrorLine(
      await cli(`${d.url}/api`, ['get', 'functions']),
      new RegExp(`ends in /api: give the dashboard's address without it \\(${d.url.replace(/[.:/]/g, '\\$&')}\\)$`),
    );
    oneErrorLine(await cli(`${d.url}/api/`, ['invoke', 'cli-echo-js']), /ends in \/api/);
  });

  it("a deploy that fails to start says the user's error: nodejs's SyntaxError and python's exception, with file and line", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-cli-errors-'));
    try {
      writeFileSync(
        join(dir, 'broken.js'),
        'exports.handler = function (context, event) {\n  context.callback("x");\n});\n',
      );
      writeFileSync(
        join(dir, 'initfail.py'),
        'def init_context(context):\n    raise ValueError("no database configured")\n\ndef handler(context, ' +
          'event):\n    return "x"\n',
      );
      const js = await cli(d.url, ['deploy', join(dir, 'broken.js')]);
      assert.equal(js.code, 1);
      assert.match(
        js.stderr.trim().split('\n').pop()!,
        /^protium: function broken failed to deploy: Failed to deploy the function: Failed to load broken\.js: SyntaxError: Unexpected token '\)' \(broken\.js:3\)$/,
      );
      const py = await cli(d.url, ['deploy', join(dir, 'initfail.py')]);
      assert.equal(py.code, 1);
      assert.match(
        py.stderr.trim().split('\n').pop()!,
        /^protium: function initfail failed to deploy: Failed to deploy the function: ValueError: no database configured \(initfail\.py, line 2, in init_context\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a terminal the answer ends with a newline; piped, it is the body exactly', async () => {
    const piped = await cli(d.url, ['invoke', 'cli-echo-js', '--body', 'no newline']);
    assert.equal(piped.stdout, 'no newline');
    // `script` gives the CLI a pseudo-terminal; the terminal turns "\n" into "\r\n".
    const tty = await new Promise<string>((resolve, reject) => {
      const command = `${process.execPath} ${BIN} invoke cli-echo-js --body 'no newline'`;
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        { env: { ...process.env, PROTIUM_URL: d.url }, timeout: 60_000 },
        (err, stdout) => (err instanceof Error ? reject(err) : resolve(stdout)),
      );
    });
    assert.equal(tty, 'no newline\r\n');
  });
});
