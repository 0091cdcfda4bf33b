/**
 * The artifact fetcher: the first step of a replica on a platform that does not share the dashboard's
 * disk (a container, a pod). It downloads the function's artifact archive from the dashboard with the
 * credential it was given, checks the archive's digest against the one it was told to expect — before
 * anything of it is used —, and extracts it into the node's artifact cache (artifact-cache.ts), where
 * replicas find it. An artifact already in the cache is not fetched again.
 *
 * Run as a program (`node fetch-artifact.js`), configured by the environment (FETCH_ENV). Exit status 0:
 * the artifact is in the cache; otherwise one line on stderr says what failed.
 *
 * Extraction uses the system's GNU tar (every Debian image has it), on an archive already verified.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cachedArtifactDir, digestHex, FETCH_ENV } from './artifact-cache.js';

const TIMEOUT_MS = 10 * 60_000;

class FetchError extends Error {}

async function download(url: string, token: string, file: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new FetchError(
      `Failed to fetch the artifact from ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
    );
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    throw new FetchError(
      `Failed to fetch the artifact from ${url}: the dashboard answered ` +
        `${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`,
    );
  }
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(
    Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
    tap,
    createWriteStream(file, { mode: 0o600 }),
  );
  return `sha256:${hash.digest('hex')}`;
}

function run(program: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 2000) err += c.toString();
    });
    child.once('error', (e) => reject(new FetchError(`Failed to ${what}: ${e.message}`)));
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new FetchError(`Failed to ${what} (${program} exit code ${code}): ${err.trim()}`)),
    );
  });
}

/**
 * Extracts a verified archive; unless `ownUse`, every file readable (and folders searchable) by the
 * replica's user (the fetcher runs as another).
 */
async function untar(archive: string, dir: string, ownUse: boolean): Promise<void> {
  await run(
    'tar',
    ['-x', '-f', archive, '-C', dir, '--no-same-owner', '--no-same-permissions'],
    'extract the artifact',
  );
  if (!ownUse) await run('chmod', ['-R', 'a+rX', dir], 'make the artifact readable');
}

/**
 * Fetches, checks and extracts the artifact FETCH_ENV names. `ownUse`: the process that will run it
 * fetches it (a pre-started processor: processor/pool-specialise.ts), so its files are its own already.
 */
export async function fetchArtifact(
  env: NodeJS.ProcessEnv,
  { ownUse = false }: { ownUse?: boolean } = {},
): Promise<{ dir: string; cached: boolean }> {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new FetchError(`${name} is not set`);
    return v;
  };
  const url = need(FETCH_ENV.url);
  const token = need(FETCH_ENV.token);
  const digest = need(FETCH_ENV.digest);
  const cache = need(FETCH_ENV.cache);
  if (!digestHex(digest)) throw new FetchError(`${FETCH_ENV.digest} is not a sha256 digest: ${JSON.stringify(digest)}`);
  const dir = cachedArtifactDir(cache, digest);
  if (existsSync(dir)) return { dir, cached: true };
  await mkdir(cache, { recursive: true });
  const tag = randomBytes(6).toString('hex');
  const archive = join(cache, `.download-${tag}`);
  const staging = join(cache, `.extract-${tag}`);
  try {
    const got = await download(url, token, archive);
    if (got !== digest)
      throw new FetchError(`Refusing the artifact from ${url}: its digest is ${got}, not the expected ${digest}`);
    await mkdir(staging, { mode: 0o755 });
    await untar(archive, staging, ownUse);
    try {
      await rename(staging, dir);
    } catch (e) {
      // Another fetcher of the same artifact finished first: its copy is as good as ours.
      if (!existsSync(dir)) throw e;
    }
    return { dir, cached: false };
  } finally {
    await rm(archive, { force: true }).catch(() => {});
    await rm(staging, { recursive: true, force: true }).catch(() => {});
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  fetchArtifact(process.env).then(
    ({ dir, cached }) =>
      process.stdout.write(
        JSON.stringify({
          level: 'info',
          name: 'fetcher',
          message: cached
            ? `The artifact is in the cache already (${dir})`
            : `Fetched and verified the artifact into ${dir}`,
        }) + '\n',
      ),
    (e) => {
      process.stderr.write(
        JSON.stringify({
          level: 'error',
          name: 'fetcher',
          message: e instanceof FetchError ? e.message : `Failed to fetch the artifact: ${(e as Error).stack ?? e}`,
        }) + '\n',
      );
      process.exitCode = 1;
    },
  );
}
