/**
 * The container engine the container tests use: PROTIUM_TEST_DOCKER_HOST, else the one
 * scripts/container-host.sh starts (unix:///run/protium/podman.sock); the base image PROTIUM_TEST_BASE_IMAGE,
 * else the one it builds (localhost/protium-base:bookworm). Tests skip, saying why, when there is none (CI
 * runs the script first and fails on skips). Everything a test dashboard made carries its dashboard id
 * (labels.ts): `leftovers` lists what is left of it, `removeAll` removes it.
 */
import Docker from 'dockerode';
import { dockerOptions } from '../../src/platform/docker/engine.js';
import { LABELS } from '../../src/platform/docker/labels.js';

export const DOCKER_HOST = process.env.PROTIUM_TEST_DOCKER_HOST || 'unix:///run/protium/podman.sock';
export const BASE_IMAGE = process.env.PROTIUM_TEST_BASE_IMAGE || 'localhost/protium-base:bookworm';

/** Why the container tests cannot run here, or undefined when they can. */
export async function engineMissing(): Promise<string | undefined> {
  const docker = new Docker(dockerOptions(DOCKER_HOST));
  try {
    await docker.ping();
  } catch (e) {
    return `no container engine at ${DOCKER_HOST} (${(e as Error).message}): run scripts/container-host.sh`;
  }
  try {
    await docker.getImage(BASE_IMAGE).inspect();
  } catch {
    return `the base image ${BASE_IMAGE} is not on the engine: run scripts/container-host.sh`;
  }
  return undefined;
}

export const engine = (): Docker => new Docker(dockerOptions(DOCKER_HOST));

/** Containers and volumes a dashboard (by id) made that are still there. */
export async function leftovers(
  dashboardId: string,
): Promise<{ containers: Docker.ContainerInfo[]; volumes: string[] }> {
  const docker = engine();
  const filters = { label: [`${LABELS.dashboard}=${dashboardId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const { Volumes } = await docker.listVolumes({ filters });
  return { containers, volumes: (Volumes ?? []).map((v) => v.Name) };
}

/** Removes everything a dashboard (by id) made: containers first, then volumes. */
export async function removeAll(dashboardId: string): Promise<void> {
  const docker = engine();
  const { containers, volumes } = await leftovers(dashboardId);
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  await Promise.all(
    volumes.map((v) =>
      docker
        .getVolume(v)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
}
