import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CliError } from './errors.js';
import {
  applyFlags,
  closest,
  lineOf,
  listSourceFiles,
  loadDeployInput,
  nameFrom,
  packSource,
  parseEnv,
  parseFunctionYaml,
  parseTrigger,
} from './function-yaml.js';

const YAML = `apiVersion: "nuclio.io/v1"
kind: "NuclioFunction"
metadata:
  name: hello
  labels:
    team: core
spec:
  runtime: python
  handler: main:handler
  env:
    - name: GREETING
      value: Hello
  triggers:
    tick:
      kind: cron
      attributes:
        schedule: "*/5 * * * *"
  build:
    commands:
      - pip install requests
`;

function fails(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CliError && re.test(e.message));
}

describe('parseFunctionYaml', () => {
  it("reads Nuclio's function.yaml", () => {
    const fy = parseFunctionYaml(YAML, 'function.yaml');
    assert.equal(fy.config.metadata.name, 'hello');
    assert.equal(fy.config.spec.runtime, 'python');
    assert.deepEqual(fy.config.spec.env, [{ name: 'GREETING', value: 'Hello' }]);
    assert.deepEqual(fy.config.spec.build?.commands, ['pip install requests']);
  });

  it('names the line of a syntax error', () => {
    fails(
      () => parseFunctionYaml('metadata:\n  name: x\nspec:\n  runtime: python\n   handler: main:handler\n', 'f.yaml'),
      /^f\.yaml line 4, column 12: Nested mappings are not allowed/,
    );
    fails(
      () => parseFunctionYaml('spec:\n  runtime: a\n  runtime: b\n', 'f.yaml'),
      /^f\.yaml line 3, column 3: Map keys must be unique/,
    );
  });

  it('names the line of a shape error, and suggests a misspelt top-level key', () => {
    fails(
      () => parseFunctionYaml('metadata:\n  name: x\nspce:\n  runtime: python\n', 'f.yaml'),
      /^f\.yaml line 3: unknown key "spce" \(did you mean spec\?\)/,
    );
    fails(() => parseFunctionYaml('kind: Deployment\n', 'f.yaml'), /line 1: kind must be NuclioFunction/);
    fails(() => parseFunctionYaml('spec:\n  env: 3\n', 'f.yaml'), /line 2: spec.env must be a list/);
    fails(() => parseFunctionYaml('spec:\n  env:\n    - value: 1\n', 'f.yaml'), /line 3: spec.env\[0\] must be/);
    fails(
      () => parseFunctionYaml('spec:\n  minReplicas: two\n', 'f.yaml'),
      /line 2: spec.minReplicas must be a whole number/,
    );
    fails(
      () => parseFunctionYaml('spec:\n  build:\n    commands: make\n', 'f.yaml'),
      /line 3: spec.build.commands must be a list/,
    );
    fails(() => parseFunctionYaml('- a\n- b\n', 'f.yaml'), /line 1: expected a mapping/);
    fails(() => parseFunctionYaml('', 'f.yaml'), /f\.yaml is empty/);
  });

  it('accepts env as a mapping, and numbers as strings', () => {
    const fy = parseFunctionYaml('spec:\n  env:\n    A: 1\n    B: x\n', 'f');
    assert.deepEqual(fy.config.spec.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: 'x' },
    ]);
  });

  it('finds the line of a field the dashboard complains about', () => {
    const fy = parseFunctionYaml(YAML, 'function.yaml');
    assert.equal(lineOf(fy, 'spec.triggers.tick.attributes.schedule'), 17);
    assert.equal(lineOf(fy, 'spec.env.0.value'), 12);
    assert.equal(lineOf(fy, 'metadata.labels.nuclio.io/project-name'), 6);
    assert.equal(lineOf(fy, 'nothing.here'), undefined);
  });
});

describe('flags over the file', () => {
  const base = parseFunctionYaml(YAML, 'function.yaml').config;

  it('override name, runtime, handler; merge env by name; replace build commands; add triggers', () => {
    const c = applyFlags(base, {
      name: 'other',
      runtime: 'nodejs',
      handler: 'handler:handler',
      env: ['GREETING=Hi', 'NEW=a=b'],
      buildCommand: ['npm install x'],
      minReplicas: '0',
      maxReplicas: '3',
      trigger: ['cron=10s'],
    });
    assert.equal(c.metadata.name, 'other');
    assert.equal(c.spec.runtime, 'nodejs');
    assert.deepEqual(c.spec.env, [
      { name: 'GREETING', value: 'Hi' },
      { name: 'NEW', value: 'a=b' },
    ]);
    assert.deepEqual(c.spec.build?.commands, ['npm install x']);
    assert.equal(c.spec.minReplicas, 0);
    assert.equal(c.spec.maxReplicas, 3);
    assert.deepEqual(Object.keys(c.spec.triggers ?? {}), ['tick', 'cron']);
    assert.equal(base.metadata.name, 'hello', 'the input is not changed');
  });

  it('refuses malformed flag values', () => {
    fails(() => parseEnv('=x'), /--env "=x" must look like NAME=value/);
    fails(() => parseEnv('NOVALUE'), /must look like NAME=value/);
    fails(() => applyFlags(base, { minReplicas: 'many' }), /--min-replicas must be a whole number/);
    fails(
      () => applyFlags(base, { minReplicas: '3', maxReplicas: '1' }),
      /min replicas \(3\) is more than max replicas \(1\)/,
    );
    fails(() => parseTrigger('http'), /--trigger "http" must be JSON/);
    fails(() => parseTrigger('{"a": 1'), /not valid JSON/);
  });

  it('reads triggers as JSON or the cron short form', () => {
    assert.deepEqual(parseTrigger('cron=30s'), { cron: { kind: 'cron', attributes: { interval: '30s' } } });
    assert.deepEqual(parseTrigger('tick:cron=*/5 * * * *'), {
      tick: { kind: 'cron', attributes: { schedule: '*/5 * * * *' } },
    });
    assert.deepEqual(parseTrigger('{"kind": "cron", "name": "t", "attributes": {"interval": "1m"}}'), {
      t: { kind: 'cron', name: 't', attributes: { interval: '1m' } },
    });
    assert.deepEqual(parseTrigger('{"t": {"kind": "http"}}'), { t: { kind: 'http' } });
  });
});

describe('names and suggestions', () => {
  it('makes a function name from a file or folder name', () => {
    assert.equal(nameFrom('Hello_World.py'), 'hello-world');
    assert.equal(nameFrom('my-func'), 'my-func');
    assert.equal(nameFrom('__init__.py'), 'init');
  });
  it('suggests the closest word when it is close', () => {
    assert.equal(closest('fucntions', ['functions', 'projects']), 'functions');
    assert.equal(closest('zzz', ['functions', 'projects']), undefined);
  });
});

describe('loadDeployInput and packSource', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'protium-cli-unit-'));
    mkdirSync(join(dir, 'one'));
    writeFileSync(join(dir, 'one', 'main.py'), 'def handler(c, e):\n    return "one"\n');
    writeFileSync(
      join(dir, 'one', 'function.yaml'),
      'metadata:\n  name: one\nspec:\n  runtime: python\n  handler: main:handler\n',
    );
    mkdirSync(join(dir, 'many', 'lib'), { recursive: true });
    mkdirSync(join(dir, 'many', '.git'));
    writeFileSync(join(dir, 'many', 'handler.js'), 'exports.handler = (c, e) => c.callback(require("./lib/x"))\n');
    writeFileSync(join(dir, 'many', 'lib', 'x.js'), 'module.exports = "x"\n');
    writeFileSync(join(dir, 'many', '.git', 'HEAD'), 'ref\n');
    mkdirSync(join(dir, 'mixed'));
    writeFileSync(join(dir, 'mixed', 'a.py'), '');
    writeFileSync(join(dir, 'mixed', 'b.js'), '');
    writeFileSync(join(dir, 'greet.sh'), 'echo hi\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a folder with function.yaml and one source file sends that file inline', async () => {
    const input = await loadDeployInput('one', {}, dir);
    assert.equal(input.config.metadata.name, 'one');
    assert.equal(input.plan.kind, 'file');
    const packed = await packSource(input.plan);
    assert.equal(
      Buffer.from(packed.functionSourceCode!, 'base64').toString(),
      'def handler(c, e):\n    return "one"\n',
    );
    assert.equal(packed.codeEntryType, undefined);
  });

  it('a folder of several files goes as a tar.gz archive, without .git; runtime and handler are inferred', async () => {
    const input = await loadDeployInput('many', {}, dir);
    assert.equal(input.config.metadata.name, 'many');
    assert.equal(input.config.spec.runtime, 'nodejs');
    assert.equal(input.config.spec.handler, 'handler:handler');
    assert.deepEqual(await listSourceFiles(join(dir, 'many')), ['handler.js', 'lib/x.js']);
    const packed = await packSource(input.plan);
    assert.equal(packed.codeEntryType, 'archive');
    const tar = gunzipSync(Buffer.from(packed.functionSourceCode!, 'base64')).toString('latin1');
    assert.match(tar, /handler\.js/);
    assert.match(tar, /lib\/x\.js/);
    assert.doesNotMatch(tar, /\.git/);
  });

  it('a single file: runtime from the extension, handler and name from the file name', async () => {
    const input = await loadDeployInput('greet.sh', {}, dir);
    assert.equal(input.config.metadata.name, 'greet');
    assert.equal(input.config.spec.runtime, 'shell');
    assert.equal(input.config.spec.handler, 'greet.sh:main');
    assert.equal(input.plan.kind, 'file');
  });

  it('says what is missing', async () => {
    await assert.rejects(loadDeployInput('nope', {}, dir), /nope: no such file or folder/);
    await assert.rejects(loadDeployInput('mixed', {}, dir), /cannot tell the runtime of mixed: give --runtime/);
    await assert.rejects(
      loadDeployInput('one', { handler: 'app:handler' }, dir),
      /the handler "app:handler" is in app\.py, which is not in one/,
    );
    await assert.rejects(loadDeployInput('one', { runtime: 'golang' }, dir), /not a runtime this platform runs/);
    await assert.rejects(loadDeployInput('one', { file: 'missing.yaml' }, dir), /missing\.yaml: no such file/);
  });
});
