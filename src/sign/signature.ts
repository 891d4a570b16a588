/**
 * Raw signatures as Cosign makes them with a key file: ECDSA over SHA-256 (ASN.1 DER, whatever
 * the curve: Cosign loads every key with crypto.SHA256), RSA PKCS#1 v1.5 over SHA-256, and
 * Ed25519 over the message itself.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { algorithmOf } from './keys.js';

export function signBytes(key: KeyObject, data: Uint8Array): Buffer {
  return algorithmOf(key) === 'ed25519' ? sign(null, data, key) : sign('sha256', data, { key, dsaEncoding: 'der' });
}

/** Whether `signature` is `key`'s over `data`; false (never an exception) for a malformed signature. */
export function verifyBytes(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return algorithmOf(key) === 'ed25519' ? verify(null, data, key, signature) : verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
