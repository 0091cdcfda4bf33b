/**
 * The error catalogue (fastify's test/internals/errors.test.js idea): every code is documented in README.md's
 * `## Errors` table with its status and nothing else is, and the messages clients match keep their words.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './paths.js';
import { ApiError, apiError, ERRORS, fieldError, isApiError, type ErrorCode } from './errors.js';

/** The `## Errors` table of README.md: code → status. */
function readmeTable(): Map<string, number> {
  const text = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('\n## Errors\n');
  assert.ok(start >= 0, 'README.md has a "## Errors" section');
  const end = text.indexOf('\n## ', start + 1);
  const rows = new Map<string, number>();
  for (const line of text.slice(start, end < 0 ? undefined : end).split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| (\d{3}) \|/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1]), `${m[1]} is listed twice`);
    rows.set(m[1], Number(m[2]));
  }
  return rows;
}

describe('error catalogue (errors.ts)', () => {
  const codes = Object.keys(ERRORS) as ErrorCode[];

  it('README.md lists every code of the catalogue with its status', () => {
    const table = readmeTable();
    for (const code of codes) assert.equal(table.get(code), ERRORS[code].status, `README.md: ${code}`);
  });

  it('README.md lists no code the catalogue does not have', () => {
    for (const code of readmeTable().keys())
      assert.ok(code in ERRORS, `README.md lists ${code}, which errors.ts does not have`);
  });

  it('every status is an HTTP error status', () => {
    for (const code of codes) assert.ok(ERRORS[code].status >= 400 && ERRORS[code].status <= 599, code);
  });

  // code, arguments, status, message: the wording clients (and Nuclio's tests) match stays as it was.
  const messages: [ErrorCode, unknown[], number, string][] = [
    ['FUNCTION_NOT_FOUND', [], 404, 'Function not found'],
    ['FUNCTION_NOT_FOUND', [{ name: 'f', namespace: 'nuclio' }], 404, 'Function not found: f @ nuclio'],
    ['FUNCTION_EXISTS', [], 409, 'Cannot create two functions with the same name'],
    ['FUNCTION_VERSION_STALE', [], 409, 'Function resource version is stale'],
    [
      'FUNCTION_PROVISIONING',
      ['update'],
      412,
      'Function cannot be updated when existing function is being provisioned',
    ],
    ['FUNCTION_PROVISIONING', ['delete'], 412, 'Function is being provisioned and cannot be deleted'],
    [
      'FUNCTION_PROVISIONING',
      ['patch', 'building'],
      412,
      'Function is being provisioned (state building); try again when it is ready',
    ],
    ['FUNCTION_NO_IMAGE', [], 412, 'No image field in function config spec, unable to redeploy'],
    ['FUNCTION_MIN_REPLICAS', [], 412, 'Cannot scale to zero a function with non-zero min replicas'],
    [
      'DESIRED_STATE_UNSUPPORTED',
      ['unhealthy'],
      400,
      'Unsupported desired state in patch request: unhealthy (supported: ready, scaledToZero)',
    ],
    [
      'DESIRED_STATE_UNSUPPORTED',
      [7],
      400,
      'Unsupported desired state in patch request: 7 (supported: ready, scaledToZero)',
    ],
    [
      'FUNCTION_PROJECT_MISSING',
      ['p', 'nuclio.io/project-name'],
      412,
      'Project does not exist: "p" (label nuclio.io/project-name)',
    ],
    [
      'FUNCTION_USED_BY_API_GATEWAYS',
      [['a', 'b']],
      412,
      'Function is used by api gateways: a, b (send X-Nuclio-Delete-Function-With-API-Gateways: true to delete ' +
        'them too)',
    ],
    ['PROJECT_NOT_FOUND', [], 404, 'Project not found'],
    [
      'PROJECT_NOT_EMPTY',
      ['functions', ['f']],
      412,
      'Project contains functions: f (delete them first, or send X-Nuclio-Delete-Project-Strategy: cascading)',
    ],
    ['PROJECT_NOT_EMPTY', ['api gateways', ['g', 'h']], 412, 'Project contains api gateways: g, h'],
    ['API_GATEWAY_NOT_FOUND', [], 404, 'Api-Gateway not found'],
    ['FUNCTION_EVENT_NOT_FOUND', [], 404, 'Function event not found'],
    ['INVALID_JSON', ['the body is empty'], 400, 'Failed to parse JSON body: the body is empty'],
    ['BODY_TOO_DEEP', [128], 400, 'Failed to parse JSON body: it nests objects and arrays more than 128 levels deep'],
    ['NAMESPACE_REQUIRED', [], 400, 'Namespace must exist'],
    [
      'INVALID_NAMESPACE',
      ['Bad', 'X-Nuclio-Function-Namespace'],
      400,
      'Namespace "Bad" (header X-Nuclio-Function-Namespace) is not a valid namespace name',
    ],
    [
      'INVALID_QUERY',
      ['follow', 'true or false', 'maybe'],
      400,
      'Query parameter follow must be true or false, got "maybe"',
    ],
    [
      'INVALID_HEADER',
      ['X-H', 'a duration such as "1m"', 'x'.repeat(50)],
      400,
      `Header X-H must be a duration such as "1m", got "${'x'.repeat(40)}"`,
    ],
    ['FIELD_MUST_BE', ['spec.env', 'a list', { a: 1 }], 400, 'spec.env must be a list, got {"a":1}'],
    ['FUNCTION_NOT_READY', ['f', 'building'], 503, 'Function f is not ready to be invoked (state building)'],
    [
      'FUNCTION_NOT_READY',
      ['f', '', 'KeyError: x'],
      503,
      'Function f is not ready to be invoked (state unknown: KeyError: x)',
    ],
    ['FUNCTION_BUSY', ['f'], 503, 'Function f has too many connections waiting for a replica; try again'],
    ['FUNCTION_BUSY', ['f', 1024], 503, 'Function f has too many connections waiting for a replica (1024); try again'],
    ['UPSTREAM_TIMEOUT', [500], 504, 'Failed to invoke function: no answer within 500 ms (X-Nuclio-Invoke-Timeout)'],
    ['INTERNAL', [], 500, 'Internal error'],
    ['INTERNAL', ['boom'], 500, 'Internal error: boom'],
    ['RESOURCE_VERSION_STALE', ['Project', '1', '2'], 409, 'Project resource version is stale (given 1, stored 2)'],
    ['RESOURCE_EXISTS', ['Function', 'f', 'nuclio'], 409, 'Function "f" already exists in namespace "nuclio"'],
    ['REQUEST_REFUSED', [405, 'Method not allowed'], 405, 'Method not allowed'],
  ];
  for (const [code, args, status, message] of messages) {
    it(`apiError(${code}, ${JSON.stringify(args)}) answers ${status} "${message.slice(0, 60)}"`, () => {
      const e = new ApiError(code, args);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(e.message, message);
      assert.equal(e.name, 'ApiError');
      assert.ok(e instanceof Error);
    });
  }

  it('field errors name their field; others have none', () => {
    const f = fieldError('spec.host', 'spec.host "x y" is not a valid host name');
    assert.equal(f.code, 'INVALID_FIELD');
    assert.equal(f.field, 'spec.host');
    assert.equal(f.message, 'spec.host "x y" is not a valid host name');
    assert.equal(apiError('FIELD_MUST_BE', 'spec.env', 'a list', 1).field, 'spec.env');
    assert.equal(apiError('FUNCTION_EVENT_PARENT_MISSING', 'f').field, 'metadata.labels.nuclio.io/function-name');
    assert.equal(apiError('FUNCTION_NOT_FOUND').field, undefined);
  });

  it('challenges travel with their errors', () => {
    assert.deepEqual(apiError('UNAUTHORIZED').headers, { 'www-authenticate': 'Bearer realm="protium"' });
    assert.deepEqual(apiError('GATEWAY_BASIC_AUTH_REQUIRED', 'gw').headers, {
      'www-authenticate': 'Basic realm="gw", charset="UTF-8"',
    });
    assert.deepEqual(apiError('FUNCTION_NOT_FOUND').headers, {});
  });

  it('isApiError() tests the code', () => {
    const e = apiError('FUNCTION_NOT_FOUND');
    assert.equal(isApiError(e), true);
    assert.equal(isApiError(e, 'FUNCTION_NOT_FOUND'), true);
    assert.equal(isApiError(e, 'PROJECT_NOT_FOUND'), false);
    assert.equal(isApiError(new Error('Function not found')), false);
  });
});
