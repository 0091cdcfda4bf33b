import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveKubeConnection, SERVICE_ACCOUNT_DIR, type KubeEnvironment, type KubeFlags } from './kube-connection.js';

const TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;
const env = (e: Partial<KubeEnvironment> & { files?: string[] }): KubeEnvironment => ({
  env: e.env ?? {},
  home: '/home/u',
  exists: (p) => (e.files ?? []).includes(p),
  ...(e.podNamespace ? { podNamespace: e.podNamespace } : {}),
});
const IN_POD = { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, files: [TOKEN], podNamespace: 'protium' };

describe('resolveKubeConnection()', () => {
  const cases: Array<[string, KubeFlags, KubeEnvironment, ReturnType<typeof resolveKubeConnection>]> = [
    ['--kubeconfig wins, even in a pod', { kubeconfig: '/k' }, env(IN_POD), { source: { kind: 'file', path: '/k' } }],
    ['in a pod: in-cluster, its namespace', {}, env(IN_POD), { source: { kind: 'in-cluster' }, namespace: 'protium' }],
    [
      '--kube-namespace wins over the pod',
      { namespace: 'fns' },
      env(IN_POD),
      { source: { kind: 'in-cluster' }, namespace: 'fns' },
    ],
    [
      'a service host without a token is not a pod',
      {},
      env({ env: { KUBERNETES_SERVICE_HOST: 'x' } }),
      { source: { kind: 'file', path: '/home/u/.kube/config' } },
    ],
    [
      'KUBECONFIG: the first listed file that exists',
      {},
      env({ env: { KUBECONFIG: '/a:/b' }, files: ['/b'] }),
      { source: { kind: 'file', path: '/b' } },
    ],
    [
      'KUBECONFIG naming nothing that exists: its first',
      {},
      env({ env: { KUBECONFIG: '/a:/b' } }),
      { source: { kind: 'file', path: '/a' } },
    ],
    ['nothing: ~/.kube/config', {}, env({}), { source: { kind: 'file', path: '/home/u/.kube/config' } }],
  ];
  for (const [label, flags, e, want] of cases) it(label, () => assert.deepEqual(resolveKubeConnection(flags, e), want));
});

describe('loadConfig() kube flags', () => {
  it('reads --kubeconfig, --kube-namespace and --kube-processor-image, flags over env; refuses a bad namespace', async () => {
    const { loadConfig, ConfigError } = await import('../../config.js');
    const c = loadConfig(
      { kubeNamespace: 'fns' },
      {
        PROTIUM_KUBE_NAMESPACE: 'ignored',
        PROTIUM_KUBECONFIG: '/etc/kube.conf',
        PROTIUM_KUBE_PROCESSOR_IMAGE: 'r/p:1',
      },
    );
    assert.deepEqual(c.kube, { kubeconfig: '/etc/kube.conf', namespace: 'fns', processorImage: 'r/p:1' });
    assert.throws(
      () => loadConfig({ kubeNamespace: 'Not_A_Label' }, {}),
      (e) => e instanceof ConfigError && /--kube-namespace/.test(e.message),
    );
  });
});
