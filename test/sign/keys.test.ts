/**
 * Cosign-format keys against independent implementations: Debian's python3-nacl (secretbox) with
 * Python's hashlib.scrypt opens what Portcullis encrypts, and encrypts what Portcullis opens;
 * OpenSSL reads the decrypted PKCS#8 and makes the keys of every other supported kind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { COSIGN_SCRYPT, encryptPrivateKey, generateKeyPair, loadPrivateKey, loadPublicKey, pemBlocks, publicKeyPem, SignError, toPem, type SignErrorCode } from '../../src/sign/index.js';
import { requirePythonModule, requireTools, tempDir } from '../helpers/env.js';

const PYTHON = '/usr/bin/python3';

/** go-securesystemslib's `encrypted` format, written and read by Python (NaCl from python3-nacl, scrypt from hashlib). */
const COSIGN_PY = String.raw`
import base64, hashlib, json, os, sys
import nacl.secret, nacl.utils
mode, src, dst, header = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
password = os.environ['KEY_PASSWORD'].encode()
def derive(salt, n, r, p):
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
if mode == 'decrypt':
    text = open(src).read()
    begin = '-----BEGIN %s-----' % header
    body = text.split(begin)[1].split('-----END')[0]
    env = json.loads(base64.b64decode(''.join(body.split())))
    assert env['kdf']['name'] == 'scrypt' and env['cipher']['name'] == 'nacl/secretbox', env
    prm = env['kdf']['params']
    key = derive(base64.b64decode(env['kdf']['salt']), prm['N'], prm['r'], prm['p'])
    der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(env['ciphertext']), base64.b64decode(env['cipher']['nonce']))
    open(dst, 'wb').write(der)
else:
    der = open(src, 'rb').read()
    salt = nacl.utils.random(32)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(derive(salt, 32768, 8, 1)).encrypt(der, nonce).ciphertext
    env = {'kdf': {'name': 'scrypt', 'params': {'N': 32768, 'r': 8, 'p': 1}, 'salt': base64.b64encode(salt).decode()},
           'cipher': {'name': 'nacl/secretbox', 'nonce': base64.b64encode(nonce).decode()},
           'ciphertext': base64.b64encode(box).decode()}
    b64 = base64.b64encode(json.dumps(env).encode()).decode()
    open(dst, 'w').write('-----BEGIN %s-----\n%s\n-----END %s-----\n' % (header, '\n'.join(b64[i:i + 64] for i in range(0, len(b64), 64)), header))
`;

function python(mode: 'decrypt' | 'encrypt', src: string, dst: string, header: string, password: string): void {
  execFileSync(PYTHON, ['-c', COSIGN_PY, mode, src, dst, header], { env: { ...process.env, KEY_PASSWORD: password }, stdio: ['ignore', 'ignore', 'pipe'] });
}

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function rejects(promise: Promise<unknown>, code: SignErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SignError, String(err));
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

test('a key Portcullis encrypts opens with python3-nacl + hashlib.scrypt, and OpenSSL reads the PKCS#8 inside', async (t) => {
  if (!requireTools(t, 'openssl') || !requirePythonModule(t, PYTHON, 'nacl.secret', 'python3-nacl')) return;
  const dir = tempDir(t);
  const { privateKey, publicKey } = generateKeyPair();
  const pem = await encryptPrivateKey(privateKey, 'correct horse');
  assert.equal(pemBlocks(pem)[0]?.type, 'ENCRYPTED SIGSTORE PRIVATE KEY');
  const envelope = JSON.parse(pemBlocks(pem)[0]!.bytes.toString('utf8')) as { kdf: { params: unknown; salt: string }; cipher: { nonce: string } };
  assert.deepEqual(envelope.kdf.params, { N: 32768, r: 8, p: 1 }, "Cosign's scrypt parameters");
  assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 32);
  assert.equal(Buffer.from(envelope.cipher.nonce, 'base64').length, 24);
  assert.deepEqual(Object.keys(envelope), ['kdf', 'cipher', 'ciphertext'], 'the field order of the Go struct');
  writeFileSync(join(dir, 'cosign.key'), pem);
  python('decrypt', join(dir, 'cosign.key'), join(dir, 'key.der'), 'ENCRYPTED SIGSTORE PRIVATE KEY', 'correct horse');
  const pub = openssl('pkey', '-inform', 'DER', '-in', join(dir, 'key.der'), '-pubout');
  assert.equal(pub, publicKeyPem(publicKey), 'the same key pair');
  assert.match(openssl('pkey', '-inform', 'DER', '-in', join(dir, 'key.der'), '-noout', '-text'), /ASN1 OID: prime256v1/);
  assert.throws(() => python('decrypt', join(dir, 'cosign.key'), join(dir, 'x.der'), 'ENCRYPTED SIGSTORE PRIVATE KEY', 'wrong horse'), /CryptoError|Decryption failed/, 'a wrong password fails in NaCl too');
});

test('keys encrypted by python3-nacl load in Portcullis, under either PEM header', async (t) => {
  if (!requireTools(t, 'openssl') || !requirePythonModule(t, PYTHON, 'nacl.secret', 'python3-nacl')) return;
  const dir = tempDir(t);
  // Cosign encrypts PKCS#8 (genpkey's DER output would be SEC1 for EC).
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'k.pem'));
  openssl('pkcs8', '-topk8', '-nocrypt', '-in', join(dir, 'k.pem'), '-outform', 'DER', '-out', join(dir, 'k.der'));
  const expected = openssl('pkey', '-inform', 'DER', '-in', join(dir, 'k.der'), '-pubout');
  for (const header of ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY']) {
    python('encrypt', join(dir, 'k.der'), join(dir, 'k.key'), header, 'pässwörd');
    const key = await loadPrivateKey(readFileSync(join(dir, 'k.key'), 'utf8'), () => 'pässwörd', 'k.key');
    assert.equal(publicKeyPem(key), expected, header);
    await rejects(loadPrivateKey(readFileSync(join(dir, 'k.key'), 'utf8'), () => 'password', 'k.key'), 'KEY_PASSWORD', /password does not decrypt k\.key/);
  }
});

test('plain PEM keys of every supported kind load; unsupported ones are refused with the reason', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const dir = tempDir(t);
  const noPassword = (): string => assert.fail('a plain key asks for no password');
  const kinds: [string, string[], string][] = [
    ['p256.pem', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa P-256'],
    ['p384.pem', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ecdsa P-384'],
    ['rsa.pem', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 'rsa'],
    ['ed.pem', ['-algorithm', 'ED25519'], 'ed25519'],
  ];
  for (const [file, args] of kinds) {
    openssl('genpkey', ...args, '-out', join(dir, file));
    const key = await loadPrivateKey(readFileSync(join(dir, file), 'utf8'), noPassword, file);
    assert.equal(publicKeyPem(key), openssl('pkey', '-in', join(dir, file), '-pubout'), file);
  }
  // SEC1 (EC PRIVATE KEY) and PKCS#1 (RSA PRIVATE KEY), as older tools write them.
  openssl('ec', '-in', join(dir, 'p256.pem'), '-out', join(dir, 'sec1.pem'));
  assert.match(readFileSync(join(dir, 'sec1.pem'), 'utf8'), /BEGIN EC PRIVATE KEY/);
  await loadPrivateKey(readFileSync(join(dir, 'sec1.pem'), 'utf8'), noPassword, 'sec1.pem');
  openssl('rsa', '-in', join(dir, 'rsa.pem'), '-traditional', '-out', join(dir, 'pkcs1.pem'));
  assert.match(readFileSync(join(dir, 'pkcs1.pem'), 'utf8'), /BEGIN RSA PRIVATE KEY/);
  await loadPrivateKey(readFileSync(join(dir, 'pkcs1.pem'), 'utf8'), noPassword, 'pkcs1.pem');
  // Encrypted PKCS#8 (openssl's own PBES2).
  openssl('pkcs8', '-topk8', '-in', join(dir, 'p256.pem'), '-passout', 'pass:secret', '-out', join(dir, 'enc.pem'));
  assert.equal(publicKeyPem(await loadPrivateKey(readFileSync(join(dir, 'enc.pem'), 'utf8'), () => 'secret', 'enc.pem')), openssl('pkey', '-in', join(dir, 'p256.pem'), '-pubout'));
  await rejects(loadPrivateKey(readFileSync(join(dir, 'enc.pem'), 'utf8'), () => 'nope', 'enc.pem'), 'KEY_PASSWORD');

  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1', '-out', join(dir, 'k1.pem'));
  await rejects(loadPrivateKey(readFileSync(join(dir, 'k1.pem'), 'utf8'), noPassword, 'k1.pem'), 'KEY_UNSUPPORTED', /secp256k1.*P-256, P-384 or P-521/);
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', join(dir, 'rsa1024.pem'));
  await rejects(loadPrivateKey(readFileSync(join(dir, 'rsa1024.pem'), 'utf8'), noPassword, 'rsa1024.pem'), 'KEY_UNSUPPORTED', /1024-bit RSA/);
  openssl('genpkey', '-algorithm', 'X25519', '-out', join(dir, 'x.pem'));
  await rejects(loadPrivateKey(readFileSync(join(dir, 'x.pem'), 'utf8'), noPassword, 'x.pem'), 'KEY_UNSUPPORTED', /x25519/);
  // Public keys: the PKIX PEM, and from the public half of a private key.
  assert.equal(loadPublicKey(openssl('pkey', '-in', join(dir, 'ed.pem'), '-pubout')).asymmetricKeyType, 'ed25519');
  assert.throws(() => loadPublicKey('not a key', 'x.pub'), (e: unknown) => e instanceof SignError && e.code === 'KEY_INVALID' && /x\.pub/.test(e.message));
});

test('bad key files: a clear code, never a partial key', async () => {
  const { privateKey } = generateKeyPair();
  const good = await encryptPrivateKey(privateKey, 'pw');
  const env = JSON.parse(pemBlocks(good)[0]!.bytes.toString('utf8')) as { kdf: { params: { N: number; r: number; p: number } }; ciphertext: string };
  const rewrap = (e: unknown): string => toPem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from(JSON.stringify(e)));
  await rejects(loadPrivateKey('', () => 'pw', 'empty.key'), 'KEY_INVALID', /empty\.key holds no private key in PEM \(no PEM block\)/);
  await rejects(loadPrivateKey(publicKeyPem(privateKey), () => 'pw', 'cosign.pub'), 'KEY_INVALID', /found PUBLIC KEY/);
  await rejects(loadPrivateKey(toPem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from('{not json')), () => 'pw'), 'KEY_INVALID', /JSON envelope/);
  // One flipped bit of the ciphertext: secretbox's MAC refuses it, as for a wrong password.
  const ct = Buffer.from(env.ciphertext, 'base64');
  ct[5]! ^= 1;
  await rejects(loadPrivateKey(rewrap({ ...env, ciphertext: ct.toString('base64') }), () => 'pw'), 'KEY_PASSWORD');
  // A hostile file may not make scrypt allocate gigabytes.
  await rejects(loadPrivateKey(rewrap({ ...env, kdf: { ...env.kdf, params: { N: 2 ** 24, r: 8, p: 1 } } }), () => 'pw'), 'KEY_INVALID', /out of bounds/);
  await rejects(loadPrivateKey(rewrap({ ...env, kdf: { ...env.kdf, params: { N: 1000, r: 8, p: 1 } } }), () => 'pw'), 'KEY_INVALID', /out of bounds/);
  // Each parameter within its own bound, together 4 GiB of memory or minutes of work: refused.
  await rejects(loadPrivateKey(rewrap({ ...env, kdf: { ...env.kdf, params: { N: 2 ** 20, r: 32, p: 1 } } }), () => 'pw'), 'KEY_INVALID', /out of bounds/);
  await rejects(loadPrivateKey(rewrap({ ...env, kdf: { ...env.kdf, params: { N: 2 ** 18, r: 8, p: 16 } } }), () => 'pw'), 'KEY_INVALID', /out of bounds/);
  await rejects(loadPrivateKey(rewrap({ ...env, kdf: { ...env.kdf, name: 'pbkdf2' } }), () => 'pw'), 'KEY_INVALID', /scrypt/);
  // Smaller scrypt parameters than Cosign's are read (the file says what it used).
  const light = await encryptPrivateKey(privateKey, 'pw', { params: { N: 1024, r: 8, p: 1 } });
  assert.equal(publicKeyPem(await loadPrivateKey(light, () => 'pw')), publicKeyPem(privateKey));
  assert.deepEqual(COSIGN_SCRYPT, { N: 32768, r: 8, p: 1 });
  // The password callback is not called for a key that needs none.
  let asked = 0;
  await loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), () => (asked++, 'x'));
  assert.equal(asked, 0);
});
