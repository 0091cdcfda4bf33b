import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePidFile } from '../util/pid-files.js';
import { cleanUpBuildLeftovers } from './build-leftovers.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const exited = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

describe('cleanUpBuildLeftovers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-leftovers-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills the recorded build commands still running in a staging folder, spares a reused pid, and removes stale staging folders', async () => {
    const artifacts = join(dir, 'artifacts');
    const pids = join(dir, 'run', 'builds');
    const staging = join(artifacts, '.staging-abc123');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(join(staging, '.protium'), { recursive: true });
    mkdirSync(join(artifacts, '0123456789abcdef0123456789abcdef'), { recursive: true });
    mkdirSync(elsewhere);
    // A build command, with a child of its own in its process group.
    const build = spawn('/bin/sh', ['-c', 'sleep 300 & sleep 300'], { cwd: staging, detached: true, stdio: 'ignore' });
    // A process whose pid a stale pid file names, but that is not a build (its pid was reused).
    const stranger = spawn('sleep', ['300'], { cwd: elsewhere, detached: true, stdio: 'ignore' });
    children.push(build, stranger);
    writePidFile(pids, '.staging-abc123-0', build.pid!);
    writePidFile(pids, '.staging-old-0', stranger.pid!);
    writePidFile(pids, '.staging-gone-0', 999_999_999);

    const result = cleanUpBuildLeftovers({ pidDir: pids, artifactsDir: artifacts });
    assert.equal(result.killed, 1);
    assert.deepEqual(result.removed, ['.staging-abc123']);
    await exited(build);
    assert.ok(!existsSync(staging));
    assert.ok(existsSync(join(artifacts, '0123456789abcdef0123456789abcdef')), 'published artifacts stay');
    assert.ok(alive(stranger.pid!), 'a process that is not a build is spared');
    assert.ok(
      !existsSync(join(pids, '.staging-abc123-0.pid')) && !existsSync(join(pids, '.staging-old-0.pid')),
      'pid files are consumed',
    );
  });

  it('is a no-op on a fresh data dir', () => {
    assert.deepEqual(
      cleanUpBuildLeftovers({ pidDir: join(dir, 'none', 'builds'), artifactsDir: join(dir, 'none', 'artifacts') }),
      { killed: 0, removed: [] },
    );
  });
});
