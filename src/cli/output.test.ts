import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ApiClient, resolveUrl } from './api-client.js';
import { CliError } from './errors.js';
import { invocationUrl, summary } from './functions.js';
import { oneLineError } from './main.js';
import { age, formatLogLine, lineTime, parseFormat, render, table } from './output.js';

describe('output', () => {
  it('aligns table columns', () => {
    assert.equal(
      table(
        ['NAME', 'STATE'],
        [
          ['a', 'ready'],
          ['longer', 'error'],
        ],
      ),
      'NAME     STATE\na        ready\nlonger   error\n',
    );
  });

  it('shows ages as kubectl does', () => {
    const now = Date.parse('2024-01-10T00:00:00Z');
    assert.equal(age('2024-01-09T23:59:15Z', now), '45s');
    assert.equal(age('2024-01-09T23:00:00Z', now), '60m');
    assert.equal(age('2024-01-09T12:00:00Z', now), '12h');
    assert.equal(age('2024-01-01T00:00:00Z', now), '9d');
    assert.equal(age(undefined, now), '-');
  });

  it('renders JSON and YAML, and refuses other formats', () => {
    assert.equal(render({ a: 1 }, 'json'), '{\n  "a": 1\n}\n');
    assert.equal(render({ a: [1] }, 'yaml'), 'a:\n  - 1\n');
    assert.throws(() => parseFormat('xml'), CliError);
  });

  it('formats log lines readably, with the fields of info_with', () => {
    const line =
      '{"time":"2024-01-01T00:00:00.000Z","level":"info","name":"processor","message":"greeting",' +
      '"with":{"caller":"Ada Lovelace"}}';
    assert.equal(
      formatLogLine(line, 'hello-abc12'),
      '2024-01-01T00:00:00.000Z info  hello-abc12 greeting caller="Ada Lovelace"',
    );
    assert.equal(formatLogLine('not json', 'r'), 'r not json');
    assert.equal(lineTime(line), Date.parse('2024-01-01T00:00:00.000Z'));
  });

  it('makes commander errors one line', () => {
    assert.equal(
      oneLineError("error: unknown command 'gte'\n(Did you mean get?)\n"),
      "protium: unknown command 'gte' (Did you mean get?)\n",
    );
  });

  it('summarises a traceback by its last line', () => {
    assert.equal(
      summary(
        'Failed to deploy the function: Traceback (most recent call last):\n  File "x"\nModuleNotFoundError: No ' +
          "module named 'g'\n",
      ),
      "Failed to deploy the function: ModuleNotFoundError: No module named 'g'",
    );
    assert.equal(summary('Build command failed (exit code 3): make\nout'), 'Build command failed (exit code 3): make');
  });
});

describe('dashboard URL and invocation URL', () => {
  it('takes --url, then PROTIUM_URL, then NUCLIO_DASHBOARD_URL, then the default', () => {
    assert.equal(resolveUrl('http://h:1/', {}), 'http://h:1');
    assert.equal(resolveUrl(undefined, { PROTIUM_URL: 'h:2', NUCLIO_DASHBOARD_URL: 'http://n:3' }), 'http://h:2');
    assert.equal(resolveUrl(undefined, { NUCLIO_DASHBOARD_URL: 'http://n:3' }), 'http://n:3');
    assert.equal(resolveUrl(undefined, {}), 'http://127.0.0.1:8070');
    assert.throws(() => resolveUrl('ftp://x', {}), /must be an http/);
  });

  it("gives the internal URL for a local dashboard and the dashboard's host for a remote one", () => {
    const fn = {
      metadata: {},
      spec: {},
      status: {
        httpPort: 31000,
        internalInvocationUrls: ['127.0.0.1:31000'],
        externalInvocationUrls: ['127.0.0.1:31000'],
      },
    };
    assert.equal(invocationUrl(fn, 'http://127.0.0.1:8070'), 'http://127.0.0.1:31000');
    assert.equal(invocationUrl(fn, 'http://10.1.2.3:8070'), 'http://10.1.2.3:31000');
    assert.equal(
      invocationUrl({ ...fn, status: { ...fn.status, externalInvocationUrls: ['10.9.9.9:31000'] } }, 'http://box:8070'),
      'http://10.9.9.9:31000',
    );
    assert.equal(invocationUrl({ metadata: {}, spec: {}, status: {} }, 'http://127.0.0.1:8070'), undefined);
  });

  it('says which URL did not answer and how to start a dashboard', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const client = new ApiClient({ url: `http://127.0.0.1:${port}` });
    await assert.rejects(
      client.json('GET', '/api/functions'),
      (e: unknown) =>
        e instanceof CliError &&
        e.message ===
          `no dashboard answered at http://127.0.0.1:${port} (connection refused): start one with "protium dashboard" (or "npm start"), or point --url or PROTIUM_URL at a running one`,
    );
  });
});
