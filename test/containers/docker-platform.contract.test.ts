/**
 * The Platform contract (platform.contract.ts) run against the docker platform: real containers of the
 * processor image on the engine scripts/container-host.sh sets up, artifacts built by the real local
 * builder and fetched by the real fetcher from the real artifact endpoint (on a listener of its own here,
 * as the dashboard's is), a fresh data dir per case. Everything a case made is removed by its dashboard id.
 */
import { describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ArtifactTokens } from '../../src/api/artifact-tokens.js';
import { installAuth } from '../../src/api/auth.js';
import { installErrorHandling } from '../../src/api/error-reply.js';
import { installReplicaGate, listenForReplicas, type ReplicaListener } from '../../src/api/replica-listener.js';
import { artifactRoutes } from '../../src/api/routes/artifacts.js';
import { ArtifactArchives } from '../../src/builder/artifact-archive.js';
import { ArtifactStore } from '../../src/builder/artifact-store.js';
import { LocalBuilder } from '../../src/builder/local-builder.js';
import { TemplateCatalog } from '../../src/builder/template-catalog.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { dataLayout, PACKAGE_ROOT, TEMPLATES_DIR } from '../../src/paths.js';
import type { FunctionConfig } from '../../src/resources/types.js';
import { DockerPlatform } from '../../src/platform/docker/docker-platform.js';
import { platformContract } from '../../src/platform/platform.contract.js';
import { BASE_IMAGE, DOCKER_HOST, engineMissing, removeAll } from './engine.js';

const missing = await engineMissing();

if (missing) {
  describe('Platform contract: DockerPlatform', () => {
    it('runs against a container engine', { skip: missing }, () => {});
  });
} else {
  platformContract(`DockerPlatform (${DOCKER_HOST})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protium-docker-contract-'));
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
          throw new Error('the contract has no build commands');
        },
      },
    });
    const archives = new ArtifactArchives((id) => artifacts.dirOf(id), join(dir, 'archives'));
    const tokens = new ArtifactTokens();
    const app = Fastify();
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
  });
}
