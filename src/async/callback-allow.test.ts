import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { callbackRefusal, parseAllowList } from './callback-allow.js';

describe('callback allow-list (callback-allow.ts)', () => {
  it('parseAllowList() reads hosts, ports and wildcard domains', () => {
    assert.deepEqual(parseAllowList(['Hooks.Example.com', '127.0.0.1:9000', '*.corp.test', '[::1]:8080']), [
      { host: 'hooks.example.com', wildcard: false },
      { host: '127.0.0.1', wildcard: false, port: 9000 },
      { host: 'corp.test', wildcard: true },
      { host: '[::1]', wildcard: false, port: 8080 },
    ]);
  });

  for (const bad of ['', 'http://h', 'h/path', 'h:0', 'h:70000', '*.', '*.[::1]', 'a b', '-bad.example', 'user@h'])
    it(`parseAllowList() refuses ${JSON.stringify(bad)}, naming the flag`, () => {
      assert.throws(() => parseAllowList([bad]), /--async-callback-allow must be a host/);
    });

  const rules = parseAllowList(['hooks.example.com', '127.0.0.1:9000', '*.corp.test', '[::1]']);
  const cases: [string, boolean][] = [
    ['https://hooks.example.com/done', true],
    ['http://HOOKS.example.com:8443/x?y=1', true],
    ['http://127.0.0.1:9000/cb', true],
    ['http://127.0.0.1:9001/cb', false],
    ['http://127.0.0.1/cb', false],
    ['http://a.corp.test/', true],
    ['http://a.b.corp.test/', true],
    ['http://corp.test/', false],
    ['http://evilcorp.test/', false],
    ['http://hooks.example.com.evil.test/', false],
    ['http://[::1]:5/', true],
    ['http://localhost/', false],
    ['ftp://hooks.example.com/', false],
    ['file:///etc/passwd', false],
    ['hooks.example.com/done', false],
    ['http://user:pw@hooks.example.com/', true],
  ];
  for (const [url, allowed] of cases)
    it(`callbackRefusal() ${allowed ? 'allows' : 'refuses'} ${url}`, () => {
      assert.equal(callbackRefusal(url, rules) === undefined, allowed, callbackRefusal(url, rules));
    });

  it('callbackRefusal() says callbacks are off when the list is empty', () => {
    assert.match(callbackRefusal('http://127.0.0.1/', [])!, /--async-callback-allow list, which is empty/);
  });
});
