import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify, type JsonWebKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { TokenService } from '../../../src/registry/auth/tokens.js';
import type { AccessEntry } from '../../../src/registry/auth/scope.js';
import type { SettingsStore } from '../../../src/storage/index.js';

/** An in-memory SettingsStore; every call yields first, as a database would. */
class MemorySettings implements SettingsStore {
  readonly values = new Map<string, string>();
  async get(key: string): Promise<string | undefined> {
    await tick();
    return this.values.get(key);
  }
  async putIfAbsent(key: string, value: string): Promise<string> {
    await tick();
    const cur = this.values.get(key);
    if (cur !== undefined) return cur;
    this.values.set(key, value);
    return value;
  }
  async put(key: string, value: string): Promise<void> {
    await tick();
    this.values.set(key, value);
  }
}

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const TTL = 300;

function clock(start = T0) {
  const c = { now: start };
  return { c, now: () => c.now };
}

async function service(settings: SettingsStore, now: () => number, opts: { service?: string; issuer?: string; ttlSeconds?: number } = {}) {
  return TokenService.create(settings, { issuer: opts.issuer ?? 'portcullis', service: opts.service ?? 'registry.example', ttlSeconds: opts.ttlSeconds ?? TTL, now });
}

const ACCESS: AccessEntry[] = [
  { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
  { type: 'registry', name: 'catalog', actions: ['*'] },
];

function b64urlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('TokenService', () => {
  test('issue → verify round trip', async () => {
    const { now } = clock();
    const svc = await service(new MemorySettings(), now);
    const { token, issuedAt, expiresIn } = await svc.issue('alice', ACCESS);
    assert.equal(expiresIn, TTL);
    assert.equal(issuedAt.getTime(), T0);
    const claims = await svc.verify(token);
    assert.deepEqual(claims, { subject: 'alice', access: ACCESS, refused: [], expiresAt: T0 + TTL * 1000 });
  });

  test('the token is an ES256 JWT verifiable with node:crypto and the stored public key', async () => {
    const settings = new MemorySettings();
    const { now } = clock();
    const svc = await service(settings, now);
    const { token } = await svc.issue('robot$ci', ACCESS);
    const [h, p, s] = token.split('.');
    assert.ok(h && p && s);
    const header = b64urlJson(h);
    assert.equal(header['alg'], 'ES256');
    assert.equal(header['kid'], svc.keyId);
    const payload = b64urlJson(p);
    assert.equal(payload['iss'], 'portcullis');
    assert.equal(payload['sub'], 'robot$ci');
    assert.equal(payload['aud'], 'registry.example');
    assert.equal(payload['iat'], T0 / 1000);
    assert.equal(payload['exp'], T0 / 1000 + TTL);
    assert.ok(typeof payload['jti'] === 'string' && payload['jti'].length > 0);
    assert.deepEqual(payload['access'], ACCESS);
    assert.equal(payload['portcullis.refused'], undefined, 'no refused claim when nothing was refused');

    // Independent check of the signature with the key the store holds.
    assert.equal(settings.values.size, 1);
    const [stored] = [...settings.values.values()];
    const { d: _d, ...pub } = JSON.parse(stored!) as JsonWebKey & { kid: string };
    assert.equal((pub as { kid: string }).kid, svc.keyId);
    const key = createPublicKey({ key: pub, format: 'jwk' });
    assert.equal(cryptoVerify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')), true);
  });

  test('two tokens for the same claims differ (jti)', async () => {
    const { now } = clock();
    const svc = await service(new MemorySettings(), now);
    const a = await svc.issue('alice', ACCESS);
    const b = await svc.issue('alice', ACCESS);
    assert.notEqual(a.token, b.token);
  });

  test('expired: past ttl + 30 s of clock tolerance → undefined', async () => {
    const { c, now } = clock();
    const svc = await service(new MemorySettings(), now);
    const { token } = await svc.issue('alice', ACCESS);
    c.now = T0 + (TTL + 31) * 1000;
    assert.equal(await svc.verify(token), undefined);
  });

  test('expired: a token verified (and cached) while valid is refused later', async () => {
    const { c, now } = clock();
    const svc = await service(new MemorySettings(), now);
    const { token } = await svc.issue('alice', ACCESS);
    assert.ok(await svc.verify(token));
    c.now = T0 + (TTL - 1) * 1000;
    assert.ok(await svc.verify(token), 'still valid a second before expiry');
    c.now = T0 + (TTL + 31) * 1000;
    assert.equal(await svc.verify(token), undefined);
    assert.equal(await svc.verify(token), undefined, 'and stays refused');
  });

  test('within the 30 s tolerance after expiry the token is still accepted', async () => {
    const { c, now } = clock();
    const svc = await service(new MemorySettings(), now);
    const { token } = await svc.issue('alice', ACCESS);
    c.now = T0 + (TTL + 20) * 1000;
    assert.ok(await svc.verify(token));
  });

  test('a token from the future (beyond tolerance) is refused', async () => {
    const settings = new MemorySettings();
    const future = clock(T0 + 3600_000);
    const present = clock(T0);
    const issuer = await service(settings, future.now);
    const verifier = await service(settings, present.now);
    const { token } = await issuer.issue('alice', ACCESS);
    assert.equal(await verifier.verify(token), undefined);
  });

  test('a token signed by another service with another key → undefined', async () => {
    const { now } = clock();
    const mine = await service(new MemorySettings(), now);
    const theirs = await service(new MemorySettings(), now);
    assert.notEqual(mine.keyId, theirs.keyId);
    const { token } = await theirs.issue('alice', ACCESS);
    assert.ok(await theirs.verify(token));
    assert.equal(await mine.verify(token), undefined);
  });

  test('a tampered payload → undefined', async () => {
    const { now } = clock();
    const svc = await service(new MemorySettings(), now);
    const { token } = await svc.issue('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = b64urlJson(p);
    payload['access'] = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }];
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    assert.equal(await svc.verify(forged), undefined);
    const sub = { ...b64urlJson(p), sub: 'admin' };
    assert.equal(await svc.verify(`${h}.${Buffer.from(JSON.stringify(sub)).toString('base64url')}.${s}`), undefined);
  });

  test('a token with alg none, a stripped signature or junk → undefined', async () => {
    const { now } = clock();
    const svc = await service(new MemorySettings(), now);
    const { token } = await svc.issue('alice', ACCESS);
    const [, p] = token.split('.') as [string, string];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    assert.equal(await svc.verify(none), undefined);
    assert.equal(await svc.verify(token.slice(0, token.lastIndexOf('.') + 1)), undefined);
    assert.equal(await svc.verify(''), undefined);
    assert.equal(await svc.verify('not.a.jwt'), undefined);
  });

  test('wrong audience: a service with the same key but another service name → undefined', async () => {
    const settings = new MemorySettings();
    const { now } = clock();
    const a = await service(settings, now, { service: 'registry-a' });
    const b = await service(settings, now, { service: 'registry-b' });
    assert.equal(a.keyId, b.keyId, 'same store, same key: only the audience differs');
    const { token } = await a.issue('alice', ACCESS);
    assert.ok(await a.verify(token));
    assert.equal(await b.verify(token), undefined);
  });

  test('wrong issuer → undefined', async () => {
    const settings = new MemorySettings();
    const { now } = clock();
    const a = await service(settings, now, { issuer: 'portcullis' });
    const b = await service(settings, now, { issuer: 'someone-else' });
    assert.equal(await b.verify((await a.issue('alice', ACCESS)).token), undefined);
  });

  test('replicas on the same settings store share the key and verify each other\'s tokens', async () => {
    const settings = new MemorySettings();
    const { now } = clock();
    const r1 = await service(settings, now);
    const r2 = await service(settings, now);
    assert.equal(r1.keyId, r2.keyId);
    assert.deepEqual((await r2.verify((await r1.issue('alice', ACCESS)).token))?.subject, 'alice');
    assert.deepEqual((await r1.verify((await r2.issue('bob', ACCESS)).token))?.subject, 'bob');
  });

  test('replicas starting at the same time settle on one key', async () => {
    const settings = new MemorySettings();
    const { now } = clock();
    const replicas = await Promise.all([service(settings, now), service(settings, now), service(settings, now)]);
    assert.equal(new Set(replicas.map((r) => r.keyId)).size, 1);
    assert.equal(settings.values.size, 1);
    for (const issuer of replicas) {
      const { token } = await issuer.issue('alice', ACCESS);
      for (const verifier of replicas) assert.ok(await verifier.verify(token));
    }
  });

  test('refused claims round-trip', async () => {
    const { now } = clock();
    const svc = await service(new MemorySettings(), now);
    const refused: AccessEntry[] = [{ type: 'repository', name: 'team/secret', actions: ['push', 'delete'] }];
    const { token } = await svc.issue('alice', ACCESS, refused);
    const [, p] = token.split('.') as [string, string];
    assert.deepEqual(b64urlJson(p)['portcullis.refused'], refused);
    const claims = await svc.verify(token);
    assert.deepEqual(claims?.refused, refused);
    assert.deepEqual(claims?.access, ACCESS);
  });

  test('empty access round-trips as an empty list', async () => {
    const { now } = clock();
    const svc = await service(new MemorySettings(), now);
    const claims = await svc.verify((await svc.issue('anonymous', [])).token);
    assert.deepEqual(claims?.access, []);
    assert.deepEqual(claims?.refused, []);
  });

  test('ttl is reported and used', async () => {
    const { c, now } = clock();
    const svc = await service(new MemorySettings(), now, { ttlSeconds: 60 });
    assert.equal(svc.ttl, 60);
    const { token } = await svc.issue('alice', ACCESS);
    c.now = T0 + 91_000;
    assert.equal(await svc.verify(token), undefined);
  });
});
