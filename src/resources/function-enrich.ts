/**
 * Defaults Nuclio applies to a function config before storing it: the keys that are
 * always present, the project label, the `python` → `python:3.9` alias, replica copying and the default
 * http trigger. Pure: returns a new config.
 */
import { DEFAULT_PROJECT, PROJECT_LABEL, type FunctionConfig, type Trigger } from './types.js';
import { clone, isObject } from './shape.js';

/** Trigger kinds whose numWorkers defaults to 1, as in Nuclio. */
const ONE_WORKER_KINDS = new Set(['http', 'v3ioStream']);
const STREAM_KINDS = new Set(['kafka', 'kafka-cluster', 'v3ioStream']);

export interface EnrichOptions {
  /** Platform setting: add no default http trigger (Nuclio `disableDefaultHttpTrigger`). */
  disableDefaultHttpTrigger?: boolean;
}

export function enrichFunction(input: FunctionConfig, opts: EnrichOptions = {}): FunctionConfig {
  const fn = clone(input);
  const meta = fn.metadata;
  meta.labels = { ...(meta.labels ?? {}) };
  if (!meta.labels[PROJECT_LABEL]) meta.labels[PROJECT_LABEL] = DEFAULT_PROJECT;

  const spec = fn.spec;
  spec.resources = isObject(spec.resources) ? spec.resources : {};
  spec.build = isObject(spec.build) ? spec.build : {};
  spec.platform = isObject(spec.platform) ? spec.platform : {};
  if (typeof spec.eventTimeout !== 'string') spec.eventTimeout = '';
  if (spec.runtime === 'python') spec.runtime = 'python:3.9';

  if (spec.minReplicas !== undefined && spec.maxReplicas === undefined) spec.maxReplicas = spec.minReplicas;
  if (spec.maxReplicas !== undefined && spec.minReplicas === undefined) spec.minReplicas = spec.maxReplicas;

  if (spec.disableDefaultHTTPTrigger === undefined && opts.disableDefaultHttpTrigger)
    spec.disableDefaultHTTPTrigger = true;
  const triggers: Record<string, Trigger> = {};
  for (const [key, t] of Object.entries(spec.triggers ?? {})) triggers[key] = enrichTrigger(key, t);
  const hasHttp = Object.values(triggers).some((t) => t.kind === 'http');
  if (!hasHttp && !spec.disableDefaultHTTPTrigger) {
    triggers['default-http'] = { class: '', kind: 'http', name: 'default-http', numWorkers: 1 };
  }
  spec.triggers = triggers;
  return fn;
}

function enrichTrigger(key: string, input: Trigger): Trigger {
  const t: Trigger = { ...input };
  if (typeof t.class !== 'string') t.class = '';
  if (typeof t.kind !== 'string') t.kind = '';
  if (!t.name) t.name = key;
  if (t.maxWorkers !== undefined && t.numWorkers === undefined) t.numWorkers = t.maxWorkers;
  if (ONE_WORKER_KINDS.has(t.kind) && !t.numWorkers) t.numWorkers = 1;
  if (STREAM_KINDS.has(t.kind)) {
    if (!t.explicitAckMode) t.explicitAckMode = 'disable';
    if (!t.workerTerminationTimeout) t.workerTerminationTimeout = '10s';
  }
  return t;
}
