/**
 * The export form of a function (spec §4.1.1): no namespace, resource version or status, trigger
 * secrets blanked, and annotations that make an import skip build and deploy and remember the state.
 * Environment variables whose names mark them as secret (…PASSWORD, …SECRET, …TOKEN, …API_KEY,
 * …PRIVATE_KEY, …CREDENTIALS) are blanked too: an export is meant to be shared.
 */

/** Names of environment variables treated as secrets. */
export const SECRET_ENV_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credentials?)$/i;
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
  for (const e of spec.env ?? []) if (SECRET_ENV_NAME.test(e.name) && typeof e.value === 'string' && e.value) e.value = '';
  if (opts.skipSpecCleanup) {
    delete spec.runRegistry;
    delete spec.build.registry;
    if (spec.build.functionSourceCode) delete spec.image;
  }
  return { metadata, spec };
}
