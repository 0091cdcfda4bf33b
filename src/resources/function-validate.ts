/**
 * Turning an untrusted request body into a FunctionConfig: Nuclio's body rules (name and
 * namespace from the body, project label from the header) and its field rules. Every failure is
 * an ApiError naming the field and quoting the value. Pure.
 */
import { Cron } from 'croner';
import { MAX_ATTEMPTS_LIMIT, parseRetryStatuses } from '../async/retry-policy.js';
import { apiError, fieldError, quote } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { normaliseCronSchedule } from './cron-schedule.js';
import { parseCpu, parseQuantity } from './quantity.js';
import { functionNameErrors, labelKeyErrors, labelValueErrors } from './names.js';
import { triggerKindError } from './trigger-kinds.js';
import { validateBrokerTrigger } from './broker-triggers/index.js';
import { isObject, optBoolean, optInt, optObject, optString, optStringArray, optStringMap } from './shape.js';
import { PROJECT_LABEL, type FunctionConfig, type Meta, type Trigger } from './types.js';

export { normaliseCronSchedule };

export const RESERVED_FUNCTION_NAMES = ['dashboard', 'controller', 'dlx', 'scaler'];

export interface BodyContext {
  /** The dashboard's default namespace (used when the body has none). */
  defaultNamespace: string;
  /** The X-Nuclio-Project-Name header, which overrides the body's project label. */
  projectName?: string;
}

/** Reads metadata of any resource body: object check, labels and annotations as string maps. */
export function readMeta(body: Record<string, unknown>, what: string): Meta {
  const raw = optObject(body.metadata, 'metadata') ?? {};
  const meta: Meta = {};
  const name = optString(raw.name, 'metadata.name');
  if (name !== undefined) meta.name = name;
  const namespace = optString(raw.namespace, 'metadata.namespace');
  if (namespace !== undefined) meta.namespace = namespace;
  const labels = optStringMap(raw.labels, 'metadata.labels');
  if (labels) {
    for (const [k, v] of Object.entries(labels)) {
      const ke = labelKeyErrors(k);
      if (ke.length) throw fieldError('metadata.labels', `${what} label key ${quote(k)} is invalid: ${ke.join('; ')}`);
      const ve = labelValueErrors(v);
      if (ve.length)
        throw fieldError(`metadata.labels.${k}`, `${what} label ${k} value ${quote(v)} is invalid: ${ve.join('; ')}`);
    }
    meta.labels = { ...labels };
  }
  const annotations = optStringMap(raw.annotations, 'metadata.annotations');
  if (annotations) meta.annotations = { ...annotations };
  const rv = raw.resourceVersion;
  if (rv !== undefined && rv !== null && rv !== '') {
    if (typeof rv !== 'string' && typeof rv !== 'number')
      throw apiError('FIELD_MUST_BE', 'metadata.resourceVersion', 'a string', rv);
    meta.resourceVersion = String(rv);
  }
  return meta;
}

/** The request body must be a JSON object. */
export function requireObjectBody(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw apiError('INVALID_BODY', `Request body must be a JSON object, got ${quote(body)}`);
  return body;
}

/**
 * The name rule for a function name given as input (`field` names where it came from): an INVALID_FIELD error
 * quoting it, or nothing when it is valid.
 */
export function checkFunctionName(name: string, field: string): void {
  const errors = functionNameErrors(name);
  if (errors.length) {
    throw fieldError(
      field,
      `Function name doesn't conform to k8s naming convention. Errors: ${errors.join('; ')} (${field} ${quote(name)})`,
    );
  }
}

/**
 * Create/update/delete body processing, as Nuclio's: namespace defaults, project header, name rules.
 * `withSpec` false (delete) reads only the identity, and looks the name up without the name rule: a name
 * no function can have is simply not found, and a function stored before the rule stays deletable.
 */
export function readFunctionBody(bodyIn: unknown, ctx: BodyContext, withSpec = true): FunctionConfig {
  const body = requireObjectBody(bodyIn);
  const metadata = readMeta(body, 'Function');
  metadata.namespace = metadata.namespace || ctx.defaultNamespace;
  if (ctx.projectName) metadata.labels = { ...(metadata.labels ?? {}), [PROJECT_LABEL]: ctx.projectName };
  if (!metadata.name) throw fieldError('metadata.name', 'Function name must be provided in metadata');
  if (!metadata.namespace) throw fieldError('metadata.namespace', 'Function namespace must be provided in metadata');
  if (!withSpec) return { metadata, spec: { resources: {}, build: {}, platform: {}, eventTimeout: '' } };
  checkFunctionName(metadata.name, 'metadata.name');
  const spec = optObject(body.spec, 'spec') ?? {};
  validateFunctionSpec(spec, metadata);
  return { metadata, spec: spec as unknown as FunctionConfig['spec'] };
}

/** Names a platform refuses: 412, as Nuclio answers. */
export function checkReservedName(name: string): void {
  if (RESERVED_FUNCTION_NAMES.includes(name)) {
    throw apiError('FUNCTION_NAME_RESERVED', name);
  }
}

const IMAGE_REF =
  /^(?:[a-zA-Z0-9][a-zA-Z0-9.-]*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

function checkImage(value: unknown, field: string, goName: string): void {
  const s = optString(value, field);
  if (!s) return;
  const trimmed = s.replace(/\/$/, '');
  if (trimmed && !IMAGE_REF.test(trimmed)) throw fieldError(field, `Invalid ${goName} passed (${field} ${quote(s)})`);
}

/**
 * Field rules of a function spec, as Nuclio's. Throws on the first problem. `meta` (the function's
 * identity) fills what broker triggers derive from it (a NATS queue name template, a default queue).
 */
export function validateFunctionSpec(spec: Record<string, unknown>, meta: Meta = {}): void {
  optString(spec.runtime, 'spec.runtime');
  optString(spec.handler, 'spec.handler');
  optString(spec.description, 'spec.description');
  optBoolean(spec.disable, 'spec.disable');
  const resources = optObject(spec.resources, 'spec.resources');
  const limits = optObject(resources?.limits, 'spec.resources.limits');
  if (limits?.memory !== undefined) {
    const bytes = parseQuantity(limits.memory);
    if (bytes === undefined || bytes < 16 * 2 ** 20) {
      throw apiError(
        'FIELD_MUST_BE',
        'spec.resources.limits.memory',
        'a quantity of at least 16Mi such as "128Mi"',
        limits.memory,
      );
    }
  }
  if (limits?.cpu !== undefined) {
    const cores = parseCpu(limits.cpu);
    if (cores === undefined || cores <= 0)
      throw apiError('FIELD_MUST_BE', 'spec.resources.limits.cpu', 'a CPU quantity such as "500m" or "2"', limits.cpu);
  }
  optObject(spec.platform, 'spec.platform');
  optObject(spec.runtimeAttributes, 'spec.runtimeAttributes');
  optInt(spec.readinessTimeoutSeconds, 'spec.readinessTimeoutSeconds', 0, 86_400);
  optInt(spec.targetCPU, 'spec.targetCPU', 0);
  optInt(spec.replicas, 'spec.replicas', 0, 1000);
  checkImage(spec.image, 'spec.image', 'Spec.Image');
  checkImage(spec.runRegistry, 'spec.runRegistry', 'Spec.RunRegistry');

  const eventTimeout = optString(spec.eventTimeout, 'spec.eventTimeout');
  if (eventTimeout) {
    const ms = parseDuration(eventTimeout);
    if (ms === undefined || ms < 0)
      throw apiError('FIELD_MUST_BE', 'spec.eventTimeout', 'a duration such as "30s"', eventTimeout);
  }

  const min = optInt(spec.minReplicas, 'spec.minReplicas', 0, 100);
  const max = optInt(spec.maxReplicas, 'spec.maxReplicas', 0, 100);
  if (min === 0 && max === undefined)
    throw fieldError('spec.maxReplicas', 'Max replicas must be set when min replicas is zero');
  if (max === 0) throw fieldError('spec.maxReplicas', 'Max replicas must be greater than zero');
  if (min !== undefined && max !== undefined && min > max) {
    throw fieldError(
      'spec.minReplicas',
      `Min replicas must be less than or equal to max replicas (min ${min}, max ${max})`,
    );
  }
  // Stream consumers share shards among a fixed set of replicas (Nuclio refuses autoscaling for them).
  const triggerList = isObject(spec.triggers) ? Object.values(spec.triggers) : [];
  if (triggerList.some((t) => isObject(t) && t.kind === 'v3ioStream')) {
    const n = min ?? max ?? 1;
    if ((max ?? n) !== n || n < 1) {
      throw fieldError(
        'spec.maxReplicas',
        `V3IO Stream trigger does not support autoscaling: set minReplicas equal to maxReplicas, at least 1 ` +
          `(min ${min ?? '-'}, max ${max ?? '-'})`,
      );
    }
  }

  if (spec.env !== undefined && spec.env !== null) {
    if (!Array.isArray(spec.env)) throw apiError('FIELD_MUST_BE', 'spec.env', 'a list of {name, value}', spec.env);
    spec.env.forEach((e, i) => {
      if (!isObject(e)) throw apiError('FIELD_MUST_BE', `spec.env[${i}]`, 'an object {name, value}', e);
      const name = optString(e.name, `spec.env[${i}].name`);
      if (!name || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
        throw apiError('FIELD_MUST_BE', `spec.env[${i}].name`, 'a valid environment variable name', e.name);
      }
      optString(e.value, `spec.env[${i}].value`);
    });
  }

  const build = optObject(spec.build, 'spec.build') ?? {};
  optString(build.path, 'spec.build.path');
  optString(build.functionSourceCode, 'spec.build.functionSourceCode');
  optString(build.codeEntryType, 'spec.build.codeEntryType');
  optObject(build.codeEntryAttributes, 'spec.build.codeEntryAttributes');
  optStringArray(build.commands, 'spec.build.commands');
  optBoolean(build.noCache, 'spec.build.noCache');
  optInt(build.buildTimeoutSeconds, 'spec.build.buildTimeoutSeconds', 1, 86_400);
  checkImage(build.image, 'spec.build.image', 'Spec.Build.Image');
  checkImage(build.registry, 'spec.build.registry', 'Spec.Build.Registry');

  const s2z = optObject(spec.scaleToZero, 'spec.scaleToZero');
  if (s2z?.scaleResources !== undefined && s2z.scaleResources !== null) {
    if (!Array.isArray(s2z.scaleResources))
      throw apiError('FIELD_MUST_BE', 'spec.scaleToZero.scaleResources', 'a list', s2z.scaleResources);
    s2z.scaleResources.forEach((r, i) => {
      const f = `spec.scaleToZero.scaleResources[${i}]`;
      if (!isObject(r)) throw apiError('FIELD_MUST_BE', f, 'an object', r);
      const w = optString(r.windowSize, `${f}.windowSize`);
      if (w !== undefined && !(parseDuration(w)! > 0))
        throw apiError('FIELD_MUST_BE', `${f}.windowSize`, 'a positive duration such as "5m"', w);
    });
  }

  const asyncSpec = optObject(spec.asyncInvocation, 'spec.asyncInvocation');
  if (asyncSpec) {
    optInt(asyncSpec.maxAttempts, 'spec.asyncInvocation.maxAttempts', 1, MAX_ATTEMPTS_LIMIT);
    if (asyncSpec.retryStatuses !== undefined && asyncSpec.retryStatuses !== null) {
      // A status out of range is a range error of that item, as the API schema words it.
      if (Array.isArray(asyncSpec.retryStatuses))
        asyncSpec.retryStatuses.forEach((v, i) => {
          const field = `spec.asyncInvocation.retryStatuses[${i}]`;
          if (Number.isInteger(v) && ((v as number) < 400 || (v as number) > 599))
            throw fieldError(field, `${field} must be between 400 and 599, got ${quote(v)}`);
        });
      const parsed = parseRetryStatuses(asyncSpec.retryStatuses);
      if ('error' in parsed)
        throw apiError('FIELD_MUST_BE', 'spec.asyncInvocation.retryStatuses', parsed.error, asyncSpec.retryStatuses);
    }
  }

  validateTriggers(spec.triggers, meta);
}

function validateTriggers(value: unknown, meta: Meta): void {
  const triggers = optObject(value, 'spec.triggers');
  if (!triggers) return;
  let httpCount = 0;
  for (const [key, raw] of Object.entries(triggers)) {
    const f = `spec.triggers.${key}`;
    if (key === '') throw fieldError('spec.triggers', 'Trigger key can not be empty');
    if (!isObject(raw)) throw apiError('FIELD_MUST_BE', f, 'an object', raw);
    const t = raw as Partial<Trigger>;
    const kind = optString(t.kind, `${f}.kind`);
    const kindError = triggerKindError(`${f}.kind`, kind);
    if (kindError) throw fieldError(`${f}.kind`, kindError);
    const name = optString(t.name, `${f}.name`);
    if (name && name !== key) throw fieldError(`${f}.name`, `Trigger key and name mismatch (${key} != ${name})`);
    optInt(t.numWorkers, `${f}.numWorkers`, 0, 100_000);
    optInt(t.maxWorkers, `${f}.maxWorkers`, 0, 100_000);
    optInt(t.workerAvailabilityTimeoutMilliseconds, `${f}.workerAvailabilityTimeoutMilliseconds`, 0);
    const attrs = optObject(t.attributes, `${f}.attributes`) ?? {};
    if (kind === 'http') {
      httpCount++;
      optInt(attrs.port, `${f}.attributes.port`, 0, 65_535);
      optObject(attrs.ingresses, `${f}.attributes.ingresses`);
    }
    if (kind === 'cron') validateCron(attrs, f);
    validateBrokerTrigger(
      key,
      { ...t, class: '', kind: kind ?? '', name: key, attributes: attrs },
      {
        namespace: meta.namespace || 'nuclio',
        name: meta.name || 'function',
        labels: meta.labels,
        annotations: meta.annotations,
        triggers: triggers as Record<string, Trigger>,
      },
    );
  }
  if (httpCount > 1) throw fieldError('spec.triggers', "There's more than one http trigger (unsupported)");
}

function validateCron(attrs: Record<string, unknown>, f: string): void {
  const schedule = optString(attrs.schedule, `${f}.attributes.schedule`);
  const interval = optString(attrs.interval, `${f}.attributes.interval`);
  if (!schedule && !interval)
    throw fieldError(`${f}.attributes`, `${f} (cron) needs attributes.schedule or attributes.interval`);
  if (interval) {
    const ms = parseDuration(interval);
    if (!(ms! > 0))
      throw apiError('FIELD_MUST_BE', `${f}.attributes.interval`, 'a positive duration such as "10s"', interval);
  }
  if (schedule) {
    try {
      new Cron(normaliseCronSchedule(schedule), { paused: true }).stop();
    } catch (e) {
      throw fieldError(
        `${f}.attributes.schedule`,
        `${f}.attributes.schedule ${quote(schedule)} is not a valid cron expression: ${(e as Error).message}`,
      );
    }
  }
  const event = optObject(attrs.event, `${f}.attributes.event`);
  if (event) {
    optString(event.body, `${f}.attributes.event.body`);
    optObject(event.headers, `${f}.attributes.event.headers`);
  }
}
