/**
 * The Node versions the project promises (package.json `engines.node`, the README's "Node 20") must be
 * versions every installed package accepts: otherwise `npm ci` prints EBADENGINE warnings on a new
 * user's first install. Checked against the lockfile with npm's own range logic (semver).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const root = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe('package engines', () => {
  it('engines.node names a Node 20 floor that the running Node satisfies', () => {
    const floor = semver.minVersion(pkg.engines.node);
    assert.ok(floor, `engines.node ${JSON.stringify(pkg.engines.node)} is not a semver range`);
    assert.equal(floor.major, 20, 'the README promises Node 20');
    assert.ok(
      semver.satisfies(process.version, pkg.engines.node),
      `Node ${process.version} is outside engines.node ${pkg.engines.node}`,
    );
  });

  it('every locked package accepts the lowest Node that engines.node allows (npm ci prints no EBADENGINE)', () => {
    const floor = semver.minVersion(pkg.engines.node)!.version;
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!path || !range) continue;
      if (!semver.satisfies(floor, range))
        refused.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}`);
    }
    assert.deepEqual(refused, [], `packages that refuse Node ${floor}`);
  });
});
