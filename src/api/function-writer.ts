/**
 * Writing a function for deployment, shared by POST/PUT /api/functions and project import: enrichment,
 * the checks that need the store (project exists), the skip-build/skip-deploy annotations of an export,
 * and the stored state that tells the controller what to do (`building`, or `imported`).
 */
import { apiError } from '../errors.js';
import { enrichFunction } from '../resources/function-enrich.js';
import { deployTarget } from '../resources/function-state.js';
import { checkSourceAtEdge } from '../builder/source-check.js';
import { checkSource } from '../resources/function-source.js';
import { checkReservedName } from '../resources/function-validate.js';
import {
  PROJECT_LABEL,
  type FunctionConfig,
  type FunctionRecord,
  type FunctionRef,
  type FunctionState,
  type FunctionStatus,
} from '../resources/types.js';
import type { Config } from '../config.js';
import { isStoreError, type Store } from '../store/store.js';

/** The state a write of `input` asks for: `imported` when an export said skip-deploy, else `building`. */
export function deployState(input: FunctionConfig): FunctionState {
  return deployTarget(input.metadata.annotations?.['skip-deploy'] === 'true');
}

export async function storeForDeploy(
  deps: { store: Store; config: Config },
  input: FunctionConfig,
  existing: FunctionRecord | undefined,
): Promise<FunctionRecord> {
  const { store, config } = deps;
  const state = deployState(input);
  const fn = enrichFunction(input);
  const annotations = fn.metadata.annotations ?? {};
  delete annotations['skip-deploy'];
  delete annotations['skip-build'];
  if (Object.keys(annotations).length === 0) delete fn.metadata.annotations;
  const { name, namespace } = fn.metadata as Required<FunctionRef>;
  checkReservedName(name);
  checkSource(fn.spec, { sourceRoots: config.sourceRoots });
  await checkSourceAtEdge(fn.spec, {
    roots: { roots: config.sourceRoots, forbidden: [config.dataDir] },
    limits: config.sourceLimits,
  });
  const project = fn.metadata.labels![PROJECT_LABEL];
  if (!(await store.get('project', namespace, project))) {
    throw apiError('FUNCTION_PROJECT_MISSING', project, PROJECT_LABEL);
  }
  // Keep the port of an existing function so that its URLs stay stable across updates.
  const status: FunctionStatus = { state };
  if (existing?.status.httpPort) status.httpPort = existing.status.httpPort;
  const record: FunctionRecord = { ...fn, status };
  if (existing) return store.update('function', record, { ifVersion: fn.metadata.resourceVersion, by: 'api' });
  delete record.metadata.resourceVersion;
  record.metadata.creationTimestamp = new Date().toISOString();
  try {
    return await store.create('function', record, { by: 'api' });
  } catch (e) {
    if (isStoreError(e, 'ALREADY_EXISTS')) throw apiError('FUNCTION_EXISTS');
    throw e;
  }
}
