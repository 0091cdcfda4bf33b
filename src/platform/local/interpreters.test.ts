import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ENV_NAMES, loadConfig } from '../../config.js';
import {
  choosePython,
  Interpreters,
  nodejsNote,
  probePython,
  wantedPythonVersion,
  type InterpreterProbe,
} from './interpreters.js';

/** A machine with these interpreters: command → [real path, version]; anything else does not run. */
const machine =
  (table: Record<string, [string, string]>) =>
  (command: string): InterpreterProbe | undefined => {
    const hit = table[command];
    return hit ? { executable: hit[0], version: hit[1] } : undefined;
  };

describe('wantedPythonVersion()', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['python:3.9', '3.9'],
    ['python:3.11', '3.11'],
    ['python:3', undefined],
    ['python', undefined],
    [undefined, undefined],
    ['nodejs', undefined],
  ];
  for (const [runtime, want] of cases) {
    it(`wantedPythonVersion() reads ${JSON.stringify(runtime)} as ${want}`, () =>
      assert.equal(wantedPythonVersion(runtime), want));
  }
});

describe('choosePython()', () => {
  const debian = machine({ python3: ['/usr/bin/python3.11', '3.11.2'] });
  const with39 = machine({
    python3: ['/usr/bin/python3.11', '3.11.2'],
    'python3.9': ['/opt/py39/bin/python3.9', '3.9.18'],
  });
  const cases: {
    name: string;
    runtime: string;
    configured?: Record<string, string>;
    probe: (c: string) => InterpreterProbe | undefined;
    path?: string;
    note?: RegExp;
  }[] = [
    { name: 'python runs the default quietly', runtime: 'python', probe: debian, path: '/usr/bin/python3.11' },
    { name: 'python:3 runs the default quietly', runtime: 'python:3', probe: debian, path: '/usr/bin/python3.11' },
    { name: 'python:3.11 is the default: no note', runtime: 'python:3.11', probe: debian, path: '/usr/bin/python3.11' },
    {
      name: 'python:3.9 with python3.9 on PATH runs it',
      runtime: 'python:3.9',
      probe: with39,
      path: '/opt/py39/bin/python3.9',
    },
    {
      name: 'python:3.9 without it runs the default and says so',
      runtime: 'python:3.9',
      probe: debian,
      path: '/usr/bin/python3.11',
      note: /^python:3\.9 asks for Python 3\.9, which is not installed here .*: the function runs on the default python3, Python 3\.11 \(\/usr\/bin\/python3\.11\)$/,
    },
    {
      name: 'a python3.9 on PATH that is another version (a stray link) is not taken',
      runtime: 'python:3.9',
      probe: machine({ python3: ['/usr/bin/python3.11', '3.11.2'], 'python3.9': ['/usr/bin/python3.11', '3.11.2'] }),
      path: '/usr/bin/python3.11',
      note: /not installed here/,
    },
    {
      name: 'a configured interpreter wins',
      runtime: 'python:3.9',
      configured: { 'python:3.9': '/envs/39/bin/python' },
      probe: machine({
        python3: ['/usr/bin/python3.11', '3.11.2'],
        '/envs/39/bin/python': ['/envs/39/bin/python', '3.9.7'],
      }),
      path: '/envs/39/bin/python',
    },
    {
      name: 'a configured interpreter that does not run: the default, and the reason',
      runtime: 'python:3.9',
      configured: { 'python:3.9': '/gone/python' },
      probe: debian,
      path: '/usr/bin/python3.11',
      note: /^The interpreter configured for python:3\.9 \(\/gone\/python\) does not run: the function runs on the default python3/,
    },
    {
      name: 'a configured interpreter of another version runs, and the note says what it is',
      runtime: 'python:3.9',
      configured: { 'python:3.9': 'python3' },
      probe: debian,
      path: '/usr/bin/python3.11',
      note: /is Python 3\.11, not 3\.9/,
    },
    { name: 'no python at all', runtime: 'python:3.9', probe: machine({}), note: /no python3 runs on this machine/ },
    {
      name: 'python3 missing, python present',
      runtime: 'python',
      probe: machine({ python: ['/usr/bin/python', '3.8.1'] }),
      path: '/usr/bin/python',
    },
  ];
  for (const c of cases) {
    it(`choosePython(): ${c.name}`, () => {
      const got = choosePython(c.runtime, { configured: c.configured ?? {}, probe: c.probe });
      assert.equal(got.path, c.path);
      if (c.note) assert.match(got.note ?? '', c.note);
      else assert.equal(got.note, undefined);
    });
  }
});

describe('nodejsNote()', () => {
  const cases: [string | undefined, string, RegExp | undefined][] = [
    ['nodejs', 'v20.19.1', undefined],
    ['nodejs:20', 'v20.19.1', undefined],
    [
      'nodejs:18',
      'v20.19.1',
      /^nodejs:18 asks for Node\.js 18: nodejs functions run in the processor's Node\.js 20\.19\.1$/,
    ],
    ['nodejs:22', 'v20.19.1', /asks for Node\.js 22/],
    ['python:3.9', 'v20.19.1', undefined],
  ];
  for (const [runtime, node, note] of cases) {
    it(`nodejsNote() on ${node} for ${JSON.stringify(runtime)}`, () => {
      const got = nodejsNote(runtime, node);
      if (note) assert.match(got ?? '', note);
      else assert.equal(got, undefined);
    });
  }
});

describe('Interpreters', () => {
  it('probes each command once, whatever the number of functions', () => {
    const calls: string[] = [];
    const probe = (c: string) => {
      calls.push(c);
      return c === 'python3' ? { executable: '/usr/bin/python3.11', version: '3.11.2' } : undefined;
    };
    const i = new Interpreters({}, probe, 'v20.19.1');
    for (let n = 0; n < 5; n++) {
      assert.equal(i.python('python:3.9').path, '/usr/bin/python3.11');
      assert.match(i.note('python:3.9') ?? '', /not installed here/);
      assert.equal(i.note('python'), undefined);
      assert.match(i.note('nodejs:18') ?? '', /Node\.js 18/);
    }
    assert.deepEqual(calls.sort(), ['python3', 'python3.9']);
  });

  it("probePython() reads the real executable and version of this machine's python3", () => {
    const p = probePython('python3');
    assert.ok(p, 'python3 runs here');
    assert.match(p.version, /^3\.\d+\.\d+$/);
    assert.ok(p.executable.startsWith('/'), p.executable);
    assert.equal(probePython('/nonexistent/python'), undefined);
  });
});

describe('loadConfig() --runtime-interpreter', () => {
  it('reads python:3.X=PATH entries from flags, else the comma list of the environment', () => {
    assert.deepEqual(
      loadConfig({ runtimeInterpreter: ['python:3.9=/opt/py39/bin/python', 'python:3.12=python3.12'] }, {})
        .runtimeInterpreters,
      {
        'python:3.9': '/opt/py39/bin/python',
        'python:3.12': 'python3.12',
      },
    );
    assert.deepEqual(
      loadConfig({}, { [ENV_NAMES.runtimeInterpreter]: 'python:3.10=/a, python:3.8=/b' }).runtimeInterpreters,
      { 'python:3.10': '/a', 'python:3.8': '/b' },
    );
    assert.equal('runtimeInterpreters' in loadConfig({}, {}), false);
  });

  for (const bad of ['python:3.9', 'python=/x', 'nodejs:18=/usr/bin/node18', '=/x', 'python:3.9=']) {
    it(`refuses ${JSON.stringify(bad)} naming the flag`, () => {
      assert.throws(
        () => loadConfig({ runtimeInterpreter: [bad] }, {}),
        (e: Error) =>
          e instanceof ConfigError &&
          /--runtime-interpreter must be python:3\.X=PATH/.test(e.message) &&
          e.message.includes(JSON.stringify(bad)),
      );
    });
  }
});
