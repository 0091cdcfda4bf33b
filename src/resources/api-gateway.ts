/**
 * API gateways: body processing and the spec rules (host, path, one or two `nucliofunction`
 * upstreams, canary percentage, authentication mode and its credentials). Pure.
 */
import { apiError, fieldError, quote } from '../errors.js';
import { dnsLabelErrors } from './names.js';
import { isObject, optInt, optObject, optString } from './shape.js';
import { checkFunctionName, readMeta, requireObjectBody } from './function-validate.js';
import type { ApiGateway, ApiGatewayUpstream, AuthenticationMode } from './types.js';

const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:\d{1,5})?$/;
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/** Accepted spellings of authenticationMode and what they mean (`basic` is the seed's PUT example). */
const AUTH_MODES: Record<string, AuthenticationMode> = {
  none: 'none',
  '': 'none',
  basicAuth: 'basicAuth',
  basic: 'basicAuth',
  accessKey: 'accessKey',
};

/** The effective mode of a stored gateway. */
export function authMode(mode: string | undefined): AuthenticationMode {
  const m = mode ?? 'none';
  return Object.hasOwn(AUTH_MODES, m) ? AUTH_MODES[m] : 'none';
}

/** `path` as routed: leading slash added, trailing slash removed (but "/" stays). */
export function normalisePath(path: string | undefined): string {
  let p = (path ?? '').trim();
  if (!p.startsWith('/')) p = `/${p}`;
  if (p.length > 1) p = p.replace(/\/+$/, '');
  return p || '/';
}

/** Host names match case-insensitively and without a default port. */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/:80$/, '');
}

export function readApiGatewayBody(
  bodyIn: unknown,
  opts: { defaultNamespace: string; projectName?: string; nameFallback?: string },
): ApiGateway {
  const body = requireObjectBody(bodyIn);
  const metadata = readMeta(body, 'API gateway');
  const spec = { ...(optObject(body.spec, 'spec') ?? {}) };
  metadata.namespace = metadata.namespace || opts.defaultNamespace;
  const specName = optString(spec.name, 'spec.name');
  if (!metadata.name) metadata.name = specName || opts.nameFallback;
  if (!metadata.name) throw fieldError('metadata.name', 'Api gateway name must be provided in metadata');
  if (!metadata.namespace) throw fieldError('metadata.namespace', 'Api gateway namespace must be provided in metadata');
  const errors = dnsLabelErrors(metadata.name);
  if (errors.length)
    throw fieldError('metadata.name', `Api gateway name ${quote(metadata.name)} is invalid: ${errors.join('; ')}`);
  if (specName && specName !== metadata.name) {
    throw fieldError('spec.name', `spec.name ${quote(specName)} must equal metadata.name ${quote(metadata.name)}`);
  }
  spec.name = metadata.name;
  if (opts.projectName) metadata.labels = { ...(metadata.labels ?? {}), 'nuclio.io/project-name': opts.projectName };
  validateApiGatewaySpec(spec);
  return { metadata, spec, status: {} };
}

/** The rules of ValidateAPIGatewaySpec plus the credentials each auth mode needs. */
export function validateApiGatewaySpec(spec: Record<string, unknown>): void {
  const host = optString(spec.host, 'spec.host');
  if (!host) throw fieldError('spec.host', 'Host must be provided in spec');
  if (!HOST.test(host)) throw fieldError('spec.host', `spec.host ${quote(host)} is not a valid host name`);
  const path = optString(spec.path, 'spec.path');
  if (path !== undefined && !PATH.test(normalisePath(path)))
    throw fieldError('spec.path', `API Gateway path is invalid - ${path}`);
  optString(spec.description, 'spec.description');

  const mode = optString(spec.authenticationMode, 'spec.authenticationMode') ?? 'none';
  if (!Object.hasOwn(AUTH_MODES, mode)) {
    throw fieldError(
      'spec.authenticationMode',
      `spec.authenticationMode ${quote(mode)} is not supported: use none, basicAuth or accessKey`,
    );
  }
  const auth = optObject(spec.authentication, 'spec.authentication');
  if (AUTH_MODES[mode] === 'basicAuth') {
    const basic = optObject(auth?.basicAuth, 'spec.authentication.basicAuth');
    const username = optString(basic?.username, 'spec.authentication.basicAuth.username');
    const password = optString(basic?.password, 'spec.authentication.basicAuth.password');
    if (!username || !password) {
      throw fieldError(
        'spec.authentication.basicAuth',
        'Basic authentication needs spec.authentication.basicAuth.username and .password (an export blanks the ' +
          'password unless made with ?includeSecrets=true)',
      );
    }
    if (username.includes(':'))
      throw fieldError(
        'spec.authentication.basicAuth.username',
        'spec.authentication.basicAuth.username must not contain ":"',
      );
  }

  const upstreams = spec.upstreams;
  if (upstreams === undefined || upstreams === null || (Array.isArray(upstreams) && upstreams.length === 0)) {
    throw fieldError('spec.upstreams', 'One or more upstreams must be provided in spec');
  }
  if (!Array.isArray(upstreams)) throw apiError('FIELD_MUST_BE', 'spec.upstreams', 'a list', upstreams);
  if (upstreams.length > 2)
    throw fieldError('spec.upstreams', 'Received more than 2 upstreams. Currently not supported');
  const names = new Set<string>();
  upstreams.forEach((u, i) => {
    const f = `spec.upstreams[${i}]`;
    if (!isObject(u)) throw apiError('FIELD_MUST_BE', f, 'an object', u);
    const kind = optString(u.kind, `${f}.kind`);
    if (kind !== 'nucliofunction')
      throw fieldError(`${f}.kind`, `Unsupported upstream kind: ${quote(kind ?? '')} (only "nucliofunction")`);
    const fn = optObject(u.nucliofunction, `${f}.nucliofunction`);
    const name = optString(fn?.name, `${f}.nucliofunction.name`);
    if (!name) throw fieldError(`${f}.nucliofunction.name`, `${f}.nucliofunction.name must name a function`);
    checkFunctionName(name, `${f}.nucliofunction.name`);
    if (names.has(name)) throw fieldError(`${f}.nucliofunction.name`, `${f} names function ${quote(name)} twice`);
    names.add(name);
    optInt(u.percentage, `${f}.percentage`, 0, 100);
    optInt(u.port, `${f}.port`, 0, 65_535);
  });
  if (upstreams.length === 2) {
    const pct = (upstreams[1] as ApiGatewayUpstream).percentage ?? 0;
    const first = (upstreams[0] as ApiGatewayUpstream).percentage ?? 0;
    if (first !== 0 && first + pct !== 100) {
      throw fieldError(
        'spec.upstreams',
        `Upstream percentages must sum to 100 when both are given (got ${first} + ${pct})`,
      );
    }
  }
}

/** The function names a gateway routes to. */
export function upstreamFunctions(gw: ApiGateway): string[] {
  return (gw.spec.upstreams ?? []).map((u) => u.nucliofunction?.name ?? '').filter(Boolean);
}
