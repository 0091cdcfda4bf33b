/**
 * The runtime table: family → factory. A literal map, wired here, not self-registration.
 */
import type { RuntimeFamily } from '../../resources/runtimes.js';
import { nodejsRuntime } from './nodejs-runtime.js';
import { pythonRuntime } from './python-runtime.js';
import { shellRuntime } from './shell-runtime.js';
import type { RuntimeFactory } from './runtime.js';

export const runtimeFactories: Record<RuntimeFamily, RuntimeFactory> = {
  nodejs: nodejsRuntime,
  python: pythonRuntime,
  shell: shellRuntime,
};
