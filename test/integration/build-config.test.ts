/**
 * Build commands get the user's package-manager configuration (a user's report: a custom registry or CA
 * in ~/.npmrc, NODE_EXTRA_CA_CERTS, proxies — lost, so installs failed after a minute of retries), with
 * and without the sandbox; replicas keep their curated environment; and the pointer npm prints to its
 * debug log still leads to a file after the build's staging folder is gone.
 *
 * A tiny registry on 127.0.0.1 serves one package: only a build that reads the user's ~/.npmrc finds it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { findBwrap } from '../../src/platform/local/sandbox.js';
import {
  b64,
  deploy,
  functionBody,
  request,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';

const PKG = 'protium-fixture-greeting';

/** A registry serving PKG@1.0.0 (and 404 for anything else), as npm's registry API answers. */
async function fakeRegistry(dir: string): Promise<{ url: string; close: () => void; hits: string[] }> {
  const src = join(dir, 'pkg-src');
  mkdirSync(join(src, 'package'), { recursive: true });
  writeFileSync(
    join(src, 'package', 'package.json'),
    JSON.stringify({ name: PKG, version: '1.0.0', main: 'index.js' }),
  );
  writeFileSync(join(src, 'package', 'index.js'), "module.exports = 'hello from the private registry';\n");
  const tgz = join(dir, 'pkg.tgz');
  await createTar({ gzip: true, cwd: src, file: tgz, portable: true }, ['package']);
  const tarball = readFileSync(tgz);
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    if (req.url === `/${PKG}`) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          name: PKG,
          'dist-tags': { latest: '1.0.0' },
          versions: {
            '1.0.0': {
              name: PKG,
              version: '1.0.0',
              main: 'index.js',
              dist: {
                tarball: `${base}/${PKG}/-/${PKG}-1.0.0.tgz`,
                shasum: createHash('sha1').update(tarball).digest('hex'),
                integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
              },
            },
          },
        }),
      );
    } else if (req.url === `/${PKG}/-/${PKG}-1.0.0.tgz`) {
      res.end(tarball);
    } else {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end('{"error":"Not found"}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, close: () => server.close(), hits };
}

const modes = ['none', ...(findBwrap() ? ['bwrap'] : [])] as const;

describe("the package managers' configuration in build commands", () => {
  let dir: string;
  let registry: Awaited<ReturnType<typeof fakeRegistry>>;
  const saved: Record<string, string | undefined> = {};
  const setEnv = (vars: Record<string, string>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (!(k in saved)) saved[k] = process.env[k];
      process.env[k] = v;
    }
  };

  before(async () => {
    // Under /tmp and in a home folder of its own: both hidden from sandboxed builds unless shown back.
    dir = mkdtempSync(join(tmpdir(), 'protium-pmconf-'));
    registry = await fakeRegistry(dir);
    const home = join(dir, 'home');
    mkdirSync(join(home, '.config', 'pip'), { recursive: true });
    writeFileSync(join(home, '.npmrc'), `registry=${registry.url}\n`);
    writeFileSync(
      join(home, '.config', 'pip', 'pip.conf'),
      '[global]\nindex-url = http://127.0.0.1:9/protium-simple\n',
    );
    copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(dir, 'corp-ca.pem'));
    // A user starting the dashboard directly: none of what `npm test` exports about its own run.
    for (const k of Object.keys(process.env)) if (/^npm_config_/i.test(k)) setEnv({ [k]: '' });
    setEnv({
      HOME: home,
      NODE_EXTRA_CA_CERTS: join(dir, 'corp-ca.pem'),
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
      npm_config_fetch_retries: '0',
      PIP_DEFAULT_TIMEOUT: '7',
    });
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const sandbox of modes) {
    describe(`--sandbox ${sandbox}`, () => {
      let d: TestDashboard;
      before(async () => {
        d = await startTestDashboard({ sandbox });
      });
      after(async () => {
        await d?.close();
      });

      it("npm install reads the user's ~/.npmrc (a private registry); CA, proxy and npm/pip variables reach the build, not the replica", async () => {
        const handler = [
          "const fs = require('fs');",
          `const greeting = require('${PKG}');`,
          'exports.handler = (c) => c.callback(JSON.stringify({',
          '  greeting,',
          "  buildEnv: fs.readFileSync(__dirname + '/build-env.txt', 'utf8'),",
          "  ca: fs.readFileSync(__dirname + '/ca-head.txt', 'utf8'),",
          "  pip: fs.readFileSync(__dirname + '/pip-config.txt', 'utf8'),",
          '  replicaEnv: Object.keys(process.env),',
          '}));',
        ].join('\n');
        const fn = await deploy(
          d,
          functionBody(`pm-${sandbox}`, 'nodejs', handler, {
            spec: {
              build: {
                functionSourceCode: b64(handler),
                commands: [
                  `npm install --no-package-lock ${PKG}`,
                  'env > build-env.txt',
                  'head -c 27 "$NODE_EXTRA_CA_CERTS" > ca-head.txt',
                  'python3 -m pip config list > pip-config.txt',
                ],
              },
            },
          }),
          120_000,
        );
        const res = JSON.parse((await request(`http://127.0.0.1:${fn.status.httpPort}/`, 'GET')).text) as Record<
          string,
          string
        >;
        assert.equal(res.greeting, 'hello from the private registry');
        assert.ok(registry.hits.includes(`/${PKG}`), 'npm asked the registry the user configured');
        const env = Object.fromEntries(
          res.buildEnv
            .split('\n')
            .filter(Boolean)
            .map((l: string) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        assert.equal(env.npm_config_userconfig, join(process.env.HOME!, '.npmrc'));
        assert.equal(env.NODE_EXTRA_CA_CERTS, join(dir, 'corp-ca.pem'));
        assert.equal(env.HTTPS_PROXY, 'http://127.0.0.1:9');
        assert.equal(env.NO_PROXY, '127.0.0.1,localhost');
        assert.equal(env.npm_config_fetch_retries, '0');
        assert.equal(env.PIP_DEFAULT_TIMEOUT, '7');
        assert.equal(res.ca, '-----BEGIN CERTIFICATE-----', 'the CA bundle is readable by the build');
        assert.match(res.pip, /index-url='http:\/\/127\.0\.0\.1:9\/protium-simple'/, "pip reads the user's pip.conf");
        for (const k of [
          'NODE_EXTRA_CA_CERTS',
          'HTTPS_PROXY',
          'NO_PROXY',
          'npm_config_fetch_retries',
          'npm_config_userconfig',
          'PIP_DEFAULT_TIMEOUT',
          'PIP_CONFIG_FILE',
        ]) {
          assert.ok(!res.replicaEnv.includes(k), `the replica's environment stays curated: no ${k}`);
        }
      });

      it("the pointer to npm's debug log in a failed build's log leads to a file that exists", async () => {
        const src = 'exports.handler = (c) => c.callback("never");';
        const name = `pm-log-${sandbox}`;
        const res = await d.api('POST', '/api/functions', {
          body: functionBody(name, 'nodejs', src, {
            spec: {
              build: {
                functionSourceCode: b64(src),
                commands: [`npm install --no-package-lock protium-fixture-missing-${randomBytes(3).toString('hex')}`],
              },
            },
          }),
        });
        assert.equal(res.status, 202);
        const fn = await waitFor(d, name, (f) => f.status.state === 'error' || f.status.state === 'ready', 120_000);
        assert.equal(fn.status.state, 'error');
        const pointer = /A complete log of this run can be found in: (\S+)/.exec(fn.status.message ?? '')?.[1];
        assert.ok(pointer, `the build's output names npm's debug log: ${fn.status.message}`);
        assert.ok(
          pointer.startsWith(join(d.dataDir, 'builds', 'nuclio', name)),
          `kept with the function's build log: ${pointer}`,
        );
        assert.match(readFileSync(pointer, 'utf8'), /404/);
        // The function's logs go with it.
        assert.equal((await d.api('DELETE', '/api/functions', { body: { metadata: { name } } })).status, 204);
        for (let i = 0; i < 100 && existsSync(pointer); i++) await new Promise((r) => setTimeout(r, 100));
        assert.ok(!existsSync(pointer), 'removed with the function');
      });
    });
  }
});
