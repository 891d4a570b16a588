import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt, memory-hard (N=2^15, r=8: 32 MiB per hash), stored in a
 * self-describing PHC-like string so the parameters can be raised later without a migration:
 * `$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>`.
 */
const DEFAULT = { ln: 15, r: 8, p: 1 } as const;
const KEY_LEN = 32;

function scrypt(password: string | Buffer, salt: Buffer, params: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  return new Promise((resolve, reject) => scryptCb(password, salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, DEFAULT);
  return `$scrypt$ln=${DEFAULT.ln},r=${DEFAULT.r},p=${DEFAULT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const PHC_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** A fixed hash verified when the user is unknown, so a miss costs as long as a hit. */
let dummyHash: string | undefined;

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const target = stored ?? (dummyHash ??= await hashPassword(randomBytes(16).toString('hex')));
  const m = PHC_RE.exec(target);
  if (m === null) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await scrypt(password, Buffer.from(m[4]!, 'base64'), { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) });
  return key.length === expected.length && timingSafeEqual(key, expected) && stored !== undefined;
}

/**
 * Robot secrets are 256-bit random values, not human passwords: guessing is hopeless, so a fast
 * hash is enough and keeps every CI request cheap. Stored as `$sha256$<hex>`.
 */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return `$sha256$${createHash('sha256').update(secret).digest('hex')}`;
}

export function verifySecret(secret: string, stored: string | undefined): boolean {
  const expected = Buffer.from(stored?.startsWith('$sha256$') ? stored.slice(8) : '0'.repeat(64), 'hex');
  const actual = createHash('sha256').update(secret).digest();
  return timingSafeEqual(actual, expected.length === actual.length ? expected : Buffer.alloc(actual.length)) && stored !== undefined;
}

/** Generates a password for the first admin: 24 characters from a URL-safe alphabet. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
