/**
 * The addresses of this machine that make a local function's external invocation URLs (and the
 * dashboard's /api/external_ip_addresses) when nothing is configured (--external-ips).
 */
import { networkInterfaces } from 'node:os';

/** This host's non-loopback IPv4 addresses. */
export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}
