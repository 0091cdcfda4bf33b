import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerOptions, engineMessage } from './engine.js';

describe('dockerOptions()', () => {
  for (const [host, want] of [
    ['unix:///var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['unix:///run/protium/podman.sock', { socketPath: '/run/protium/podman.sock' }],
    ['tcp://127.0.0.1:2375', { host: '127.0.0.1', port: '2375', protocol: 'http' }],
    ['tcp://localhost', { host: 'localhost', port: 2375, protocol: 'http' }],
    ['https://docker.example:2376', { host: 'docker.example', port: '2376', protocol: 'https' }],
    ['http://[::1]:2375', { host: '::1', port: '2375', protocol: 'http' }],
  ] as const) {
    it(`${host}`, () => assert.deepEqual(dockerOptions(host), want));
  }
  for (const [host, why] of [
    ['docker.sock', /not a URL/],
    ['unix://', /names no socket/],
    ['ssh://me@host', /only unix/],
    ['npipe:////./pipe/docker_engine', /only unix/],
  ] as const) {
    it(`refuses ${host}`, () =>
      assert.throws(
        () => dockerOptions(host),
        (e: Error) => why.test(e.message) && e.message.includes('--docker-host'),
      ));
  }
});

describe('engineMessage()', () => {
  it("takes the engine's own message, without dockerode's prefix", () => {
    assert.equal(
      engineMessage({ statusCode: 404, json: { message: 'no such image' }, message: '(HTTP code 404) no such image' }),
      'no such image',
    );
    assert.equal(engineMessage(new Error('(HTTP code 500) server error - boom')), 'server error - boom');
    assert.equal(engineMessage('plain'), 'plain');
  });
});
