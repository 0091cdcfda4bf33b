#!/usr/bin/env node
// Removes every container and volume a dashboard with --platform docker made, by the id in its data dir
// (DATA_DIR/dashboard-id): what is left after it was killed and will not be started again on that data
// dir (a CI run, a test). Containers and volumes of other dashboards, or of nobody's, are not touched.
// Usage: node scripts/container-cleanup.mjs DATA_DIR [DOCKER_HOST]   (default: $DOCKER_HOST, else the
// socket of scripts/container-host.sh)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dataDir, host = process.env.DOCKER_HOST || 'unix:///run/protium/podman.sock'] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: node scripts/container-cleanup.mjs DATA_DIR [DOCKER_HOST]');
  process.exit(2);
}
let id;
try {
  id = readFileSync(join(dataDir, 'dashboard-id'), 'utf8').trim();
} catch {
  console.log(`container-cleanup: ${dataDir} has no dashboard-id: nothing of it on any engine`);
  process.exit(0);
}
const { default: Docker } = await import('dockerode');
const { dockerOptions } = await import('../dist/src/platform/docker/engine.js');
const docker = new Docker(dockerOptions(host));
const filters = { label: [`io.protium.dashboard=${id}`] };
const containers = await docker.listContainers({ all: true, filters });
await Promise.all(
  containers.map((c) =>
    docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {}),
  ),
);
const { Volumes } = await docker.listVolumes({ filters });
await Promise.all(
  (Volumes ?? []).map((v) =>
    docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {}),
  ),
);
console.log(
  `container-cleanup: removed ${containers.length} containers and ${(Volumes ?? []).length} volumes of dashboard ${id}`,
);
