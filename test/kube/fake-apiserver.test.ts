/**
 * The fake API server answers as Kubernetes does where the kube platform relies on it: Status bodies
 * with 404/409, optimistic concurrency, the scale subresource, owner-reference garbage collection, and
 * watches from a resourceVersion (410 Gone when it is older than the history).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { FakeApiServer } from './fake-apiserver.js';

describe('FakeApiServer', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;
  before(async () => {
    api = new FakeApiServer({ kubelet: { images: {} } });
    const url = await api.listen();
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'f', server: url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'f', cluster: 'f', user: 'u' }],
      currentContext: 'f',
    });
  });
  after(() => api.close());

  it('404 and 409 come as Kubernetes Status bodies; a stale resourceVersion is a Conflict', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await assert.rejects(core.readNamespacedConfigMap({ name: 'none', namespace: 'ns' }), (e) => {
      const body = JSON.parse((e as { body: string }).body) as { kind: string; reason: string; code: number };
      return (e as { code: number }).code === 404 && body.kind === 'Status' && body.reason === 'NotFound';
    });
    const cm = await core.createNamespacedConfigMap({
      namespace: 'ns',
      body: { metadata: { name: 'c' }, data: { a: '1' } },
    });
    await assert.rejects(
      core.createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'c' } } }),
      (e) => (e as { code: number }).code === 409,
    );
    await core.replaceNamespacedConfigMap({ name: 'c', namespace: 'ns', body: { ...cm, data: { a: '2' } } });
    await assert.rejects(
      core.replaceNamespacedConfigMap({ name: 'c', namespace: 'ns', body: { ...cm, data: { a: '3' } } }),
      (e) => (e as { code: number }).code === 409 && /has been modified/.test((e as { body: string }).body),
    );
  });

  it('the scale subresource sets the Deployment; deleting an owner deletes what it owns', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const svc = await core.createNamespacedService({
      namespace: 'ns',
      body: { metadata: { name: 'root' }, spec: { selector: { a: 'b' }, ports: [{ port: 80 }] } },
    });
    const owner = { apiVersion: 'v1', kind: 'Service', name: 'root', uid: svc.metadata!.uid!, controller: true };
    await apps.createNamespacedDeployment({
      namespace: 'ns',
      body: {
        metadata: { name: 'd', ownerReferences: [owner] },
        spec: {
          replicas: 0,
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
    });
    await apps.patchNamespacedDeploymentScale(
      { name: 'd', namespace: 'ns', body: { spec: { replicas: 2 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal((await apps.readNamespacedDeployment({ name: 'd', namespace: 'ns' })).spec?.replicas, 2);
    assert.equal((await apps.readNamespacedDeploymentScale({ name: 'd', namespace: 'ns' })).spec?.replicas, 2);
    await apps.patchNamespacedDeploymentScale(
      { name: 'd', namespace: 'ns', body: { spec: { replicas: 0 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedService({ name: 'root', namespace: 'ns' });
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(
      apps.readNamespacedDeployment({ name: 'd', namespace: 'ns' }),
      (e) => (e as { code: number }).code === 404,
    );
  });

  it('a watch replays events after its resourceVersion, and answers 410 Gone for one older than its history', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedConfigMap({ namespace: 'w' });
    const rv = list.metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: 'w', body: { metadata: { name: 'x' } } });
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      void new Watch(kc)
        .watch(
          '/api/v1/namespaces/w/configmaps',
          { resourceVersion: rv },
          (type, obj: { metadata: { name: string } }) => {
            seen.push(`${type} ${obj.metadata.name}`);
            resolve();
          },
          (err) => (err ? reject(err as Error) : undefined),
        )
        .then((c) => setTimeout(() => c.abort(), 500));
    });
    await done;
    assert.deepEqual(seen, ['ADDED x']);
    // Push the history past its bound, then watch from the first version.
    for (let i = 0; i < 2100; i++)
      await core.replaceNamespacedConfigMap({
        name: 'x',
        namespace: 'w',
        body: { metadata: { name: 'x' }, data: { i: String(i) } },
      });
    const gone = await new Promise<{ type: string; code: number }>((resolve) => {
      void new Watch(kc).watch(
        '/api/v1/namespaces/w/configmaps',
        { resourceVersion: rv },
        (type, obj: { code: number }) => resolve({ type, code: obj.code }),
        () => {},
      );
    });
    assert.deepEqual(gone, { type: 'ERROR', code: 410 });
  });
});
