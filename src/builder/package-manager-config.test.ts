import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { packageManagerConfig } from './package-manager-config.js';

describe('packageManagerConfig', () => {
  const files: Record<string, string> = {
    '/home/u/.npmrc': 'registry=http://registry.local/\ncafile = /etc/corp/npm-ca.pem\n',
    '/usr/etc/npmrc': 'strict-ssl=true\n',
    '/home/u/.config/pip/pip.conf': '[global]\nindex-url = http://pypi.local/simple\ncert = "/etc/corp/pip-ca.pem"\n',
    '/home/u/.pip/pip.conf': '[global]\n',
    '/etc/corp/npm-ca.pem': '',
    '/etc/corp/pip-ca.pem': '',
    '/etc/corp/ca.pem': '',
    '/opt/custom.npmrc': '',
  };
  const s = { home: '/home/u', nodePrefix: '/usr', exists: (p: string) => p in files, read: (p: string) => files[p] };

  it("names the user's and the global npmrc and pip's user config, and shows the files they name", () => {
    const c = packageManagerConfig({}, s);
    assert.deepEqual(c.env, {
      npm_config_userconfig: '/home/u/.npmrc',
      npm_config_globalconfig: '/usr/etc/npmrc',
      PIP_CONFIG_FILE: '/home/u/.config/pip/pip.conf',
    });
    assert.deepEqual(c.files, [
      '/etc/corp/npm-ca.pem',
      '/etc/corp/pip-ca.pem',
      '/home/u/.config/pip/pip.conf',
      '/home/u/.npmrc',
      '/usr/etc/npmrc',
    ]);
  });

  it('keeps CA, proxy, npm_config_* and PIP_* variables, but not the settings the builder makes itself', () => {
    const env = {
      NODE_EXTRA_CA_CERTS: '/etc/corp/ca.pem',
      SSL_CERT_FILE: '/etc/corp/ca.pem',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      npm_config_registry: 'http://r/',
      NPM_CONFIG_STRICT_SSL: 'false',
      npm_config_prefix: '/elsewhere',
      NPM_CONFIG_CACHE: '/c',
      npm_config_logs_dir: '/l',
      PIP_INDEX_URL: 'http://p/simple',
      PIP_TARGET: '/t',
      PIP_CERT: '/etc/corp/ca.pem',
      AWS_SECRET_ACCESS_KEY: 'no',
      PROTIUM_AUTH_TOKEN_FILE: 'no',
      NODE_OPTIONS: '--require evil',
    };
    const c = packageManagerConfig(env, { ...s, exists: () => false });
    assert.deepEqual(c.env, {
      NODE_EXTRA_CA_CERTS: '/etc/corp/ca.pem',
      SSL_CERT_FILE: '/etc/corp/ca.pem',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      npm_config_registry: 'http://r/',
      NPM_CONFIG_STRICT_SSL: 'false',
      PIP_INDEX_URL: 'http://p/simple',
      PIP_CERT: '/etc/corp/ca.pem',
    });
  });

  it("passes none of what `npm start` exports about the dashboard's own run", () => {
    // As `npm run` sets them for its scripts (npm 11).
    const env = {
      npm_config_local_prefix: '/srv/protium',
      npm_config_global_prefix: '/usr',
      npm_config_node_gyp: '/usr/lib/node-gyp.js',
      npm_config_user_agent: 'npm/11',
      npm_config_npm_version: '11.0.0',
      npm_config_init_module: '/root/.npm-init.js',
      npm_config_loglevel: 'silent',
      npm_config_noproxy: '',
      npm_config_yes: '',
      npm_config_cache: '/root/.npm',
      npm_config_prefix: '/usr',
      npm_config_cafile: '/etc/corp/ca.pem',
    };
    const c = packageManagerConfig(env, { ...s, exists: (p) => p === '/etc/corp/ca.pem' });
    assert.deepEqual(c.env, { npm_config_cafile: '/etc/corp/ca.pem' });
    assert.deepEqual(c.files, ['/etc/corp/ca.pem']);
  });

  it("honours explicit config locations, and looks for the global npmrc under the user's prefix", () => {
    const c = packageManagerConfig(
      {
        NPM_CONFIG_USERCONFIG: '/opt/custom.npmrc',
        npm_config_prefix: '/home/u',
        PIP_CONFIG_FILE: '/home/u/.pip/pip.conf',
        SSL_CERT_FILE: '/etc/corp/ca.pem',
      },
      { ...s, exists: (p) => p in files || p === '/home/u/etc/npmrc' },
    );
    assert.equal(c.env.npm_config_userconfig, '/opt/custom.npmrc');
    assert.equal(c.env.npm_config_globalconfig, '/home/u/etc/npmrc');
    assert.equal(c.env.PIP_CONFIG_FILE, '/home/u/.pip/pip.conf');
    assert.ok(!('NPM_CONFIG_USERCONFIG' in c.env) && !('npm_config_prefix' in c.env));
    assert.ok(c.files.includes('/etc/corp/ca.pem') && c.files.includes('/opt/custom.npmrc'));
  });

  it('names nothing that does not exist', () => {
    const c = packageManagerConfig(
      { NODE_EXTRA_CA_CERTS: '/missing.pem', PIP_CONFIG_FILE: '/missing.conf' },
      { ...s, exists: () => false },
    );
    assert.deepEqual(c.files, []);
    assert.deepEqual(
      c.env,
      { NODE_EXTRA_CA_CERTS: '/missing.pem', PIP_CONFIG_FILE: '/missing.conf' },
      'passed as the user set them',
    );
  });
});
