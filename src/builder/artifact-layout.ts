/**
 * The layout of the content-addressed artifact store, in one place: what the builder writes, what the
 * collector and the start-up cleanup recognise, and where a platform finds what a build installed.
 *
 *     artifacts/<id>/                          one artifact; <id> is the content hash of the build inputs
 *     artifacts/<id>/.protium/artifact.json    its reference (builder.ts `Artifact`) and creation time
 *     artifacts/<id>/.protium/npm-global/      npm's global prefix during builds (bin/, lib/node_modules/)
 *     artifacts/<id>/.protium/site-packages/   pip's --target (bin/ holds console scripts)
 *     artifacts/.staging-<random>/             a build in progress, renamed to <id> when it is done
 *     artifacts/.trash-<id>-<random>/          an artifact being removed
 *
 * Paths inside an artifact are relative, so an artifact folder can be copied elsewhere (a remote platform
 * fetching it by id) and still run.
 */
import { join } from 'node:path';

/** An artifact id: the hex content hash (content-hash.ts). */
export const ARTIFACT_ID = /^[0-9a-f]{32}$/;

/** The folder inside an artifact that holds Protium's own files (never the user's source). */
export const META_DIR = '.protium';
/** The artifact's reference and creation time (JSON). */
export const ARTIFACT_META_FILE = `${META_DIR}/artifact.json`;
/** npm's global prefix during builds (`npm install -g` lands here). */
export const NPM_PREFIX_DIR = `${META_DIR}/npm-global`;
/** pip's --target during builds. */
export const PIP_TARGET_DIR = `${META_DIR}/site-packages`;
/** HOME of build commands (tools' dot files stay inside the staging folder). */
export const BUILD_HOME_DIR = `${META_DIR}/home`;
/** npm's cache during builds. */
export const NPM_CACHE_DIR = `${META_DIR}/npm-cache`;

/** Prefix of the staging folders of builds in progress. */
export const STAGING_PREFIX = '.staging-';
/** Prefix of artifact folders being removed. */
export const TRASH_PREFIX = '.trash-';

/** The folder of artifact `id` in the artifacts folder. */
export function artifactDir(artifactsDir: string, id: string): string {
  return join(artifactsDir, id);
}

/** Where what a build installed is found inside an artifact folder `dir`: module search paths and programs. */
export function installedPaths(dir: string): { nodeModules: string; sitePackages: string; bin: string[] } {
  return {
    nodeModules: join(dir, NPM_PREFIX_DIR, 'lib', 'node_modules'),
    sitePackages: join(dir, PIP_TARGET_DIR),
    bin: [join(dir, NPM_PREFIX_DIR, 'bin'), join(dir, PIP_TARGET_DIR, 'bin')],
  };
}
