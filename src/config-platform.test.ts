import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig(): --platform, --docker-host, --base-image', () => {
  for (const [raw, env, want] of [
    [{}, {}, { kind: 'local' }],
    [
      { platform: 'docker' },
      {},
      { kind: 'docker', dockerHost: 'unix:///var/run/docker.sock', baseImage: 'node:20-bookworm-slim' },
    ],
    [
      {},
      { PROTIUM_PLATFORM: 'docker', DOCKER_HOST: 'tcp://127.0.0.1:2375' },
      { kind: 'docker', dockerHost: 'tcp://127.0.0.1:2375', baseImage: 'node:20-bookworm-slim' },
    ],
    [
      {
        platform: 'docker',
        dockerHost: 'unix:///run/protium/podman.sock',
        baseImage: 'localhost/protium-base:bookworm',
      },
      { DOCKER_HOST: 'tcp://x:1', PROTIUM_BASE_IMAGE: 'other' },
      { kind: 'docker', dockerHost: 'unix:///run/protium/podman.sock', baseImage: 'localhost/protium-base:bookworm' },
    ],
    [
      { platform: 'docker' },
      { PROTIUM_DOCKER_HOST: 'unix:///a.sock', DOCKER_HOST: 'unix:///b.sock' },
      { kind: 'docker', dockerHost: 'unix:///a.sock', baseImage: 'node:20-bookworm-slim' },
    ],
    [
      { platform: 'docker', baseImage: 'registry.example:5000/team/node@sha256:abc' },
      {},
      {
        kind: 'docker',
        dockerHost: 'unix:///var/run/docker.sock',
        baseImage: 'registry.example:5000/team/node@sha256:abc',
      },
    ],
    [{ platform: 'kube' }, {}, { kind: 'kube' }],
    [{}, { PROTIUM_PLATFORM: 'kube', DOCKER_HOST: 'not a url' }, { kind: 'kube' }],
  ] as const) {
    it(`${JSON.stringify(raw)} ${JSON.stringify(env)} → ${JSON.stringify(want)}`, () => {
      assert.deepEqual(loadConfig(raw, env).platform, want);
    });
  }

  for (const [raw, flag] of [
    [{ platform: 'kubernetes' }, /--platform must be local, docker or kube, got "kubernetes"/],
    [
      { platform: 'docker', dockerHost: '/var/run/docker.sock' },
      /--docker-host must be a unix:\/\/.*got "\/var\/run\/docker.sock"/,
    ],
    [{ platform: 'docker', dockerHost: 'ssh://me@host' }, /--docker-host/],
    [{ platform: 'docker', baseImage: 'node:20 slim' }, /--base-image must be an image reference.*got "node:20 slim"/],
    [{ platform: 'docker', baseImage: 'node:' }, /--base-image/],
  ] as const) {
    it(`refuses ${JSON.stringify(raw)}`, () =>
      assert.throws(
        () => loadConfig(raw, {}),
        (e: Error) => e instanceof ConfigError && flag.test(e.message),
      ));
  }

  it('the local platform ignores a DOCKER_HOST it does not use', () => {
    assert.deepEqual(loadConfig({}, { DOCKER_HOST: 'not a url' }).platform, { kind: 'local' });
  });
});

describe('loadConfig(): --kube-dashboard-url', () => {
  for (const [raw, env, want] of [
    [{}, {}, undefined],
    [
      { kubeDashboardUrl: 'http://protium-dashboard.protium.svc:8070' },
      {},
      'http://protium-dashboard.protium.svc:8070',
    ],
    [{}, { PROTIUM_KUBE_DASHBOARD_URL: 'https://dash.example.com/' }, 'https://dash.example.com'],
    [
      { kubeDashboardUrl: 'http://10.0.0.5:8070' },
      { PROTIUM_KUBE_DASHBOARD_URL: 'http://other:1' },
      'http://10.0.0.5:8070',
    ],
  ] as const) {
    it(`${JSON.stringify(raw)} ${JSON.stringify(env)} → ${want}`, () => {
      assert.equal(loadConfig({ platform: 'kube', ...raw }, env).kube.dashboardUrl, want);
    });
  }
  for (const bad of [
    'protium-dashboard:8070',
    'ftp://x',
    'http://x/api',
    'http://u:p@x',
    'http://x?a=1',
    'http://x#f',
    '',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () =>
      assert.throws(
        () => loadConfig({ platform: 'kube', kubeDashboardUrl: bad }, { PROTIUM_KUBE_DASHBOARD_URL: bad || 'x' }),
        (e: Error) => e instanceof ConfigError && /--kube-dashboard-url must be an http\(s\) URL/.test(e.message),
      ));
  }
});
