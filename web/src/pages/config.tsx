/**
 * The function's configuration as an editable draft: handler, runtime, description, environment,
 * replicas, triggers (http, cron, and the message triggers nats, mqtt, rabbit-mq and kafka-cluster through
 * broker-triggers.ts; other kinds are kept as they are) and build commands. `toSpec` merges the
 * draft into the spec from a GET, which PUT needs whole.
 */
import type { EnvVar, FunctionSpec, NuclioFunction, Trigger } from '../api';
import { BROKER_KINDS, brokerKind, fieldPath, fieldsOf, withFields } from '../broker-triggers';
import { Button, Field } from '../components/ui';
import { b64decode, b64encode, fieldError } from '../util';

export interface EnvDraft {
  name: string;
  value: string;
  /** valueFrom and friends, kept as they were. */
  raw?: EnvVar;
}
export interface TriggerDraft {
  key: string;
  kind: string;
  numWorkers: string;
  schedule: string;
  interval: string;
  eventBody: string;
  /** A broker trigger's fields as text, by path (broker-triggers.ts). */
  fields: Record<string, string>;
  raw: Trigger;
}
export interface Draft {
  source: string;
  handler: string;
  runtime: string;
  description: string;
  env: EnvDraft[];
  minReplicas: string;
  maxReplicas: string;
  triggers: TriggerDraft[];
  commands: string;
}

/** A field as form text: strings as they are, numbers and anything else as JSON. */
const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export function draftOf(fn: NuclioFunction): Draft {
  const s = fn.spec;
  return {
    source: b64decode(s.build?.functionSourceCode),
    handler: s.handler ?? '',
    runtime: s.runtime ?? '',
    description: s.description ?? '',
    env: (s.env ?? []).map((e) => ({ name: e.name, value: str(e.value), raw: e })),
    minReplicas: str(s.minReplicas),
    maxReplicas: str(s.maxReplicas),
    triggers: Object.entries(s.triggers ?? {}).map(([key, t]) => {
      const a = t.attributes ?? {};
      const ev = (a.event ?? {}) as { body?: unknown };
      return {
        key,
        kind: t.kind,
        numWorkers: str(t.numWorkers),
        schedule: str(a.schedule),
        interval: str(a.interval),
        eventBody: str(ev.body),
        fields: brokerKind(t.kind) ? fieldsOf(t, brokerKind(t.kind)!) : {},
        raw: t,
      };
    }),
    commands: (s.build?.commands ?? []).join('\n'),
  };
}

const intOrUndefined = (v: string) => (v.trim() === '' ? undefined : Number(v.trim()));

export function toSpec(base: FunctionSpec, d: Draft): FunctionSpec {
  const spec: FunctionSpec = JSON.parse(JSON.stringify(base)) as FunctionSpec;
  spec.handler = d.handler.trim() || undefined;
  spec.runtime = d.runtime.trim() || undefined;
  spec.description = d.description || undefined;
  spec.env = d.env
    .filter((e) => e.name.trim() || e.value)
    .map((e) => {
      const { value: _v, ...rest } = e.raw ?? ({} as EnvVar);
      return e.raw?.valueFrom && !e.value
        ? { ...rest, name: e.name.trim() }
        : { ...rest, name: e.name.trim(), value: e.value };
    });
  const min = intOrUndefined(d.minReplicas);
  const max = intOrUndefined(d.maxReplicas);
  if (min === undefined) delete spec.minReplicas;
  else spec.minReplicas = min;
  if (max === undefined) delete spec.maxReplicas;
  else spec.maxReplicas = max;
  const triggers: Record<string, Trigger> = {};
  for (const t of d.triggers) {
    const broker = brokerKind(t.kind);
    if (broker) {
      triggers[t.key] = { ...withFields(t.raw, broker, t.fields), kind: t.kind, name: t.key };
      continue;
    }
    const next: Trigger = { ...t.raw, kind: t.kind, name: t.key };
    const workers = intOrUndefined(t.numWorkers);
    if (workers !== undefined) next.numWorkers = workers;
    else delete next.numWorkers;
    if (t.kind === 'cron') {
      const attributes: Record<string, unknown> = { ...(t.raw.attributes ?? {}) };
      delete attributes.schedule;
      delete attributes.interval;
      if (t.schedule.trim()) attributes.schedule = t.schedule.trim();
      if (t.interval.trim()) attributes.interval = t.interval.trim();
      const event = { ...((attributes.event as Record<string, unknown> | undefined) ?? {}) };
      if (t.eventBody) event.body = t.eventBody;
      else delete event.body;
      if (Object.keys(event).length) attributes.event = event;
      else delete attributes.event;
      next.attributes = attributes;
    }
    triggers[t.key] = next;
  }
  spec.triggers = triggers;
  const commands = d.commands
    .split('\n')
    .map((c) => c.trim())
    .filter(Boolean);
  spec.build = { ...(spec.build ?? {}), functionSourceCode: b64encode(d.source) };
  if (commands.length) spec.build.commands = commands;
  else delete spec.build.commands;
  return spec;
}

/** The replicas a function gets when the spec leaves them out (the platform's and Nuclio's defaults). */
export const DEFAULT_MIN_REPLICAS = 1;
/** Max replicas when left out: min replicas (the API copies one to the other), at least 1. */
export function defaultMax(d: Draft): number {
  const min = Number(d.minReplicas.trim());
  return d.minReplicas.trim() !== '' && Number.isInteger(min) && min > 0 ? min : 1;
}

/** Fields of the configuration form (errors with these fields are shown in it). */
export const CONFIG_FIELDS = [
  'spec.handler',
  'spec.runtime',
  'spec.description',
  'spec.env',
  'spec.minReplicas',
  'spec.maxReplicas',
  'spec.triggers',
  'spec.build.commands',
];

export function ConfigForm(props: { draft: Draft; onChange: (d: Draft) => void; error: unknown; disabled?: boolean }) {
  const { draft: d, error } = props;
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => props.onChange({ ...d, [k]: v });
  const setEnv = (i: number, patch: Partial<EnvDraft>) =>
    set(
      'env',
      d.env.map((e, j) => (j === i ? { ...e, ...patch } : e)),
    );
  const setTrigger = (i: number, patch: Partial<TriggerDraft>) =>
    set(
      'triggers',
      d.triggers.map((t, j) => (j === i ? { ...t, ...patch } : t)),
    );
  const addCron = () => {
    let n = 1;
    while (d.triggers.some((t) => t.key === `cron-${n}`)) n++;
    set('triggers', [
      ...d.triggers,
      {
        key: `cron-${n}`,
        kind: 'cron',
        numWorkers: '',
        schedule: '',
        interval: '1m',
        eventBody: '',
        fields: {},
        raw: { kind: 'cron', name: `cron-${n}` },
      },
    ]);
  };
  const addBroker = (kind: string) => {
    const b = brokerKind(kind);
    if (!b) return;
    let n = 1;
    while (d.triggers.some((t) => t.key === `${b.prefix}-${n}`)) n++;
    const raw = { ...b.template(), name: `${b.prefix}-${n}` };
    set('triggers', [
      ...d.triggers,
      {
        key: `${b.prefix}-${n}`,
        kind: b.kind,
        numWorkers: '',
        schedule: '',
        interval: '',
        eventBody: '',
        fields: fieldsOf(raw, b),
        raw,
      },
    ]);
  };
  return (
    <fieldset class="config-form" disabled={props.disabled} data-testid="config-form">
      <div class="grid-3">
        <Field
          label="Handler"
          error={fieldError(error, 'spec.handler')}
          hint="module:function (main:handler), or the script for shell (main.sh:main)."
        >
          <input
            name="handler"
            value={d.handler}
            onInput={(e) => set('handler', e.currentTarget.value)}
            autocomplete="off"
          />
        </Field>
        <Field label="Runtime" error={fieldError(error, 'spec.runtime')}>
          <select name="runtime" value={d.runtime} onChange={(e) => set('runtime', e.currentTarget.value)}>
            {!['python', 'python:3.9', 'python:3.11', 'nodejs', 'shell'].includes(d.runtime) && (
              <option value={d.runtime}>{d.runtime || '—'}</option>
            )}
            <option value="python">python</option>
            <option value="python:3.9">python:3.9</option>
            <option value="python:3.11">python:3.11</option>
            <option value="nodejs">nodejs</option>
            <option value="shell">shell</option>
          </select>
        </Field>
        <Field label="Description" error={fieldError(error, 'spec.description')}>
          <input name="description" value={d.description} onInput={(e) => set('description', e.currentTarget.value)} />
        </Field>
      </div>

      <div class="grid-3">
        <Field
          label="Min replicas"
          error={fieldError(error, 'spec.minReplicas')}
          hint={`Empty: ${DEFAULT_MIN_REPLICAS} (the default). 0 lets it scale to zero.`}
        >
          <input
            name="minReplicas"
            type="number"
            min={0}
            value={d.minReplicas}
            placeholder={String(DEFAULT_MIN_REPLICAS)}
            onInput={(e) => set('minReplicas', e.currentTarget.value)}
          />
        </Field>
        <Field
          label="Max replicas"
          error={fieldError(error, 'spec.maxReplicas')}
          hint={
            d.minReplicas.trim() === '0'
              ? 'Needed when min replicas is 0.'
              : `Empty: ${defaultMax(d)} (the default: as many as min replicas, at least 1).`
          }
        >
          <input
            name="maxReplicas"
            type="number"
            min={1}
            value={d.maxReplicas}
            placeholder={String(defaultMax(d))}
            onInput={(e) => set('maxReplicas', e.currentTarget.value)}
          />
        </Field>
      </div>

      <h3>Environment variables</h3>
      {fieldError(error, 'spec.env') && !d.env.some((_, i) => fieldError(error, `spec.env[${i}]`)) && (
        <span class="error-text" role="alert">
          {fieldError(error, 'spec.env')}
        </span>
      )}
      {d.env.length === 0 && <p class="muted small">None.</p>}
      {d.env.map((e, i) => (
        <div class="env-row" key={i}>
          <Field label="Name" error={fieldError(error, `spec.env[${i}]`)}>
            <input
              name={`env-name-${i}`}
              value={e.name}
              onInput={(ev) => setEnv(i, { name: ev.currentTarget.value })}
              autocomplete="off"
            />
          </Field>
          <Field label="Value">
            <input
              name={`env-value-${i}`}
              value={e.value}
              placeholder={e.raw?.valueFrom ? '(from a secret or config map)' : ''}
              onInput={(ev) => setEnv(i, { value: ev.currentTarget.value })}
              autocomplete="off"
            />
          </Field>
          <Button
            variant="link"
            onClick={() =>
              set(
                'env',
                d.env.filter((_, j) => j !== i),
              )
            }
            aria-label={`Remove ${e.name || 'variable'}`}
          >
            Remove
          </Button>
        </div>
      ))}
      <Button onClick={() => set('env', [...d.env, { name: '', value: '' }])}>Add variable</Button>

      <h3>Triggers</h3>
      {fieldError(error, 'spec.triggers') && !d.triggers.some((t) => fieldError(error, `spec.triggers.${t.key}`)) && (
        <span class="error-text" role="alert">
          {fieldError(error, 'spec.triggers')}
        </span>
      )}
      {d.triggers.length === 0 && <p class="muted small">None: the function gets the default HTTP trigger.</p>}
      {d.triggers.map((t, i) => {
        const err = fieldError(error, `spec.triggers.${t.key}`);
        return (
          <div class="trigger" key={t.key} data-testid={`trigger-${t.key}`}>
            <div class="trigger-head">
              <strong>{t.key}</strong> <span class="badge badge-idle">{t.kind}</span>
              <Button
                variant="link"
                onClick={() =>
                  set(
                    'triggers',
                    d.triggers.filter((_, j) => j !== i),
                  )
                }
              >
                Remove
              </Button>
            </div>
            {t.kind === 'cron' ? (
              <div class="grid-3">
                <Field
                  label="Schedule (cron)"
                  error={fieldError(error, `spec.triggers.${t.key}.attributes.schedule`)}
                  hint="e.g. */5 * * * * (or use an interval)"
                >
                  <input
                    name={`trigger-${t.key}-schedule`}
                    value={t.schedule}
                    onInput={(e) => setTrigger(i, { schedule: e.currentTarget.value })}
                    autocomplete="off"
                  />
                </Field>
                <Field
                  label="Interval"
                  error={fieldError(error, `spec.triggers.${t.key}.attributes.interval`)}
                  hint="e.g. 30s, 5m"
                >
                  <input
                    name={`trigger-${t.key}-interval`}
                    value={t.interval}
                    onInput={(e) => setTrigger(i, { interval: e.currentTarget.value })}
                    autocomplete="off"
                  />
                </Field>
                <Field label="Event body">
                  <input
                    name={`trigger-${t.key}-body`}
                    value={t.eventBody}
                    onInput={(e) => setTrigger(i, { eventBody: e.currentTarget.value })}
                    autocomplete="off"
                  />
                </Field>
              </div>
            ) : t.kind === 'http' ? (
              <div class="grid-3">
                <Field label="Workers" error={fieldError(error, `spec.triggers.${t.key}.numWorkers`)}>
                  <input
                    name={`trigger-${t.key}-workers`}
                    type="number"
                    min={1}
                    value={t.numWorkers}
                    onInput={(e) => setTrigger(i, { numWorkers: e.currentTarget.value })}
                  />
                </Field>
              </div>
            ) : brokerKind(t.kind) ? (
              <BrokerFields trigger={t} error={error} onChange={(fields) => setTrigger(i, { fields })} />
            ) : (
              <p class="muted small">
                Kept as configured: <code>{JSON.stringify(t.raw.attributes ?? {})}</code>
              </p>
            )}
            {err &&
              !fieldError(
                error,
                `spec.triggers.${t.key}.attributes.schedule`,
                `spec.triggers.${t.key}.attributes.interval`,
                `spec.triggers.${t.key}.numWorkers`,
                ...(brokerKind(t.kind)?.fields.map((f) => fieldPath(t.key, f)) ?? []),
              ) && (
                <span class="error-text" role="alert">
                  {err}
                </span>
              )}
          </div>
        );
      })}
      <div class="trigger-add">
        <Button onClick={addCron} data-testid="add-cron">
          Add cron trigger
        </Button>
        {BROKER_KINDS.map((b) => (
          <Button key={b.kind} onClick={() => addBroker(b.kind)} data-testid={`add-${b.prefix}`}>
            Add {b.title} trigger
          </Button>
        ))}
      </div>

      <h3>Build commands</h3>
      <Field
        label="One command per line, run in the function's build folder (pip install …, npm install -g …)"
        error={fieldError(error, 'spec.build.commands')}
      >
        <textarea
          name="build-commands"
          rows={4}
          value={d.commands}
          onInput={(e) => set('commands', e.currentTarget.value)}
          spellcheck={false}
        />
      </Field>
    </fieldset>
  );
}

/** The fields of a message trigger (nats, mqtt, rabbit-mq, kafka-cluster), each with the API's error for it. */
function BrokerFields(props: {
  trigger: TriggerDraft;
  error: unknown;
  onChange: (fields: Record<string, string>) => void;
}) {
  const t = props.trigger;
  const kind = brokerKind(t.kind)!;
  const set = (path: string, value: string) => props.onChange({ ...t.fields, [path]: value });
  return (
    <div class="grid-3">
      {kind.fields.map((f) => {
        const path = f.path.join('.');
        const name = `trigger-${t.key}-${path}`;
        const value = t.fields[path] ?? '';
        const error = fieldError(props.error, fieldPath(t.key, f));
        if (f.type === 'checkbox') {
          return (
            <Field key={path} label={f.label} error={error} hint={f.hint}>
              <input
                name={name}
                type="checkbox"
                checked={value === 'true'}
                onChange={(e) => set(path, e.currentTarget.checked ? 'true' : '')}
              />
            </Field>
          );
        }
        if (f.type === 'select') {
          return (
            <Field key={path} label={f.label} error={error} hint={f.hint}>
              <select name={name} value={value} onChange={(e) => set(path, e.currentTarget.value)}>
                {!f.options!.includes(value) && <option value={value}>{value}</option>}
                {f.options!.map((o) => (
                  <option key={o} value={o}>
                    {o || '(default)'}
                  </option>
                ))}
              </select>
            </Field>
          );
        }
        if (f.type === 'subscriptions') {
          return (
            <Field key={path} label={f.label} error={error} hint={f.hint}>
              <textarea
                name={name}
                rows={3}
                value={value}
                onInput={(e) => set(path, e.currentTarget.value)}
                spellcheck={false}
              />
            </Field>
          );
        }
        return (
          <Field key={path} label={f.label} error={error} hint={f.hint}>
            {f.type === 'password' ? (
              <input
                name={name}
                type="password"
                value={value}
                onInput={(e) => set(path, e.currentTarget.value)}
                autocomplete="off"
              />
            ) : (
              <input
                name={name}
                type="text"
                inputMode={f.type === 'number' ? 'numeric' : undefined}
                value={value}
                onInput={(e) => set(path, e.currentTarget.value)}
                autocomplete="off"
              />
            )}
          </Field>
        );
      })}
    </div>
  );
}
