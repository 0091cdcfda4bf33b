/**
 * A kube platform as the platform contract (and the dashboard-level kube tests) use it, with no cluster:
 * the fake API server (fake-apiserver.ts) with the dashboard's Role from deploy/kubernetes/rbac.yaml
 * enforced, whose kubelet runs the processor image's containers as the real programs that image holds —
 * the init container is the real artifact fetcher (processor/fetch-artifact.ts), the container the real
 * processor in its listen mode (processor/main.ts) — so a function's pod fetches its artifact from the
 * real artifact endpoint over HTTP with the credential the platform wrote into the Deployment, checks the
 * digest, and answers on its own address. The artifacts are built by the real local builder.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ArtifactTokens } from '../../src/api/artifact-tokens.js';
import { installAuth } from '../../src/api/auth.js';
import { installErrorHandling } from '../../src/api/error-reply.js';
import { AJV_OPTIONS, installRequestValidation, SCHEMA_CONTROLLER } from '../../src/api/request-validation.js';
import { artifactRoutes } from '../../src/api/routes/artifacts.js';
import { ArtifactArchives } from '../../src/builder/artifact-archive.js';
import { ArtifactStore } from '../../src/builder/artifact-store.js';
import type { Artifact } from '../../src/builder/builder.js';
import { LocalBuilder } from '../../src/builder/local-builder.js';
import { TemplateCatalog } from '../../src/builder/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { dataLayout, PACKAGE_ROOT, TEMPLATES_DIR } from '../../src/paths.js';
import { KubePlatform } from '../../src/platform/kube/kube-platform.js';
import type { FunctionConfig } from '../../src/resources/types.js';
import { FakeApiServer, type Rule } from './fake-apiserver.js';
import type { FakeImage } from './fake-kubelet.js';

/** The processor image as the fake kubelet runs it: its entry point (images/processor/processor.sh) is
 * `processor` (the processor) or `processor fetch` (the fetcher); /opt/protium is this package. */
export const PROCESSOR_IMAGE = 'protium-processor:contract';
export function processorImage(): FakeImage {
  return {
    command: (args) => [
      process.execPath,
      join(PACKAGE_ROOT, 'dist', 'src', 'processor', args[0] === 'fetch' ? 'fetch-artifact.js' : 'main.js'),
    ],
    paths: { '/opt/protium': PACKAGE_ROOT },
    bindEnv: 'PROTIUM_PROCESSOR_HOST',
  };
}

/** The Role and ClusterRole rules of deploy/kubernetes/rbac.yaml. */
export function installRules(): Rule[] {
  const docs = parseAllDocuments(readFileSync(join(PACKAGE_ROOT, 'deploy/kubernetes/rbac.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; rules?: Rule[] },
  );
  return docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole').flatMap((d) => d.rules ?? []);
}

/** A client configuration for the fake API server, as a kubeconfig file would give it. */
export function fakeKubeConfig(url: string, namespace: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'dashboard', token: 'sa-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'dashboard', namespace }],
    currentContext: 'fake',
  });
  return kc;
}

export interface KubeSubject {
  platform: KubePlatform;
  /** The fake API server (none on a real cluster). */
  api?: FakeApiServer;
  artifactFor(source: { runtime: string; handler: string; code: string }): Promise<Artifact>;
  close(): Promise<void>;
}

/** The artifact endpoint alone, on `host` (where pods reach it). */
async function artifactEndpoint(
  archives: ArtifactArchives,
  tokens: ArtifactTokens,
  host: string,
): Promise<FastifyInstance> {
  const app = Fastify({ ajv: AJV_OPTIONS, schemaController: SCHEMA_CONTROLLER });
  installRequestValidation(app);
  installErrorHandling(app, silentLogger());
  installAuth(app, undefined);
  artifactRoutes(app, { archives, tokens });
  await app.listen({ host, port: 0 });
  return app;
}

/** Where the platform runs functions: the cluster, and how its pods reach this process. */
export interface KubeTarget {
  kubeConfig: KubeConfig;
  namespace: string;
  processorImage: string;
  /** The address the artifact endpoint listens on, and the URL pods reach it at (given its port). */
  endpointHost: string;
  endpointUrl: (port: number) => string;
  /** Stops what the target started (the fake API server). */
  close(): Promise<void>;
}

/** The fake API server as a target: pods are processes of this machine, the endpoint on 127.0.0.1. */
async function fakeTarget(): Promise<KubeTarget & { api: FakeApiServer }> {
  const api = new FakeApiServer({
    rules: installRules(),
    kubelet: {
      timeScale: 0.2,
      baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      images: { [PROCESSOR_IMAGE]: processorImage() },
    },
  });
  const url = await api.listen();
  return {
    api,
    kubeConfig: fakeKubeConfig(url, 'protium'),
    namespace: 'protium',
    processorImage: PROCESSOR_IMAGE,
    endpointHost: '127.0.0.1',
    endpointUrl: (port) => `http://127.0.0.1:${port}`,
    close: () => api.close(),
  };
}

/** A kube platform over `target` (the fake API server by default), with the real builder and artifact endpoint. */
export async function kubeSubject(opts: { scaleIntervalMs?: number; target?: KubeTarget } = {}): Promise<KubeSubject> {
  const target = opts.target ?? (await fakeTarget());
  const dir = mkdtempSync(join(tmpdir(), 'protium-kube-platform-'));
  const config = loadConfig({ listenAddr: '127.0.0.1:0', dataDir: dir }, {});
  const layout = dataLayout(dir);
  for (const d of [layout.artifacts, layout.logs, layout.run]) mkdirSync(d, { recursive: true });
  const artifacts = new ArtifactStore(layout.artifacts);
  const builder = new LocalBuilder({
    artifacts,
    templates: TemplateCatalog.load(TEMPLATES_DIR),
    sourceRoots: { roots: [], forbidden: [dir] },
    sourceLimits: config.sourceLimits,
    commands: {
      run: async () => {
        throw new Error('these tests have no build commands');
      },
    },
  });
  const archives = new ArtifactArchives((id) => artifacts.dirOf(id), layout.archives);
  const tokens = new ArtifactTokens();
  let app: FastifyInstance | undefined;
  let platform: KubePlatform | undefined;
  const cleanUp = async () => {
    await platform?.close();
    await target.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    app = await artifactEndpoint(archives, tokens, target.endpointHost);
    const port = (app.server.address() as { port: number }).port;
    platform = await KubePlatform.start({
      kubeConfig: target.kubeConfig,
      namespace: target.namespace,
      processorImage: target.processorImage,
      dashboard: { url: () => target.endpointUrl(port) },
      artifacts: {
        digest: async (id) => (await archives.archive(id))?.digest,
        token: (id) => tokens.issueLasting(id),
      },
      connectionLimits: config.connectionLimits,
      log: silentLogger(),
      scaleIntervalMs: opts.scaleIntervalMs ?? 1_000,
    });
  } catch (e) {
    await cleanUp();
    throw e;
  }
  return {
    platform,
    api: (target as { api?: FakeApiServer }).api,
    artifactFor: (source) =>
      builder.build({
        metadata: { name: 'contract', namespace: 'contract' },
        spec: {
          runtime: source.runtime,
          handler: source.handler,
          build: { functionSourceCode: Buffer.from(source.code).toString('base64') },
        },
      } as FunctionConfig),
    close: cleanUp,
  };
}
