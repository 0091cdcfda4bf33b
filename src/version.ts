/**
 * The version the dashboard reports: package version and the git commit it was built from (when known).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './paths.js';

export interface VersionInfo {
  label: string;
  gitCommit: string;
  os: string;
  arch: string;
}

let cached: VersionInfo | undefined;

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };

export function versionInfo(): VersionInfo {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  let gitCommit = process.env.PROTIUM_GIT_COMMIT ?? '';
  if (!gitCommit) {
    try {
      gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: PACKAGE_ROOT,
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 2000,
      })
        .toString()
        .trim();
    } catch {
      gitCommit = 'unknown';
    }
  }
  cached = { label: pkg.version, gitCommit, os: process.platform, arch: GO_ARCH[process.arch] ?? process.arch };
  return cached;
}
