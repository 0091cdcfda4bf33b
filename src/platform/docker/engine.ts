/**
 * The container engine: a Docker Engine API client (dockerode) for `--docker-host`, which Docker and
 * Podman's Docker-compatible service both answer. dockerode carries what this platform would otherwise
 * write by hand: the API's endpoints and their options, the multiplexed framing of log and exec streams
 * (`modem.demuxStream`), and the progress stream of an image build (`modem.followProgress`).
 *
 * The engine must run on this machine: the dashboard reaches replicas at their container addresses.
 */
import Docker from 'dockerode';

/** dockerode's connection options for a `--docker-host` URL. Pure; throws a message naming the flag. */
export function dockerOptions(host: string): Docker.DockerOptions {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new Error(
      `--docker-host ${JSON.stringify(host)} is not a URL: give unix:///path/to/docker.sock or tcp://127.0.0.1:2375`,
    );
  }
  if (url.protocol === 'unix:') {
    const path = decodeURIComponent(url.pathname);
    if (!path || path === '/')
      throw new Error(`--docker-host ${JSON.stringify(host)} names no socket: give unix:///path/to/docker.sock`);
    return { socketPath: path };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    if (!url.hostname) throw new Error(`--docker-host ${JSON.stringify(host)} names no host`);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 2376 : 2375),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
    };
  }
  throw new Error(
    `--docker-host ${JSON.stringify(host)}: only unix://, tcp://, http:// and https:// engines are supported (the engine must run on this machine)`,
  );
}

/** The engine's own message of a failed call (dockerode puts it in `json.message` or `reason`). */
export function engineMessage(e: unknown): string {
  const err = e as {
    json?: { message?: string; cause?: string } | string;
    reason?: string;
    message?: string;
    statusCode?: number;
  };
  const fromJson =
    typeof err.json === 'object' && err.json
      ? (err.json.message ?? err.json.cause)
      : typeof err.json === 'string'
        ? err.json
        : undefined;
  const text = (fromJson ?? err.reason ?? err.message ?? String(e)).toString().trim();
  return text.replace(/^\(HTTP code \d+\)\s*/, '');
}

/** The HTTP status of a failed engine call, if it got that far. */
export const engineStatus = (e: unknown): number | undefined => (e as { statusCode?: number }).statusCode;

/** Connects to the engine at `host` and checks that it answers; throws a message a person can act on. */
export async function connectEngine(host: string): Promise<{ docker: Docker; version: string; name: string }> {
  const docker = new Docker(dockerOptions(host));
  try {
    const v = await docker.version();
    const podman = v.Components?.some((c) => /podman/i.test(c.Name));
    return { docker, version: v.Version, name: podman ? `Podman ${v.Version}` : `Docker ${v.Version}` };
  } catch (e) {
    throw new Error(
      `The container engine at ${host} does not answer (${engineMessage(e)}): start Docker, or run ` +
        `scripts/container-host.sh for Podman, and pass its address with --docker-host`,
      { cause: e },
    );
  }
}
