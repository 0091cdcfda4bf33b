/**
 * Places a Nuclio user reaches within minutes (issue 13, issue 12), each against a real dashboard: both
 * template shapes, deploy records in status.logs during and after a build, the handler forms Nuclio's
 * runtimes accept, a shell command that opens /dev/stdin, runtime versions honoured or reported, unknown
 * trigger kinds refused, and a failed deploy that names the user's error line, not the wrapper's frames.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  functionBody,
  request,
  startTestDashboard,
  waitFor,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionConfig, FunctionRecord, LogRecord } from '../../src/resources/types.js';

/** GET /api/function_templates: each template in the seed's shape and in Nuclio's rendered one. */
type Template = FunctionConfig & { rendered: FunctionConfig };

const at = (fn: FunctionRecord, path = '/') => `http://127.0.0.1:${fn.status.httpPort}${path}`;
const settled = (f: FunctionRecord) => f.status?.state === 'ready' || f.status?.state === 'error';
const logsOf = (fn: FunctionRecord): LogRecord[] => fn.status.logs ?? [];
const messages = (fn: FunctionRecord): string[] => logsOf(fn).map((r) => r.message);

describe('Nuclio compatibility', () => {
  let d: TestDashboard;
  before(async () => {
    d = await startTestDashboard();
  });
  after(async () => {
    await d.close();
  });

  it("templates come in both shapes: the seed's {metadata, spec} and Nuclio's rendered {metadata, spec}", async () => {
    const list = (await d.api<Record<string, Template>>('GET', '/api/function_templates')).json;
    const names = Object.keys(list);
    assert.ok(names.length > 0);
    for (const n of names) {
      const t = list[n];
      assert.equal(t.metadata.name, n);
      assert.equal(t.rendered.metadata.name, n, `${n}: rendered.metadata`);
      assert.deepEqual(t.rendered.spec, t.spec, `${n}: rendered.spec is the same spec`);
      assert.ok(Buffer.from(t.rendered.spec.build.functionSourceCode ?? '', 'base64').length > 0);
    }
    const one = (
      await d.api<Record<string, Template>>('GET', '/api/function_templates', {
        headers: { 'x-nuclio-filter-contains': names[0] },
      })
    ).json;
    assert.ok(one[names[0]].rendered.spec.runtime);
  });

  it('status.logs holds the build records while the build runs, and build + start-up records after it', async () => {
    const source = 'print("module loaded, at start-up")\n\ndef handler(context, event):\n    return "ok"\n';
    const body = functionBody('logs-py', 'python', source);
    body.spec.build.commands = ['echo first-step', 'sleep 4', 'echo second-step'];
    assert.equal((await d.api('POST', '/api/functions', { body })).status, 202);
    // During the build: the state is still building and status.logs already has the first step.
    const during = await waitFor(d, 'logs-py', (f) => messages(f).includes('first-step') || settled(f), 15_000);
    assert.equal(during.status.state, 'building', 'status.logs filled before the build ended');
    assert.ok(!messages(during).includes('second-step'));
    const fn = await waitFor(d, 'logs-py', settled);
    assert.equal(fn.status.state, 'ready', fn.status.message);
    const m = messages(fn);
    assert.match(m[0], /^Building function logs-py \(python:3\.9, handler main:handler\)$/);
    for (const want of ['first-step', 'second-step', 'module loaded, at start-up', 'Function deploy complete']) {
      assert.ok(m.includes(want), `status.logs lacks ${JSON.stringify(want)}: ${JSON.stringify(m)}`);
    }
    assert.ok(
      m.indexOf('second-step') < m.indexOf('module loaded, at start-up'),
      'build records come before start-up records',
    );
    const done = logsOf(fn).find((r) => r.message === 'Function deploy complete');
    assert.equal(done?.httpPort, fn.status.httpPort);
    for (const r of logsOf(fn)) {
      assert.equal(typeof r.time, 'number');
      assert.ok(['debug', 'info', 'warn', 'error'].includes(r.level), JSON.stringify(r));
    }
  });

  it('status.logs stays bounded for a chatty build; the whole log stays at the replica-logs endpoint', async () => {
    const body = functionBody('chatty', 'shell', 'echo ok\n');
    body.spec.build.commands = ['seq 1 3000'];
    const fn = await deploy(d, body);
    const m = messages(fn);
    assert.ok(logsOf(fn).length <= 100, `status.logs has ${logsOf(fn).length} records`);
    assert.ok(
      m.some((x) =>
        /^… \d+ log records left out here \(the full log: GET \/api\/functions\/chatty\/logs\/nuclio-nuclio-chatty-build\)$/.test(
          x,
        ),
      ),
      JSON.stringify(m.slice(0, 15)),
    );
    assert.ok(m.includes('3000'));
    const full = await d.api('GET', '/api/functions/chatty/logs/nuclio-nuclio-chatty-build?follow=false');
    assert.equal(full.status, 200);
    assert.ok(
      full.text.split('\n').some((l) => l.includes('"message":"1"')),
      'the build log has the first line',
    );
    assert.ok(full.text.includes('"message":"1500"'));
  });

  it('a failed build keeps its records in status.logs, the error last', async () => {
    const body = functionBody('fails-build', 'python', 'def handler(context, event):\n    return "x"\n');
    body.spec.build.commands = ['echo about to fail', 'exit 7'];
    await d.api('POST', '/api/functions', { body });
    const fn = await waitFor(d, 'fails-build', settled);
    assert.equal(fn.status.state, 'error');
    const m = messages(fn);
    assert.ok(m.includes('about to fail'), JSON.stringify(m));
    assert.match(m.at(-1)!, /^Build command failed \(exit code 7\): exit 7/);
  });

  it('a nodejs handler without a file part ("handler", as the seed\'s "dates" template) loads handler.js', async () => {
    const source =
      'exports.handler = function (context, event) { context.callback("bare " + event.body.toString()); };\n';
    const fn = await deploy(d, functionBody('bare-node', 'nodejs', source, { handler: 'handler' }));
    const res = await request(at(fn), 'POST', { body: 'form' });
    assert.deepEqual([res.status, res.text], [200, 'bare form']);
    const other = await deploy(
      d,
      functionBody('bare-node-2', 'nodejs', 'exports.main = (context) => context.callback("main export");\n', {
        handler: 'main',
      }),
    );
    assert.equal((await request(at(other), 'GET')).text, 'main export');
  });

  it('a shell command that opens /dev/stdin reads the body (a pipe, as Nuclio gives it)', async () => {
    const script = await deploy(
      d,
      functionBody('rev-script', 'shell', '#!/bin/sh\nrev /dev/stdin\n', { handler: 'reverser.sh' }),
    );
    const res = await request(at(script), 'POST', { body: 'stressed\n' });
    assert.deepEqual([res.status, res.text], [200, 'desserts\n']);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    const upper = await deploy(d, functionBody('upper-sh', 'shell', '#!/bin/sh\ntr a-z A-Z < /dev/stdin\n'));
    assert.equal((await request(at(upper), 'POST', { body: 'loud' })).text, 'LOUD');
    assert.equal((await request(at(script), 'POST', { body: '' })).status, 200, 'an empty body is an empty pipe');
  });

  it('an unknown trigger kind is refused with 400 naming the field and the kinds; nothing is stored', async () => {
    const body = functionBody('typo-trigger', 'python', 'def handler(context, event):\n    return "x"\n', {
      spec: { triggers: { web: { kind: 'htp', attributes: { port: 0 } } } },
    });
    const res = await d.api<ErrorBody>('POST', '/api/functions', { body });
    assert.equal(res.status, 400);
    assert.equal(res.json.field, 'spec.triggers.web.kind');
    assert.match(
      res.json.error,
      /^spec\.triggers\.web\.kind "htp" is not a trigger kind: use one of http, cron, v3ioStream/,
    );
    assert.equal((await d.api('GET', '/api/functions/typo-trigger')).status, 404);
  });

  it('python:3.99 (not installed) runs on the default python3 and says so in status.message and the build log', async () => {
    const source = 'import sys\n\ndef handler(context, event):\n    return "%d.%d" % sys.version_info[:2]\n';
    const fn = await deploy(d, functionBody('py-future', 'python:3.99', source));
    assert.match(
      fn.status.message ?? '',
      /^python:3\.99 asks for Python 3\.99, which is not installed here .*: the function runs on the default python3, Python 3\.\d+ \(\//,
    );
    assert.ok(
      logsOf(fn).some((r) => r.level === 'warn' && r.message === fn.status.message),
      'the note is in status.logs',
    );
    const build = await d.api('GET', '/api/functions/py-future/logs/nuclio-nuclio-py-future-build?follow=false');
    assert.match(build.text, /asks for Python 3\.99/);
    const version = (await request(at(fn), 'GET')).text;
    assert.match(version, /^3\.\d+$/);
    assert.match(fn.status.message ?? '', new RegExp(`Python ${version.replace('.', '\\.')} `));
  });

  it("a failed deploy names the user's error first: python init_context and syntax errors, nodejs syntax errors", async () => {
    const cases: [string, string, string, RegExp, RegExp][] = [
      [
        'py-init-fails',
        'python',
        'def init_context(context):\n    setup = {}\n    return setup["db"]\n\ndef handler(context, event):\n   ' +
          ' return "x"\n',
        /^Failed to deploy the function: KeyError: 'db' \(main\.py, line 3, in init_context\)$/,
        /File "main\.py", line 3, in init_context\n {4}return setup\["db"\]/,
      ],
      [
        'py-syntax',
        'python:3.9',
        'def handler(context, event)\n    return "x"\n',
        /^Failed to deploy the function: SyntaxError: .* \(main\.py, line 1\)$/,
        /def handler\(context, event\)/,
      ],
      [
        'node-syntax',
        'nodejs',
        'exports.handler = function (context, event) {\n  context.callback("x");\n});\n',
        /^Failed to deploy the function: Failed to load handler\.js: SyntaxError: Unexpected token '\)' \(handler\.js:3\)$/,
        /\n\}\);\n/,
      ],
    ];
    await Promise.all(
      cases.map(([name, runtime, source]) =>
        d.api('POST', '/api/functions', { body: functionBody(name, runtime, source) }),
      ),
    );
    for (const [name, , , first, detail] of cases) {
      const fn = await waitFor(d, name, settled);
      assert.equal(fn.status.state, 'error', name);
      const message = fn.status.message ?? '';
      assert.match(message.split('\n')[0], first, message);
      assert.match(message, detail);
      assert.doesNotMatch(
        message,
        /wrapper\.py|Traceback \(most recent call last\):\n|node:internal|processor\/main\.js/,
        `${name}: no wrapper frames`,
      );
      // The 503 of an invocation quotes the first line: the user's error.
      const inv = await d.api<ErrorBody>('POST', '/api/function_invocations', {
        headers: { 'x-nuclio-function-name': name },
        body: 'x',
      });
      assert.equal(inv.status, 503);
      assert.ok(
        inv.json.error.includes(message.split('\n')[0].replace('Failed to deploy the function: ', '')),
        inv.json.error,
      );
    }
  });
});

describe('Nuclio compatibility: a configured interpreter for a runtime version', () => {
  let d: TestDashboard;
  let venv: string;
  before(async () => {
    venv = mkdtempSync(join(tmpdir(), 'protium-venv-'));
    execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
    d = await startTestDashboard({ runtimeInterpreter: [`python:3.9=${join(venv, 'bin', 'python')}`] });
  });
  after(async () => {
    await d?.close();
    rmSync(venv, { recursive: true, force: true });
  });

  it('python:3.9 (and python, which means python:3.9) runs on the interpreter --runtime-interpreter maps it to; python:3.11 does not', async () => {
    const source = 'import sys\n\ndef handler(context, event):\n    return sys.prefix\n';
    const [mapped, alias, other] = await Promise.all([
      deploy(d, functionBody('py-mapped', 'python:3.9', source)),
      deploy(d, functionBody('py-alias', 'python', source)),
      deploy(d, functionBody('py-other', 'python:3.11', source)),
    ]);
    assert.equal((await request(at(mapped), 'GET')).text, venv);
    assert.equal((await request(at(alias), 'GET')).text, venv);
    assert.notEqual((await request(at(other), 'GET')).text, venv);
  });
});
