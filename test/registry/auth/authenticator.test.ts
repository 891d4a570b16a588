// The Authenticator's login limits, against a real SQLite store and real scrypt hashes: the
// attacks a red-team run found (parallel guesses outrunning the limit; anyone locking a robot or a
// user out) and what must keep working for the real owner.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Authenticator, type LoginResult } from '../../../src/registry/auth/authenticator.js';
import { generateSecret, hashPassword, hashSecret } from '../../../src/registry/auth/password.js';
import { LoginLimiter } from '../../../src/registry/auth/rate-limit.js';
import { TokenService } from '../../../src/registry/auth/tokens.js';
import { openSqliteMetadataStore, type MetadataStore } from '../../../src/storage/index.js';
import { tempDir } from '../../helpers/env.js';

const WINDOW = 5 * 60_000;
const A = '203.0.113.1';
const B = '198.51.100.7';

interface World {
  readonly store: MetadataStore;
  readonly auth: Authenticator;
  /** Credential look-ups so far: one per password or secret actually checked. */
  readonly checks: { count: number };
  readonly robotSecret: string;
}

/** Store with users alice (password alice-password) and bob, robot$ci; limits as index.ts builds them. */
async function world(t: TestContext, maxFailedLogins = 10): Promise<World> {
  const store = await openSqliteMetadataStore(join(tempDir(t), 'meta.db'));
  t.after(() => store.close());
  const now = () => Date.now();
  const checks = { count: 0 };
  const users = store.users.credentials.bind(store.users);
  store.users.credentials = (name) => {
    checks.count++;
    return users(name);
  };
  const robots = store.robots.credentials.bind(store.robots);
  store.robots.credentials = (name) => {
    checks.count++;
    return robots(name);
  };
  for (const name of ['alice', 'bob']) await store.users.create({ username: name, email: null, admin: false, passwordHash: await hashPassword(`${name}-password`), now: 1 });
  const robotSecret = generateSecret();
  await store.robots.create({ name: 'robot$ci', description: '', secretHash: hashSecret(robotSecret), permissions: [], createdBy: null, expiresAt: null, now: 1 });
  const tokens = await TokenService.create(store.settings, { issuer: 'portcullis', service: 'portcullis', ttlSeconds: 300, now });
  const auth = new Authenticator(
    store,
    tokens,
    {
      pairs: new LoginLimiter({ maxFailures: maxFailedLogins, windowMs: WINDOW, now }),
      addresses: new LoginLimiter({ maxFailures: maxFailedLogins * 10, windowMs: WINDOW, now }),
    },
    now,
  );
  return { store, auth, checks, robotSecret };
}

const kinds = (results: readonly LoginResult[]) => {
  const out: Record<string, number> = {};
  for (const r of results) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
};

describe('Authenticator login limits', () => {
  test('300 parallel wrong passwords for one account from one address: at most maxFailedLogins are checked', async (t) => {
    const w = await world(t, 10);
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => w.auth.login('alice', `guess-${i}`, A)));
    assert.deepEqual(kinds(results), { invalid: 10, locked: 290 });
    assert.equal(w.checks.count, 10, 'passwords actually verified');
    for (const r of results) if (r.kind === 'locked') assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= WINDOW);
    // The lock holds for the right password from that address too.
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'locked');
  });

  test('a success gives its slot back: parallel right passwords all get in, and leave nothing counted', async (t) => {
    const w = await world(t, 3);
    const results = await Promise.all(Array.from({ length: 20 }, () => w.auth.login('alice', 'alice-password', A)));
    assert.deepEqual(kinds(results), { ok: 20 });
    // At most three were checked at once; the rest waited and then found the login remembered.
    assert.ok(w.checks.count <= 3, `${w.checks.count} checks`);
    // Nothing of those is counted: it takes three failures to lock, not fewer.
    for (let i = 0; i < 2; i++) assert.equal((await w.auth.login('alice', 'wrong', A)).kind, 'invalid');
    w.auth.invalidate();
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'ok', 'the right password after two failures');
    // ...and that success reset the count for (alice, A).
    for (let i = 0; i < 2; i++) assert.equal((await w.auth.login('alice', 'wrong', A)).kind, 'invalid');
    w.auth.invalidate();
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'ok', 'the right password after a success still works');
    for (let i = 0; i < 3; i++) assert.equal((await w.auth.login('alice', 'wrong', A)).kind, 'invalid');
    assert.equal((await w.auth.login('alice', 'wrong', A)).kind, 'locked');
  });

  test('a user locked from one address signs in from another', async (t) => {
    const w = await world(t, 10);
    for (let i = 0; i < 10; i++) assert.equal((await w.auth.login('alice', `guess-${i}`, A)).kind, 'invalid');
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'locked');
    const fromB = await w.auth.login('alice', 'alice-password', B);
    assert.equal(fromB.kind, 'ok');
    // Other accounts from A are not locked either: A is under its own (address) limit.
    assert.equal((await w.auth.login('bob', 'bob-password', A)).kind, 'ok');
  });

  test('a robot has no per-account lock: wrong secrets from A lock out neither A (under its address limit) nor B', async (t) => {
    const w = await world(t, 10);
    for (let i = 0; i < 50; i++) assert.equal((await w.auth.login('robot$ci', `guess-${i}`, A)).kind, 'invalid');
    assert.equal((await w.auth.login('robot$ci', w.robotSecret, A)).kind, 'ok');
    w.auth.invalidate();
    assert.equal((await w.auth.login('robot$ci', w.robotSecret, B)).kind, 'ok');
  });

  test('a robot guesser is still limited per address, and the robot from elsewhere is not', async (t) => {
    const w = await world(t, 2);
    // The address budget is ten accounts' worth: 20 failures.
    for (let i = 0; i < 20; i++) assert.equal((await w.auth.login('robot$ci', `guess-${i}`, A)).kind, 'invalid');
    const before = w.checks.count;
    assert.equal((await w.auth.login('robot$ci', 'guess-more', A)).kind, 'locked');
    assert.equal((await w.auth.login('robot$ci', w.robotSecret, A)).kind, 'locked');
    assert.equal(w.checks.count, before, 'a locked address gets no check at all');
    assert.equal((await w.auth.login('robot$ci', w.robotSecret, B)).kind, 'ok');
  });

  test('spraying many accounts from one address hits the address limit; others are not affected', async (t) => {
    const w = await world(t, 2);
    for (let i = 0; i < 20; i++) await w.store.users.create({ username: `u${i}`, email: null, admin: false, passwordHash: '$scrypt$unusable', now: 1 });
    // One guess per account: no (account, address) pair reaches its limit of two.
    for (let i = 0; i < 20; i++) assert.equal((await w.auth.login(`u${i}`, 'Spring2024!', A)).kind, 'invalid');
    assert.equal((await w.auth.login('alice', 'Spring2024!', A)).kind, 'locked');
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'locked');
    // A success from the spraying address does not reset the address's count.
    assert.equal((await w.auth.login('alice', 'alice-password', B)).kind, 'ok');
    assert.equal((await w.auth.login('bob', 'bob-password', B)).kind, 'ok');
  });

  test('a remembered login does not get through a lock: it would tell the guesser which guess is right', async (t) => {
    const w = await world(t, 3);
    assert.equal((await w.auth.login('alice', 'alice-password', B)).kind, 'ok');
    for (let i = 0; i < 3; i++) assert.equal((await w.auth.login('alice', `guess-${i}`, A)).kind, 'invalid');
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'locked');
    assert.equal((await w.auth.login('alice', 'alice-password', B)).kind, 'ok');
  });

  test('a failing store is no wrong guess: the slot is given back', async (t) => {
    const w = await world(t, 1);
    const real = w.store.users.credentials;
    w.store.users.credentials = () => Promise.reject(new Error('database down'));
    for (let i = 0; i < 3; i++) await assert.rejects(w.auth.login('alice', 'alice-password', A), /database down/);
    w.store.users.credentials = real;
    assert.equal((await w.auth.login('alice', 'alice-password', A)).kind, 'ok');
  });
});
