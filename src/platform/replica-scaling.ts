/**
 * How many replicas a function runs and when it scales, from its spec, as every platform reads it: min
 * and max replicas (Nuclio's defaults), the readiness timeout, the idle window after which a function
 * whose minReplicas is 0 scales to zero (the shortest of spec.scaleToZero.scaleResources; never for a
 * function that consumes a broker, which has no request to wake it), the in-flight events per replica
 * above which another is added (the http trigger's workers), spec.disable. Pure; the decisions made from
 * it are local/scaling.ts's.
 */
import { brokerOf } from '../resources/broker-triggers/index.js';
import type { FunctionRecord } from '../resources/types.js';
import { parseDuration } from '../util/duration.js';

export const DEFAULT_READINESS_S = 120;

export interface Scaling {
  min: number;
  max: number;
  readinessMs: number;
  /** Scale to zero after this long without a request (only when min is 0). */
  idleWindowMs?: number;
  /** In-flight events per replica at which another replica is added. */
  targetInflight: number;
  disabled: boolean;
}

export function scalingOf(fn: FunctionRecord): Scaling {
  const spec = fn.spec;
  const min = spec.minReplicas ?? spec.replicas ?? 1;
  const max = Math.max(spec.maxReplicas ?? Math.max(min, 1), 1);
  const window =
    spec.scaleToZero?.scaleResources?.map((r) => parseDuration(r.windowSize ?? '') ?? 0).filter((ms) => ms > 0) ?? [];
  const http = Object.values(spec.triggers ?? {}).find((t) => t.kind === 'http');
  const consumesBroker = Object.values(spec.triggers ?? {}).some((t) => brokerOf(t.kind) !== undefined && !t.disabled);
  return {
    min,
    max,
    readinessMs: (spec.readinessTimeoutSeconds || DEFAULT_READINESS_S) * 1000,
    ...(window.length && !consumesBroker ? { idleWindowMs: Math.min(...window) } : {}),
    targetInflight: Math.max(1, http?.numWorkers ?? 1),
    disabled: spec.disable === true,
  };
}
