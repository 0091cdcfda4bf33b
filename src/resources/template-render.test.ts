import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from './template-render.js';

describe('renderTemplate', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['a simple placeholder', 'name: {{ .name }}', { name: 'f1' }, 'name: f1'],
    ['a placeholder without spaces', '{{.name}}', { name: 'f1' }, 'f1'],
    ['a nested placeholder', 'host: {{ .a.b }}', { a: { b: 'h' } }, 'host: h'],
    ['a deeply nested placeholder', '{{ .a.b.c }}', { a: { b: { c: 'deep' } } }, 'deep'],
    ['several placeholders', '{{ .x }}-{{ .y }}-{{ .x }}', { x: '1', y: '2' }, '1-2-1'],
    ['a number', 'replicas: {{ .n }}', { n: 3 }, 'replicas: 3'],
    ['a boolean', 'on: {{ .b }}', { b: false }, 'on: false'],
    ['null', 'v: {{ .v }}', { v: null }, 'v: null'],
    ['an object', 'o: {{ .o }}', { o: { k: [1, 2] } }, 'o: {"k":[1,2]}'],
    ['an empty string', 'a{{ .e }}b', { e: '' }, 'ab'],
    ['a value with $& and $1', '{{ .v }}', { v: 'a$&b$1' }, 'a$&b$1'],
    ['a value that looks like a placeholder', '{{ .v }}', { v: '{{ .other }}' }, '{{ .other }}'],
    ['a multi-line template', 'a: {{ .a }}\nb: {{ .b }}\n', { a: '1', b: '2' }, 'a: 1\nb: 2\n'],
    ['text without placeholders', 'plain: text {{ not a placeholder }}', {}, 'plain: text {{ not a placeholder }}'],
    ['an underscore key', '{{ ._k1 }}', { _k1: 'u' }, 'u'],
  ];
  for (const [what, template, values, want] of cases) {
    it(`renderTemplate() renders ${what}`, () => {
      assert.equal(renderTemplate(template, values), want);
    });
  }

  const missing: [string, Record<string, unknown>, string][] = [
    ['{{ .missing }}', {}, 'no value for {{ .missing }}'],
    ['{{ .a.b }}', { a: 'string' }, 'no value for {{ .a.b }}'],
    ['{{ .a.b }}', { a: null }, 'no value for {{ .a.b }}'],
    ['{{ .a.b.c }}', { a: {} }, 'no value for {{ .a.b.c }}'],
    ['ok {{ .x }} then {{ .y }}', { x: '1' }, 'no value for {{ .y }}'],
  ];
  for (const [template, values, msg] of missing) {
    it(`renderTemplate() throws naming the placeholder for ${JSON.stringify(template)} with ${JSON.stringify(values)}`, () => {
      assert.throws(
        () => renderTemplate(template, values),
        (e: unknown) => e instanceof Error && e.message === msg,
      );
    });
  }

  it('renderTemplate() accepts the {{- and -}} markers', () => {
    assert.equal(renderTemplate('{{- .a -}}', { a: 'x' }), 'x');
  });

  it('renderTemplate() trims whitespace around {{- and -}} as Go text/template does', () => {
    assert.equal(renderTemplate('a  {{- .x -}}  b', { x: 'X' }), 'aXb');
  });
});
