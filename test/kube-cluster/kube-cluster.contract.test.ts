/**
 * The Platform contract (platform.contract.ts) against a real Kubernetes cluster, when `KUBECONFIG`
 * points at one (skipped with a message otherwise; `npm run test:kube-cluster`, not part of `npm test`).
 *
 * What it needs, as the dashboard does on a cluster:
 * - `KUBECONFIG`: the cluster (its current context), with the rights of deploy/kubernetes/rbac.yaml in
 *   `PROTIUM_TEST_KUBE_NAMESPACE` (default: the context's namespace);
 * - `PROTIUM_TEST_KUBE_PROCESSOR_IMAGE`: the processor image (images/processor) where the nodes pull it;
 * - `PROTIUM_TEST_KUBE_DASHBOARD_HOST`: an address of this machine that pods reach (the test's artifact
 *   endpoint listens there, on an ephemeral port);
 * - a run where cluster IPs are reachable — in a pod of the cluster, or on a node — since the contract
 *   calls functions at the address route() gives: their Service's.
 * Each case deletes the functions it made (their Services; the rest goes by owner reference).
 */
import { describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { platformContract } from '../../src/platform/platform.contract.js';
import { loadKubeConfig } from '../../src/platform/kube/kube-connection.js';
import { LABELS } from '../../src/platform/kube/names.js';
import { kubeSubject } from '../kube/kube-subject.js';

const env = process.env;
const missing = !env.KUBECONFIG
  ? 'KUBECONFIG is not set: no cluster to run the platform contract against (the fake API server runs it in test/kube/)'
  : !env.PROTIUM_TEST_KUBE_PROCESSOR_IMAGE || !env.PROTIUM_TEST_KUBE_DASHBOARD_HOST
    ? 'KUBECONFIG is set, but PROTIUM_TEST_KUBE_PROCESSOR_IMAGE and PROTIUM_TEST_KUBE_DASHBOARD_HOST ' +
      'are needed too (see this file)'
    : undefined;

if (missing) {
  describe('Platform contract: KubePlatform on a real cluster', () => {
    it('runs against the cluster of KUBECONFIG', { skip: missing }, () => {});
  });
} else {
  const cluster = loadKubeConfig({
    ...(env.PROTIUM_TEST_KUBE_NAMESPACE ? { namespace: env.PROTIUM_TEST_KUBE_NAMESPACE } : {}),
  });
  const host = env.PROTIUM_TEST_KUBE_DASHBOARD_HOST!;
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  /** The contract's functions (its namespace is `contract`): their Services, whose deletion cascades. */
  const removeContractFunctions = async () => {
    const list = await core.listNamespacedService({
      namespace: cluster.namespace,
      labelSelector: `${LABELS.namespace}=contract`,
    });
    for (const s of list.items)
      await core
        .deleteNamespacedService({
          name: s.metadata!.name!,
          namespace: cluster.namespace,
          propagationPolicy: 'Background',
        })
        .catch(() => {});
  };
  platformContract(
    `KubePlatform (${cluster.kubeConfig.getCurrentCluster()?.server}, namespace ${cluster.namespace})`,
    () =>
      kubeSubject({
        target: {
          kubeConfig: cluster.kubeConfig,
          namespace: cluster.namespace,
          processorImage: env.PROTIUM_TEST_KUBE_PROCESSOR_IMAGE!,
          endpointHost: host,
          endpointUrl: (port) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
          close: removeContractFunctions,
        },
      }),
  );
}
