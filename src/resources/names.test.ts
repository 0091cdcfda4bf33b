import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dnsLabelErrors, labelKeyErrors, labelValueErrors, qualifiedNameErrors } from './names.js';

describe('qualifiedNameErrors', () => {
  const valid = [
    'f',
    'my-func',
    'MyName',
    'my.name',
    '123-abc',
    'a_b',
    'A1',
    'a'.repeat(63),
    'example.com/name',
    'a.b-c/D_e',
    `${'a'.repeat(253)}/x`,
  ];
  for (const name of valid) {
    it(`qualifiedNameErrors() accepts ${JSON.stringify(name.length > 30 ? `${name.slice(0, 10)}…(${name.length})` : name)}`, () => {
      assert.deepEqual(qualifiedNameErrors(name), []);
    });
  }

  const invalid: [string, RegExp][] = [
    ['', /name part must be non-empty/],
    ['!funcmylif&', /name part must consist of alphanumeric characters/],
    ['-a', /must start and end with an alphanumeric character/],
    ['a-', /must start and end with an alphanumeric character/],
    ['.a', /must start and end/],
    ['a b', /alphanumeric/],
    ['a'.repeat(64), /no more than 63 characters/],
    ['/name', /prefix part must be non-empty/],
    ['Example.com/name', /prefix part must be a lowercase RFC 1123 subdomain/],
    ['ex_ample/name', /prefix part must be a lowercase RFC 1123 subdomain/],
    [`${'a'.repeat(254)}/x`, /prefix part must be a lowercase RFC 1123 subdomain of at most 253/],
    ['prefix/', /name part must be non-empty/],
    ['a/b/c', /a qualified name must consist of/],
  ];
  for (const [name, msg] of invalid) {
    it(`qualifiedNameErrors() rejects ${JSON.stringify(name.length > 30 ? `${name.slice(0, 10)}…(${name.length})` : name)}`, () => {
      const errors = qualifiedNameErrors(name);
      assert.ok(errors.length > 0);
      assert.ok(
        errors.some((e) => msg.test(e)),
        errors.join(' | '),
      );
    });
  }

  it('qualifiedNameErrors() reports both a bad prefix and a bad name', () => {
    assert.equal(qualifiedNameErrors('Bad/-bad-').length, 2);
  });

  it('labelKeyErrors is qualifiedNameErrors', () => {
    assert.equal(labelKeyErrors, qualifiedNameErrors);
  });
});

describe('dnsLabelErrors', () => {
  for (const name of ['a', 'my-name', '123-abc', '0', 'a--b', 'a'.repeat(63)]) {
    it(`dnsLabelErrors() accepts ${JSON.stringify(name.length > 30 ? `a…(${name.length})` : name)}`, () => {
      assert.deepEqual(dnsLabelErrors(name), []);
    });
  }
  for (const name of ['', 'My', 'a_b', 'a.b', '-a', 'a-', 'a b', 'ä']) {
    it(`dnsLabelErrors() rejects ${JSON.stringify(name)}`, () => {
      const errors = dnsLabelErrors(name);
      assert.equal(errors.length, 1);
      assert.match(errors[0], /lowercase RFC 1123 label/);
    });
  }
  it('dnsLabelErrors() rejects a 64-character label for its length only', () => {
    assert.deepEqual(dnsLabelErrors('a'.repeat(64)), ['must be no more than 63 characters']);
  });
  it('dnsLabelErrors() reports both problems of a long, malformed label', () => {
    assert.equal(dnsLabelErrors('A'.repeat(64)).length, 2);
  });
});

describe('labelValueErrors', () => {
  for (const v of ['', 'v1', 'v1.0', 'a_b-c.d', 'Default', 'a'.repeat(63)]) {
    it(`labelValueErrors() accepts ${JSON.stringify(v.length > 30 ? `a…(${v.length})` : v)}`, () => {
      assert.deepEqual(labelValueErrors(v), []);
    });
  }
  for (const v of ['-a', 'a-', '_a', 'a b', 'a/b', 'é', '.']) {
    it(`labelValueErrors() rejects ${JSON.stringify(v)}`, () => {
      const errors = labelValueErrors(v);
      assert.equal(errors.length, 1);
      assert.match(errors[0], /a valid label must be an empty string/);
    });
  }
  it('labelValueErrors() rejects a 64-character value', () => {
    assert.deepEqual(labelValueErrors('a'.repeat(64)), ['must be no more than 63 characters']);
  });
});
