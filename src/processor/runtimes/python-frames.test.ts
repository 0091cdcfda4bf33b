import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { PYTHON_RUNTIME_DIR } from '../../paths.js';
import type { NuclioEvent } from '../event.js';
import {
  assembleFrames,
  compactEventHeader,
  eventHeader,
  FrameReader,
  jsonEventHeader,
  parseCompactAnswer,
  parseJsonAnswer,
  type Frame,
} from './python-frames.js';

function event(over: Partial<NuclioEvent> = {}): NuclioEvent {
  return {
    id: '6f1c5a8e-8a4b-4c1e-9c57-1f3e0c2f6a11',
    trigger: { kind: 'http', name: 'http', class: 'sync' },
    method: 'GET',
    path: '/',
    url: '/',
    headers: { Host: '127.0.0.1:8080', 'X-Request-Id': 'r-1' },
    fields: {},
    contentType: '',
    body: Buffer.alloc(0),
    timestamp: new Date(1764435600123),
    ...over,
  };
}

/** Every frame `reader` reports for `chunks` pushed one after the other, as [header, body]. */
function readAll(chunks: Buffer[]): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const reader = new FrameReader((h, b) => out.push([h, Buffer.from(b)]));
  for (const c of chunks) reader.push(c);
  return out;
}

/** `buf` cut into pieces of `size` bytes. */
function pieces(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const big = Buffer.alloc(5 * 1024 * 1024 + 3, 0xab);
const binary = Buffer.from([0, 1, 0xff, 0xfe, 0x80, 0x0a, 0x0d, 0]);
const frameCases: [string, Frame[]][] = [
  ['one empty frame', [{ header: '', body: Buffer.alloc(0) }]],
  ['a JSON header, no body', [{ header: '{"t":"s"}', body: Buffer.alloc(0) }]],
  [
    'unicode in the header',
    [{ header: '1\x00200\x00text/plain; charset=utf-8\x00X-Name\x00ünï ✓ 😀', body: Buffer.from('x') }],
  ],
  ['a binary body', [{ header: '2\x00200\x00application/octet-stream', body: binary }]],
  [
    'several frames',
    [
      { header: 'a', body: Buffer.from('one') },
      { header: 'bb', body: Buffer.alloc(0) },
      { header: 'ccc', body: binary },
    ],
  ],
  ['a body past the copy limit (its own chunk)', [{ header: 'big', body: big }]],
  [
    'small frames around a large one',
    [
      { header: 'x', body: Buffer.from('before') },
      { header: 'y', body: big },
      { header: 'z', body: Buffer.from('after') },
    ],
  ],
];

describe('assembleFrames and FrameReader', () => {
  for (const [name, frames] of frameCases) {
    const want = frames.map((f) => [f.header, f.body] as [string, Buffer]);
    const whole = Buffer.concat(assembleFrames(frames));
    it(`${name}: in one read`, () => assert.deepEqual(readAll([whole]), want));
    it(`${name}: in the chunks assembleFrames made`, () => assert.deepEqual(readAll(assembleFrames(frames)), want));
    for (const size of [1, 3, 7, 8, 9, 65536])
      if (whole.length / size < 200_000)
        it(`${name}: in reads of ${size} bytes`, () => assert.deepEqual(readAll(pieces(whole, size)), want));
  }

  it('bodies below the copy limit share one buffer; larger ones are not copied', () => {
    const chunks = assembleFrames([
      { header: 'a', body: Buffer.from('small') },
      { header: 'b', body: big },
      { header: 'c', body: Buffer.from('small') },
    ]);
    assert.equal(chunks.length, 3);
    assert.equal(chunks[1], big);
  });
});

describe('compactEventHeader', () => {
  it('carries every field, topic and key marked present, headers then fields as pairs', () => {
    const h = compactEventHeader(
      7,
      event({
        method: 'POST',
        path: '/p',
        url: '/p?a=1',
        fields: { a: '1', b: '' },
        contentType: 'text/plain',
        topic: '',
        key: 'k',
        shardId: 2,
        numShards: 4,
        offset: 99,
      }),
    );
    assert.deepEqual(h?.split('\x00'), [
      '7',
      '6f1c5a8e-8a4b-4c1e-9c57-1f3e0c2f6a11',
      'POST',
      '/p',
      '/p?a=1',
      'text/plain',
      '1764435600.123',
      'sync',
      'http',
      'http',
      '2',
      '4',
      '99',
      '+',
      '+k',
      '2',
      'Host',
      '127.0.0.1:8080',
      'X-Request-Id',
      'r-1',
      'a',
      '1',
      'b',
      '',
    ]);
  });

  const jsonOnly: [string, Partial<NuclioEvent>][] = [
    ['a NUL in a header value', { headers: { A: 'x\x00y' } }],
    ['a NUL in a header name', { headers: { 'A\x00': 'x' } }],
    ['a NUL in a field', { fields: { q: '\x00' } }],
    ['a NUL in the path', { path: '/\x00' }],
    ['a NUL in the topic', { topic: 'a\x00' }],
    ['a NUL in the key', { key: '\x00' }],
    ['a NUL in the id', { id: 'a\x00b' }],
    ['an invalid timestamp', { timestamp: new Date(NaN) }],
    ['a header value that is not a string', { headers: { A: 5 as unknown as string } }],
  ];
  for (const [name, over] of jsonOnly)
    it(`leaves ${name} to the JSON form`, () => {
      assert.equal(compactEventHeader(1, event(over)), undefined);
      assert.equal(eventHeader(1, event(over))[0], '{');
    });
});

describe('parseCompactAnswer and parseJsonAnswer', () => {
  const body = Buffer.from('hi');
  const cases: [
    string,
    string,
    { seq: number; status: number; contentType: string; headers: Record<string, string> },
  ][] = [
    ['a text answer', '12\x00200\x00text/plain', { seq: 12, status: 200, contentType: 'text/plain', headers: {} }],
    [
      'headers as pairs, an empty value',
      '3\x00201\x00application/json\x00X-A\x00b\x00X-Empty\x00',
      { seq: 3, status: 201, contentType: 'application/json', headers: { 'X-A': 'b', 'X-Empty': '' } },
    ],
    ['no status: 200', '4\x00\x00text/plain', { seq: 4, status: 200, contentType: 'text/plain', headers: {} }],
    ['no content type: text/plain', '5\x00500\x00', { seq: 5, status: 500, contentType: 'text/plain', headers: {} }],
  ];
  for (const [name, header, want] of cases)
    it(name, () => {
      const { seq, result } = parseCompactAnswer(header, body);
      assert.deepEqual(
        { seq, status: result.status, contentType: result.contentType, headers: { ...result.headers } },
        want,
      );
      assert.equal(result.body, body);
    });

  it('a header named __proto__ is an own header, not the prototype', () => {
    const { result } = parseCompactAnswer('1\x00200\x00text/plain\x00__proto__\x00x', body);
    assert.equal(Object.getPrototypeOf(result.headers), Object.prototype);
    assert.deepEqual(Object.entries(result.headers), [['__proto__', 'x']]);
  });

  it('a JSON answer: a content type that is not text becomes JSON text', () => {
    const { seq, result } = parseJsonAnswer(
      { t: 'r', seq: 9, status: 202, content_type: 5, headers: { A: 'b' } },
      body,
    );
    assert.deepEqual([seq, result.status, result.contentType, result.headers], [9, 202, '5', { A: 'b' }]);
  });
});

/**
 * A python process at the other end of a socketpair, running protium_wire as the wrapper does: each
 * event is answered with a JSON description of what python decoded, or, when the event has an
 * X-Answer header ({status, content_type, headers}), with that answer and the event's body echoed.
 */
const PEER = `
import hashlib, json, sys
from protium_wire import Channel, decode_event
ch = Channel(3)
while True:
    header, body = ch.read()
    if header is None:
        break
    seq, ev = decode_event(header, body)
    if 'X-Answer' in ev.headers:
        a = json.loads(ev.headers['X-Answer'])
        ch.queue_answer(seq, a['status'], a['content_type'], a['headers'], body)
        continue
    desc = {'form': 'json' if header[:1] == b'{' else 'compact', 'id': ev.id, 'method': ev.method, 'path': ev.path,
            'url': ev.url, 'content_type': ev.content_type, 'headers': ev.headers, 'fields': ev.fields,
            'timestamp': ev.timestamp.isoformat(), 'trigger': [ev.trigger.klass, ev.trigger.kind, ev.trigger.name],
            'shard_id': ev.shard_id, 'num_shards': ev.num_shards, 'offset': ev.offset, 'topic': ev.topic,
            'key': ev.key, 'size': ev.size, 'body': ev.body if isinstance(ev.body, (dict, list)) else
            hashlib.sha256(ev.body).hexdigest()}
    ch.queue_answer(seq, 200, 'application/json', {}, json.dumps(desc).encode('utf-8'))
`;

interface Answer {
  text: string;
  body: Buffer;
}

/** The seq of an event or answer frame's header, in either form. */
function seqOf(header: string): number {
  return Number(header[0] === '{' ? (JSON.parse(header) as { seq: number }).seq : header.split('\x00')[0]);
}

class Peer {
  private readonly child = spawn('python3', ['-c', PEER], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, PYTHONPATH: PYTHON_RUNTIME_DIR },
  });
  private readonly channel = this.child.stdio[3] as Socket;
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();

  constructor() {
    const reader = new FrameReader((text, body) => {
      const seq = seqOf(text);
      this.waiting.get(seq)?.resolve({ text, body: Buffer.from(body) });
      this.waiting.delete(seq);
    });
    this.channel.on('data', (c: Buffer) => reader.push(c));
    this.child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`The python peer exited (code ${code})`));
      this.waiting.clear();
    });
  }

  /** Sends `frames` cut into writes of `size` bytes, a turn of the event loop apart; resolves the answers. */
  async send(frames: Frame[], size = Infinity): Promise<Answer[]> {
    const answers = frames.map(
      (f) => new Promise<Answer>((resolve, reject) => this.waiting.set(seqOf(f.header), { resolve, reject })),
    );
    const whole = Buffer.concat(assembleFrames(frames));
    for (const p of size === Infinity ? [whole] : pieces(whole, size)) {
      this.channel.write(p);
      await new Promise((r) => setTimeout(r, 1));
    }
    return Promise.all(answers);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describe('python/protium_wire.py against these frames', { timeout: 60_000 }, () => {
  const peer = new Peer();
  after(() => peer.stop());
  let seq = 0;

  /** What python decodes of `e`, sent in the compact form (when it can be) and in the JSON form. */
  async function decoded(e: NuclioEvent, size?: number): Promise<Record<string, unknown>[]> {
    const frames = [
      { header: eventHeader(++seq, e), body: e.body },
      { header: jsonEventHeader(++seq, e), body: e.body },
    ];
    const answers = await peer.send(frames, size);
    return answers.map((a) => JSON.parse(a.body.toString('utf8')) as Record<string, unknown>);
  }

  const cases: [string, Partial<NuclioEvent>, number?][] = [
    ['an http GET', {}],
    [
      'unicode everywhere',
      {
        path: '/pé/✓',
        url: '/p%C3%A9/%E2%9C%93?q=%F0%9F%98%80',
        fields: { q: '😀', ключ: 'значение' },
        headers: { 'X-Ünï': 'ü 😀' },
        body: Buffer.from('ünïcode body ✓'),
      },
    ],
    ['a NUL in a field (the JSON form)', { fields: { r: '\x00z' } }],
    ['a binary body', { body: binary, contentType: 'application/octet-stream' }],
    ['a JSON body (decoded by python)', { body: Buffer.from('{"a":[1,"é"]}'), contentType: 'application/json' }],
    [
      'a broker message: topic, key, shard, offset',
      {
        topic: 'orders',
        key: '',
        shardId: 3,
        numShards: 8,
        offset: 123456789,
        trigger: { kind: 'kafka-cluster', name: 'k', class: 'async' },
      },
    ],
    ['an empty topic and no key', { topic: '' }],
    ['a body larger than python reads at once', { body: big }],
    ['frames split into writes of 5 bytes', { fields: { a: 'b' }, body: Buffer.from('split body') }, 5],
    ['frames split into writes of 100 KB', { body: Buffer.alloc(300 * 1024, 7) }, 100 * 1024],
  ];
  for (const [name, over, size] of cases)
    it(`${name}: python decodes both forms alike, as sent`, async () => {
      const e = event(over);
      const [compact, json] = await decoded(e, size);
      const mayBeCompact = compactEventHeader(0, e) !== undefined;
      assert.equal(compact.form, mayBeCompact ? 'compact' : 'json');
      assert.equal(json.form, 'json');
      const { form: _c, ...a } = compact;
      const { form: _j, ...b } = json;
      assert.deepEqual(a, b);
      const isJson = e.contentType === 'application/json';
      assert.deepEqual(a, {
        id: e.id,
        method: e.method,
        path: e.path,
        url: e.url,
        content_type: e.contentType,
        headers: e.headers,
        fields: e.fields,
        timestamp: e.timestamp.toISOString().replace('Z', '000'),
        trigger: [e.trigger.class, e.trigger.kind, e.trigger.name],
        shard_id: e.shardId ?? 0,
        num_shards: e.numShards ?? 0,
        offset: e.offset ?? 0,
        topic: e.topic ?? null,
        key: e.key ?? null,
        size: e.body.length,
        body: isJson ? (JSON.parse(e.body.toString()) as unknown) : createHash('sha256').update(e.body).digest('hex'),
      });
    });

  const answers: [
    string,
    { status: number; content_type: unknown; headers: Record<string, unknown> },
    Buffer,
    string,
  ][] = [
    [
      'a plain answer',
      { status: 201, content_type: 'text/html', headers: { 'X-A': 'b' } },
      Buffer.from('ok'),
      'compact',
    ],
    ['a binary body', { status: 200, content_type: 'application/octet-stream', headers: {} }, binary, 'compact'],
    ['a large body', { status: 200, content_type: 'application/octet-stream', headers: {} }, big, 'compact'],
    [
      'a NUL in a header value',
      { status: 200, content_type: 'text/plain', headers: { 'X-A': 'a\x00b' } },
      Buffer.from('x'),
      'json',
    ],
    ['a content type that is not text', { status: 200, content_type: 5, headers: {} }, Buffer.from('x'), 'json'],
    [
      'a lone surrogate in a header value (not UTF-8)',
      { status: 200, content_type: 'text/plain', headers: { 'X-A': '\udc80' } },
      Buffer.from('x'),
      'json',
    ],
  ];
  for (const [name, answer, body, form] of answers)
    it(`python answers ${name} in the ${form} form`, async () => {
      const e = event({ headers: { 'X-Answer': JSON.stringify(answer) }, body });
      const [a] = await peer.send([{ header: eventHeader(++seq, e), body }]);
      assert.equal(a.text[0] === '{' ? 'json' : 'compact', form);
      const { result } =
        form === 'json'
          ? parseJsonAnswer(JSON.parse(a.text) as Record<string, unknown>, a.body)
          : parseCompactAnswer(a.text, a.body);
      assert.equal(result.status, answer.status);
      assert.equal(result.contentType, typeof answer.content_type === 'string' ? answer.content_type : '5');
      assert.deepEqual({ ...result.headers }, answer.headers);
      assert.ok(Buffer.from(result.body).equals(body));
    });
});
