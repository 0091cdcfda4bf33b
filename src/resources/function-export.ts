/**
 * The export form of a function, as Nuclio's: no namespace, resource version or status, annotations that
 * make an import skip build and deploy and remember the state, and — unless `includeSecrets` — every
 * secret blanked (secrets.ts says what is one): in environment variables, triggers (passwords, secrets,
 * attributes such as `sasl.password`, `accessKey`, a cron event's `Authorization` header), the build's
 * code-entry attributes, source URL, registry and commands, volumes, platform and runtime attributes,
 * and annotations. An export is meant to be shared.
 */
import { isSecretName, redactEnv, redactSecrets } from './secrets.js';
import { clone } from './shape.js';
import type { FunctionConfig, FunctionRecord } from './types.js';

export interface ExportOptions {
  /** X-Nuclio-Skip-Spec-Cleanup: drop registries (and the image when the source is inline). */
  skipSpecCleanup?: boolean;
  /** Keep secrets as they are (`?includeSecrets=true`): an explicit choice. */
  includeSecrets?: boolean;
}

export function exportFunction(fn: FunctionRecord, opts: ExportOptions = {}): FunctionConfig {
  const metadata = clone(fn.metadata);
  delete metadata.namespace;
  delete metadata.resourceVersion;
  delete metadata.creationTimestamp;
  metadata.annotations = {
    ...(metadata.annotations ?? {}),
    'nuclio.io/previous-state': fn.status?.state ?? '',
    'skip-build': 'true',
    'skip-deploy': 'true',
  };
  let spec = clone(fn.spec);
  if (!opts.includeSecrets) {
    spec = redactSpec(spec);
    metadata.annotations = redactSecrets(metadata.annotations);
  }
  if (opts.skipSpecCleanup) {
    delete spec.runRegistry;
    delete spec.build.registry;
    if (spec.build.functionSourceCode) delete spec.image;
  }
  return { metadata, spec };
}

/** The parts of a spec that carry configuration values, with their secrets blanked (the source code is not one). */
function redactSpec(spec: FunctionConfig['spec']): FunctionConfig['spec'] {
  const out = { ...spec };
  if (spec.env) out.env = redactEnv(spec.env);
  for (const k of ['triggers', 'volumes', 'platform', 'runtimeAttributes'] as const) {
    if (spec[k] !== undefined) (out as Record<string, unknown>)[k] = redactSecrets(spec[k]);
  }
  if (spec.build) {
    out.build = Object.fromEntries(
      Object.entries(spec.build).map(([k, v]) => [
        k,
        k === 'functionSourceCode' ? v : redactSecrets(v, isSecretName(k)),
      ]),
    );
  }
  return out;
}
