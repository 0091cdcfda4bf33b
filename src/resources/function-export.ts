/**
 * The export form of a function (spec §4.1.1): no namespace, resource version or status, trigger
 * secrets blanked, and annotations that make an import skip build and deploy and remember the state.
 */
import { clone } from './shape.js';
import type { FunctionConfig, FunctionRecord } from './types.js';

export function exportFunction(fn: FunctionRecord, opts: { skipSpecCleanup?: boolean } = {}): FunctionConfig {
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
  const spec = clone(fn.spec);
  for (const t of Object.values(spec.triggers ?? {})) {
    if (t.password) t.password = '';
    if (t.secret) t.secret = '';
  }
  if (opts.skipSpecCleanup) {
    delete spec.runRegistry;
    delete spec.build.registry;
    if (spec.build.functionSourceCode) delete spec.image;
  }
  return { metadata, spec };
}
