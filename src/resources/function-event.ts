/**
 * Function events: body processing and the enrichment Nuclio applies (display name, trigger
 * kind and http attribute defaults).
 */
import { apiError, fieldError, quote } from '../errors.js';
import { optObject, optString } from './shape.js';
import { checkFunctionName, readMeta, requireObjectBody } from './function-validate.js';
import { qualifiedNameErrors } from './names.js';
import { FUNCTION_LABEL, type FunctionEvent } from './types.js';

const MISSING = 'Function event name must be provided in metadata';

/** Reads an event body. On create a missing name is generated; on update/delete it is required. */
export function readFunctionEventBody(
  bodyIn: unknown,
  opts: { defaultNamespace: string; generateName?: () => string; withSpec?: boolean },
): FunctionEvent {
  const body = requireObjectBody(bodyIn);
  // A metadata of another type is a type error, as for every resource (and as the route's schema says).
  if (!optObject(body.metadata, 'metadata')) throw fieldError('metadata', MISSING);
  const metadata = readMeta(body, 'Function event');
  metadata.namespace = metadata.namespace || opts.defaultNamespace;
  if (!metadata.namespace) throw fieldError('metadata.namespace', MISSING);
  if (!metadata.name && opts.generateName) metadata.name = opts.generateName();
  if (!metadata.name) throw fieldError('metadata.name', MISSING);
  const errors = qualifiedNameErrors(metadata.name);
  if (errors.length)
    throw fieldError('metadata.name', `Function event name ${quote(metadata.name)} is invalid: ${errors.join('; ')}`);
  if (opts.withSpec === false) return { metadata, spec: {} };
  const spec = optObject(body.spec, 'spec') ?? {};
  optString(spec.displayName, 'spec.displayName');
  optString(spec.triggerName, 'spec.triggerName');
  optString(spec.triggerKind, 'spec.triggerKind');
  if (spec.body !== undefined && spec.body !== null && typeof spec.body !== 'string') {
    throw apiError('FIELD_MUST_BE', 'spec.body', 'a string', spec.body);
  }
  optObject(spec.attributes, 'spec.attributes');
  return { metadata, spec: { ...spec } };
}

/** The function an event belongs to (label `nuclio.io/function-name`), required, and a valid function name. */
export function eventFunctionName(ev: FunctionEvent): string {
  const field = `metadata.labels.${FUNCTION_LABEL}`;
  const fn = ev.metadata.labels?.[FUNCTION_LABEL];
  if (!fn) throw fieldError(field, `Function event has a missing label - \`${FUNCTION_LABEL}\``);
  checkFunctionName(fn, field);
  return fn;
}

/** Nuclio's EnrichFunctionEvent, applied to the stored copy. */
export function enrichFunctionEvent(ev: FunctionEvent): FunctionEvent {
  const out: FunctionEvent = {
    metadata: { ...ev.metadata, labels: { ...(ev.metadata.labels ?? {}) } },
    spec: { ...ev.spec },
  };
  if (!out.spec.displayName) out.spec.displayName = out.metadata.name;
  if (!out.spec.triggerKind) out.spec.triggerKind = 'http';
  if (out.spec.triggerKind === 'http') {
    const a: Record<string, unknown> = { ...(out.spec.attributes ?? {}) };
    if (a.headers === undefined) a.headers = { 'Content-Type': 'text/plain' };
    if (a.method === undefined) a.method = 'POST';
    if (a.path === undefined) a.path = '';
    out.spec.attributes = a;
  }
  return out;
}
