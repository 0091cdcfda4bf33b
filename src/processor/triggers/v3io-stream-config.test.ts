import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Trigger as TriggerSpec } from '../../resources/types.js';
import { streamTriggerConfig } from './v3io-stream-config.js';

const spec = (attributes: Record<string, unknown>, extra: Partial<TriggerSpec> = {}): TriggerSpec => ({
  class: '',
  kind: 'v3ioStream',
  name: 's',
  attributes,
  ...extra,
});

describe('streamTriggerConfig()', () => {
  const base = { containerName: 'bigdata', streamPath: '/s/', consumerGroup: 'g' };
  it("streamTriggerConfig() applies Nuclio's defaults and the dashboard url", () => {
    const c = streamTriggerConfig(spec(base), 'http://127.0.0.1:8070');
    assert.equal(c.url, 'http://127.0.0.1:8070/v3io');
    assert.equal(c.streamPath, 's');
    assert.equal(c.seekTo, 'latest');
    assert.equal(c.readBatchSize, 64);
    assert.equal(c.pollingIntervalMs, 500);
    assert.equal(c.sessionTimeoutMs, 10_000);
    assert.equal(c.heartbeatIntervalMs, 3_000);
    assert.equal(c.commitIntervalMs, 1_000);
  });

  it('streamTriggerConfig() matches attribute names case-insensitively and takes an explicit url', () => {
    const c = streamTriggerConfig(
      spec(
        {
          ContainerName: 'c',
          STREAMPATH: 'p',
          consumergroup: 'g',
          SeekTo: 'Earliest',
          readBatchSize: '10',
          heartbeatInterval: '20s',
          sessionTimeout: '30s',
        },
        { url: 'https://webapi:8443' },
      ),
      undefined,
    );
    assert.deepEqual(
      [c.url, c.containerName, c.streamPath, c.consumerGroup, c.seekTo, c.readBatchSize],
      ['https://webapi:8443', 'c', 'p', 'g', 'earliest', 10],
    );
    assert.equal(c.heartbeatIntervalMs, 10_000, 'a heartbeat interval above a third of the session is lowered');
  });

  it("streamTriggerConfig() reads Nuclio's older url form host/<container>/<path>@<group>", () => {
    const c = streamTriggerConfig(spec({}, { url: 'http://10.0.0.1:8081/users/my/stream@grp' }), undefined);
    assert.deepEqual(
      [c.url, c.containerName, c.streamPath, c.consumerGroup],
      ['http://10.0.0.1:8081', 'users', 'my/stream', 'grp'],
    );
    const d = streamTriggerConfig(spec({}, { url: 'http://127.0.0.1:8070/v3io/bigdata/s@g' }), undefined);
    assert.deepEqual([d.url, d.containerName, d.streamPath], ['http://127.0.0.1:8070/v3io', 'bigdata', 's']);
  });

  it('streamTriggerConfig() sends the secret as a V3IO session key', () => {
    assert.deepEqual(streamTriggerConfig(spec(base, { secret: 'k' }), 'http://x').authHeaders, {
      'x-v3io-session-key': 'k',
    });
  });

  it("streamTriggerConfig() sends the dashboard's stream credential to the dashboard's own stream service only", () => {
    const dash = 'http://127.0.0.1:8070';
    const cases: [Partial<TriggerSpec>, Record<string, string>][] = [
      [{}, { authorization: 'Bearer st' }],
      [{ url: 'http://127.0.0.1:8070/v3io/' }, { authorization: 'Bearer st' }],
      [{ url: 'http://127.0.0.1:8070/v3io/bigdata/s@g' }, { authorization: 'Bearer st' }],
      [{ secret: 'k' }, { authorization: 'Bearer st' }],
      [{ url: 'http://127.0.0.1:8071/v3io' }, {}],
      [{ url: 'http://127.0.0.1:8070/v3iox' }, {}],
      [{ url: 'http://evil.example/v3io' }, {}],
      [{ url: 'https://webapi:8443', secret: 'k' }, { 'x-v3io-session-key': 'k' }],
    ];
    for (const [extra, want] of cases)
      assert.deepEqual(streamTriggerConfig(spec(base, extra), dash, 'st').authHeaders, want, JSON.stringify(extra));
    assert.deepEqual(streamTriggerConfig(spec(base), dash).authHeaders, {}, 'no credential: no header');
  });

  const bad: [string, Record<string, unknown>, Partial<TriggerSpec>, string | undefined, RegExp][] = [
    ['no container', { streamPath: 's', consumerGroup: 'g' }, {}, 'http://x', /containerName must be set/],
    ['no stream path', { containerName: 'c', consumerGroup: 'g' }, {}, 'http://x', /streamPath must be set/],
    ['no group', { containerName: 'c', streamPath: 's' }, {}, 'http://x', /consumerGroup must be set/],
    [
      'an unknown seekTo',
      { ...base, seekTo: 'middle' },
      {},
      'http://x',
      /seekTo must be "earliest" or "latest", got "middle"/,
    ],
    [
      'a bad batch size',
      { ...base, readBatchSize: -1 },
      {},
      'http://x',
      /readBatchSize must be an integer from 1 to 10000/,
    ],
    ['a bad duration', { ...base, sessionTimeout: '10' }, {}, 'http://x', /sessionTimeout must be a duration/],
    ['no url anywhere', base, {}, undefined, /PROTIUM_DASHBOARD_URL/],
    ['a url that is not http', base, { url: 'ftp://x' }, undefined, /url must be an http/],
    ['an old-style url without a path', {}, { url: 'http://h/@g' }, undefined, /must look like/],
  ];
  for (const [what, attrs, extra, dash, message] of bad) {
    it(`streamTriggerConfig() refuses ${what}`, () =>
      assert.throws(() => streamTriggerConfig(spec(attrs, extra), dash), message));
  }
});
