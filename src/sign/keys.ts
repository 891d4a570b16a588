/**
 * Signing keys as Cosign keeps them: an ECDSA P-256 private key in PKCS#8, encrypted under a
 * password with scrypt (N=32768, r=8, p=1) and NaCl secretbox (XSalsa20-Poly1305), the JSON
 * envelope of go-securesystemslib's `encrypted` package in a PEM block `ENCRYPTED SIGSTORE
 * PRIVATE KEY` (older Cosign wrote `ENCRYPTED COSIGN PRIVATE KEY`); the public key in PKIX PEM.
 * Plain PKCS#8, SEC1 and PKCS#1 PEM keys (EC, RSA, Ed25519) are read too. Pure: text in, keys out.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt as scryptCb, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type NaclT from 'tweetnacl';
import { SignError } from './errors.js';
import { pemBlocks, toPem } from './pem.js';

// tweetnacl is loaded when a key is encrypted or decrypted, not by every command.
const requireLazy = createRequire(import.meta.url);
let naclLib: typeof NaclT | undefined;
const nacl = (): typeof NaclT => (naclLib ??= requireLazy('tweetnacl') as typeof NaclT);

const scrypt = promisify(scryptCb) as (password: Uint8Array, salt: Uint8Array, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export const ENCRYPTED_SIGSTORE_KEY = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const ENCRYPTED_COSIGN_KEY = 'ENCRYPTED COSIGN PRIVATE KEY';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** What Cosign writes (go-securesystemslib's defaults). */
export const COSIGN_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 };

/** Bounds on what a key file may ask of scrypt: a hostile file must not make us allocate gigabytes or spin for minutes. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
/** scrypt's memory is 128·N·r bytes: Cosign's 32 MiB, 256 MiB at most. */
const MAX_MEMORY = 256 * 1024 * 1024;
/** Work grows with N·r·p: Cosign's is 2^18; sixteen times that at most. */
const MAX_WORK = 1 << 22;

/** The JSON inside an encrypted key's PEM block, field for field as Go marshals it ([]byte as base64). */
interface EncryptedEnvelope {
  kdf: { name: 'scrypt'; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa' | 'ed25519';

/** A new ECDSA P-256 key pair, what `cosign generate-key-pair` makes. */
export function generateKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** The public key as PKIX PEM (`PUBLIC KEY`), as Cosign writes `cosign.pub`. */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** The private key in PKCS#8, encrypted as Cosign does; `salt` and `nonce` are for tests (random otherwise). */
export async function encryptPrivateKey(key: KeyObject, password: Uint8Array | string, options: { params?: ScryptParams; salt?: Uint8Array; nonce?: Uint8Array } = {}): Promise<string> {
  algorithmOf(key);
  const params = options.params ?? COSIGN_SCRYPT;
  const salt = options.salt ?? randomBytes(32);
  const nonce = options.nonce ?? randomBytes(nacl().secretbox.nonceLength);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const secret = await deriveKey(bytesOf(password), salt, params);
  const ciphertext = nacl().secretbox(pkcs8, nonce, secret);
  const envelope: EncryptedEnvelope = {
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: Buffer.from(salt).toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: Buffer.from(nonce).toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return toPem(ENCRYPTED_SIGSTORE_KEY, Buffer.from(JSON.stringify(envelope)));
}

/**
 * Reads a private key from PEM text: Cosign's encrypted form (both headers), an encrypted PKCS#8
 * key (`ENCRYPTED PRIVATE KEY`), or a plain PKCS#8/SEC1/PKCS#1 key. `password` is asked for only
 * when the key is encrypted. `name` (a file name) labels errors.
 */
export async function loadPrivateKey(text: string, password: () => Uint8Array | string | Promise<Uint8Array | string>, name = 'the key'): Promise<KeyObject> {
  const blocks = pemBlocks(text);
  const block = blocks.find((b) => b.type.endsWith('PRIVATE KEY'));
  if (block === undefined) {
    const found = blocks.map((b) => b.type).join(', ');
    throw new SignError('KEY_INVALID', `${name} holds no private key in PEM (${found === '' ? 'no PEM block' : `found ${found}`}): give a key made by 'portcullis key generate' or 'cosign generate-key-pair', or a PKCS#8 PEM key`);
  }
  let key: KeyObject;
  if (block.type === ENCRYPTED_SIGSTORE_KEY || block.type === ENCRYPTED_COSIGN_KEY) {
    key = await decryptCosignKey(block.bytes, bytesOf(await password()), name);
  } else if (block.type === 'ENCRYPTED PRIVATE KEY') {
    try {
      key = createPrivateKey({ key: block.bytes, format: 'der', type: 'pkcs8', passphrase: Buffer.from(bytesOf(await password())) });
    } catch (err) {
      throw new SignError('KEY_PASSWORD', `the password does not decrypt ${name}`, { cause: err });
    }
  } else {
    const type = block.type === 'PRIVATE KEY' ? 'pkcs8' : block.type === 'EC PRIVATE KEY' ? 'sec1' : block.type === 'RSA PRIVATE KEY' ? 'pkcs1' : undefined;
    if (type === undefined) throw new SignError('KEY_UNSUPPORTED', `${name} is a ${block.type}: Portcullis reads PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY and Cosign's encrypted keys`);
    try {
      key = createPrivateKey({ key: block.bytes, format: 'der', type });
    } catch (err) {
      throw new SignError('KEY_INVALID', `${name} is not a readable ${block.type}: ${(err as Error).message}`, { cause: err });
    }
  }
  algorithmOf(key, name);
  return key;
}

/** Reads a public key: PKIX PEM (`PUBLIC KEY`), or the public half of a plain private key. */
export function loadPublicKey(text: string, name = 'the key'): KeyObject {
  const block = pemBlocks(text).find((b) => b.type === 'PUBLIC KEY');
  let key: KeyObject;
  try {
    key = block !== undefined ? createPublicKey({ key: block.bytes, format: 'der', type: 'spki' }) : createPublicKey(text);
  } catch (err) {
    throw new SignError('KEY_INVALID', `${name} holds no public key in PEM (PUBLIC KEY): give the .pub file written with the private key`, { cause: err });
  }
  algorithmOf(key, name);
  return key;
}

/** The algorithm of a key Portcullis signs or verifies with; KEY_UNSUPPORTED for anything else. */
export function algorithmOf(key: KeyObject, name = 'the key'): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve;
      if (curve === 'prime256v1') return 'ecdsa-p256';
      if (curve === 'secp384r1') return 'ecdsa-p384';
      if (curve === 'secp521r1') return 'ecdsa-p521';
      throw new SignError('KEY_UNSUPPORTED', `${name} is an EC key on ${curve ?? 'an unnamed curve'}: Portcullis signs with P-256, P-384 or P-521`);
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048) throw new SignError('KEY_UNSUPPORTED', `${name} is a ${bits}-bit RSA key: Portcullis signs with RSA keys of 2048 bits or more`);
      return 'rsa';
    }
    case 'ed25519':
      return 'ed25519';
    default:
      throw new SignError('KEY_UNSUPPORTED', `${name} is a ${key.asymmetricKeyType ?? 'symmetric'} key: Portcullis signs with ECDSA (P-256/384/521), RSA or Ed25519 keys`);
  }
}

async function decryptCosignKey(json: Buffer, password: Uint8Array, name: string): Promise<KeyObject> {
  let env: EncryptedEnvelope;
  try {
    env = JSON.parse(json.toString('utf8')) as EncryptedEnvelope;
  } catch (err) {
    throw new SignError('KEY_INVALID', `${name}: the encrypted key is not the JSON envelope Cosign writes`, { cause: err });
  }
  const params = env?.kdf?.params;
  if (env?.kdf?.name !== 'scrypt' || env.cipher?.name !== 'nacl/secretbox' || typeof env.ciphertext !== 'string' || typeof env.kdf.salt !== 'string' || typeof env.cipher.nonce !== 'string') {
    throw new SignError('KEY_INVALID', `${name}: an encrypted key needs kdf scrypt and cipher nacl/secretbox, with salt, nonce and ciphertext`);
  }
  const { N, r, p } = params ?? ({} as Partial<ScryptParams>);
  if (!isPowerOfTwo(N) || N > MAX_N || !Number.isInteger(r) || r! < 1 || r! > MAX_R || !Number.isInteger(p) || p! < 1 || p! > MAX_P || 128 * N * r! > MAX_MEMORY || N * r! * p! > MAX_WORK) {
    throw new SignError('KEY_INVALID', `${name}: scrypt parameters N=${String(N)} r=${String(r)} p=${String(p)} are out of bounds (N a power of two up to 2^20, r up to 32, p up to 16, at most 256 MiB and 16 times Cosign's work)`);
  }
  const nonce = Buffer.from(env.cipher.nonce, 'base64');
  if (nonce.length !== nacl().secretbox.nonceLength) throw new SignError('KEY_INVALID', `${name}: the nonce is ${nonce.length} bytes, not ${nacl().secretbox.nonceLength}`);
  const secret = await deriveKey(password, Buffer.from(env.kdf.salt, 'base64'), { N: N!, r: r!, p: p! });
  const plain = nacl().secretbox.open(Buffer.from(env.ciphertext, 'base64'), nonce, secret);
  if (plain === null) throw new SignError('KEY_PASSWORD', `the password does not decrypt ${name} (or the file was altered)`);
  try {
    return createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new SignError('KEY_INVALID', `${name}: the decrypted key is not PKCS#8`, { cause: err });
  }
}

function deriveKey(password: Uint8Array, salt: Uint8Array, { N, r, p }: ScryptParams): Promise<Buffer> {
  // OpenSSL needs 128·r·(N + p + 2) bytes; a little more for its own bookkeeping.
  return scrypt(password, salt, nacl().secretbox.keyLength, { N, r, p, maxmem: 128 * r * (N + p + 2) + (1 << 20) });
}

function isPowerOfTwo(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

function bytesOf(password: Uint8Array | string): Uint8Array {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}
