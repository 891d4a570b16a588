import { createHash, type Hash } from 'node:crypto';
import { OciError } from './errors.js';

/**
 * Content digests as the OCI image spec defines them: `algorithm ":" encoded`. Only the two
 * registered algorithms are accepted; each has a fixed encoded length of lower-case hex.
 */
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

/** A digest string already checked by parseDigest. Branded so unchecked strings cannot pass. */
export type Digest = string & { readonly __digest: unique symbol };

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  readonly digest: Digest;
}

export function parseDigest(value: string): ParsedDigest {
  const m = DIGEST_RE.exec(value);
  if (m === null) {
    // An unregistered algorithm is UNSUPPORTED in spirit, but clients expect DIGEST_INVALID here.
    throw new OciError('DIGEST_INVALID', `invalid digest "${truncate(value)}": expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2] as string;
  if (hex.length !== HEX_LENGTH[algorithm]) {
    throw new OciError('DIGEST_INVALID', `invalid digest "${truncate(value)}": ${algorithm} needs ${HEX_LENGTH[algorithm]} hex characters`);
  }
  return { algorithm, hex, digest: value as Digest };
}

export function isDigest(value: string): value is Digest {
  const m = DIGEST_RE.exec(value);
  return m !== null && m[2]!.length === HEX_LENGTH[m[1] as DigestAlgorithm];
}

export function asDigest(value: string): Digest {
  return parseDigest(value).digest;
}

export function digestOf(data: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Incremental digester for streams. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private bytes = 0;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  get size(): number {
    return this.bytes;
  }

  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
