/**
 * The engine's default network as seen from this machine: its gateway is this machine's address on the
 * bridge, where containers reach the dashboard (api/replica-listener.ts). Podman (with CNI) creates the
 * bridge only when the first container joins it; until then the address is nobody's, so a throwaway
 * container is started to bring it up.
 */
import { networkInterfaces } from 'node:os';
import type Docker from 'dockerode';
import { engineMessage } from './engine.js';
import { LABELS, ROLES } from './labels.js';

/** True when `address` is one of this machine's. */
export function isLocalAddress(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === address));
}

/** The gateway the engine's default network ("bridge": Docker's, and Podman's Docker-compatible name) gives. */
async function declaredGateway(docker: Docker): Promise<string | undefined> {
  try {
    const net = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
    return net.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  } catch {
    return undefined;
  }
}

/**
 * This machine's address on the engine's default network. `image`: an image to start a throwaway
 * container from when the bridge is not up yet; `dashboardId` labels it.
 */
export async function bridgeAddress(
  docker: Docker,
  image: () => Promise<string>,
  dashboardId: string,
): Promise<string> {
  const declared = await declaredGateway(docker);
  if (declared && isLocalAddress(declared)) return declared;
  let container: Docker.Container | undefined;
  try {
    container = await docker.createContainer({
      Image: await image(),
      Entrypoint: ['sleep'],
      Cmd: ['60'],
      Labels: { [LABELS.dashboard]: dashboardId, [LABELS.role]: ROLES.probe },
      HostConfig: { CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ReadonlyRootfs: true },
    });
    await container.start();
    const info = await container.inspect();
    const gateway = Object.values(info.NetworkSettings?.Networks ?? {}).find((n) => n.Gateway)?.Gateway ?? declared;
    if (!gateway) throw new Error('the engine gives its containers no gateway address');
    if (!isLocalAddress(gateway))
      throw new Error(
        `the containers' gateway ${gateway} is not an address of this machine (is the engine on another machine?)`,
      );
    return gateway;
  } catch (e) {
    throw new Error(`Failed to find this machine's address on the container network: ${engineMessage(e)}`, {
      cause: e,
    });
  } finally {
    await container?.remove({ force: true }).catch(() => {});
  }
}
