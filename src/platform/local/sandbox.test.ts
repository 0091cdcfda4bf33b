import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bwrapArgs, homeFoldersToKeep, ISOLATION_ARGS } from './sandbox.js';

describe('bwrapArgs', () => {
  const view = {
    packageRoot: '/tmp/checkout',
    dataDir: '/d',
    hiddenFiles: ['/etc/protium/token'],
    home: '/root',
    homeKeep: ['/root/.pyenv'],
  };
  const args = bwrapArgs(view, {
    readOnly: ['/d/artifacts/abc', '/d/run/configs/r.json'],
    writable: ['/d/run/home/ns/f'],
  });
  const at = (flag: string, path: string) => {
    const i = args.findIndex((a, j) => a === flag && args[j + 1] === path);
    assert.ok(i >= 0, `${flag} ${path} is missing from ${args.join(' ')}`);
    return i;
  };

  it("hides the data dir before binding back only the process's own paths", () => {
    assert.ok(at('--tmpfs', '/d') > at('--ro-bind', '/'));
    for (const [flag, path] of [
      ['--ro-bind', '/d/artifacts/abc'],
      ['--ro-bind', '/d/run/configs/r.json'],
      ['--bind', '/d/run/home/ns/f'],
    ] as const) {
      assert.ok(at(flag, path) > at('--tmpfs', '/d'), `${flag} ${path} comes after the data dir is hidden`);
    }
  });

  it('keeps a checkout under /tmp or the home folder visible, but not a data dir inside it', () => {
    assert.ok(at('--ro-bind', '/tmp/checkout') > at('--tmpfs', '/tmp'));
    assert.ok(at('--ro-bind', '/tmp/checkout') > at('--tmpfs', '/root'));
    assert.ok(at('--tmpfs', '/d') > at('--ro-bind', '/tmp/checkout'));
  });

  it('hides the home folder but for the kept folders, and the secret files after everything that could show them', () => {
    assert.ok(at('--ro-bind', '/root/.pyenv') > at('--tmpfs', '/root'));
    const hide = args.findIndex(
      (a, j) => a === '--ro-bind' && args[j + 1] === '/dev/null' && args[j + 2] === '/etc/protium/token',
    );
    assert.ok(
      hide > at('--ro-bind', '/root/.pyenv') && hide > at('--ro-bind', '/tmp/checkout') && hide > at('--tmpfs', '/d'),
    );
  });

  it('makes the hiding folders read-only once everything is bound into them', () => {
    for (const path of ['/d', '/root']) assert.ok(at('--remount-ro', path) > at('--bind', '/d/run/home/ns/f'), path);
  });

  it('isolates PID, user, IPC and UTS, drops capabilities, and keeps the network', () => {
    for (const flag of [
      '--unshare-pid',
      '--unshare-user',
      '--unshare-ipc',
      '--unshare-uts',
      '--disable-userns',
      '--new-session',
      '--die-with-parent',
    ])
      assert.ok(args.includes(flag), flag);
    assert.equal(args[args.indexOf('--cap-drop') + 1], 'ALL');
    assert.ok(!args.includes('--unshare-net') && !args.includes('--unshare-all'), 'functions keep the network');
    assert.deepEqual(args.slice(-ISOLATION_ARGS.length - 1, -1), ISOLATION_ARGS);
    assert.equal(args.at(-1), '--');
  });

  it('hides no home folder when there is none to hide', () => {
    for (const home of [undefined, '/', 'relative']) {
      const a = bwrapArgs({ ...view, home, homeKeep: [] }, { readOnly: [], writable: [] });
      assert.equal(a.filter((x) => x === '--tmpfs').length, 2, `home ${home}: only /tmp and the data dir`);
    }
  });
});

describe('homeFoldersToKeep', () => {
  const cases: [string, string[], string[]][] = [
    [
      '/root',
      ['/root/.pyenv/shims', '/root/.pyenv/bin', '/usr/bin', '/root/.cargo/bin'],
      ['/root/.cargo', '/root/.pyenv'],
    ],
    [
      '/home/u',
      ['/home/u/.nvm/versions/node/v20/bin', '/home/u/.local/bin', '/home/user2/bin'],
      ['/home/u/.local', '/home/u/.nvm'],
    ],
    ['/home/u', ['/home/u', '/usr/local/bin', 'relative/bin', ''], []],
    ['/home/u', ['/home/u/../x/bin'], []],
  ];
  for (const [home, paths, expected] of cases) {
    it(`homeFoldersToKeep(${home}, ${JSON.stringify(paths)}) is ${JSON.stringify(expected)}`, () =>
      assert.deepEqual(homeFoldersToKeep(home, paths), expected));
  }
});
