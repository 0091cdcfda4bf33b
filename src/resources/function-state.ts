/**
 * Function states (spec §8): which are provisioned (stable) and which are transient.
 */
import type { FunctionState } from './types.js';

const PROVISIONED = new Set<string>(['ready', 'error', 'unhealthy', 'scaledToZero', 'imported']);

/** A state in which updates and deletes are refused (412) unless overridden. */
export function isProvisioning(state: string | undefined): boolean {
  return state !== undefined && state !== '' && !PROVISIONED.has(state);
}

export const PATCHABLE_STATES: FunctionState[] = ['ready', 'scaledToZero'];
