/**
 * Scaling decisions of a function on the local platform, pure: from the serving replicas' load (which
 * their processors report over IPC) and the function's policy, whether to add a replica, remove one, go
 * to zero, or do nothing. The function instance asks once a second and acts (function-instance.ts).
 *
 * - Up: when the in-flight events per ready replica reach the http trigger's workers (`targetInflight`)
 *   and there are fewer than `max` replicas.
 * - Down: when they stay under a quarter of the target for `scaleDownAfterMs`, one replica at a time,
 *   never below max(min, 1).
 * - To zero: with `min` 0 and an idle window (spec.scaleToZero), when nothing is in flight or held and
 *   no replica saw activity for that long.
 */

/** What one replica reports. */
export interface ReplicaLoad {
  /** Ready to take connections (not starting, restarting or stopping). */
  ready: boolean;
  /** Events being handled now. */
  inflight: number;
  /** When it last started, answered or took a connection (ms since the epoch). */
  lastActivity: number;
}

/** The function's scaling settings (from its spec: replica-spec.ts `deploymentOf`). */
export interface ScalePolicy {
  min: number;
  max: number;
  /** In-flight events per replica before another is added (the http trigger's numWorkers). */
  targetInflight: number;
  /** Idle time before scaling to zero; undefined: never (no spec.scaleToZero window). */
  idleWindowMs?: number;
  /** How long the load must stay low before a replica is removed. */
  scaleDownAfterMs: number;
}

/** The load of a function's serving version, and what the last decision left. */
export interface FunctionLoad {
  /** Its replicas, starting and restarting ones included. */
  replicas: ReplicaLoad[];
  /** Connections held for a replica (waiting for one to come up or to take them). */
  held: number;
  /** Since when the load has been low (0: it is not). */
  lowSince: number;
}

/** What to do: nothing, add a replica, remove one, stop them all (the port stays, and wakes the function). */
export type ScaleAction = 'none' | 'up' | 'down' | 'toZero';

/** A decision, and the state the next one starts from. */
export interface ScaleDecision {
  action: ScaleAction;
  /** The next `FunctionLoad.lowSince`. */
  lowSince: number;
}

/** What to do now with a function whose replicas carry `load`. */
export function decideScale(load: FunctionLoad, now: number, policy: ScalePolicy): ScaleDecision {
  const live = load.replicas.filter((r) => r.ready);
  if (!live.length) return { action: 'none', lowSince: load.lowSince };
  const inflight = live.reduce((n, r) => n + r.inflight, 0);
  const lastActivity = Math.max(...load.replicas.map((r) => r.lastActivity));
  if (
    policy.idleWindowMs &&
    policy.min === 0 &&
    inflight === 0 &&
    load.held === 0 &&
    now - lastActivity >= policy.idleWindowMs
  ) {
    return { action: 'toZero', lowSince: load.lowSince };
  }
  const perReplica = inflight / live.length;
  if (perReplica >= policy.targetInflight && load.replicas.length < policy.max) return { action: 'up', lowSince: 0 };
  if (perReplica < policy.targetInflight * 0.25 && load.replicas.length > Math.max(policy.min, 1)) {
    const since = load.lowSince || now;
    return now - since >= policy.scaleDownAfterMs
      ? { action: 'down', lowSince: now }
      : { action: 'none', lowSince: since };
  }
  return { action: 'none', lowSince: 0 };
}
