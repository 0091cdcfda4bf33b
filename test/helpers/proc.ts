/**
 * Reading other processes' /proc files in tests. A process can exit between listing /proc and reading
 * one of its files: that is a process that is gone, not a test failure.
 */
import { readFileSync } from 'node:fs';

/** The text of /proc/<pid>/<file>, or '' once the process is gone (or its file is not ours to read). */
export function procText(pid: number | string, file: string, encoding: BufferEncoding = 'utf8'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, encoding);
  } catch {
    return '';
  }
}
