/**
 * Which cluster and namespace the kube platform talks to, from its flags: `--kubeconfig PATH` when given;
 * else the in-cluster configuration when the dashboard runs in a pod (the service account's token and
 * KUBERNETES_SERVICE_HOST); else `KUBECONFIG`, else `~/.kube/config`. `--kube-namespace` defaults to the
 * dashboard's own namespace: its pod's (the service account's namespace file), else the kubeconfig
 * context's, else `default`. `resolveKubeConnection` is pure (it is given what it may read);
 * `loadKubeConfig` reads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where a pod finds its service account (Kubernetes mounts it there). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeFlags {
  kubeconfig?: string;
  namespace?: string;
}

/** Where the configuration comes from. */
export type KubeSource = { kind: 'in-cluster' } | { kind: 'file'; path: string };

/** What `resolveKubeConnection` may look at. */
export interface KubeEnvironment {
  env: Record<string, string | undefined>;
  home: string;
  exists: (path: string) => boolean;
  /** The service account's namespace, when the dashboard runs in a pod. */
  podNamespace?: string;
}

/** The source of the configuration, and the namespace when the flags or the pod decide it. */
export function resolveKubeConnection(
  flags: KubeFlags,
  e: KubeEnvironment,
): { source: KubeSource; namespace?: string } {
  const inCluster = !!e.env.KUBERNETES_SERVICE_HOST && e.exists(join(SERVICE_ACCOUNT_DIR, 'token'));
  let source: KubeSource;
  if (flags.kubeconfig) source = { kind: 'file', path: flags.kubeconfig };
  else if (inCluster) source = { kind: 'in-cluster' };
  else {
    // KUBECONFIG may list several files; the first that exists is the one read, as kubectl merges from it.
    const listed = (e.env.KUBECONFIG ?? '').split(':').filter(Boolean);
    const path = listed.find((p) => e.exists(p)) ?? listed[0] ?? join(e.home, '.kube', 'config');
    source = { kind: 'file', path };
  }
  const namespace = flags.namespace ?? (source.kind === 'in-cluster' ? e.podNamespace : undefined);
  return { source, ...(namespace ? { namespace } : {}) };
}

/** The client's configuration and the namespace functions run in. Throws a sentence naming the file. */
export function loadKubeConfig(flags: KubeFlags): {
  kubeConfig: KubeConfig;
  namespace: string;
  source: KubeSource;
  /** The dashboard's own namespace when it runs in a pod. */
  podNamespace?: string;
} {
  const nsFile = join(SERVICE_ACCOUNT_DIR, 'namespace');
  const podNamespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
  const { source, namespace } = resolveKubeConnection(flags, {
    env: process.env,
    home: homedir(),
    exists: existsSync,
    ...(podNamespace ? { podNamespace } : {}),
  });
  const kc = new KubeConfig();
  if (source.kind === 'in-cluster') kc.loadFromCluster();
  else {
    if (!existsSync(source.path))
      throw new Error(
        `Failed to load the Kubernetes configuration: ${source.path} does not exist (--kubeconfig, KUBECONFIG)`,
      );
    kc.loadFromFile(source.path);
  }
  if (!kc.getCurrentCluster())
    throw new Error(
      `Failed to load the Kubernetes configuration from ${source.kind === 'file' ? source.path : 'the pod'}: no ` +
        `current cluster`,
    );
  const contextNs = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return {
    kubeConfig: kc,
    namespace: namespace ?? contextNs ?? 'default',
    source,
    ...(source.kind === 'in-cluster' && podNamespace ? { podNamespace } : {}),
  };
}
