/**
 * Shape checks for untrusted JSON: each helper either returns the typed value or throws an error of the catalogue
 * (FIELD_MUST_BE, INVALID_FIELD) that names the field and quotes the value. Used at the edge of every resource family.
 */
import { apiError, fieldError } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** An optional object field: undefined/null → undefined, object → itself, anything else → FIELD_MUST_BE. */
export function optObject(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw apiError('FIELD_MUST_BE', field, 'an object', value);
  return value;
}

export function optString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw apiError('FIELD_MUST_BE', field, 'a string', value);
  return value;
}

export function optBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw apiError('FIELD_MUST_BE', field, 'a boolean', value);
  return value;
}

/** An optional integer within [min, max]. */
export function optInt(value: unknown, field: string, min = -Infinity, max = Infinity): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw apiError('FIELD_MUST_BE', field, 'an integer', value);
  }
  if (value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
    throw fieldError(field, `${field} must be ${range}, got ${value}`);
  }
  return value;
}

export function optStringArray(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw apiError('FIELD_MUST_BE', field, 'a list of strings', value);
  }
  return value;
}

/** A map of string values (labels, annotations). */
export function optStringMap(value: unknown, field: string): Record<string, string> | undefined {
  const obj = optObject(value, field);
  if (!obj) return undefined;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw apiError('FIELD_MUST_BE', `${field}.${k}`, 'a string', v);
  }
  return obj as Record<string, string>;
}

/** Deep copy of a JSON value (resources are plain JSON). */
export const clone = <T>(v: T): T => structuredClone(v);
