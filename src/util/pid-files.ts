/**
 * Pid files: how a dashboard that died with -9 finds, on its next start, the processes it had started
 * (replicas, build commands). One file per process, named after it, holding the pid of the process-group
 * leader the dashboard spawned. A pid is only trusted after a check that it is still ours (a pid can be
 * reused by an unrelated process once ours is gone).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Records `pid` as `<dir>/<name>.pid`; returns the file's path. Best effort: a failure only costs cleanup. */
export function writePidFile(dir: string, name: string, pid: number): string {
  const file = join(dir, `${name}.pid`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, String(pid));
  } catch {
    /* the next start cannot clean this one up; nothing else depends on it */
  }
  return file;
}

export function removePidFile(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    /* gone */
  }
}

/** What /proc says about a process, for deciding whether a recorded pid is still ours. */
export interface ProcInfo {
  pid: number;
  /** argv, split. */
  argv: string[];
  /** The working directory (" (deleted)" stripped). */
  cwd: string;
}

export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
    } catch {
      /* another user's */
    }
    return { pid, argv, cwd };
  } catch {
    return undefined;
  }
}

/**
 * Kills (SIGKILL, the whole process group) every process recorded in `dir` that `isOurs` recognises, and
 * removes the files. Returns how many it killed.
 */
export function killRecorded(dir: string, isOurs: (p: ProcInfo) => boolean): number {
  if (!existsSync(dir)) return 0;
  let killed = 0;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.pid')) continue;
    const file = join(dir, f);
    let pid = NaN;
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch {
      /* unreadable: drop it */
    }
    removePidFile(file);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    const info = procInfo(pid);
    if (!info || !isOurs(info)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      killed++;
    } catch {
      /* not a group leader any more */
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return killed;
}
