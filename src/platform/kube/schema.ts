/**
 * Validation of Kubernetes objects against Kubernetes' own OpenAPI schemas, through kubernetes-models (the
 * schemas compiled to validators, one class per kind): what `protium kube manifests` checks before it
 * prints, and what the tests check of every generated object and of deploy/kubernetes/. The kinds are the
 * ones the platform and its install manifests use; any other kind is an error, not a pass.
 */
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/Ingress': Ingress,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

/** The kinds this module validates, as `apiVersion/kind`. */
export const VALIDATED_KINDS = Object.keys(MODELS);

/** What is wrong with `obj` by Kubernetes' schema: an empty list when nothing is. */
export function schemaProblems(obj: { apiVersion?: unknown; kind?: unknown }): string[] {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const Model = MODELS[key];
  if (!Model) return [`${key}: not a kind this validator knows (${VALIDATED_KINDS.join(', ')})`];
  try {
    new Model(obj as never).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    if (Array.isArray(errors) && errors.length)
      return errors.map((x) => `${key}: ${x.instancePath || '/'} ${x.message ?? 'is invalid'}`);
    return [`${key}: ${(e as Error).message}`];
  }
}
