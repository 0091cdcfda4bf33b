/**
 * The bwrap sandbox as an attacker sees it (issue 12, items 2 and 3): a deployed handler and a build
 * command each try every way out we know of — the data dir by path, the dashboard's root through
 * /proc/<pid>/root, its environ, the token and access-keys files, another function's artifact, config,
 * logs and home, the dashboard user's home folder, writes outside its own home and /tmp, a nested user
 * namespace — and report what they could do. The data dir and the secret files live outside /tmp, so the
 * sandbox's private /tmp does not hide them by accident.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { findBwrap } from '../../src/platform/local/sandbox.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import {
  artifactOf,
  b64,
  deploy,
  functionBody,
  request,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const SECRET = `victim-secret-${randomBytes(8).toString('hex')}`;

/** The probe a handler and a build command both run: every attempt and what came of it. */
const PROBE = `
const fs = require('fs');
const { spawnSync } = require('child_process');
const T = JSON.parse(process.env.PROBE_TARGETS);
const read = (p) => {
  try {
    const s = fs.readFileSync(p);
    return 'read ' + s.length + ' bytes' + (s.includes(T.needle) || s.includes(T.token) ? ' WITH SECRET' : '');
  } catch (e) { return e.code || String(e); }
};
const list = (p) => { try { return fs.readdirSync(p); } catch (e) { return e.code || String(e); } };
const write = (p) => {
  try { fs.writeFileSync(p, 'escaped'); return 'written'; } catch (e) { return e.code || String(e); }
};
const signal = (pid) => { try { process.kill(pid, 0); return 'exists'; } catch (e) { return e.code; } };
const viaRoot = {};
for (const pid of fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))) {
  const r = read('/proc/' + pid + '/root' + T.dataDir + '/store.db');
  if (!/^E/.test(r)) viaRoot[pid] = r;
}
const nested = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { timeout: 5000 });
const report = {
  read: {
    store: read(T.dataDir + '/store.db'),
    wal: read(T.dataDir + '/store.db-wal'),
    token: read(T.tokenFile),
    accessKeys: read(T.keysFile),
    userHomeFile: read(T.userHomeFile),
    dashboardRootStore: read('/proc/' + T.dashboardPid + '/root' + T.dataDir + '/store.db'),
    dashboardRootToken: read('/proc/' + T.dashboardPid + '/root' + T.tokenFile),
    dashboardEnviron: read('/proc/' + T.dashboardPid + '/environ'),
    victimArtifact: read(T.dataDir + '/artifacts/' + T.victimArtifact + '/handler.js'),
    victimConfigs: [].concat(list(T.dataDir + '/run/configs')).filter((n) => /victim/.test(n)),
    victimLogs: list(T.dataDir + '/logs/nuclio/victim'),
    victimHome: read(T.dataDir + '/run/home/nuclio/victim/secret.txt'),
    outsideTmpFile: read(T.outsideTmpFile),
  },
  anyProcRoot: viaRoot,
  artifacts: list(T.dataDir + '/artifacts'),
  signalDashboard: signal(T.dashboardPid),
  visibleProcesses: fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p)).length,
  nestedUserNamespace: nested.error ? nested.error.code : nested.status,
  write: Object.fromEntries(T.forbiddenWrites.map((p) => [p, write(p)])),
  allowedWrites: Object.fromEntries(T.allowedWrites.map((p) => [p, write(p)])),
};
`;

/** What PROBE reports: per attempt, what came of it (an errno code when refused). */
interface ProbeReport {
  read: Record<string, string | string[]>;
  anyProcRoot: Record<string, string>;
  /** The folder's entries, or the code of the error listing it. */
  artifacts: string[] | string;
  signalDashboard: string;
  visibleProcesses: number;
  nestedUserNamespace: string | number | null;
  write: Record<string, string>;
  allowedWrites: Record<string, string>;
}

describe(
  'the bwrap sandbox against a hostile handler (--sandbox bwrap)',
  { skip: findBwrap() ? false : 'bubblewrap is not installed' },
  () => {
    let d: TestDashboard;
    let outside: string;
    let userHomeFile: string;
    let outsideTmpFile: string;
    let netServer: http.Server;
    let netUrl: string;
    const auth = { authorization: `Bearer ${TOKEN}` };

    before(async () => {
      // Outside /tmp on purpose: the sandbox's private /tmp must not be what hides these.
      outside = mkdtempSync(join('/var/tmp', 'protium-escape-'));
      writeFileSync(join(outside, 'token'), `${TOKEN}\n`, { mode: 0o600 });
      writeFileSync(join(outside, 'keys'), `${TOKEN}-key\n`, { mode: 0o600 });
      userHomeFile = join(homedir(), `.protium-escape-${randomBytes(4).toString('hex')}`);
      writeFileSync(userHomeFile, TOKEN, { mode: 0o600 });
      outsideTmpFile = join(tmpdir(), `protium-escape-${randomBytes(4).toString('hex')}`);
      writeFileSync(outsideTmpFile, TOKEN);
      netServer = http.createServer((_req, res) => res.end('reachable')).listen(0, '127.0.0.1');
      await new Promise((r) => netServer.once('listening', r));
      netUrl = `http://127.0.0.1:${(netServer.address() as { port: number }).port}/`;
      const raw = await startTestDashboard(
        { sandbox: 'bwrap', authTokenFile: join(outside, 'token'), accessKeysFile: join(outside, 'keys') },
        join(outside, 'data'),
      );
      d = {
        ...raw,
        api: (method, path, opts) => raw.api(method, path, { ...opts, headers: { ...auth, ...(opts?.headers ?? {}) } }),
      };
    });
    after(async () => {
      await d?.close();
      netServer?.close();
      rmSync(outside, { recursive: true, force: true });
      rmSync(userHomeFile, { force: true });
      rmSync(outsideTmpFile, { force: true });
    });

    const targets = (victimArtifact: string, ownHome: string, extra: { allowed: string[]; forbidden: string[] }) =>
      withCleanSlate({
        dataDir: d.dataDir,
        tokenFile: join(outside, 'token'),
        keysFile: join(outside, 'keys'),
        userHomeFile,
        outsideTmpFile,
        dashboardPid: process.pid,
        victimArtifact,
        needle: SECRET,
        token: TOKEN,
        forbiddenWrites: [
          join(d.dataDir, 'pwned'),
          join(d.dataDir, 'run', 'home', 'nuclio', 'victim', 'pwned'),
          join(outside, 'pwned'),
          join(PACKAGE_ROOT, 'pwned'),
          join(homedir(), 'pwned-by-protium-test'),
          '/etc/pwned-by-protium-test',
          ...extra.forbidden,
        ],
        allowedWrites: [join(ownHome, 'ok'), '/tmp/ok', ...extra.allowed],
      });
    /** A run that failed (before the fix) may have left files where the probe writes: start without them. */
    const withCleanSlate = <T extends { forbiddenWrites: string[] }>(t: T): T => {
      for (const p of t.forbiddenWrites) rmSync(p, { force: true });
      return t;
    };

    /** What the probe reports must all be refusals. */
    const assertContained = (report: ProbeReport, forbidden: string[]) => {
      for (const [what, result] of Object.entries(report.read)) {
        assert.ok(typeof result !== 'string' || /^E[A-Z]+$/.test(result), `${what}: ${JSON.stringify(result)}`);
        if (Array.isArray(result)) assert.deepEqual(result, [], `${what} lists nothing`);
      }
      assert.deepEqual(report.anyProcRoot, {}, "no process visible in /proc shows the dashboard's root");
      assert.equal(report.signalDashboard, 'ESRCH', 'the dashboard process is not even visible');
      assert.ok(report.visibleProcesses <= 8, `sees ${report.visibleProcesses} processes`);
      assert.notEqual(report.nestedUserNamespace, 0, 'cannot create a user namespace (a way to fresh capabilities)');
      for (const [path, result] of Object.entries(report.write)) assert.notEqual(result, 'written', `wrote ${path}`);
      for (const path of forbidden) assert.ok(!existsSync(path), `${path} exists outside the sandbox`);
    };

    it("a sandboxed handler can read neither the dashboard's files nor another function's, and can write only its home and /tmp", async () => {
      const victimSrc =
        `const fs = require('fs');\nexports.handler = (c) => { ` +
        `fs.writeFileSync(process.env.HOME + '/secret.txt', '${SECRET}'); c.logger.info('${SECRET}'); ` +
        `c.callback('victim ok'); };`;
      const victim = await deploy(
        d,
        functionBody('victim', 'nodejs', victimSrc, { spec: { env: [{ name: 'VICTIM_SECRET', value: SECRET }] } }),
      );
      assert.equal((await request(`http://127.0.0.1:${victim.status.httpPort}/`, 'GET')).text, 'victim ok');
      assert.ok(
        readFileSync(join(d.dataDir, 'run', 'home', 'nuclio', 'victim', 'secret.txt'), 'utf8').includes(SECRET),
        'the victim wrote its secret',
      );
      const victimArtifact = artifactOf(victim);
      const ownHome = join(d.dataDir, 'run', 'home', 'nuclio', 'attacker');
      const t = targets(victimArtifact, ownHome, {
        allowed: [],
        forbidden: [join(d.dataDir, 'artifacts', victimArtifact, 'pwned')],
      });
      const attackerSrc = `${PROBE}\nexports.handler = (c) => c.callback(JSON.stringify(report));`;
      // The probe runs at load time: write attempts into its own artifact are forbidden too.
      const attacker = await deploy(
        d,
        functionBody(
          'attacker',
          'nodejs',
          attackerSrc.replace(
            'const T = JSON.parse(process.env.PROBE_TARGETS);',
            `const T = ${JSON.stringify(t)}; T.forbiddenWrites.push(__dirname + '/pwned');`,
          ),
        ),
      );
      const report = JSON.parse(
        (await request(`http://127.0.0.1:${attacker.status.httpPort}/`, 'GET')).text,
      ) as ProbeReport;
      if (process.env.SHOW_REPORT) console.error(JSON.stringify(report, null, 1));
      assertContained(report, t.forbiddenWrites);
      assert.deepEqual(report.artifacts, [artifactOf(attacker)], 'only its own artifact is visible');
      assert.deepEqual(
        Object.values(report.allowedWrites),
        ['written', 'written'],
        JSON.stringify(report.allowedWrites),
      );
      assert.ok(existsSync(join(ownHome, 'ok')), 'its home is the real one (kept across restarts)');
      assert.equal(readFileSync(outsideTmpFile, 'utf8'), TOKEN);
      // The victim still works and its secret is where it left it.
      assert.equal((await request(`http://127.0.0.1:${victim.status.httpPort}/`, 'GET')).text, 'victim ok');
    });

    it('build commands run in the same confinement: staging writable, nothing else, network allowed', async () => {
      const victimArtifact = artifactOf(await waitFor(d, 'victim', (f) => f.status.state === 'ready'));
      const stagingMarker = `staging-${randomBytes(4).toString('hex')}`;
      const t = targets(victimArtifact, '/nonexistent-home', {
        allowed: [stagingMarker],
        forbidden: [join(d.dataDir, 'artifacts', victimArtifact, 'pwned')],
      });
      t.allowedWrites = ['/tmp/ok', stagingMarker];
      const probe = `${PROBE}\nrequire('fs').writeFileSync('report.json', JSON.stringify(report));`;
      const handler =
        "exports.handler = (c) => c.callback(require('fs').readFileSync(__dirname + '/report.json', 'utf8') + " +
        "'\\n' + require('fs').readFileSync(__dirname + '/net.txt', 'utf8'));";
      const fetchCmd =
        `node -e "fetch('${netUrl}').then((r) => r.text()).then((t) => ` +
        `require('fs').writeFileSync('net.txt', t))"`;
      const body = functionBody('builder-probe', 'nodejs', handler, {
        spec: {
          build: {
            functionSourceCode: b64(handler),
            commands: [
              `cat > probe.js <<'EOF'\n${probe}\nEOF`,
              `PROBE_TARGETS='${JSON.stringify(t).replace(/'/g, "'\\''")}' node probe.js`,
              fetchCmd,
              'rm probe.js',
            ],
          },
        },
      });
      const fn = await deploy(d, body);
      const [reportText, net] = (await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).text.split('\n');
      const report = JSON.parse(reportText) as ProbeReport;
      if (process.env.SHOW_REPORT) console.error(JSON.stringify(report, null, 1));
      // While it builds, the staging folder is the only artifact-like thing it sees (not even the published ones).
      assert.equal(report.artifacts.length, 1, JSON.stringify(report.artifacts));
      assert.match(report.artifacts[0], /^\.staging-/);
      assertContained(report, t.forbiddenWrites);
      assert.equal(report.allowedWrites[stagingMarker], 'written', 'the staging folder is writable');
      assert.equal(net, 'reachable', 'builds keep the network (they install packages)');
    });
  },
);
