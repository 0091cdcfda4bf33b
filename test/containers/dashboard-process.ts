/**
 * A dashboard on the docker platform run as its own process, for the tests that kill it with -9 and start
 * it again on the same data dir (adoption, the pool across a restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { request, sleep } from '../helpers/start-dashboard.js';
import { BASE_IMAGE, DOCKER_HOST } from './engine.js';

const MAIN = join(PACKAGE_ROOT, 'dist', 'src', 'main.js');

/**
 * Starts `protium dashboard --platform docker` on `dir` and the given ports (`args` added), and resolves
 * once its API answers; rejects when it exits first or takes longer than `timeoutMs`.
 */
export async function startDockerDashboard(opts: {
  dir: string;
  api: number;
  gateway: number;
  args?: string[];
  timeoutMs?: number;
}): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--platform',
      'docker',
      '--docker-host',
      DOCKER_HOST,
      '--base-image',
      BASE_IMAGE,
      ...(opts.args ?? []),
      '--listen-addr',
      `127.0.0.1:${opts.api}`,
      '--gateway-listen-addr',
      `127.0.0.1:${opts.gateway}`,
      '--data-dir',
      opts.dir,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const ok = await request(`http://127.0.0.1:${opts.api}/api/versions`, 'GET').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return child;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the dashboard did not start (exit ${child.exitCode})`);
    }
    await sleep(100);
  }
}
