import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArtifactTokens } from './artifact-tokens.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('ArtifactTokens', () => {
  const tokens = new ArtifactTokens();
  const now = 1_700_000_000_000;

  it('a token opens its artifact until it expires', () => {
    const t = tokens.issue(A, 60_000, now);
    assert.equal(tokens.verify(A, t, now), true);
    assert.equal(tokens.verify(A, t, now + 59_999), true);
    assert.equal(tokens.verify(A, t, now + 60_000), false);
  });

  it('a token opens no other artifact', () => {
    assert.equal(tokens.verify(B, tokens.issue(A, 60_000, now), now), false);
  });

  it('a token of another dashboard (another key) opens nothing', () => {
    assert.equal(tokens.verify(A, new ArtifactTokens().issue(A, 60_000, now), now), false);
  });

  it('a token with its expiry moved, its MAC altered, or malformed is refused', () => {
    const t = tokens.issue(A, 60_000, now);
    const [exp, mac] = t.split('.');
    assert.equal(tokens.verify(A, `${Number(exp) + 10_000_000}.${mac}`, now), false);
    assert.equal(tokens.verify(A, `${exp}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, now), false);
    for (const bad of ['', '.', `${exp}.`, `.${mac}`, `${exp}.${mac}.x`, `x${t}`, 'Bearer x'])
      assert.equal(tokens.verify(A, bad, now), false, bad);
  });

  it('a lasting token is the same at every issue, opens its artifact only, and survives a restart with the same key', () => {
    const key = Buffer.alloc(32, 3);
    const before = new ArtifactTokens(key);
    const t = before.issueLasting(A);
    assert.equal(before.issueLasting(A), t);
    const after = new ArtifactTokens(Buffer.alloc(32, 3));
    assert.equal(after.verify(A, t, Date.now() + 10 * 365 * 86_400_000), true);
    assert.equal(after.verify(B, t), false);
    assert.equal(new ArtifactTokens().verify(A, t), false, 'another key');
  });

  it("a token whose MAC is spelt otherwise (the last character's ignored bits flipped) is refused", () => {
    const t = tokens.issue(A, 60_000, now);
    const [exp, mac] = t.split('.') as [string, string];
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const other = ALPHABET[ALPHABET.indexOf(mac.at(-1)!) ^ 1];
    const respelt = `${exp}.${mac.slice(0, -1)}${other}`;
    assert.deepEqual(Buffer.from(respelt.split('.')[1], 'base64url'), Buffer.from(mac, 'base64url'), 'same bytes');
    assert.equal(tokens.verify(A, respelt, now), false);
  });
});
