/**
 * Nuclio's own functions, deployed as Nuclio's tests deploy them, give the answers Nuclio's tests expect.
 * The functions (test/fixtures/functions/nuclio/) behave like Nuclio's python helloworld example, its
 * reverser in python, nodejs and shell, the outputter functions of its python, nodejs and shell runtime
 * tests, its event-returner and its nodejs context-init function; each table below states, in our words,
 * what Nuclio's tests send them and what they check in the answer — status, body, the headers named, and
 * the X-Nuclio-Logs records.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  deploy,
  rawRequest,
  startTestDashboard,
  type Answer,
  type ReplicaNames,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const FIXTURES = new URL('../../../test/fixtures/functions/nuclio/', import.meta.url);
const source = (rel: string) => readFileSync(new URL(rel, FIXTURES));

interface Example {
  name: string;
  /** The fixture file holding the handler's source. */
  file: string;
  runtime?: string;
  handler?: string;
  /** Read the spec from this function.yaml (as `nuctl deploy --path DIR` does). */
  functionYaml?: string;
  spec?: Record<string, unknown>;
}

/** The create body a Nuclio client sends: the spec (from function.yaml, or given), the source inline. */
function bodyOf(ex: Example) {
  const yamlSpec = ex.functionYaml
    ? (parseYaml(source(ex.functionYaml).toString('utf8')) as { spec: Record<string, unknown> }).spec
    : {};
  const spec: Record<string, unknown> = { ...yamlSpec, ...(ex.spec ?? {}) };
  if (ex.runtime) spec.runtime = ex.runtime;
  if (ex.handler) spec.handler = ex.handler;
  spec.build = {
    ...(spec.build ?? {}),
    functionSourceCode: source(ex.file).toString('base64'),
  };
  return { metadata: { name: ex.name, namespace: 'nuclio' }, spec };
}

interface Exchange {
  what: string;
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Sent as X-Nuclio-Log-Level. */
  logLevel?: string;
  status?: number;
  /** The exact text, a JSON value to compare parsed, a pattern, or a check of the answer. */
  expect?: string | RegExp | Record<string, unknown> | ((a: Answer) => void);
  /** Headers the answer must carry with exactly these values. */
  headers_?: Record<string, string>;
  /** The messages of the X-Nuclio-Logs records, in order. */
  logMessages?: string[];
  /** Records of X-Nuclio-Logs: each must have these fields with these values. */
  logRecords?: Record<string, unknown>[];
}

async function exchange(fn: FunctionRecord, x: Exchange): Promise<void> {
  const headers: Record<string, string> = { ...(x.headers ?? {}) };
  if (x.logLevel) headers['x-nuclio-log-level'] = x.logLevel;
  const method = x.method ?? 'POST';
  const a = await rawRequest(`http://127.0.0.1:${fn.status.httpPort}${x.path ?? '/'}`, method, {
    headers,
    ...(method === 'GET' ? {} : { body: x.body ?? '' }),
  });
  const where = `${fn.metadata.name} ${x.what}: ${a.status} ${JSON.stringify(a.text).slice(0, 300)}`;
  if (x.status !== undefined) assert.equal(a.status, x.status, where);
  if (typeof x.expect === 'string') assert.equal(a.text, x.expect, where);
  else if (x.expect instanceof RegExp) assert.match(a.text, x.expect, where);
  else if (typeof x.expect === 'function') x.expect(a);
  else if (x.expect) assert.deepEqual(a.json, x.expect, where);
  for (const [k, v] of Object.entries(x.headers_ ?? {})) assert.equal(a.headers.get(k), v, `${where}: header ${k}`);
  if (x.logMessages || x.logRecords) {
    const records = JSON.parse(a.headers.get('x-nuclio-logs') ?? 'null') as Record<string, unknown>[] | null;
    assert.ok(Array.isArray(records), `${where}: no X-Nuclio-Logs`);
    if (x.logMessages)
      assert.deepEqual(
        records.map((r) => r.message),
        x.logMessages,
        where,
      );
    for (const [i, want] of (x.logRecords ?? []).entries()) {
      for (const [k, v] of Object.entries(want))
        assert.deepEqual(records[i]?.[k], v, `${where}: X-Nuclio-Logs[${i}].${k} in ${JSON.stringify(records)}`);
    }
  }
}

const TEXT = { 'content-type': 'text/plain' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** What Nuclio's outputter tests check of the python and nodejs outputters (the nodejs one lacks dicts and bytes). */
function outputterExchanges(runtime: 'python' | 'nodejs'): Exchange[] {
  return [
    { what: 'a string', body: 'return_string', status: 200, expect: 'a string', headers_: TEXT },
    {
      what: 'a status and a string',
      body: 'return_status_and_string',
      status: 201,
      expect: 'a string after status',
      headers_: TEXT,
    },
    ...(runtime === 'python'
      ? [{ what: 'a dict', body: 'return_dict', status: 200, expect: { a: 'dict', b: 'foo' }, headers_: JSON_TYPE }]
      : []),
    {
      what: 'a status and a dict',
      body: 'return_status_and_dict',
      status: 201,
      expect: { a: 'dict after status', b: 'foo' },
      headers_: JSON_TYPE,
    },
    {
      what: "a response object with the request's headers and two more",
      body: 'return_response',
      headers: { a: '1', b: '2' },
      status: 201,
      expect: 'response body',
      headers_: { h1: 'v1', h2: 'v2', 'content-type': 'text/plain' },
    },
    { what: 'an exception (and it keeps working after)', body: 'something invalid', status: 500, headers_: TEXT },
    {
      what: 'logs at debug',
      body: 'log',
      logLevel: 'debug',
      status: 201,
      expect: 'returned logs',
      headers_: TEXT,
      logMessages: ['Debug message', 'Info message', 'Warn message', 'Error message'],
    },
    {
      what: 'logs at warn',
      body: 'log',
      logLevel: 'warn',
      status: 201,
      expect: 'returned logs',
      headers_: TEXT,
      logMessages: ['Warn message', 'Error message'],
    },
    {
      what: 'a structured log: its fields at the top level of the record',
      body: 'log_with',
      logLevel: 'warn',
      status: 201,
      expect: 'returned logs with',
      headers_: TEXT,
      logRecords: [{ level: 'error', message: 'Error message', source: 'rabbit', weight: 7 }],
    },
    { what: 'GET answers the method', method: 'GET', logLevel: 'warn', status: 200, expect: 'GET', headers_: TEXT },
    {
      what: 'the query fields',
      path: '/?x=1&y=2',
      body: 'return_fields',
      logLevel: 'warn',
      status: 200,
      expect: 'x=1,y=2',
      headers_: TEXT,
    },
    {
      what: 'the path',
      path: '/path/to/nowhere',
      body: 'return_path',
      logLevel: 'warn',
      status: 200,
      expect: '/path/to/nowhere',
      headers_: TEXT,
    },
    { what: 'an error', body: 'return_error', logLevel: 'warn', status: 500, expect: /some error/, headers_: TEXT },
    ...(runtime === 'python'
      ? [{ what: 'bytes', body: 'return_binary', logLevel: 'warn', status: 200, expect: 'hello' }]
      : []),
  ];
}

const SHELL_HEADERS = { 'content-type': 'text/plain; charset=utf-8', header1: 'value1' };

const EXAMPLES: { ex: Example; exchanges: Exchange[] }[] = [
  {
    ex: {
      name: 'nx-helloworld',
      file: 'helloworld-python/helloworld.py',
      functionYaml: 'helloworld-python/function.yaml',
    },
    exchanges: [
      { what: 'a greeting', method: 'GET', status: 200, expect: 'Hello, from nuclio :]', headers_: TEXT },
      { what: 'a greeting for a POST too', body: 'anything', status: 200, expect: 'Hello, from nuclio :]' },
    ],
  },
  {
    ex: { name: 'nx-reverser-py', file: 'reverser-python/reverser.py', runtime: 'python', handler: 'reverser:handler' },
    exchanges: [{ what: 'reversed', body: 'abcdef', expect: 'fedcba' }],
  },
  // Nuclio's nodejs build tests give the reverser the handler "handler": no file part, file handler.js.
  {
    ex: { name: 'nx-reverser-js', file: 'reverser-nodejs/handler.js', runtime: 'nodejs', handler: 'handler' },
    exchanges: [{ what: 'reversed', body: 'abcdef', expect: 'fedcba' }],
  },
  {
    ex: { name: 'nx-reverser-sh', file: 'reverser-shell/reverser.sh', runtime: 'shell', handler: 'reverser.sh:main' },
    exchanges: [{ what: 'reversed by rev /dev/stdin', body: 'abcdef', expect: 'fedcba' }],
  },
  {
    ex: {
      name: 'nx-outputter-py',
      file: 'outputter-python/outputter.py',
      runtime: 'python',
      handler: 'outputter:handler',
      spec: { env: [{ name: 'NUCLIO_PYTHON_DECODE_EVENT_STRINGS', value: 'true' }] },
    },
    exchanges: outputterExchanges('python'),
  },
  {
    ex: {
      name: 'nx-outputter-js',
      file: 'outputter-nodejs/outputter.js',
      runtime: 'nodejs',
      handler: 'outputter.js:testHandler',
    },
    exchanges: outputterExchanges('nodejs'),
  },
  {
    ex: {
      name: 'nx-outputter-sh',
      file: 'outputter-shell/outputter.sh',
      runtime: 'shell',
      handler: 'outputter.sh:main',
      spec: {
        env: [
          { name: 'ENV1', value: 'value1' },
          { name: 'ENV2', value: 'value2' },
        ],
        runtimeAttributes: { arguments: 'first second', responseHeaders: { header1: 'value1' } },
      },
    },
    exchanges: [
      { what: 'the body', body: 'return_body', status: 200, expect: 'return_body\n', headers_: SHELL_HEADERS },
      { what: 'the environment', body: 'return_env', status: 200, expect: 'value1-value2\n', headers_: SHELL_HEADERS },
      { what: 'a failing exit', body: 'return_error', status: 500 },
      {
        what: 'the arguments',
        body: 'return_arguments',
        status: 200,
        expect: 'first-second\n',
        headers_: SHELL_HEADERS,
      },
      {
        what: 'arguments from X-Nuclio-Arguments',
        body: 'return_arguments',
        headers: { 'x-nuclio-arguments': 'overridefirst overridesecond' },
        status: 200,
        expect: 'overridefirst-overridesecond\n',
        headers_: SHELL_HEADERS,
      },
      {
        what: 'a failure with output on stdout and stderr, in order',
        body: 'return_error_with_message',
        status: 500,
        expect: 'Failed to run shell command.\nError: exit status 1\nOutput:return_error_with_message\nsome_error\n',
      },
    ],
  },
  {
    ex: {
      name: 'nx-event-returner',
      file: 'event-returner-python/eventreturner.py',
      runtime: 'python',
      handler: 'eventreturner:handler',
    },
    exchanges: [
      {
        what: 'the event, as JSON',
        path: '/testPath',
        body: 'testBody',
        headers: { Testheaderkey1: 'testHeaderValue1', Testheaderkey2: 'testHeaderValue2' },
        status: 200,
        expect: (a) => {
          const e = JSON.parse(a.text) as Record<string, string> & { headers: Record<string, string> };
          assert.equal(e.body, 'testBody');
          assert.equal(e.path, '/testPath');
          assert.equal(e.method, 'POST');
          assert.equal(e.eventType, 'http');
          assert.equal(e.headers.Testheaderkey1, 'testHeaderValue1');
          assert.equal(e.headers.Testheaderkey2, 'testHeaderValue2');
          assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          assert.ok(
            Math.abs(Date.parse(e.timestamp) - Date.now()) < 60_000,
            `timestamp ${e.timestamp} is an RFC 3339 time of now`,
          );
        },
      },
    ],
  },
  {
    ex: {
      name: 'nx-context-init',
      file: 'context-init-nodejs/contextinit.js',
      runtime: 'nodejs',
      handler: 'contextinit:handler',
    },
    exchanges: [
      { what: 'the factor set by initContext', body: '10', expect: '20' },
      { what: 'again', body: '21', expect: '42' },
    ],
  },
];

describe("Nuclio's example functions give the answers Nuclio's tests expect", () => {
  let d: TestDashboard;
  const deployed = new Map<string, FunctionRecord>();
  before(async () => {
    d = await startTestDashboard();
    // All at once, as a user deploying a folder of examples would; each must reach ready.
    const fns = await Promise.all(EXAMPLES.map(({ ex }) => deploy(d, bodyOf(ex), 120_000)));
    fns.forEach((fn, i) => deployed.set(EXAMPLES[i].ex.name, fn));
  });
  after(async () => {
    await d?.close();
  });

  for (const { ex, exchanges } of EXAMPLES) {
    it(`${ex.name} (${ex.file}, handler ${ex.handler ?? 'from function.yaml'})`, async () => {
      const fn = deployed.get(ex.name);
      assert.ok(fn, `${ex.name} was deployed`);
      for (const x of exchanges) await exchange(fn, x);
    });
  }

  it("the helloworld example's function.yaml is honoured: its runtime, handler and replica bounds", async () => {
    const fn = deployed.get('nx-helloworld');
    assert.ok(fn, 'nx-helloworld was deployed');
    assert.equal(fn.spec.runtime, 'python:3.6');
    assert.equal(fn.spec.handler, 'helloworld:handler');
    assert.equal(fn.spec.minReplicas, 1);
    assert.equal(fn.spec.maxReplicas, 1);
    assert.equal((await d.api<ReplicaNames>('GET', '/api/functions/nx-helloworld/replicas')).json.names.length, 1);
  });
});
