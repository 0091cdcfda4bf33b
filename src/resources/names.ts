/**
 * Name rules of Kubernetes that Nuclio applies: function and project names are DNS-1123 labels
 * (a function's name becomes its Kubernetes Service and Deployment names, and here a folder name), labels
 * valid label keys and values. Each check returns the list of problems (empty when valid), worded like
 * Kubernetes' validation messages.
 */

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Problems of a Kubernetes qualified name: `[prefix/]name`, name ≤ 63 characters. */
export function qualifiedNameErrors(value: string): string[] {
  const errors: string[] = [];
  const parts = value.split('/');
  let name = value;
  if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      errors.push('prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters');
    }
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with " +
        "an alphanumeric character, with an optional DNS subdomain prefix and '/'",
    ];
  }
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) {
    errors.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
        "alphanumeric character (e.g. 'MyName', 'my.name', or '123-abc')",
    );
  }
  return errors;
}

/** Problems of a value that must match `pattern` within 63 characters. */
function shortNameErrors(value: string, pattern: RegExp, message: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push('must be no more than 63 characters');
  if (!pattern.test(value)) errors.push(message);
  return errors;
}

/** Problems of a DNS-1123 label: lowercase alphanumerics and '-', ≤ 63 characters. */
export const dnsLabelErrors = (value: string): string[] =>
  shortNameErrors(
    value,
    DNS1123_LABEL,
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and " +
      "end with an alphanumeric character (e.g. 'my-name', or '123-abc')",
  );

/**
 * Problems of a function name: a DNS-1123 label. Nuclio's dashboard checks only for a qualified name, but
 * Kubernetes then refuses anything that is not a label (Service names); here a name with `/` or `..`
 * would also become a path. So the rule is the label, at every edge that takes a function name.
 */
export const functionNameErrors = dnsLabelErrors;

/** Problems of a label value: empty, or a qualified-name-like string of at most 63 characters. */
export const labelValueErrors = (value: string): string[] =>
  shortNameErrors(
    value,
    LABEL_VALUE,
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must " +
      'start and end with an alphanumeric character',
  );

/** Problems of a label key (a qualified name). */
export const labelKeyErrors = qualifiedNameErrors;
