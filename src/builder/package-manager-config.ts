/**
 * The package managers' own configuration, passed through to build commands (never to replicas, which
 * keep their curated environment). Build commands run with HOME inside the staging folder and npm's prefix
 * inside the artifact, which would lose the user's `~/.npmrc`, the global npmrc and pip's user config —
 * a custom registry or CA, so installs fail after a minute of retries. So the files are named explicitly
 * (`npm_config_userconfig`, `npm_config_globalconfig`, `PIP_CONFIG_FILE`), and the variables npm, pip and
 * the TLS libraries read (CA bundles, proxies, `npm_config_*`, `PIP_*`) are kept. The files found here
 * are shown read-only to sandboxed builds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export interface PackageManagerConfig {
  /** Variables for build commands. */
  env: Record<string, string>;
  /** Existing files (and CA folders) those variables and configuration files name. */
  files: string[];
}

/** Variables kept as they are: CA bundles and proxies, as curl, OpenSSL, node, npm and pip read them. */
export const PASSED_VARIABLES = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
];
/** Variables among those that name a file or folder to show to a sandboxed build. */
const FILE_VARIABLES = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'PIP_CERT',
  'PIP_CLIENT_CERT',
  'PIP_CONFIG_FILE',
];

/**
 * npm settings not passed on (normalised: lower case, dashes): those the builder sets itself, and those
 * `npm run` exports to its scripts about the dashboard's own run (`npm start`) — `local-prefix` would make
 * a build's `npm install` install into the dashboard's checkout, `loglevel=silent` (`npm run -s`) would
 * silence the build log.
 */
export const BUILDER_NPM_SETTINGS = new Set([
  'prefix',
  'cache',
  'logs-dir',
  'update-notifier',
  'fund',
  'audit',
  'userconfig',
  'globalconfig',
  'local-prefix',
  'global-prefix',
  'node-gyp',
  'user-agent',
  'npm-version',
  'init-module',
  'loglevel',
]);
/** pip settings the builder sets itself. */
export const BUILDER_PIP_SETTINGS = new Set(['PIP_TARGET', 'PIP_NO_CACHE_DIR', 'PIP_DISABLE_PIP_VERSION_CHECK']);

export interface Surroundings {
  /** The dashboard user's home folder. */
  home: string;
  /** npm's default prefix: the node install (…/bin/node → …). */
  nodePrefix: string;
  exists: (path: string) => boolean;
  /** A file's text, or undefined. */
  read: (path: string) => string | undefined;
}

const npmKey = (name: string) => name.slice('npm_config_'.length).toLowerCase().replace(/_/g, '-');
const fromIni = (text: string | undefined, key: RegExp): string[] => {
  const out: string[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = key.exec(line);
    if (m?.[1]) out.push(m[1].trim().replace(/^["']|["']$/g, ''));
  }
  return out;
};

/** The configuration build commands get, from the dashboard's environment and its user's files. Pure. */
export function packageManagerConfig(env: Record<string, string | undefined>, s: Surroundings): PackageManagerConfig {
  const out: Record<string, string> = {};
  for (const name of PASSED_VARIABLES) if (env[name]) out[name] = env[name]!;
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (/^npm_config_/i.test(name) && !BUILDER_NPM_SETTINGS.has(npmKey(name))) out[name] = value;
    if (/^PIP_/.test(name) && !BUILDER_PIP_SETTINGS.has(name)) out[name] = value;
  }
  const envNpm = (key: string) =>
    Object.entries(env).find(([n, v]) => v && /^npm_config_/i.test(n) && npmKey(n) === key)?.[1];
  const existing = (p: string | undefined) => (p && isAbsolute(p) && s.exists(p) ? p : undefined);

  const userNpmrc = existing(envNpm('userconfig') ?? join(s.home, '.npmrc'));
  if (userNpmrc) out.npm_config_userconfig = userNpmrc;
  // npm looks for the global npmrc under its prefix, which the builder points into the artifact.
  const globalNpmrc = existing(
    envNpm('globalconfig') ?? join(envNpm('prefix') ?? env.PREFIX ?? s.nodePrefix, 'etc', 'npmrc'),
  );
  if (globalNpmrc) out.npm_config_globalconfig = globalNpmrc;
  // pip reads one file named by PIP_CONFIG_FILE besides its own: the user's choice, or the user's file.
  const pipConf = env.PIP_CONFIG_FILE
    ? existing(env.PIP_CONFIG_FILE)
    : [
        env.XDG_CONFIG_HOME && join(env.XDG_CONFIG_HOME, 'pip', 'pip.conf'),
        join(s.home, '.config', 'pip', 'pip.conf'),
        join(s.home, '.pip', 'pip.conf'),
      ]
        .map((p) => existing(p || undefined))
        .find(Boolean);
  if (pipConf) out.PIP_CONFIG_FILE = pipConf;

  const files = new Set<string>();
  for (const p of [userNpmrc, globalNpmrc, pipConf]) if (p) files.add(p);
  for (const name of FILE_VARIABLES) if (existing(out[name])) files.add(out[name]);
  const cafile = envNpm('cafile');
  if (existing(cafile)) files.add(cafile!);
  // Files the configuration files name (npm's cafile, pip's cert and client-cert).
  for (const rc of [userNpmrc, globalNpmrc])
    for (const p of fromIni(rc && s.read(rc), /^\s*cafile\s*=\s*(.+)$/)) if (existing(p)) files.add(p);
  if (pipConf)
    for (const p of fromIni(s.read(pipConf), /^\s*(?:cert|client-cert)\s*=\s*(.+)$/)) if (existing(p)) files.add(p);
  return { env: out, files: [...files].sort() };
}

/** packageManagerConfig() for this process and machine. */
export function currentPackageManagerConfig(): PackageManagerConfig {
  return packageManagerConfig(process.env, {
    home: homedir(),
    nodePrefix: dirname(dirname(process.execPath)),
    exists: existsSync,
    read: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
  });
}
