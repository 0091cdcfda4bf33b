/**
 * Reading a message trigger's settings (nats, mqtt, rabbit-mq, kafka-cluster) from its spec: attributes
 * matched case-insensitively (Nuclio decodes them with mapstructure, which does the same), typed reads that
 * throw a field error (INVALID_FIELD) naming `spec.triggers.<name>.…` and quoting the value, broker URLs with
 * credentials taken out of them, and the redacted form of a URL for logs and status messages. Pure.
 */
import { fieldError, quote } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import type { Trigger } from '../types.js';

/** What a trigger's settings may depend on besides the trigger itself. */
export interface FunctionIdentity {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Typed, case-insensitive access to one trigger's fields and attributes. */
export class TriggerFields {
  /** `spec.triggers.<name>`. */
  readonly field: string;
  private readonly attrs: Map<string, { key: string; value: unknown }>;
  private readonly attrPrefix: string;

  /** `attrPrefix`: where the attributes sit (a nested object's path for `sasl`, `tls`). */
  constructor(
    readonly name: string,
    readonly trigger: Trigger,
    attrPrefix?: string,
  ) {
    this.field = `spec.triggers.${name}`;
    this.attrPrefix = attrPrefix ?? `${this.field}.attributes`;
    const raw =
      trigger.attributes && typeof trigger.attributes === 'object' && !Array.isArray(trigger.attributes)
        ? trigger.attributes
        : {};
    this.attrs = new Map(Object.entries(raw).map(([key, value]) => [key.toLowerCase(), { key, value }]));
  }

  /** The field path of an attribute, spelt as the user spelt it when present. */
  attrField(name: string): string {
    return `${this.attrPrefix}.${this.attrs.get(name.toLowerCase())?.key ?? name}`;
  }

  /** An attribute's raw value (undefined when absent or null). */
  raw(name: string): unknown {
    const v = this.attrs.get(name.toLowerCase())?.value;
    return v === null ? undefined : v;
  }

  fail(field: string, message: string): never {
    throw fieldError(field, message);
  }

  /** A string attribute, trimmed; '' when absent. */
  str(name: string): string {
    const v = this.raw(name);
    if (v === undefined) return '';
    if (typeof v !== 'string')
      this.fail(this.attrField(name), `${this.attrField(name)} must be a string, got ${quote(v)}`);
    return v.trim();
  }

  /** A list of non-empty strings; a single string is a list of one (as Nuclio's `topic` vs `topics`). */
  strList(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.trim() !== '')) {
      this.fail(this.attrField(name), `${this.attrField(name)} must be a list of non-empty strings, got ${quote(v)}`);
    }
    return (list as string[]).map((s) => s.trim());
  }

  /**
   * An integer attribute within [min, max]; `fallback` when absent (numeric strings are accepted, as annotations are
   * strings).
   */
  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined || v === '') return fallback;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
      this.fail(
        this.attrField(name),
        `${this.attrField(name)} must be an integer from ${min} to ${max}, got ${quote(v)}`,
      );
    }
    return n;
  }

  /** A boolean attribute ("true"/"false" strings accepted); `fallback` when absent. */
  bool(name: string, fallback = false): boolean {
    const v = this.raw(name);
    if (v === undefined || v === '') return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.fail(this.attrField(name), `${this.attrField(name)} must be true or false, got ${quote(v)}`);
  }

  /** A Go duration attribute in ms (positive); `fallback` (a duration string) when absent. */
  duration(name: string, fallback: string): number {
    const v = this.raw(name);
    const text = v === undefined || v === '' ? fallback : v;
    const ms = typeof text === 'string' ? parseDuration(text.trim()) : undefined;
    if (ms === undefined || ms <= 0)
      this.fail(
        this.attrField(name),
        `${this.attrField(name)} must be a duration such as "${fallback}", got ${quote(v)}`,
      );
    return ms;
  }

  /** One of `choices` (matched case-insensitively, returned as listed); `fallback` when absent. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const v = this.str(name);
    if (!v) return fallback;
    const hit = choices.find((c) => c.toLowerCase() === v.toLowerCase());
    if (!hit)
      this.fail(
        this.attrField(name),
        `${this.attrField(name)} must be one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${quote(v)}`,
      );
    return hit;
  }

  /** A string field of the trigger itself (url, username, password), trimmed; '' when absent. */
  top(name: 'url' | 'username' | 'password' | 'secret'): string {
    const v = this.trigger[name];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string')
      this.fail(
        `${this.field}.${name}`,
        `${this.field}.${name} must be a string, got ${quote(name === 'url' ? v : '(hidden)')}`,
      );
    return v.trim();
  }
}

/** A broker address split into the address without credentials and the credentials it held. */
export interface BrokerUrl {
  /** The URL without user info (what is logged and shown). */
  url: string;
  username?: string;
  password?: string;
}

/**
 * Parses a broker URL, adding `defaultScheme://` to a bare `host:port` (Nuclio's examples write
 * `10.0.0.3:4222`), checking the scheme, and moving user info out of it (percent-decoded).
 */
export function parseBrokerUrl(
  text: string,
  field: string,
  schemes: readonly string[],
  defaultScheme: string,
): BrokerUrl {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${defaultScheme}://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw fieldError(
      field,
      `${field} must be a URL such as ${defaultScheme}://host:port, got ${quote(redactUrl(text))}`,
    );
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  if (!schemes.includes(scheme))
    throw fieldError(
      field,
      `${field} must start with ${schemes.map((s) => `${s}://`).join(' or ')}, got ${quote(redactUrl(text))}`,
    );
  if (!u.hostname) throw fieldError(field, `${field} must name a host, got ${quote(redactUrl(text))}`);
  const out: BrokerUrl = { url: '' };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  out.url = u.toString().replace(/\/$/, '');
  return out;
}

/** A URL with its password (or a lone token) replaced by `***`, for logs and messages. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, info: string) => {
    const i = info.indexOf(':');
    return `${scheme}${i >= 0 ? `${info.slice(0, i)}:***` : '***'}@`;
  });
}

/**
 * Renders the Go-template subset Nuclio's NATS queue names use: `{{ .Namespace }}`, `{{ .Name }}`, `{{ .Id }}`,
 * `{{ .Labels.key }}` / `{{ index .Labels "key" }}` (and the same for Annotations). Anything else is an error.
 */
export function renderNameTemplate(
  template: string,
  field: string,
  values: {
    Id: string;
    Namespace: string;
    Name: string;
    Labels: Record<string, string>;
    Annotations: Record<string, string>;
  },
): string {
  return template.replace(/\{\{(.*?)\}\}/g, (whole, inner: string) => {
    const expr = inner.trim();
    const simple = /^\.(Id|Namespace|Name)$/.exec(expr);
    if (simple) return values[simple[1] as 'Id' | 'Namespace' | 'Name'];
    const dotted = /^\.(Labels|Annotations)\.([A-Za-z0-9_]+)$/.exec(expr);
    const indexed = /^index\s+\.(Labels|Annotations)\s+"([^"]*)"$/.exec(expr);
    const m = dotted ?? indexed;
    if (m) return values[m[1] as 'Labels' | 'Annotations'][m[2]] ?? '';
    throw fieldError(
      field,
      `${field} has ${quote(whole)}, which is not one of {{ .Namespace }}, {{ .Name }}, {{ .Id }}, {{ ` +
        `.Labels.<key> }}, {{ .Annotations.<key> }}`,
    );
  });
}
