import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ApiError } from '../errors.js';
import { checkSource, insideRoots, isBase64, sourceKind, type SourceKind } from './function-source.js';
import type { FunctionSpec } from './types.js';

const spec = (s: Partial<FunctionSpec> & { build?: FunctionSpec['build'] }): FunctionSpec => ({
  resources: {},
  platform: {},
  eventTimeout: '',
  ...s,
  build: s.build ?? {},
});

describe('sourceKind', () => {
  const cases: [string, FunctionSpec, SourceKind | undefined][] = [
    [
      'template wins over everything',
      spec({ build: { codeEntryType: 'template', functionSourceCode: 'YQ==', path: '/x' } }),
      'template',
    ],
    ['inline source', spec({ build: { functionSourceCode: 'YQ==' } }), 'inline'],
    ['inline wins over path', spec({ build: { functionSourceCode: 'YQ==', path: 'https://h/x.zip' } }), 'inline'],
    ['an http URL', spec({ build: { path: 'http://example.com/f.zip' } }), 'url'],
    ['an HTTPS URL in upper case', spec({ build: { path: 'HTTPS://example.com/f.zip' } }), 'url'],
    ['a local path', spec({ build: { path: '/srv/fn' } }), 'local'],
    ['a relative path', spec({ build: { path: 'fn' } }), 'local'],
    ['spec.image', spec({ image: 'nginx' }), 'image'],
    ['build.image', spec({ build: { image: 'nginx' } }), 'image'],
    ['path wins over image', spec({ image: 'nginx', build: { path: '/srv/fn' } }), 'local'],
    ['nothing', spec({}), undefined],
    ['empty strings', spec({ image: '', build: { path: '', functionSourceCode: '' } }), undefined],
  ];
  for (const [what, s, kind] of cases) {
    it(`sourceKind() answers ${kind} for ${what}`, () => {
      assert.equal(sourceKind(s), kind);
    });
  }
  it('sourceKind() copes with a missing build', () => {
    assert.equal(sourceKind({ image: 'x' } as unknown as FunctionSpec), 'image');
  });
});

describe('isBase64', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['aGVsbG8=', true],
    ['aGVsbG8gd29ybGQ=', true],
    ['YQ==', true],
    ['YWJj', true],
    ['a+/9', true],
    ['aGVs\nbG8=', true],
    ['aGVs bG8=\n', true],
    ['aGVsbG8', false],
    ['YQ=', false],
    ['Y===', false],
    ['====', false],
    ['YQ==YQ==', false],
    ['not base64!', false],
    ['aGVs-bG8', false],
    ['a_b=', false],
  ];
  for (const [text, want] of cases) {
    it(`isBase64() answers ${want} for ${JSON.stringify(text)}`, () => {
      assert.equal(isBase64(text), want);
    });
  }
});

describe('insideRoots', () => {
  const cases: [string, string[], boolean][] = [
    ['/srv/fn', ['/srv/fn'], true],
    ['/srv/fn/a/b', ['/srv/fn'], true],
    ['/srv/fn/a/', ['/srv/fn/'], true],
    ['/srv/other', ['/srv/fn'], false],
    ['/srv/fnx', ['/srv/fn'], false],
    ['/srv/fn/../other', ['/srv/fn'], false],
    ['/srv/fn/a/../b', ['/srv/fn'], true],
    ['/srv', ['/srv/fn'], false],
    ['/b/x', ['/a', '/b'], true],
    ['/c/x', ['/a', '/b'], false],
    ['/srv/fn', [], false],
  ];
  for (const [path, roots, want] of cases) {
    it(`insideRoots() answers ${want} for ${path} in ${JSON.stringify(roots)}`, () => {
      assert.equal(insideRoots(path, roots), want);
    });
  }
  it('insideRoots() accepts a folder whose name starts with ".." inside a root', () => {
    assert.equal(insideRoots('/srv/fn/..foo', ['/srv/fn']), true);
  });
  it('insideRoots() resolves a relative path against the working directory', () => {
    assert.equal(insideRoots('sub/dir', [process.cwd()]), true);
    assert.equal(insideRoots('../elsewhere', [process.cwd()]), false);
  });
});

describe('checkSource', () => {
  const roots = { sourceRoots: ['/srv/functions'] };
  const none = { sourceRoots: [] };

  function refuses(s: FunctionSpec, opts: { sourceRoots: string[] }, text: string): void {
    assert.throws(
      () => checkSource(s, opts),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.status, 400);
        assert.ok(e.message.includes(text), e.message);
        return true;
      },
    );
  }

  it('checkSource() refuses a spec without any source', () => {
    refuses(
      spec({}),
      roots,
      'Function must have either spec.build.path, spec.build.functionSourceCode, spec.build.image or spec.image ' +
        'set in order to create',
    );
  });

  it('checkSource() refuses a local path when no source roots are configured', () => {
    refuses(spec({ build: { path: '/srv/functions/f1' } }), none, 'is a local path, and this dashboard allows none');
  });

  for (const path of ['/srv/functions', '/srv/functions/f1', '/srv/functions/a/b/c', '/srv/functions/a/../b']) {
    it(`checkSource() allows the local path ${path} inside a root`, () => {
      assert.doesNotThrow(() => checkSource(spec({ build: { path } }), roots));
    });
  }

  for (const path of [
    '/srv/other',
    '/srv/functionsX/f',
    '/srv/functions/../secret',
    '/etc/passwd',
    'f1',
    './f1',
    resolve('/srv/functions', 'f1').slice(1),
  ]) {
    it(`checkSource() refuses the local path ${JSON.stringify(path)} outside the roots or relative`, () => {
      refuses(spec({ build: { path } }), roots, 'must be an absolute path inside /srv/functions');
    });
  }

  it('checkSource() refuses a relative path even when it resolves inside a root', () => {
    refuses(spec({ build: { path: 'inside' } }), { sourceRoots: [process.cwd()] }, 'must be an absolute path inside');
  });

  for (const path of ['http://', 'https:// space', 'http:///no-host']) {
    it(`checkSource() refuses the bad URL ${JSON.stringify(path)}`, () => {
      refuses(spec({ build: { path } }), roots, 'is not a valid http(s) URL');
    });
  }

  for (const path of ['ftp://host/f.zip', 's3://bucket/f.zip', 'file:///srv/functions/f']) {
    it(`checkSource() refuses the non-http scheme ${JSON.stringify(path)}`, () => {
      refuses(spec({ build: { path } }), roots, 'must be an http(s) URL or a local path');
    });
  }

  const accepted: [string, FunctionSpec][] = [
    ['an https URL', spec({ build: { path: 'https://example.com/f.zip' } })],
    ['an http URL with a port', spec({ build: { path: 'http://localhost:8000/f.tar.gz' } })],
    ['an URL without source roots', spec({ build: { path: 'https://example.com/f.zip' } })],
    ['inline source', spec({ build: { functionSourceCode: 'YQ==' } })],
    ['an image', spec({ image: 'nginx' })],
    ['a template', spec({ build: { codeEntryType: 'template' } })],
  ];
  for (const [what, s] of accepted) {
    it(`checkSource() accepts ${what}`, () => {
      assert.doesNotThrow(() => checkSource(s, none));
    });
  }
});
