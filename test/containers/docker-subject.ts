/**
 * A docker platform as the contract and the platform-level container tests use it: a fresh data dir, the
 * real local builder, the real artifact endpoint on a listener of its own (as the dashboard's is), the
 * engine of scripts/container-host.sh. `close` stops it and removes everything it made, by its id.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ArtifactTokens } from '../../src/api/artifact-tokens.js';
import { installAuth } from '../../src/api/auth.js';
import { installErrorHandling } from '../../src/api/error-reply.js';
import { AJV_OPTIONS, installRequestValidation, SCHEMA_CONTROLLER } from '../../src/api/request-validation.js';
import { installReplicaGate, listenForReplicas, type ReplicaListener } from '../../src/api/replica-listener.js';
import { artifactRoutes } from '../../src/api/routes/artifacts.js';
import { ArtifactArchives } from '../../src/builder/artifact-archive.js';
import { ArtifactStore } from '../../src/builder/artifact-store.js';
import type { Artifact } from '../../src/builder/builder.js';
import { LocalBuilder } from '../../src/builder/local-builder.js';
import { TemplateCatalog } from '../../src/builder/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { dataLayout, PACKAGE_ROOT, TEMPLATES_DIR } from '../../src/paths.js';
import { DockerPlatform } from '../../src/platform/docker/docker-platform.js';
import type { FunctionConfig } from '../../src/resources/types.js';
import { BASE_IMAGE, DOCKER_HOST, removeAll } from './engine.js';

export interface DockerSubject {
  platform: DockerPlatform;
  archives: ArtifactArchives;
  /** Builds (or reuses) the artifact of a nodejs source. */
  artifactFor(source: { runtime: string; handler: string; code: string }): Promise<Artifact>;
  close(): Promise<void>;
}

export async function dockerSubject(): Promise<DockerSubject> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-docker-platform-'));
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
  // The route's schema refers to the shared ones, which the API's validation setup adds.
  const app = Fastify({ ajv: AJV_OPTIONS, schemaController: SCHEMA_CONTROLLER });
  installRequestValidation(app);
  installErrorHandling(app, silentLogger());
  installAuth(app, undefined);
  installReplicaGate(app);
  artifactRoutes(app, { archives, tokens });
  await app.ready();
  let listener: ReplicaListener | undefined;
  const platform = await DockerPlatform.start({
    dockerHost: DOCKER_HOST,
    baseImage: BASE_IMAGE,
    packageRoot: PACKAGE_ROOT,
    dataDir: dir,
    host: config.functionHost,
    portRange: config.portRange,
    externalIps: [],
    log: silentLogger(),
    connectionLimits: config.connectionLimits,
    artifacts: { archives, tokens },
    replicaEndpoint: async (host) => (listener ??= await listenForReplicas(app, host, config.connectionLimits)).url,
  });
  return {
    platform,
    archives,
    artifactFor: (source) =>
      builder.build({
        metadata: { name: 'contract', namespace: 'contract' },
        spec: {
          runtime: source.runtime,
          handler: source.handler,
          build: { functionSourceCode: Buffer.from(source.code).toString('base64') },
        },
      } as FunctionConfig),
    async close() {
      await platform.close();
      await listener?.close();
      await app.close();
      await removeAll(platform.dashboardId);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
