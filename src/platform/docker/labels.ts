/**
 * Labels on what the docker platform creates in the engine: containers (replicas, artifact fetches, build
 * commands), volumes (artifact caches) and images. The dashboard finds its own things by them — it adopts
 * or removes what an earlier run of itself left, and never touches anything without its id. The function's
 * labels are Nuclio's (its local platform labels containers the same way). Pure.
 */
import type { FunctionRef } from '../../resources/types.js';

export const LABELS = {
  /** This dashboard's id (docker-platform.ts keeps it in the data dir): whose the thing is. */
  dashboard: 'io.protium.dashboard',
  /** What a container is for: ROLES. */
  role: 'io.protium.role',
  namespace: 'nuclio.io/namespace',
  function: 'nuclio.io/function-name',
  project: 'nuclio.io/project-name',
  /** The artifact a replica runs or a volume caches. */
  artifact: 'io.protium.artifact',
  /**
   * A hash of everything a replica's container is made of but its name: replicas with equal ones are
   * interchangeable.
   */
  spec: 'io.protium.replica-spec',
  /** On processor images: their tag. */
  processorImage: 'io.protium.processor-image',
} as const;

/** `pool`: a generic processor kept started for a replica to take (--prewarm: container-pool.ts). */
export const ROLES = { replica: 'replica', fetch: 'fetch', build: 'build', probe: 'probe', pool: 'pool' } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];

/** The engine's label filter for what this dashboard made (optionally of one role, or one function). */
export function ownFilter(dashboardId: string, extra: { role?: Role; fn?: FunctionRef } = {}): { label: string[] } {
  const label = [`${LABELS.dashboard}=${dashboardId}`];
  if (extra.role) label.push(`${LABELS.role}=${extra.role}`);
  if (extra.fn) label.push(`${LABELS.namespace}=${extra.fn.namespace}`, `${LABELS.function}=${extra.fn.name}`);
  return { label };
}

/** The function a labelled thing belongs to, if its labels name one. */
export function functionOf(labels: Record<string, string> | undefined): FunctionRef | undefined {
  const namespace = labels?.[LABELS.namespace];
  const name = labels?.[LABELS.function];
  return namespace && name ? { namespace, name } : undefined;
}
