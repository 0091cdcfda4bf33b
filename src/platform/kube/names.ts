/**
 * What the Kubernetes platform calls a function's objects and how it finds them again: object names,
 * labels and the pod selector. Pure.
 *
 * Every object of a function is named `nuclio-<namespace>-<name>` (the local platform's replica prefix, so
 * a replica is named alike on every platform), shortened with a hash when that is longer than a DNS-1123
 * label allows (63): a Service name must be one, and it becomes the pods' host names too. The labels are
 * Nuclio's (`nuclio.io/function-name`, `nuclio.io/project-name`, `nuclio.io/class`) plus the function's
 * Protium namespace, since several Protium namespaces share one Kubernetes namespace.
 */
import { createHash } from 'node:crypto';
import type { FunctionRecord, FunctionRef } from '../../resources/types.js';
import { DEFAULT_PROJECT, PROJECT_LABEL } from '../../resources/types.js';

/** The labels the platform writes and selects by. */
export const LABELS = {
  function: 'nuclio.io/function-name',
  project: PROJECT_LABEL,
  class: 'nuclio.io/class',
  namespace: 'protium.io/function-namespace',
  managedBy: 'app.kubernetes.io/managed-by',
  /** On pods: the artifact a pod runs (what `artifactsInUse` reads). */
  artifact: 'protium.io/artifact',
} as const;

/** Annotations the platform writes. */
export const ANNOTATIONS = {
  /** On the Deployment: a hash of what its pods are made of; a new one is a new version. */
  specHash: 'protium.io/spec-hash',
  /** On the Deployment: replicas the function scales between and its idle window (the scaler reads them). */
  scaling: 'protium.io/scaling',
} as const;

/** The longest Kubernetes name that is also a DNS-1123 label (Service names, host names). */
export const MAX_NAME = 63;

/** A DNS-1123 label: lower case alphanumerics and '-', starting and ending alphanumeric. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1035 label (Service names): a DNS-1123 label that starts with a letter. */
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The name of every object of `ref` (the base; versioned ConfigMaps add a suffix: `configMapName`). */
export function objectName(ref: FunctionRef, room = 0): string {
  const full = `nuclio-${ref.namespace}-${ref.name}`;
  const max = MAX_NAME - room;
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

/** A versioned ConfigMap's name: the base plus 10 hex of its content's hash (as kustomize's generator). */
export function configMapName(ref: FunctionRef, contentHash: string): string {
  return `${objectName(ref, 11)}-${contentHash.slice(0, 10)}`;
}

/** The labels that select a function's pods (the Deployment's selector: immutable, so never changed). */
export function selectorOf(ref: FunctionRef): Record<string, string> {
  return { [LABELS.class]: 'function', [LABELS.namespace]: ref.namespace, [LABELS.function]: ref.name };
}

/** The labels of every object of a function. */
export function labelsOf(fn: FunctionRecord): Record<string, string> {
  const ref = refOf(fn);
  return {
    ...selectorOf(ref),
    [LABELS.project]: fn.metadata.labels?.[PROJECT_LABEL] || DEFAULT_PROJECT,
    [LABELS.managedBy]: 'protium',
  };
}

/** A label selector string (`a=b,c=d`) for list and watch calls. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The function a record is. */
export function refOf(fn: FunctionRecord): FunctionRef {
  return { namespace: fn.metadata.namespace ?? 'nuclio', name: fn.metadata.name ?? '' };
}
