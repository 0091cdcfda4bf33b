/**
 * The Platform contract (platform.contract.ts) run against the local platform: real replica processes in
 * the confinement this machine offers, artifacts built by the real local builder, on a fresh data dir per
 * case, with the dashboard's defaults (port range, connection limits, source limits).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../../builder/artifact-store.js';
import { BuildCommands } from '../../builder/build-commands.js';
import { LocalBuilder } from '../../builder/local-builder.js';
import { currentPackageManagerConfig } from '../../builder/package-manager-config.js';
import { TemplateCatalog } from '../../builder/template-catalog.js';
import { loadConfig } from '../../config.js';
import { silentLogger } from '../../log.js';
import { dataLayout, PROCESSOR_MAIN, PYTHON_RUNTIME_DIR, TEMPLATES_DIR } from '../../paths.js';
import type { FunctionConfig } from '../../resources/types.js';
import { platformContract } from '../platform.contract.js';
import { detectPidNamespace } from './confinement.js';
import { baseReplicaEnv, LocalPlatform } from './local-platform.js';

const confinement = detectPidNamespace();

platformContract(`LocalPlatform (${confinement.kind})`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'protium-platform-contract-'));
  const config = loadConfig({ listenAddr: '127.0.0.1:0', dataDir: dir }, {});
  const layout = dataLayout(dir);
  for (const d of [layout.artifacts, layout.logs, layout.run]) mkdirSync(d, { recursive: true });
  const builder = new LocalBuilder({
    artifacts: new ArtifactStore(layout.artifacts),
    templates: TemplateCatalog.load(TEMPLATES_DIR),
    sourceRoots: { roots: [], forbidden: [dir] },
    sourceLimits: config.sourceLimits,
    commands: new BuildCommands({
      baseEnv: baseReplicaEnv(process.env),
      packageManagers: currentPackageManagerConfig(),
      jail: confinement,
      pidDir: join(layout.run, 'builds'),
    }),
  });
  const platform = new LocalPlatform({
    layout,
    host: config.functionHost,
    portRange: config.portRange,
    externalIps: [],
    program: PROCESSOR_MAIN,
    pythonRuntimeDir: PYTHON_RUNTIME_DIR,
    log: silentLogger(),
    connectionLimits: config.connectionLimits,
    confinement,
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
