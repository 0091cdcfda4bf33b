import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeResponse, resultFromOutput, stringHeaders } from './response.js';

type Want = { status: number; contentType: string; body: string; headers?: Record<string, string> };

describe('resultFromOutput', () => {
  const cases: [string, unknown, Want][] = [
    ['a string', 'hello', { status: 200, contentType: 'text/plain', body: 'hello' }],
    ['an empty string', '', { status: 200, contentType: 'text/plain', body: '' }],
    ['a String object', new String('boxed'), { status: 200, contentType: 'text/plain', body: 'boxed' }],
    ['a Buffer', Buffer.from([0x00, 0xff, 0x41]), { status: 200, contentType: 'text/plain', body: '\u0000\ufffdA' }],
    ['a Uint8Array', new Uint8Array([0x68, 0x69]), { status: 200, contentType: 'text/plain', body: 'hi' }],
    ['[status, string]', [201, 'created'], { status: 201, contentType: 'text/plain', body: 'created' }],
    ['[status, Buffer]', [202, Buffer.from('buf')], { status: 202, contentType: 'text/plain', body: 'buf' }],
    [
      '[status, object]',
      [400, { error: 'bad' }],
      { status: 400, contentType: 'application/json', body: '{"error":"bad"}' },
    ],
    ['[status, array]', [200, [1, 2]], { status: 200, contentType: 'application/json', body: '[1,2]' }],
    ['[status, number]', [500, 42], { status: 500, contentType: 'application/json', body: '42' }],
    ['[status, null]', [204, null], { status: 204, contentType: 'application/json', body: 'null' }],
    ['[status, undefined]', [204, undefined], { status: 204, contentType: 'application/json', body: '' }],
    [
      'a two-element array not starting with a number',
      ['a', 'b'],
      { status: 200, contentType: 'application/json', body: '["a","b"]' },
    ],
    ['a three-element array', [200, 'a', 'b'], { status: 200, contentType: 'application/json', body: '[200,"a","b"]' }],
    ['undefined', undefined, { status: 200, contentType: 'text/plain', body: '' }],
    ['null', null, { status: 200, contentType: 'application/json', body: 'null' }],
    [
      'a plain object',
      { a: 1, b: [true] },
      { status: 200, contentType: 'application/json', body: '{"a":1,"b":[true]}' },
    ],
    ['a number', 7, { status: 200, contentType: 'application/json', body: '7' }],
    ['a boolean', false, { status: 200, contentType: 'application/json', body: 'false' }],
    [
      'a NodeResponse with headers, status and content type',
      new NodeResponse('body', { 'x-a': 'b', 'x-n': 5 }, 'text/html', 418),
      { status: 418, contentType: 'text/html', body: 'body', headers: { 'x-a': 'b', 'x-n': '5' } },
    ],
    [
      'a NodeResponse with defaults',
      new NodeResponse('x'),
      { status: 200, contentType: 'text/plain', body: 'x', headers: {} },
    ],
    [
      'a NodeResponse with an object body',
      new NodeResponse({ k: 'v' }, null, 'text/plain', 201),
      { status: 201, contentType: 'application/json', body: '{"k":"v"}', headers: {} },
    ],
    [
      'a NodeResponse with a Buffer body',
      new NodeResponse(Buffer.from('raw'), {}, 'application/octet-stream'),
      { status: 200, contentType: 'application/octet-stream', body: 'raw', headers: {} },
    ],
    [
      'a NodeResponse with a base64 body',
      new NodeResponse(Buffer.from('decoded!').toString('base64'), {}, 'application/octet-stream', 200, 'base64'),
      { status: 200, contentType: 'application/octet-stream', body: 'decoded!', headers: {} },
    ],
    [
      'a NodeResponse with status 0',
      new NodeResponse('x', {}, 'text/plain', 0),
      { status: 200, contentType: 'text/plain', body: 'x', headers: {} },
    ],
    [
      'a NodeResponse with an empty content type',
      new NodeResponse('x', {}, ''),
      { status: 200, contentType: 'text/plain', body: 'x', headers: {} },
    ],
  ];
  for (const [what, output, want] of cases) {
    it(`resultFromOutput() maps ${what}`, () => {
      const r = resultFromOutput(output);
      assert.equal(r.status, want.status);
      assert.equal(r.contentType, want.contentType);
      assert.ok(Buffer.isBuffer(r.body) || typeof r.body === 'string', 'body is a Buffer or a string');
      assert.equal(r.body.toString('utf8'), want.body);
      assert.deepEqual(r.headers, want.headers ?? {});
    });
  }

  it('resultFromOutput() keeps the bytes of a Buffer exactly', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    assert.deepEqual([...resultFromOutput(bytes).body], [0, 1, 2, 250, 255]);
  });

  it('resultFromOutput() keeps only the viewed bytes of a Uint8Array slice', () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5]);
    assert.deepEqual([...resultFromOutput(whole.subarray(1, 3)).body], [2, 3]);
  });

  it('resultFromOutput() decodes a base64 NodeResponse body to exact bytes', () => {
    const bytes = Buffer.from([0, 200, 255, 10]);
    assert.deepEqual(
      [...resultFromOutput(new NodeResponse(bytes.toString('base64'), null, 'image/png', 200, 'base64')).body],
      [0, 200, 255, 10],
    );
  });

  it('resultFromOutput() recognises a NodeResponse by class, not shape', () => {
    const lookalike = { body: 'x', headers: {}, content_type: 'text/html', status_code: 201, body_encoding: 'text' };
    const r = resultFromOutput(lookalike);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'application/json');
    assert.deepEqual(JSON.parse(r.body.toString()), lookalike);
  });
});

describe('NodeResponse', () => {
  it('NodeResponse() JSON-encodes a non-string body and sets application/json', () => {
    const r = new NodeResponse([1, 2], null, 'text/plain', 200);
    assert.equal(r.body, '[1,2]');
    assert.equal(r.content_type, 'application/json');
    assert.deepEqual(r.headers, {});
  });
  it('NodeResponse() keeps a string body and the given content type', () => {
    const r = new NodeResponse('s', { a: 'b' }, 'text/csv', 202, 'text');
    assert.equal(r.body, 's');
    assert.equal(r.content_type, 'text/csv');
    assert.equal(r.status_code, 202);
    assert.deepEqual(r.headers, { a: 'b' });
  });
});

describe('stringHeaders', () => {
  const cases: [string, unknown, Record<string, string>][] = [
    ['strings', { a: 'b' }, { a: 'b' }],
    ['numbers and booleans', { n: 5, f: 1.5, t: true }, { n: '5', f: '1.5', t: 'true' }],
    ['objects and arrays as JSON', { o: { k: 1 }, l: ['x', 'y'] }, { o: '{"k":1}', l: '["x","y"]' }],
    ['null and undefined dropped', { a: null, b: undefined, c: 'kept' }, { c: 'kept' }],
    ['an empty string kept', { e: '' }, { e: '' }],
    ['null', null, {}],
    ['undefined', undefined, {}],
    ['a string', 'a: b', {}],
    ['a number', 5, {}],
  ];
  for (const [what, input, want] of cases) {
    it(`stringHeaders() handles ${what}`, () => {
      assert.deepEqual(stringHeaders(input), want);
    });
  }
});
