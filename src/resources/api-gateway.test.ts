import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  authMode,
  normaliseHost,
  normalisePath,
  readApiGatewayBody,
  upstreamFunctions,
  validateApiGatewaySpec,
} from './api-gateway.js';
import type { ApiGateway, AuthenticationMode } from './types.js';
import { throws400 } from '../../test/helpers/expect-api-error.js';

const up = (name: string, extra: Record<string, unknown> = {}) => ({
  kind: 'nucliofunction',
  nucliofunction: { name },
  ...extra,
});
const base = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  host: 'my.host.com',
  upstreams: [up('f1')],
  ...extra,
});

describe('validateApiGatewaySpec', () => {
  const valid: [string, Record<string, unknown>][] = [
    ['one upstream', base()],
    ['two upstreams with a canary percentage', base({ upstreams: [up('f1'), up('f2', { percentage: 20 })] })],
    ['two upstreams summing to 100', base({ upstreams: [up('f1', { percentage: 80 }), up('f2', { percentage: 20 })] })],
    ['a host with a port', base({ host: 'localhost:8071' })],
    ['an upper-case host', base({ host: 'My.Host' })],
    ['a path', base({ path: '/api/v1' })],
    ['a path without a leading slash', base({ path: 'api' })],
    ['mode none', base({ authenticationMode: 'none' })],
    ['mode ""', base({ authenticationMode: '' })],
    ['mode accessKey', base({ authenticationMode: 'accessKey' })],
    [
      'basicAuth with credentials',
      base({ authenticationMode: 'basicAuth', authentication: { basicAuth: { username: 'u', password: 'p' } } }),
    ],
    [
      '"basic" as basicAuth with credentials',
      base({ authenticationMode: 'basic', authentication: { basicAuth: { username: 'u', password: 'p' } } }),
    ],
    ['percentage 0 and 100', base({ upstreams: [up('f1', { percentage: 100 }), up('f2', { percentage: 0 })] })],
    ['an upstream port', base({ upstreams: [up('f1', { port: 8080 })] })],
  ];
  for (const [what, spec] of valid) {
    it(`validateApiGatewaySpec() accepts ${what}`, () => {
      assert.doesNotThrow(() => validateApiGatewaySpec(spec));
    });
  }

  const invalid: [string, Record<string, unknown>, string][] = [
    ['0 upstreams', base({ upstreams: [] }), 'One or more upstreams must be provided in spec'],
    ['missing upstreams', { host: 'h' }, 'One or more upstreams must be provided in spec'],
    ['null upstreams', base({ upstreams: null }), 'One or more upstreams must be provided in spec'],
    ['upstreams as an object', base({ upstreams: { a: 1 } }), 'spec.upstreams must be a list'],
    [
      '3 upstreams',
      base({ upstreams: [up('a'), up('b'), up('c')] }),
      'Received more than 2 upstreams. Currently not supported',
    ],
    ['an empty host', base({ host: '' }), 'Host must be provided in spec'],
    ['a missing host', { upstreams: [up('f1')] }, 'Host must be provided in spec'],
    ['a host with a space', base({ host: 'bad host' }), 'spec.host "bad host" is not a valid host name'],
    ['a host with a scheme', base({ host: 'http://h.com' }), 'is not a valid host name'],
    ['a host with a path', base({ host: 'h.com/x' }), 'is not a valid host name'],
    ['a host label starting with "-"', base({ host: '-h.com' }), 'is not a valid host name'],
    ['a numeric host', base({ host: 5 }), 'spec.host must be a string'],
    ['a path with a space', base({ path: '/a b' }), 'API Gateway path is invalid - /a b'],
    [
      'kind service',
      base({ upstreams: [{ kind: 'service', nucliofunction: { name: 'f1' } }] }),
      'Unsupported upstream kind: "service"',
    ],
    ['no kind', base({ upstreams: [{ nucliofunction: { name: 'f1' } }] }), 'Unsupported upstream kind: ""'],
    [
      'an upstream without a function name',
      base({ upstreams: [{ kind: 'nucliofunction' }] }),
      'spec.upstreams[0].nucliofunction.name must name a function',
    ],
    ['a non-object upstream', base({ upstreams: ['f1'] }), 'spec.upstreams[0] must be an object'],
    [
      'an upstream function name with a slash',
      base({ upstreams: [up('x.y/z')] }),
      'spec.upstreams[0].nucliofunction.name "x.y/z"',
    ],
    [
      'an upstream function name in capitals',
      base({ upstreams: [up('f1'), up('F2')] }),
      "Function name doesn't conform to k8s naming convention",
    ],
    [
      'the same function twice',
      base({ upstreams: [up('f1'), up('f1')] }),
      'spec.upstreams[1] names function "f1" twice',
    ],
    [
      'percentage 101',
      base({ upstreams: [up('f1'), up('f2', { percentage: 101 })] }),
      'spec.upstreams[1].percentage must be between 0 and 100',
    ],
    [
      'percentage -1',
      base({ upstreams: [up('f1', { percentage: -1 })] }),
      'spec.upstreams[0].percentage must be between 0 and 100',
    ],
    ['a fractional percentage', base({ upstreams: [up('f1'), up('f2', { percentage: 2.5 })] }), 'must be an integer'],
    [
      'percentages not summing to 100',
      base({ upstreams: [up('f1', { percentage: 50 }), up('f2', { percentage: 20 })] }),
      'Upstream percentages must sum to 100',
    ],
    [
      'an upstream port above 65535',
      base({ upstreams: [up('f1', { port: 65536 })] }),
      'spec.upstreams[0].port must be between 0 and 65535',
    ],
    [
      'basicAuth without credentials',
      base({ authenticationMode: 'basicAuth' }),
      'Basic authentication needs spec.authentication.basicAuth.username and .password',
    ],
    [
      'basicAuth without a password',
      base({ authenticationMode: 'basicAuth', authentication: { basicAuth: { username: 'u' } } }),
      'Basic authentication needs',
    ],
    [
      'basicAuth with an empty username',
      base({ authenticationMode: 'basicAuth', authentication: { basicAuth: { username: '', password: 'p' } } }),
      'Basic authentication needs',
    ],
    ['"basic" without credentials', base({ authenticationMode: 'basic' }), 'Basic authentication needs'],
    [
      'a username with ":"',
      base({ authenticationMode: 'basicAuth', authentication: { basicAuth: { username: 'a:b', password: 'p' } } }),
      'must not contain ":"',
    ],
    ['an unknown mode', base({ authenticationMode: 'oauth2' }), 'spec.authenticationMode "oauth2" is not supported'],
    ['a numeric description', base({ description: 1 }), 'spec.description must be a string'],
  ];
  for (const [what, spec, msg] of invalid) {
    it(`validateApiGatewaySpec() refuses ${what}`, () => {
      throws400(() => validateApiGatewaySpec(spec), msg);
    });
  }

  for (const mode of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    it(`validateApiGatewaySpec() refuses the authentication mode ${JSON.stringify(mode)}`, () => {
      throws400(() => validateApiGatewaySpec(base({ authenticationMode: mode })), 'is not supported');
    });
  }
});

describe('authMode', () => {
  const cases: [string | undefined, AuthenticationMode][] = [
    [undefined, 'none'],
    ['', 'none'],
    ['none', 'none'],
    ['basicAuth', 'basicAuth'],
    ['basic', 'basicAuth'],
    ['accessKey', 'accessKey'],
    ['oauth2', 'none'],
    ['BasicAuth', 'none'],
  ];
  for (const [mode, want] of cases) {
    it(`authMode() maps ${JSON.stringify(mode)} to ${want}`, () => {
      assert.equal(authMode(mode), want);
    });
  }
  for (const mode of ['constructor', 'toString']) {
    it(`authMode() maps ${JSON.stringify(mode)} to none`, () => {
      assert.equal(authMode(mode), 'none');
    });
  }
});

describe('normalisePath', () => {
  const cases: [string | undefined, string][] = [
    [undefined, '/'],
    ['', '/'],
    ['/', '/'],
    ['//', '/'],
    ['api', '/api'],
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/api///', '/api'],
    [' /api/v1 ', '/api/v1'],
    ['/a/b/', '/a/b'],
  ];
  for (const [input, want] of cases) {
    it(`normalisePath() turns ${JSON.stringify(input)} into ${JSON.stringify(want)}`, () => {
      assert.equal(normalisePath(input), want);
    });
  }
});

describe('normaliseHost', () => {
  const cases: [string, string][] = [
    ['Example.COM', 'example.com'],
    ['example.com:80', 'example.com'],
    [' Host:80 ', 'host'],
    ['example.com:8080', 'example.com:8080'],
    ['example.com:180', 'example.com:180'],
    ['example.com:443', 'example.com:443'],
  ];
  for (const [input, want] of cases) {
    it(`normaliseHost() turns ${JSON.stringify(input)} into ${JSON.stringify(want)}`, () => {
      assert.equal(normaliseHost(input), want);
    });
  }
});

describe('readApiGatewayBody', () => {
  const opts = { defaultNamespace: 'nuclio' };

  it('readApiGatewayBody() reads a full body, sets spec.name and an empty status', () => {
    const gw = readApiGatewayBody(
      { metadata: { name: 'agw1', namespace: 'ns' }, spec: base({ description: 'd' }) },
      opts,
    );
    assert.deepEqual(gw, {
      metadata: { name: 'agw1', namespace: 'ns' },
      spec: { host: 'my.host.com', upstreams: [up('f1')], description: 'd', name: 'agw1' },
      status: {},
    });
  });

  it('readApiGatewayBody() takes the name from spec.name, then from nameFallback', () => {
    assert.equal(readApiGatewayBody({ spec: base({ name: 'from-spec' }) }, opts).metadata.name, 'from-spec');
    assert.equal(readApiGatewayBody({ spec: base() }, { ...opts, nameFallback: 'from-url' }).metadata.name, 'from-url');
    assert.equal(
      readApiGatewayBody({ metadata: { name: 'meta' }, spec: base() }, { ...opts, nameFallback: 'from-url' }).metadata
        .name,
      'meta',
    );
  });

  it('readApiGatewayBody() defaults the namespace and sets the project label from the header', () => {
    const gw = readApiGatewayBody(
      { metadata: { name: 'g', labels: { 'nuclio.io/project-name': 'body', a: 'b' } }, spec: base() },
      { ...opts, projectName: 'p1' },
    );
    assert.equal(gw.metadata.namespace, 'nuclio');
    assert.deepEqual(gw.metadata.labels, { 'nuclio.io/project-name': 'p1', a: 'b' });
  });

  const problems: [string, unknown, { defaultNamespace: string; nameFallback?: string }, string][] = [
    ['no name', { spec: base() }, opts, 'Api gateway name must be provided in metadata'],
    [
      'no namespace',
      { metadata: { name: 'g' }, spec: base() },
      { defaultNamespace: '' },
      'Api gateway namespace must be provided in metadata',
    ],
    ['an upper-case name', { metadata: { name: 'Agw' }, spec: base() }, opts, 'Api gateway name "Agw" is invalid'],
    ['an underscore name', { metadata: { name: 'a_g' }, spec: base() }, opts, 'Api gateway name "a_g" is invalid'],
    [
      'spec.name different from metadata.name',
      { metadata: { name: 'a' }, spec: base({ name: 'b' }) },
      opts,
      'spec.name "b" must equal metadata.name "a"',
    ],
    [
      'a spec that breaks the rules',
      { metadata: { name: 'g' }, spec: base({ upstreams: [] }) },
      opts,
      'One or more upstreams must be provided in spec',
    ],
    ['a non-object body', 'x', opts, 'Request body must be a JSON object'],
    ['a non-object spec', { metadata: { name: 'g' }, spec: [] }, opts, 'spec must be an object'],
  ];
  for (const [what, body, o, msg] of problems) {
    it(`readApiGatewayBody() answers 400 for ${what}`, () => {
      throws400(() => readApiGatewayBody(body, o), msg);
    });
  }

  it('readApiGatewayBody() does not mutate the body spec', () => {
    const spec = base();
    readApiGatewayBody({ metadata: { name: 'g' }, spec }, opts);
    assert.equal('name' in spec, false);
  });
});

describe('upstreamFunctions', () => {
  it('upstreamFunctions() lists the function names of the upstreams', () => {
    const gw: ApiGateway = {
      metadata: { name: 'g' },
      spec: { upstreams: [up('f1'), up('f2'), { kind: 'nucliofunction' }] },
      status: {},
    };
    assert.deepEqual(upstreamFunctions(gw), ['f1', 'f2']);
  });
  it('upstreamFunctions() answers [] without upstreams', () => {
    assert.deepEqual(upstreamFunctions({ metadata: {}, spec: {}, status: {} }), []);
  });
});
