/** The addresses this machine is reached at, for the external invocation URLs of functions it runs. */
import { networkInterfaces } from 'node:os';

/** This host's non-loopback IPv4 addresses. */
export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}
