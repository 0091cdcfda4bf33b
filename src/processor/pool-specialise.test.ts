import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bearerMatches, specialiseRequestOf } from './pool-specialise.js';

const good = {
  env: { PROTIUM_PROCESSOR_CONFIG_JSON: '{}', WHO: 'me' },
  cwd: '/var/lib/protium/artifacts/abc',
  artifact: { url: 'http://10.0.0.1/a', token: 't', digest: 'sha256:00', cache: '/var/lib/protium/artifacts' },
};

describe('specialiseRequestOf()', () => {
  it('accepts a whole request', () => assert.deepEqual(specialiseRequestOf(good), good));

  const cases: [string, unknown, string][] = [
    ['not an object', [], ''],
    ['null', null, ''],
    ['no env', { ...good, env: undefined }, 'env'],
    ['env an array', { ...good, env: ['A=1'] }, 'env'],
    ['a variable not a string', { ...good, env: { ...good.env, N: 1 } }, 'env'],
    ['a name with =', { ...good, env: { ...good.env, 'A=B': 'x' } }, 'env'],
    ['a NUL in a value', { ...good, env: { ...good.env, A: 'x\0y' } }, 'env'],
    ['no config', { ...good, env: { WHO: 'me' } }, 'env.PROTIUM_PROCESSOR_CONFIG_JSON'],
    ['a relative cwd', { ...good, cwd: 'abc' }, 'cwd'],
    ['a cwd outside the cache', { ...good, cwd: '/etc' }, 'cwd'],
    ['the cache itself as cwd', { ...good, cwd: '/var/lib/protium/artifacts' }, 'cwd'],
    ['no artifact', { ...good, artifact: undefined }, 'artifact'],
    ['an empty token', { ...good, artifact: { ...good.artifact, token: '' } }, 'artifact.token'],
    ['a digest not a string', { ...good, artifact: { ...good.artifact, digest: 5 } }, 'artifact.digest'],
    ['a relative cache', { ...good, artifact: { ...good.artifact, cache: 'x' } }, 'cwd'],
  ];
  for (const [name, body, field] of cases)
    it(`refuses ${name}, naming ${field || 'the body'}`, () => {
      const r = specialiseRequestOf(body);
      assert.ok('error' in r, JSON.stringify(r));
      assert.equal(r.field, field);
    });
});

describe('bearerMatches()', () => {
  const cases: [string | undefined, string, boolean][] = [
    ['Bearer s3cret', 's3cret', true],
    ['Bearer s3cret ', 's3cret', false],
    ['bearer s3cret', 's3cret', false],
    ['Bearer s3cre', 's3cret', false],
    ['Bearer s3cretx', 's3cret', false],
    ['Basic s3cret', 's3cret', false],
    ['s3cret', 's3cret', false],
    [undefined, 's3cret', false],
    ['Bearer ', '', false],
    ['Bearer x', '', false],
  ];
  for (const [header, token, want] of cases)
    it(`${JSON.stringify(header)} against ${JSON.stringify(token)}: ${want}`, () =>
      assert.equal(bearerMatches(header, token), want));
});
