/**
 * The `protium` command line, end to end: the built CLI (bin/protium.js) runs as a subprocess against a
 * real dashboard, and does what a user would — deploy a folder with function.yaml, get, invoke, logs,
 * update, scale, export → delete → import → invoke again — and meets bad input with one clear line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import type { FunctionRecord, Project } from '../../src/resources/types.js';

const BIN = fileURLToPath(new URL('../../../bin/protium.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/cli/', import.meta.url));
const HELLO = join(FIXTURES, 'hello');
const ECHO = join(FIXTURES, 'echo.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; never throws on a non-zero exit. */
function cli(
  url: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, PROTIUM_URL: url, ...(opts.env ?? {}) };
  if (!opts.env?.PROTIUM_TOKEN) delete env.PROTIUM_TOKEN;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        if (err && code === -1) return reject(new Error(`protium ${args.join(' ')}: ${err.message}\n${stderr}`));
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A request on a fresh connection (no keep-alive reuse), straight to a function's port. */
function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, timeout: 15_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Exactly one line on stderr, and no stack trace. */
function oneLine(r: Run, re: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^protium: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('protium CLI', () => {
  let d: TestDashboard;
  let tmp: string;
  let helloUrl = '';
  const run = (...args: string[]) => cli(d.url, args);

  before(async () => {
    d = await startTestDashboard();
    tmp = mkdtempSync(join(tmpdir(), 'protium-cli-test-'));
  });
  after(async () => {
    await d.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('deploys a folder with function.yaml: plain progress on stderr, the URL on stdout', async () => {
    const r = await run('deploy', HELLO);
    assert.equal(r.code, 0, r.stderr);
    const m = /^Function cli-hello is ready \([\d.]+ s\): (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    helloUrl = m[1]!;
    assert.match(r.stderr, /^Deploying function cli-hello \(2 files, \d+ B packed\)/);
    assert.match(r.stderr, /\ncli-hello: building\n/);
    assert.match(r.stderr, /\[build\] (Built|Reusing) the artifact/);
    assert.ok(!r.stderr.includes('\x1b['), 'no spinner when piped: no escape sequence');
    const res = await post(helloUrl, 'Ada');
    assert.deepEqual(res, { status: 200, text: 'Hello, Ada!' });
  });

  it('gets functions, projects and templates as tables, JSON and YAML', async () => {
    const table = await run('get', 'functions');
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trim().split('\n');
    assert.deepEqual(header.split(/\s{2,}/), ['NAME', 'PROJECT', 'STATE', 'RUNTIME', 'REPLICAS', 'URL', 'AGE']);
    const row = rows.find((l) => l.startsWith('cli-hello '))!.split(/\s{2,}/);
    assert.deepEqual(row.slice(0, 6), ['cli-hello', 'default', 'ready', 'python:3.9', '1', helloUrl]);

    const json = await run('get', 'function', 'cli-hello', '-o', 'json');
    const fn = JSON.parse(json.stdout) as FunctionRecord;
    assert.equal(fn.status.state, 'ready');
    assert.deepEqual(fn.spec.env, [{ name: 'GREETING', value: 'Hello' }]);
    assert.equal(fn.spec.build.codeEntryType, 'archive');
    const yaml = await run('get', 'fn', 'cli-hello', '-o', 'yaml');
    assert.match(yaml.stdout, /^metadata:\n {2}name: cli-hello\n/);

    const projects = await run('get', 'projects');
    assert.match(projects.stdout, /^NAME\s+FUNCTIONS\s+AGE\s+DESCRIPTION\ndefault\s+1\s/);
    const templates = await run('get', 'templates');
    assert.match(templates.stdout, /\nhelloworld:python\s+python\s+/);
    const missing = await run('get', 'function', 'nope');
    assert.equal(missing.code, 1);
    oneLine(missing, /function "nope" not found/);
  });

  it('invokes through the dashboard: body, method, path, headers, -v, --log-level; exit 1 on 5xx', async () => {
    const dep = await run('deploy', ECHO, '--name', 'cli-echo');
    assert.equal(dep.code, 0, dep.stderr);

    const hello = await run('invoke', 'cli-hello', '--body', 'Ada', '--log-level', 'info');
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(hello.stdout, 'Hello, Ada!');
    assert.match(hello.stderr, /info\s+cli-hello greeting caller=Ada/);

    const bodyFile = join(tmp, 'body.json');
    writeFileSync(bodyFile, '{"k": 1}');
    const r = await run(
      'invoke',
      'cli-echo',
      '--method',
      'put',
      '--path',
      '/a/b?q=1',
      '-H',
      'X-Extra: e',
      '--body-file',
      bodyFile,
      '-v',
    );
    assert.equal(r.code, 0, r.stderr);
    const echoed = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(echoed.method, 'PUT');
    assert.equal(echoed.path, '/a/b');
    assert.deepEqual(echoed.fields, { q: '1' });
    assert.equal(echoed.extra, 'e');
    assert.equal(echoed.contentType, 'application/json');
    assert.equal(echoed.body, '{"k": 1}');
    assert.match(r.stderr, /^< 200 OK\n/);

    const failing = await run('invoke', 'cli-echo', '-H', 'X-Status: 502');
    assert.equal(failing.code, 1);
    assert.equal((JSON.parse(failing.stdout) as { method: string }).method, 'GET');
    const clientError = await run('invoke', 'cli-echo', '-H', 'X-Status: 404');
    assert.equal(clientError.code, 0, 'a 4xx from the function is its answer');

    const unknown = await run('invoke', 'nope');
    assert.equal(unknown.code, 1);
    oneLine(unknown, /Function not found: nope/);
  });

  it('prints logs of all replicas readably, raw with -o json, the build log, and follows with -f', async () => {
    const r = await run('logs', 'cli-hello');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\S+Z info {2}cli-hello-[a-z0-9]+ greeting caller=Ada$/m);
    const raw = await run('logs', 'cli-hello', '-o', 'json', '--tail', '1');
    const lines = raw.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]) as { message: string }).message, 'greeting');
    const build = await run('logs', 'cli-hello', 'build');
    assert.match(build.stdout, /cli-hello-build (Built|Reusing) the artifact/);

    const env: NodeJS.ProcessEnv = { ...process.env, PROTIUM_URL: d.url };
    const child: ChildProcess = spawn(process.execPath, [BIN, 'logs', 'cli-hello', '-f', '--tail', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const seen = new Promise<void>((resolve) =>
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('caller=Followed')) resolve();
        }),
      );
      // Keep calling until the follower (which needs a moment to attach) has seen a line.
      let done = false;
      void seen.then(() => {
        done = true;
      });
      for (let i = 0; i < 40 && !done; i++) {
        await post(helloUrl, 'Followed');
        await Promise.race([seen, new Promise((r2) => setTimeout(r2, 250))]);
      }
      assert.ok(done, `logs -f printed: ${out}`);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('deploying again updates the function, with the flags over function.yaml', async () => {
    const r = await run('deploy', HELLO, '--env', 'GREETING=Howdy');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Updating function cli-hello/);
    assert.ok(r.stdout.endsWith(`${helloUrl}\n`), 'the port stays');
    assert.deepEqual(await post(helloUrl, 'Bob'), { status: 200, text: 'Howdy, Bob!' });
  });

  it('scales to zero and back', async () => {
    const zero = await run('scale', 'cli-echo', '--to-zero');
    assert.equal(zero.code, 0, zero.stderr);
    assert.match(
      zero.stdout,
      /^Function cli-echo is scaled to zero: the next request to http:\/\/127\.0\.0\.1:\d+ wakes it\n$/,
    );
    const got = JSON.parse((await run('get', 'function', 'cli-echo', '-o', 'json')).stdout) as FunctionRecord;
    assert.equal(got.status.state, 'scaledToZero');
    const woken = await run('invoke', 'cli-echo', '--body', 'wake');
    assert.equal(woken.code, 0, woken.stderr);
    assert.equal((JSON.parse(woken.stdout) as { body: string }).body, 'wake');
    const ready = await run('scale', 'cli-echo', '--ready');
    assert.equal(ready.code, 0, ready.stderr);
    assert.match(ready.stdout, /^Function cli-echo is ready: http/);
    const pinned = await run('scale', 'cli-hello', '--to-zero');
    assert.equal(pinned.code, 1);
    oneLine(pinned, /non-zero min replicas: redeploy it with --min-replicas 0 first/);
  });

  it('moves a project: export → delete → import → invoke again', async () => {
    const created = await run('create', 'project', 'cli-proj', '--description', 'moved around');
    assert.equal(created.code, 0, created.stderr);
    const dep = await run(
      '--project',
      'cli-proj',
      'deploy',
      HELLO,
      '--name',
      'cli-moved',
      '--env',
      'GREETING=Welcome back',
    );
    assert.equal(dep.code, 0, dep.stderr);
    const listed = await run('get', 'functions', '--project', 'cli-proj');
    assert.deepEqual(
      listed.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0]),
      ['cli-moved'],
    );

    const exported = await run('export', 'project', 'cli-proj');
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^project:\n {2}metadata:\n {4}name: cli-proj\n/);
    const file = join(tmp, 'cli-proj.yaml');
    writeFileSync(file, exported.stdout);
    const asJson = await run('export', 'project', 'cli-proj', '-o', 'json');
    assert.deepEqual(Object.keys(JSON.parse(asJson.stdout) as object), [
      'project',
      'functions',
      'functionEvents',
      'apiGateways',
    ]);

    const refused = await run('delete', 'project', 'cli-proj');
    assert.equal(refused.code, 1);
    oneLine(refused, /Project contains functions: cli-moved: delete them first, or add --cascade/);
    const deleted = await run('delete', 'project', 'cli-proj', '--cascade');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'Project cli-proj deleted\n');
    const gone = await run('get', 'function', 'cli-moved');
    assert.equal(gone.code, 1);

    const imported = await run('import', '-f', file);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stdout,
      /^Project cli-proj imported: 1 function, 0 function events, 0 API gateways\nFunction cli-moved is ready: http:\/\/127\.0\.0\.1:\d+\n$/,
    );
    const again = await run('invoke', 'cli-moved', '--body', 'Grace');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'Welcome back, Grace!');

    const twice = await run('import', '-f', file);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /failed: function cli-moved: Function name already exists/);

    const fnDeleted = await run('delete', 'function', 'cli-moved');
    assert.equal(fnDeleted.stdout, 'Function cli-moved deleted\n');
  });

  it('meets bad input with one clear line and a non-zero exit', async () => {
    const bad = join(tmp, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'main.py'), 'def handler(context, event):\n    return "x"\n');
    writeFileSync(
      join(bad, 'function.yaml'),
      'metadata:\n  name: cli-bad\nspec:\n  runtime: python\n   handler: main:handler\n',
    );
    const malformed = await run('deploy', bad);
    assert.equal(malformed.code, 1);
    oneLine(malformed, /function\.yaml line 4, column \d+: Nested mappings are not allowed/);

    writeFileSync(
      join(bad, 'function.yaml'),
      'metadata:\n  name: cli-bad\nspec:\n  runtime: python\n  handler: main:handler\n  triggers:\n    tick:\n  ' +
        '    kind: cron\n      attributes:\n        schedule: "every day"\n',
    );
    const invalid = await run('deploy', bad);
    assert.equal(invalid.code, 1);
    assert.match(
      invalid.stderr.trim().split('\n').pop()!,
      /^protium: spec\.triggers\.tick\.attributes\.schedule "every day" is not a valid cron expression.*\(.*function\.yaml line 10\)$/,
    );

    const noFile = await run('deploy', join(tmp, 'does-not-exist'));
    assert.equal(noFile.code, 1);
    oneLine(noFile, /does-not-exist: no such file or folder/);
    const noBody = await run('invoke', 'cli-echo', '--body-file', join(tmp, 'nope.json'));
    oneLine(noBody, /--body-file .*nope\.json: no such file/);
    const noImport = await run('import', '-f', join(tmp, 'nope.yaml'));
    oneLine(noImport, /nope\.yaml: no such file/);

    const verb = await run('gte', 'functions');
    assert.equal(verb.code, 2);
    oneLine(verb, /unknown command 'gte' \(Did you mean get\?\)/);
    const flag = await run('get', 'functions', '--outptu', 'json');
    assert.equal(flag.code, 2);
    oneLine(flag, /unknown option '--outptu' \(Did you mean --output\?\)/);
    const kind = await run('get', 'fucntions');
    assert.equal(kind.code, 2);
    oneLine(kind, /unknown kind "fucntions" \(did you mean functions\?\)/);

    const port = await closedPort();
    const down = await cli(`http://127.0.0.1:${port}`, ['get', 'functions']);
    assert.equal(down.code, 1);
    oneLine(
      down,
      new RegExp(
        `no dashboard answered at http://127\\.0\\.0\\.1:${port} \\(connection refused\\): start one with "protium dashboard"`,
      ),
    );

    // A build that fails: the build output, the error and a non-zero exit.
    writeFileSync(
      join(bad, 'function.yaml'),
      'metadata:\n  name: cli-bad\nspec:\n  runtime: python\n  handler: main:handler\n  build:\n    commands:\n ' +
        '     - "echo oops >&2; exit 3"\n',
    );
    const failed = await run('deploy', bad);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /\[build\] oops\n/);
    assert.match(
      failed.stderr.trim().split('\n').pop()!,
      /^protium: function cli-bad failed to deploy: Build command failed \(exit code 3\)/,
    );
    const notReady = await run('invoke', 'cli-bad');
    assert.equal(notReady.code, 1, 'a function in error answers 503');
  });

  it('sends --token / PROTIUM_TOKEN to a dashboard that requires one', async () => {
    const tokenFile = join(tmp, 'token');
    writeFileSync(tokenFile, 's3cret\n');
    const locked = await startTestDashboard({ authTokenFile: tokenFile });
    try {
      const without = await cli(locked.url, ['get', 'functions']);
      assert.equal(without.code, 1);
      oneLine(without, /needs a token: pass --token or set PROTIUM_TOKEN/);
      const withEnv = await cli(locked.url, ['get', 'projects'], { env: { PROTIUM_TOKEN: 's3cret' } });
      assert.equal(withEnv.code, 0, withEnv.stderr);
      const withFlag = await cli(locked.url, ['--token', 's3cret', 'get', 'projects']);
      assert.equal(withFlag.code, 0, withFlag.stderr);
    } finally {
      await locked.close();
    }
  });

  it('starts the dashboard with `protium dashboard`', async () => {
    const dataDir = join(tmp, 'own-dashboard');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'dashboard',
        '--listen-addr',
        '127.0.0.1:0',
        '--gateway-listen-addr',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
        '--namespace',
        'cli-ns',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no "listening" line: ${out}`)), 20_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`exited ${code}: ${out}`));
        });
      });
      const projects = JSON.parse((await cli(url, ['get', 'projects', '-o', 'json'])).stdout) as Record<
        string,
        Project
      >;
      assert.equal(projects.default.metadata.namespace, 'cli-ns');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('has --help with an example on every verb', async () => {
    const verbs = [
      ['dashboard'],
      ['deploy'],
      ['get'],
      ['invoke'],
      ['logs'],
      ['scale'],
      ['delete'],
      ['create', 'project'],
      ['export'],
      ['import'],
    ];
    const runs = await Promise.all(verbs.map((v) => run(...v, '--help')));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, `${verbs[i].join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /Example:\n {2}\$ protium /, verbs[i].join(' '));
    });
    const version = await run('--version');
    assert.equal(
      version.stdout.trim(),
      (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
        .version,
    );
  });
});
