import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pidNamespacePrefix } from './confinement.js';

describe('pidNamespacePrefix', () => {
  const cases: [Parameters<typeof pidNamespacePrefix>[0], string[]][] = [
    [
      { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', userArgs: [] },
      ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', '/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--'],
    ],
    [
      { unshare: '/usr/bin/unshare', userArgs: ['--map-current-user'] },
      ['/usr/bin/unshare', '--map-current-user', '--pid', '--fork', '--kill-child', '--'],
    ],
  ];
  for (const [tools, expected] of cases) {
    it(`pidNamespacePrefix(${JSON.stringify(tools)})`, () => assert.deepEqual(pidNamespacePrefix(tools), expected));
  }
});
