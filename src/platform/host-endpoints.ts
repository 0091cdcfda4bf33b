/**
 * Where a function bound on a port of this machine answers (the local and docker platforms: both bind
 * function ports on the dashboard's host). Pure.
 */
import type { FunctionRecord } from '../resources/types.js';
import type { Endpoint } from './platform.js';

/** host:port, with an IPv6 address in brackets. */
export const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

const isAnyHost = (host: string): boolean => host === '0.0.0.0' || host === '::';

/** The route to a function bound on `port` of `host`: its address from this machine. */
export function routeTo(host: string, port: number): string {
  return hostPort(isAnyHost(host) ? '127.0.0.1' : host, port);
}

/** From this machine, the route; from outside, `externalAddresses` when bound on every address. */
export function hostEndpoint(host: string, externalAddresses: () => string[], port: number): Endpoint {
  const internal = [routeTo(host, port)];
  const external = isAnyHost(host) ? externalAddresses().map((ip) => hostPort(ip, port)) : [hostPort(host, port)];
  return {
    httpPort: port,
    internalInvocationUrls: internal,
    externalInvocationUrls: external.length ? external : internal,
  };
}

/** Every host:port a client may have used for an endpoint (its pools there must go on a rollover). */
export function targetsOf(e: Endpoint): string[] {
  return [...new Set([...e.internalInvocationUrls, ...e.externalInvocationUrls])];
}

/**
 * The endpoints of a platform whose function ports bind on `host` of this machine (the local and docker
 * platforms). `externalAddresses` is asked only when they bind every address.
 */
export class HostPorts {
  constructor(
    private readonly host: string,
    /** The addresses that make external invocation URLs (--external-ip, else this host's). */
    readonly externalAddresses: () => string[],
  ) {}

  /** Where a function bound on `port` answers: from this machine, the route; from outside, these addresses. */
  endpoint(port: number): Endpoint {
    return hostEndpoint(this.host, this.externalAddresses, port);
  }

  /** The route to a function bound on `port`: its address from this machine. */
  routeTo(port: number): string {
    return routeTo(this.host, port);
  }

  /** Every host:port a client may have used for the function on `port` (its pools there must go on a rollover). */
  targets(port: number): string[] {
    return targetsOf(this.endpoint(port));
  }
}

/** The port the function's http trigger asks for (attributes.port), if any. */
export function fixedPortOf(fn: FunctionRecord): number | undefined {
  const http = Object.values(fn.spec.triggers ?? {}).find((t) => t.kind === 'http');
  const port = http?.attributes?.port;
  return typeof port === 'number' && port > 0 ? port : undefined;
}
