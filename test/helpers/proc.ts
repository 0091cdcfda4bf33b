/**
 * Reading other processes' /proc files in tests. A process can exit between listing /proc and reading
 * one of its files: that is a process that is gone, not a test failure.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The text of /proc/<pid>/<file>, or '' once the process is gone (or its file is not ours to read). */
export function procText(pid: number | string, file: string, encoding: BufferEncoding = 'utf8'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, encoding);
  } catch {
    return '';
  }
}

/** The fields of /proc/<pid>/stat after the command name (state first), or undefined once it is gone. */
function statFields(pid: number | string): string[] | undefined {
  const stat = procText(pid, 'stat');
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : undefined;
}

/** Pids in process group `pgid` (a process, its confinement's wrappers and what it started). */
export function processesInGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(statFields(entry)?.[2]) === pgid)
    .map(Number);
}

/** Running: not gone, not a zombie. */
export function alive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}
