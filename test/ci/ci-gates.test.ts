/**
 * The gates around `npm test`: `.ci/run` and `scripts/run-tests.mjs` must fail CI when a gate did not pass.
 * Each case runs the real scripts, copied into a scratch checkout whose `dist/` holds a tiny test file; the
 * tools CI would spend minutes or the network on stand in as small scripts on PATH (`npm ci`, `npm test`
 * runs the real test runner) and as a `dist/bench/run.js` exiting as the real soak does on a lost request
 * (that exit code is shown on the real soak in bench/soak-tally.test.ts and bench/README.md).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = new URL('../../../', import.meta.url).pathname;

const PASSING = "import { it } from 'node:test';\nit('passes', () => {});\n";
const SKIPPING = [
  "import { describe, it } from 'node:test';",
  "it('passes', () => {});",
  "it('needs a tool', (t) => { t.skip('the tool is not installed'); });",
  "describe('browser suite', { skip: 'chromium is missing' }, () => { it('inner', () => {}); });",
  '',
].join('\n');

const scratch: string[] = [];
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A scratch checkout: the CI scripts and the test runner copied, `files` written (path → content). */
function checkout(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'protium-ci-'));
  scratch.push(dir);
  for (const rel of ['.ci/run', '.ci/lib.sh', 'scripts/run-tests.mjs', 'scripts/skip-reporter.mjs']) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    copyFileSync(join(ROOT, rel), join(dir, rel));
  }
  chmodSync(join(dir, '.ci/run'), 0o755);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content, { mode: rel.startsWith('bin/') ? 0o755 : 0o644 });
  }
  return dir;
}

/** Runs a command with a clean CI-related environment plus `env`. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  // NODE_TEST_CONTEXT would make a nested node --test report to this run instead of its own output.
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_TEST_CONTEXT: undefined,
    CI: undefined,
    PROTIUM_FAIL_ON_SKIP: undefined,
    PROTIUM_SKIP_CONFORMANCE: undefined,
    CONFORMANCE_DIR: undefined,
    ...opts.env,
  };
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe('scripts/run-tests.mjs and skips', () => {
  it('a skipped test fails the run with PROTIUM_FAIL_ON_SKIP=1, naming each skip and its reason', () => {
    const dir = checkout({ 'dist/a.test.js': SKIPPING });
    const r = run(process.execPath, ['scripts/run-tests.mjs'], { cwd: dir, env: { PROTIUM_FAIL_ON_SKIP: '1' } });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /2 test\(s\) skipped, and skips fail this run/);
    assert.match(r.out, /a\.test\.js: needs a tool — the tool is not installed/);
    assert.match(r.out, /a\.test\.js: browser suite — chromium is missing/);
  });

  it('CI set fails on a skip too; PROTIUM_FAIL_ON_SKIP=0 overrides it', () => {
    const dir = checkout({ 'dist/a.test.js': SKIPPING });
    assert.equal(run(process.execPath, ['scripts/run-tests.mjs'], { cwd: dir, env: { CI: 'true' } }).status, 1);
    assert.equal(
      run(process.execPath, ['scripts/run-tests.mjs'], { cwd: dir, env: { CI: 'true', PROTIUM_FAIL_ON_SKIP: '0' } })
        .status,
      0,
    );
  });

  it('locally a skip passes, and the summary says what was skipped and why', () => {
    const dir = checkout({ 'dist/a.test.js': SKIPPING });
    const r = run(process.execPath, ['scripts/run-tests.mjs'], { cwd: dir });
    assert.equal(r.status, 0, r.out);
    assert.match(
      r.out,
      /2 test\(s\) skipped:\n {2}- a\.test\.js: needs a tool — the tool is not installed\n {2}- a\.test\.js: browser suite — chromium is missing/,
    );
  });

  it('with nothing skipped the flag changes nothing, and a failing test still fails', () => {
    const dir = checkout({
      'dist/a.test.js': PASSING,
      'dist/b.test.js': "import { it } from 'node:test';\nit('fails', () => { throw new Error('planted'); });\n",
    });
    const ok = run(process.execPath, ['scripts/run-tests.mjs', 'a.test'], {
      cwd: dir,
      env: { PROTIUM_FAIL_ON_SKIP: '1' },
    });
    assert.equal(ok.status, 0, ok.out);
    assert.doesNotMatch(ok.out, /skipped:/);
    assert.equal(
      run(process.execPath, ['scripts/run-tests.mjs', 'b.test'], { cwd: dir, env: { PROTIUM_FAIL_ON_SKIP: '1' } })
        .status,
      1,
    );
  });
});

describe('.ci/lib.sh checks', () => {
  const lib = join(ROOT, '.ci/lib.sh');
  const sh = (script: string, env: Record<string, string> = {}) =>
    run('bash', ['-c', `. ${JSON.stringify(lib)}; ${script}`], { cwd: tmpdir(), env });

  it('find_conformance(): a CONFORMANCE_DIR without the suite fails; one with run.mjs is printed', () => {
    const empty = mkdtempSync(join(tmpdir(), 'protium-noconf-'));
    scratch.push(empty);
    const r = sh('find_conformance', { CONFORMANCE_DIR: empty });
    assert.equal(r.status, 1);
    assert.match(r.out, /no conformance suite in CONFORMANCE_DIR=.*protium-noconf-/);
    writeFileSync(join(empty, 'run.mjs'), '');
    const found = sh('find_conformance', { CONFORMANCE_DIR: empty });
    assert.equal(found.status, 0);
    assert.equal(found.out.trim(), empty);
  });

  it('find_conformance(): PROTIUM_SKIP_CONFORMANCE=1 opts out locally, and CI refuses it', () => {
    const local = sh('find_conformance', { PROTIUM_SKIP_CONFORMANCE: '1', CONFORMANCE_DIR: '/nonexistent' });
    assert.equal(local.status, 0);
    assert.match(local.out, /skipped \(PROTIUM_SKIP_CONFORMANCE=1\)/);
    const ci = sh('find_conformance', { PROTIUM_SKIP_CONFORMANCE: '1', CI: 'true' });
    assert.equal(ci.status, 1);
    assert.match(ci.out, /CI .* must run the conformance suite/);
  });

  it("check_no_ebadengine(): fails on npm's EBADENGINE warning, passes a clean log", () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-npmlog-'));
    scratch.push(dir);
    writeFileSync(
      join(dir, 'bad.log'),
      "npm warn EBADENGINE Unsupported engine {\nnpm warn EBADENGINE   package: 'cookie@2.0.2',\nnpm warn " +
        "EBADENGINE   required: { node: '>=22' },\nnpm warn EBADENGINE   current: { node: 'v20.20.2', npm: '10.8.2' " +
        '}\nnpm warn EBADENGINE }\nadded 1 package\n',
    );
    writeFileSync(join(dir, 'good.log'), 'added 1 package in 1s\n');
    const bad = sh(`check_no_ebadengine ${join(dir, 'bad.log')}`);
    assert.equal(bad.status, 1);
    assert.match(bad.out, /cookie@2\.0\.2/);
    assert.equal(sh(`check_no_ebadengine ${join(dir, 'good.log')}`).status, 0);
  });

  it('check_conformance_summary(): passes only "N passed, 0 failed" with N > 0 and nothing skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-conflog-'));
    scratch.push(dir);
    const cases: [string, number][] = [
      ['ok   misc › versions\n120 passed, 0 failed\n', 0],
      ['FAIL misc › versions: 500\n119 passed, 1 failed\n', 1],
      ['skip api-gateways › create: needs --gateway-url\n110 passed, 0 failed, 10 skipped\n', 1],
      ['0 passed, 0 failed\n', 1],
      ['# the server did not start\n', 1],
    ];
    for (const [i, [text, want]] of cases.entries()) {
      writeFileSync(join(dir, `${i}.log`), text);
      assert.equal(sh(`check_conformance_summary ${join(dir, `${i}.log`)}`).status, want, text);
    }
  });
});

describe('.ci/run', () => {
  /**
   * A checkout where `.ci/run` runs from start to end in seconds: npm is a stand-in (ci prints
   * `npmCiOutput`; `run lint` exits `lintExit`; test runs the real runner over dist/; --version and start are
   * no-ops), the soak is a script exiting `soakExit`, the conformance suite prints `summary`.
   */
  function ciCheckout(opts: {
    tests: string;
    npmCiOutput?: string;
    lintExit?: number;
    soakExit?: number;
    summary?: string;
    containerTests?: string;
  }) {
    const conf = opts.summary === undefined ? undefined : mkdtempSync(join(tmpdir(), 'protium-conf-'));
    if (conf) {
      scratch.push(conf);
      writeFileSync(
        join(conf, 'run.mjs'),
        `console.log(${JSON.stringify(opts.summary)}); process.exit(/ 0 ` +
          `failed/.test(${JSON.stringify(opts.summary)}) ? 0 : 1);\n`,
      );
    }
    const dir = checkout({
      'dist/a.test.js': opts.tests,
      // The broker step names its suites: stand-ins that pass, so the step runs the real runner.
      ...Object.fromEntries(
        ['nats', 'mqtt', 'rabbitmq', 'kafka-unreachable'].map((b) => [`dist/test/brokers/${b}.test.js`, PASSING]),
      ),
      'dist/bench/run.js': `process.exit(${opts.soakExit ?? 0});\n`,
      // The container step: a host script printing its engine's address last, the suites, the cleanup.
      'scripts/container-host.sh': `#!/usr/bin/env bash\necho '== podman already set up' >&2\necho unix:///run/stand-in.sock\n`,
      'dist/test/containers/engine.test.js': opts.containerTests ?? PASSING,
      'scripts/container-cleanup.mjs': 'console.log("container-cleanup: stand-in");\n',
      'bin/npm': [
        '#!/usr/bin/env bash',
        'case "$1" in',
        `  ci) printf '%s\\n' ${JSON.stringify(opts.npmCiOutput ?? 'added 1 package')} >&2 ;;`,
        `  run) if [ "$2" = lint ]; then exit ${opts.lintExit ?? 0}; fi ;;`,
        '  test) exec node scripts/run-tests.mjs ;;',
        '  --version) echo 10.0.0 ;;',
        'esac',
        '',
      ].join('\n'),
    });
    const env: Record<string, string> = {
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      ...(conf ? { CONFORMANCE_DIR: conf } : { CONFORMANCE_DIR: join(dir, 'no-such-suite') }),
    };
    return run('bash', [join(dir, '.ci/run')], { cwd: dir, env });
  }
  const green = { tests: PASSING, summary: '120 passed, 0 failed' };

  it('passes when every gate passes (the stand-ins are honest)', () => {
    const r = ciCheckout(green);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /== conformance/);
  });

  it('fails when the conformance suite is missing, before it installs or runs anything', () => {
    const r = ciCheckout({ tests: PASSING });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /no conformance suite in CONFORMANCE_DIR/);
    assert.doesNotMatch(r.out, /== npm test/);
  });

  it('fails when the lint fails, before the tests run', () => {
    const r = ciCheckout({ ...green, lintExit: 1 });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /== npm run lint/);
    assert.doesNotMatch(r.out, /== npm test/);
  });

  it('fails when a test is skipped', () => {
    const r = ciCheckout({ ...green, tests: SKIPPING });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /skips fail this run/);
    assert.doesNotMatch(r.out, /== soak/);
  });

  it('runs the container tests after the container host, and a skipped container test fails it', () => {
    const ok = ciCheckout(green);
    assert.match(ok.out, /== container host \(Podman\) and the container tests[\s\S]*== podman already set up/);
    assert.match(ok.out, /== conformance with --platform docker/);
    const r = ciCheckout({ ...green, containerTests: SKIPPING });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /skips fail this run/);
    assert.doesNotMatch(r.out, /== soak/);
  });

  it('fails when the soak fails (lost requests exit 1)', () => {
    const r = ciCheckout({ ...green, soakExit: 1 });
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.out, /== conformance/);
  });

  it('fails when npm ci prints EBADENGINE', () => {
    const r = ciCheckout({
      ...green,
      npmCiOutput: "npm warn EBADENGINE Unsupported engine {\nnpm warn EBADENGINE   package: 'cookie@2.0.2',",
    });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /npm ci printed EBADENGINE/);
  });

  it('fails when a conformance check fails or is skipped', () => {
    assert.notEqual(ciCheckout({ ...green, summary: '119 passed, 1 failed' }).status, 0);
    assert.notEqual(ciCheckout({ ...green, summary: '110 passed, 0 failed, 10 skipped' }).status, 0);
  });
});
