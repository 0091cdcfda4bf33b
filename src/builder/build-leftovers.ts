/**
 * What a dashboard killed with -9 in the middle of a build leaves behind, ended on the next start before
 * anything is built again: build commands still running (found through their pid files, and recognised by
 * their working directory, a staging folder) and the staging folders themselves. Without this, a build
 * command outlives its dashboard and the restarted build runs beside it.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, sep } from 'node:path';
import { killRecorded } from '../util/pid-files.js';
import { STAGING_PREFIX } from './artifact-layout.js';

export interface BuildLeftovers {
  /** Build command process groups killed. */
  killed: number;
  /** Staging folders removed. */
  removed: string[];
}

/** Kills build commands a previous run left running and removes stale staging folders. */
export function cleanUpBuildLeftovers(p: { pidDir: string; artifactsDir: string }): BuildLeftovers {
  const staging = `${p.artifactsDir}${sep}${STAGING_PREFIX}`;
  const killed = killRecorded(p.pidDir, (info) => info.cwd.startsWith(staging));
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(p.artifactsDir);
  } catch {
    /* no artifacts yet */
  }
  for (const name of names) {
    if (!name.startsWith(STAGING_PREFIX)) continue;
    rmSync(join(p.artifactsDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return { killed, removed };
}
