/**
 * Projects: body processing and name rules.
 */
import { fieldError, quote } from '../errors.js';
import { dnsLabelErrors } from './names.js';
import { optObject, optString, optStringMap } from './shape.js';
import { readMeta, requireObjectBody } from './function-validate.js';
import type { Project } from './types.js';

/**
 * Reads a project body: namespace defaults, `name` required unless `generateName` supplies one
 * (create), DNS-1123 label rule.
 */
export function readProjectBody(
  bodyIn: unknown,
  opts: { defaultNamespace: string; generateName?: () => string; nameFallback?: string },
): Project {
  const body = requireObjectBody(bodyIn);
  const metadata = readMeta(body, 'Project');
  metadata.namespace = metadata.namespace || opts.defaultNamespace;
  if (!metadata.name && opts.nameFallback) metadata.name = opts.nameFallback;
  if (!metadata.name && opts.generateName) metadata.name = opts.generateName();
  if (!metadata.name) throw fieldError('metadata.name', 'Project name must be provided in metadata');
  if (!metadata.namespace) throw fieldError('metadata.namespace', 'Project namespace must be provided in metadata');
  const errors = dnsLabelErrors(metadata.name);
  if (errors.length) {
    throw fieldError(
      'metadata.name',
      `Project name must adhere to Kubernetes naming conventions. Errors: ${errors.join('; ')} ` +
        `(metadata.name ${quote(metadata.name)})`,
    );
  }
  const spec = optObject(body.spec, 'spec') ?? {};
  optString(spec.description, 'spec.description');
  optString(spec.owner, 'spec.owner');
  optStringMap(spec.defaultFunctionNodeSelector, 'spec.defaultFunctionNodeSelector');
  return { metadata, spec: { ...spec }, status: {} };
}

/** Deletion strategies of `X-Nuclio-Delete-Project-Strategy`; anything else is `restricted`. */
export type DeleteProjectStrategy = 'restricted' | 'cascading' | 'check';
export function deleteStrategy(header: string | undefined): DeleteProjectStrategy {
  return header === 'cascading' || header === 'check' ? header : 'restricted';
}
