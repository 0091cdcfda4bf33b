/**
 * The `nats` trigger's settings, from Nuclio's trigger reference: `url` (`nats://[user:password@]host:port`,
 * `nats://token@host:port`, or a bare `host:port`; `username`/`password` of the trigger otherwise),
 * `attributes.topic` (the subject, wildcards allowed) and `attributes.queueName` (a Go template over
 * Namespace, Name, Id, Labels and Annotations; default `{{.Namespace}}.{{.Name}}-{{.Id}}`, so the replicas
 * of one function share one queue group and each message goes to one of them). Pure.
 */
import { fieldError, quote } from '../../errors.js';
import type { Trigger } from '../types.js';
import { parseBrokerUrl, renderNameTemplate, TriggerFields, type FunctionIdentity } from './attributes.js';

export interface NatsTriggerConfig {
  /** The server URL without credentials. */
  server: string;
  user?: string;
  pass?: string;
  /** A lone user-info part (`nats://token@host`) is a token, as the NATS clients read it. */
  token?: string;
  subject: string;
  queue: string;
}

export const NATS_DEFAULT_QUEUE = '{{.Namespace}}.{{.Name}}-{{.Id}}';

/** Resolves a `nats` trigger; throws a field error (INVALID_FIELD) naming the field at fault. */
export function natsTriggerConfig(name: string, trigger: Trigger, fn: FunctionIdentity): NatsTriggerConfig {
  const f: TriggerFields = new TriggerFields(name, trigger);
  const rawUrl = f.top('url');
  if (!rawUrl) f.fail(`${f.field}.url`, `${f.field}.url must be set to the NATS server, e.g. nats://127.0.0.1:4222`);
  const parsed = parseBrokerUrl(rawUrl, `${f.field}.url`, ['nats', 'tls'], 'nats');
  const out: NatsTriggerConfig = { server: parsed.url, subject: '', queue: '' };
  if (parsed.username !== undefined && parsed.password === undefined) out.token = parsed.username;
  else if (parsed.username !== undefined) {
    out.user = parsed.username;
    out.pass = parsed.password;
  } else if (f.top('username')) {
    out.user = f.top('username');
    out.pass = f.top('password');
  }

  out.subject = f.str('topic');
  if (!out.subject)
    f.fail(
      f.attrField('topic'),
      `${f.attrField('topic')} must be set to the subject to listen on, e.g. "orders.created"`,
    );
  if (/\s/.test(out.subject) || out.subject.split('.').some((t) => t === '')) {
    f.fail(
      f.attrField('topic'),
      `${f.attrField('topic')} is not a valid NATS subject (dot-separated tokens, no spaces), ` +
        `got ${quote(out.subject)}`,
    );
  }
  const template = f.str('queueName') || NATS_DEFAULT_QUEUE;
  out.queue = renderNameTemplate(template, f.attrField('queueName'), {
    Id: name,
    Namespace: fn.namespace,
    Name: fn.name,
    Labels: fn.labels ?? {},
    Annotations: fn.annotations ?? {},
  });
  if (!out.queue || /[\s*>]/.test(out.queue))
    throw fieldError(
      f.attrField('queueName'),
      `${f.attrField('queueName')} must make a queue group name without spaces or wildcards, got ${quote(out.queue)}`,
    );
  return out;
}
