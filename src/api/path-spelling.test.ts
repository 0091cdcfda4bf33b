import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPath, isServicePath } from './path-spelling.js';

describe('canonicalPath', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['', '/'],
    ['/api/projects', '/api/projects'],
    ['//api//projects///', '/api/projects'],
    ['/%61pi/projects', '/api/projects'],
    ['/%2561pi/projects', '/api/projects'],
    ['/api%2Fprojects', '/api/projects'],
    ['/api%2fprojects?x=%2F', '/api/projects'],
    ['/api/./projects', '/api/projects'],
    ['/x/../api/projects', '/api/projects'],
    ['/../../api', '/api'],
    ['/%2e%2e/api', '/api'],
    ['/api\\projects', '/api/projects'],
    ['http://evil.example:80/api/projects?a', '/api/projects'],
    ['HTTP://h', '/'],
    ['/api/projects#frag', '/api/projects'],
    ['/a%3Fb', '/a?b'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/%ZZ', '/%ZZ'],
  ];
  for (const [input, want] of cases) {
    it(`canonicalPath() reads ${JSON.stringify(input)} as ${JSON.stringify(want)}`, () => {
      assert.equal(canonicalPath(input), want);
    });
  }
});

describe('isServicePath', () => {
  const service = [
    '/api',
    '/api/',
    '/api/projects',
    '//api/projects',
    '/%61pi/x',
    '/API/projects',
    '/Api',
    '/api;x/y',
    '/api-docs',
    '/x/../api/functions',
    '/./v3io/c/s',
    '/V3IO',
    'http://h/api/versions',
    '/api%2Fprojects',
    '\\api\\x',
    '/metrics',
    '/./metrics/.',
    '/%256detrics',
  ];
  for (const target of service) {
    it(`isServicePath() says ${JSON.stringify(target)} belongs to a service`, () =>
      assert.equal(isServicePath(target), true));
  }
  const app = [
    '/',
    '/projects/default/functions/f',
    '/assets/index-abc.js',
    '/apiary',
    '/v3iox',
    '/favicon.ico',
    '/x/api',
    '/%ZZ',
    '/metricsboard',
  ];
  for (const target of app) {
    it(`isServicePath() leaves ${JSON.stringify(target)} to the web UI`, () =>
      assert.equal(isServicePath(target), false));
  }
});
