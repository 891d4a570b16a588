import assert from 'node:assert/strict';
import { createHash, scryptSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { generatePassword, generateSecret, hashPassword, hashSecret, verifyPassword, verifySecret } from '../../../src/registry/auth/password.js';

const PHC = /^\$scrypt\$ln=15,r=8,p=1\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

describe('hashPassword / verifyPassword', () => {
  test('output format is $scrypt$ln=15,r=8,p=1$<salt>$<key> with a 16-byte salt and a 32-byte key', async () => {
    const h = await hashPassword('correct horse battery staple');
    const m = PHC.exec(h);
    assert.ok(m, h);
    assert.equal(Buffer.from(m[1]!, 'base64').length, 16);
    assert.equal(Buffer.from(m[2]!, 'base64').length, 32);
  });

  test('the key is scrypt(N=2^15, r=8, p=1) of the password and salt (checked with node:crypto)', async () => {
    const password = 'pässwörd ✓';
    const m = PHC.exec(await hashPassword(password));
    assert.ok(m);
    const salt = Buffer.from(m[1]!, 'base64');
    const expected = scryptSync(password, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    assert.equal(m[2], expected.toString('base64'));
  });

  test('verify: right password true, wrong password false', async () => {
    const h = await hashPassword('s3cret');
    assert.equal(await verifyPassword('s3cret', h), true);
    assert.equal(await verifyPassword('s3cret ', h), false);
    assert.equal(await verifyPassword('S3cret', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  test('two hashes of the same password differ (random salt) and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
    assert.notEqual(PHC.exec(a)?.[1], PHC.exec(b)?.[1]);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  test('an undefined stored hash is false (for any password, including the empty one)', async () => {
    assert.equal(await verifyPassword('anything', undefined), false);
    assert.equal(await verifyPassword('', undefined), false);
  });

  test('a malformed stored hash is false, not an exception', async () => {
    const good = await hashPassword('pw');
    for (const stored of ['', 'pw', '$sha256$abc', good.replace('$scrypt$', '$bcrypt$'), good.slice(0, -10) + '!!!!!!!!!!', `${good}$extra`]) {
      assert.equal(await verifyPassword('pw', stored), false, stored);
    }
  });

  test('a hash with other (cheaper) parameters still verifies: parameters come from the string', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('legacy', salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    const stored = `$scrypt$ln=10,r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.equal(await verifyPassword('legacy', stored), true);
    assert.equal(await verifyPassword('other', stored), false);
  });

  test('a truncated key in the stored hash never verifies', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('pw', salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    const stored = `$scrypt$ln=10,r=8,p=1$${salt.toString('base64')}$${key.subarray(0, 16).toString('base64')}`;
    assert.equal(await verifyPassword('pw', stored), false);
  });
});

describe('robot secrets', () => {
  test('generateSecret: 256 bits, base64url, different each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const s = generateSecret();
      assert.match(s, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(s, 'base64url').length, 32);
      seen.add(s);
    }
    assert.equal(seen.size, 50);
  });

  test('hashSecret is $sha256$<hex of sha256(secret)>', () => {
    const s = generateSecret();
    assert.equal(hashSecret(s), `$sha256$${createHash('sha256').update(s, 'utf8').digest('hex')}`);
    // Known vector: sha256("abc").
    assert.equal(hashSecret('abc'), '$sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('verifySecret: right true, wrong false, undefined false, malformed false', () => {
    const s = generateSecret();
    const stored = hashSecret(s);
    assert.equal(verifySecret(s, stored), true);
    assert.equal(verifySecret(`${s}x`, stored), false);
    assert.equal(verifySecret(generateSecret(), stored), false);
    assert.equal(verifySecret(s, undefined), false);
    assert.equal(verifySecret(s, stored.slice(8)), false, 'hex without the $sha256$ prefix');
    assert.equal(verifySecret(s, stored.slice(0, -2)), false, 'truncated');
    assert.equal(verifySecret(s, '$sha256$zz'), false);
    assert.equal(verifySecret(s, ''), false);
  });

  test('an undefined stored secret is false even for the secret whose hash is the all-zero fallback', () => {
    // The fallback compares against 32 zero bytes; no secret hashes to that, but the result must
    // be false regardless of the comparison.
    assert.equal(verifySecret('', undefined), false);
    assert.equal(verifySecret('0'.repeat(64), undefined), false);
  });

  test('generatePassword: 24 URL-safe characters, different each time', () => {
    const a = generatePassword();
    const b = generatePassword();
    assert.match(a, /^[A-Za-z0-9_-]{24}$/);
    assert.notEqual(a, b);
  });
});
