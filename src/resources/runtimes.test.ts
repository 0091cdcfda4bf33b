import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_HANDLER,
  parseHandler,
  runtimeFamily,
  unavailableRuntimeMessage,
  type RuntimeFamily,
} from './runtimes.js';

describe('runtimeFamily', () => {
  const cases: [string | undefined, RuntimeFamily | undefined][] = [
    ['nodejs', 'nodejs'],
    ['nodejs:20', 'nodejs'],
    ['python', 'python'],
    ['python:3', 'python'],
    ['python:3.9', 'python'],
    ['python:3.11', 'python'],
    ['shell', 'shell'],
    ['python:2.7', undefined],
    ['python:3.x', undefined],
    ['python3', undefined],
    ['nodejsx', undefined],
    ['shell:1', undefined],
    ['golang', undefined],
    ['java', undefined],
    ['Python', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [runtime, family] of cases) {
    it(`runtimeFamily() maps ${JSON.stringify(runtime)} to ${family}`, () => {
      assert.equal(runtimeFamily(runtime), family);
    });
  }
});

describe('unavailableRuntimeMessage', () => {
  const cases: [string | undefined, RegExp][] = [
    [undefined, /^spec\.runtime must be set/],
    ['', /^spec\.runtime must be set/],
    ['golang', /^Runtime "golang" is not available on this platform/],
    ['java', /not available on this platform/],
    ['dotnetcore', /not available on this platform/],
    ['ruby:3', /^Runtime "ruby:3" is not available on this platform/],
    ['cobol', /^Runtime "cobol" is not supported: use one of nodejs, python, python:3\.x, shell$/],
    ['python:2.7', /^Runtime "python:2\.7" is not supported/],
  ];
  for (const [runtime, msg] of cases) {
    it(`unavailableRuntimeMessage() explains ${JSON.stringify(runtime)}`, () => {
      assert.match(unavailableRuntimeMessage(runtime), msg);
    });
  }
});

describe('parseHandler', () => {
  const ok: [RuntimeFamily, string, { module: string; entry: string; file: string }][] = [
    ['nodejs', 'handler:handler', { module: 'handler', entry: 'handler', file: 'handler.js' }],
    ['nodejs', 'main:handler', { module: 'main', entry: 'handler', file: 'main.js' }],
    ['nodejs', 'main.js:h', { module: 'main.js', entry: 'h', file: 'main.js' }],
    ['nodejs', 'main.mjs:h', { module: 'main.mjs', entry: 'h', file: 'main.mjs' }],
    ['nodejs', 'main.cjs:h', { module: 'main.cjs', entry: 'h', file: 'main.cjs' }],
    ['nodejs', 'lib/index:$run', { module: 'lib/index', entry: '$run', file: 'lib/index.js' }],
    ['nodejs', 'my-file:handler', { module: 'my-file', entry: 'handler', file: 'my-file.js' }],
    // No file part: Nuclio's nodejs runtime loads the export from handler.js (its "dates" example, the seed).
    ['nodejs', 'handler', { module: 'handler', entry: 'handler', file: 'handler.js' }],
    ['nodejs', 'main', { module: 'handler', entry: 'main', file: 'handler.js' }],
    ['nodejs', 'testHandler', { module: 'handler', entry: 'testHandler', file: 'handler.js' }],
    ['nodejs', 'outputter.js:testHandler', { module: 'outputter.js', entry: 'testHandler', file: 'outputter.js' }],
    ['python', 'main:handler', { module: 'main', entry: 'handler', file: 'main.py' }],
    ['python', 'pkg.mod:h', { module: 'pkg.mod', entry: 'h', file: 'pkg/mod.py' }],
    ['python', 'a.b.c:h', { module: 'a.b.c', entry: 'h', file: 'a/b/c.py' }],
    ['python', 'hello-nuclio:handler', { module: 'hello-nuclio', entry: 'handler', file: 'hello-nuclio.py' }],
    ['python', 'my_mod:my_handler', { module: 'my_mod', entry: 'my_handler', file: 'my_mod.py' }],
    ['shell', 'main.sh:main', { module: 'main.sh', entry: 'main', file: 'main.sh' }],
    ['shell', 'echo', { module: 'echo', entry: '', file: 'echo' }],
    ['shell', 'rev', { module: 'rev', entry: '', file: 'rev' }],
    ['shell', 'reverser.sh', { module: 'reverser.sh', entry: '', file: 'reverser.sh' }],
    ['shell', 'scripts/run.sh:go', { module: 'scripts/run.sh', entry: 'go', file: 'scripts/run.sh' }],
  ];
  for (const [family, handler, want] of ok) {
    it(`parseHandler() maps ${family} ${JSON.stringify(handler)} to ${want.file}`, () => {
      assert.deepEqual(parseHandler(family, handler), want);
    });
  }

  const bad: [RuntimeFamily, string, RegExp][] = [
    ['nodejs', 'index.js', /must look like "file:exportName"/],
    ['nodejs', 'a:b:c', /must look like "file:exportName"/],
    ['nodejs', ':handler', /must look like "file:exportName"/],
    ['nodejs', 'main:', /must look like "file:exportName"/],
    ['nodejs', 'a b:h', /must look like/],
    ['nodejs', 'main:a-b', /must look like/],
    ['nodejs', '../up:h', /must name a file inside the function/],
    ['nodejs', 'lib/../../up:h', /must name a file inside the function/],
    ['nodejs', '/etc/passwd:h', /must name a file inside the function/],
    ['python', 'main', /must look like "module:function"/],
    ['python', 'main:', /must look like "module:function"/],
    ['python', ':handler', /must look like "module:function"/],
    ['python', '..:h', /must look like/],
    ['python', '../main:h', /must look like/],
    ['python', 'pkg..mod:h', /must look like/],
    ['python', 'pkg/mod:h', /must look like/],
    ['python', 'main:handler-x', /must look like/],
    ['shell', '', /must name a script or command/],
    ['shell', ':main', /must name a script or command/],
    ['shell', '../x.sh:main', /must name a script or command/],
    ['shell', 'a/../../x.sh', /must name a script or command/],
    ['shell', '/bin/sh:main', /must name a script or command/],
    ['shell', 'rm -rf', /must name a script or command/],
    ['shell', 'main.sh:main:x', /must name a script or command/],
  ];
  for (const [family, handler, msg] of bad) {
    it(`parseHandler() refuses ${family} ${JSON.stringify(handler)} with a message`, () => {
      const got = parseHandler(family, handler);
      assert.equal(typeof got, 'string');
      assert.match(got as string, msg);
      assert.ok((got as string).includes(JSON.stringify(handler)), got as string);
    });
  }

  for (const family of ['nodejs', 'python', 'shell'] as const) {
    it(`parseHandler() accepts the default ${family} handler`, () => {
      assert.equal(typeof parseHandler(family, DEFAULT_HANDLER[family]), 'object');
    });
  }
});
