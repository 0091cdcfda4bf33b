/**
 * How many replicas a function asks for, pure, as Nuclio computes it: `spec.replicas` (a fixed count) wins
 * over `spec.minReplicas`; neither given means one. And whether a function may run no replica at all until
 * a request arrives (`--deploy-to-zero`): only when every trigger it has is http, since a request on its
 * port is what wakes it — cron, stream and broker triggers need a replica running to fire.
 */
import type { FunctionConfig } from './types.js';

/** The fewest replicas the function asks for (spec.replicas, else spec.minReplicas, else 1). */
export function minReplicasOf(spec: FunctionConfig['spec']): number {
  const n = spec.replicas ?? spec.minReplicas ?? 1;
  return Math.max(0, n);
}

/** True when a request on the function's port is enough to start it: minReplicas 0 and only http triggers. */
export function canStartOnDemand(spec: FunctionConfig['spec']): boolean {
  if (minReplicasOf(spec) !== 0 || spec.disable === true) return false;
  return Object.values(spec.triggers ?? {}).every((t) => t.disabled === true || t.kind === 'http');
}
