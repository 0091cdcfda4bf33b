import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, parseBasic, presentedAccessKey } from './auth.js';
import type { Route } from './routing-table.js';

const route = (auth: Route['auth'], basic?: Route['basic']): Route => ({
  gateway: { namespace: 'n', name: 'g' },
  host: 'h',
  path: '/',
  auth,
  count: 0,
  primary: { namespace: 'n', function: 'f', rewriteTarget: '/' },
  ...(basic ? { basic } : {}),
});
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('gateway auth', () => {
  it('parseBasic() reads user and password (a password may hold ":"), and refuses other schemes', () => {
    assert.deepEqual(parseBasic(basic('u', 'p:q')), { username: 'u', password: 'p:q' });
    assert.equal(parseBasic('Bearer x'), undefined);
    assert.equal(parseBasic(undefined), undefined);
    assert.equal(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  });

  it('basicAuth: right credentials pass; missing or wrong ones get 401 GATEWAY_BASIC_AUTH_REQUIRED with a Basic challenge', () => {
    const r = route('basicAuth', { username: 'u', password: 'p' });
    assert.equal(authorize(r, { authorization: basic('u', 'p') }, []), undefined);
    for (const h of [
      {},
      { authorization: basic('u', 'x') },
      { authorization: basic('x', 'p') },
      { authorization: 'Basic !!!' },
    ]) {
      const res = authorize(r, h, []);
      assert.equal(res?.code, 'GATEWAY_BASIC_AUTH_REQUIRED');
      assert.equal(res?.status, 401);
      assert.match(res?.headers['www-authenticate'] ?? '', /^Basic realm="g"/);
    }
  });

  it('accessKey: a configured key in X-V3io-Session-Key or the session cookie passes; none configured refuses all', () => {
    const r = route('accessKey');
    assert.equal(authorize(r, { 'x-v3io-session-key': 'k1' }, ['k0', 'k1']), undefined);
    assert.equal(authorize(r, { cookie: `a=b; session=${encodeURIComponent('j:{"sid":"k1"}')}` }, ['k1']), undefined);
    assert.equal(authorize(r, { cookie: 'session=k1' }, ['k1']), undefined);
    assert.equal(authorize(r, { 'x-v3io-session-key': 'nope' }, ['k1'])?.code, 'GATEWAY_ACCESS_KEY_REQUIRED');
    assert.equal(authorize(r, {}, ['k1'])?.code, 'GATEWAY_ACCESS_KEY_REQUIRED');
    const none = authorize(r, { 'x-v3io-session-key': 'k1' }, []);
    assert.equal(none?.code, 'GATEWAY_NO_ACCESS_KEYS');
    assert.match(none?.message ?? '', /--access-keys-file/);
    assert.equal(presentedAccessKey({}), undefined);
  });

  it('none lets everything through', () => {
    assert.equal(authorize(route('none'), {}, []), undefined);
  });
});
