/**
 * The artifact fetch path that containers (and pods) use, without a container: the dashboard's artifact
 * endpoint and the listener replicas reach it on, and the real fetcher program against them. The fetcher
 * must refuse an archive whose digest is not the one it was told, before extracting anything.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { ArtifactTokens } from '../../src/api/artifact-tokens.js';
import { installAuth } from '../../src/api/auth.js';
import { installErrorHandling } from '../../src/api/error-reply.js';
import { AJV_OPTIONS, installRequestValidation, SCHEMA_CONTROLLER } from '../../src/api/request-validation.js';
import { installReplicaGate, listenForReplicas, type ReplicaListener } from '../../src/api/replica-listener.js';
import { ARTIFACT_DIGEST_HEADER, artifactRoutes } from '../../src/api/routes/artifacts.js';
import { ArtifactArchives } from '../../src/builder/artifact-archive.js';
import { silentLogger } from '../../src/log.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { cachedArtifactDir, FETCH_ENV } from '../../src/processor/artifact-cache.js';

const FETCHER = join(PACKAGE_ROOT, 'dist', 'src', 'processor', 'fetch-artifact.js');
const LIMITS = { maxConnections: 64, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000 };
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

function fetcher(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FETCHER], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('the artifact endpoint, the replica listener and the fetcher', () => {
  const root = mkdtempSync(join(tmpdir(), 'protium-fetch-'));
  const archives = new ArtifactArchives((id) => join(root, 'artifacts', id), join(root, 'archives'));
  const tokens = new ArtifactTokens();
  let app: FastifyInstance;
  let replicas: ReplicaListener;
  let apiUrl: string;
  let hits = 0;

  before(async () => {
    for (const [id, text] of [
      [A, 'exports.handler = () => "from A"'],
      [B, 'exports.handler = () => "from B"'],
    ] as const) {
      const dir = join(root, 'artifacts', id);
      mkdirSync(join(dir, '.protium'), { recursive: true });
      writeFileSync(join(dir, '.protium', 'artifact.json'), JSON.stringify({ id }));
      writeFileSync(join(dir, 'handler.js'), text, { mode: 0o600 });
    }
    // The route's schema refers to the shared ones, which the API's validation setup adds.
    app = Fastify({ ajv: AJV_OPTIONS, schemaController: SCHEMA_CONTROLLER });
    installRequestValidation(app);
    installErrorHandling(app, silentLogger());
    // With a dashboard token: the artifact route still wants its own credential, and ignores the token.
    installAuth(app, { token: 'dashboard-token', streamToken: 'stream-token' });
    installReplicaGate(app);
    app.addHook('onRequest', async () => {
      hits++;
    });
    artifactRoutes(app, { archives, tokens });
    app.get('/api/functions', async () => ({ secret: 'functions' }));
    app.post('/v3io/*', { config: { access: 'streams' } }, async () => ({ stream: true }));
    apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    replicas = await listenForReplicas(app, '127.0.0.1', LIMITS);
  });
  after(async () => {
    await replicas.close();
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("GET /api/artifacts/<id> needs a credential for that artifact: none, the dashboard's token, another artifact's → 401", async () => {
    for (const auth of [
      undefined,
      'Bearer dashboard-token',
      `Bearer ${tokens.issue(B)}`,
      `Bearer ${tokens.issue(A, -1)}`,
    ]) {
      const res = await fetch(`${replicas.url}/api/artifacts/${A}`, { headers: auth ? { authorization: auth } : {} });
      assert.equal(res.status, 401, String(auth));
      assert.equal(((await res.json()) as { code: string }).code, 'ARTIFACT_UNAUTHORIZED');
    }
    const ok = await fetch(`${replicas.url}/api/artifacts/${A}`, {
      headers: { authorization: `Bearer ${tokens.issue(A)}` },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/x-tar');
    const info = await archives.existing(A);
    assert.equal(ok.headers.get(ARTIFACT_DIGEST_HEADER), info!.digest);
    assert.equal(Buffer.from(await ok.arrayBuffer()).length, info!.size);
  });

  it('the replica listener serves the artifact and stream routes only: any other route, in any spelling, is a 404', async () => {
    for (const path of [
      '/api/functions',
      '//api/functions',
      '/%61pi/functions',
      '/api/functions/',
      '/v3io/../api/functions',
      '/api/versions',
      '/',
    ]) {
      const res = await fetch(`${replicas.url}${path}`, { headers: { authorization: 'Bearer dashboard-token' } });
      assert.equal(res.status, 404, `${path}: ${res.status}`);
      const text = await res.text();
      assert.ok(!text.includes('secret'), path);
    }
    const direct = await fetch(`${apiUrl}/api/functions`, { headers: { authorization: 'Bearer dashboard-token' } });
    assert.equal(direct.status, 200, 'the API itself still serves it');
    const streams = await fetch(`${replicas.url}/v3io/c/s/`, {
      method: 'POST',
      headers: { authorization: 'Bearer stream-token' },
    });
    assert.equal(streams.status, 200, 'the stream service, with the stream credential');
    const noCred = await fetch(`${replicas.url}/v3io/c/s/`, { method: 'POST' });
    assert.equal(noCred.status, 401);
  });

  it('the fetcher downloads, verifies and extracts an artifact into the cache, readable by every user; a second fetch asks nothing', async () => {
    const cache = join(root, 'cache-ok');
    const { digest } = (await archives.archive(A))!;
    const env = {
      [FETCH_ENV.url]: `${replicas.url}/api/artifacts/${A}`,
      [FETCH_ENV.token]: tokens.issue(A),
      [FETCH_ENV.digest]: digest,
      [FETCH_ENV.cache]: cache,
    };
    const first = await fetcher(env);
    assert.equal(first.code, 0, first.err);
    const dir = cachedArtifactDir(cache, digest);
    assert.equal(readFileSync(join(dir, 'handler.js'), 'utf8'), 'exports.handler = () => "from A"');
    assert.equal(
      (await import('node:fs')).statSync(join(dir, 'handler.js')).mode & 0o004,
      0o004,
      'readable by others (the replica runs as nobody)',
    );
    assert.deepEqual(readdirSync(cache), [dir.slice(cache.length + 1)], 'no download or extraction leftovers');
    const before = hits;
    const second = await fetcher(env);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /in the cache already/);
    assert.equal(hits, before, 'no request');
  });

  it('an archive whose digest is not the expected one is refused before anything is extracted', async () => {
    const cache = join(root, 'cache-tampered');
    const { digest, path } = (await archives.archive(B))!;
    // The archive on the dashboard changed after its digest was recorded (or in transit).
    appendFileSync(path, Buffer.alloc(512));
    const res = await fetcher({
      [FETCH_ENV.url]: `${replicas.url}/api/artifacts/${B}`,
      [FETCH_ENV.token]: tokens.issue(B),
      [FETCH_ENV.digest]: digest,
      [FETCH_ENV.cache]: cache,
    });
    assert.equal(res.code, 1);
    assert.match(
      (JSON.parse(res.err) as { message: string }).message,
      new RegExp(`Refusing the artifact .*its digest is sha256:[0-9a-f]{64}, not the expected ${digest}`),
    );
    assert.equal(existsSync(cachedArtifactDir(cache, digest)), false);
    assert.deepEqual(readdirSync(cache), [], 'nothing of it is left');
  });

  it('a refused credential and a malformed digest fail with a message that says so', async () => {
    const cache = join(root, 'cache-refused');
    const { digest } = (await archives.archive(A))!;
    const denied = await fetcher({
      [FETCH_ENV.url]: `${replicas.url}/api/artifacts/${A}`,
      [FETCH_ENV.token]: tokens.issue(B),
      [FETCH_ENV.digest]: digest,
      [FETCH_ENV.cache]: cache,
    });
    assert.equal(denied.code, 1);
    assert.match((JSON.parse(denied.err) as { message: string }).message, /answered 401/);
    const bad = await fetcher({
      [FETCH_ENV.url]: `${replicas.url}/api/artifacts/${A}`,
      [FETCH_ENV.token]: tokens.issue(A),
      [FETCH_ENV.digest]: 'md5:x',
      [FETCH_ENV.cache]: cache,
    });
    assert.equal(bad.code, 1);
    assert.match(
      (JSON.parse(bad.err) as { message: string }).message,
      /PROTIUM_ARTIFACT_DIGEST is not a sha256 digest/,
    );
  });
});
