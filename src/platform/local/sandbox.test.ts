import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bwrapArgs } from './sandbox.js';

describe('bwrapArgs', () => {
  it('hides the data dir before binding back only the replica\'s artifact, config and home', () => {
    const args = bwrapArgs({ packageRoot: '/tmp/checkout', dataDir: '/d', artifactDir: '/d/artifacts/abc', configPath: '/d/run/configs/r.json', homeDir: '/d/run/home/ns/f' });
    // Where `flag path` is; a missing pair fails here (an order check against -1 would pass).
    const at = (flag: string, path: string) => {
      const i = args.findIndex((a, j) => a === flag && args[j + 1] === path);
      assert.ok(i >= 0, `${flag} ${path} is missing from ${args.join(' ')}`);
      return i;
    };
    assert.ok(at('--tmpfs', '/d') > at('--ro-bind', '/'));
    assert.ok(at('--ro-bind', '/tmp/checkout') > at('--tmpfs', '/tmp'), 'a checkout under /tmp stays visible');
    assert.ok(at('--tmpfs', '/d') > at('--ro-bind', '/tmp/checkout'), 'a data dir inside the checkout is still hidden');
    for (const [flag, path] of [['--ro-bind', '/d/artifacts/abc'], ['--ro-bind', '/d/run/configs/r.json'], ['--bind', '/d/run/home/ns/f']] as const) {
      assert.ok(at(flag, path) > at('--tmpfs', '/d'), `${flag} ${path} comes after the data dir is hidden`);
    }
    assert.equal(args.at(-1), '--');
    assert.ok(args.includes('--die-with-parent'));
    assert.ok(!args.includes('--unshare-net'), 'functions keep the network');
  });
});
