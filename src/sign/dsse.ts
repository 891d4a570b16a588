/**
 * Attestations as Cosign stores them: an in-toto Statement (subject: the image by digest; a
 * predicate type and the predicate) in a DSSE envelope, signed over DSSE's pre-authentication
 * encoding (PAE) so that the payload type is signed too.
 */
import type { KeyObject } from 'node:crypto';
import { isDigest, type Digest } from '../oci/index.js';
import { SignError } from './errors.js';
import { signBytes, verifyBytes } from './signature.js';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** What Cosign wrote before in-toto v1; read, never written. */
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';

/** `--type` names as Cosign spells them → predicate type URIs. */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  openvex: 'https://openvex.dev/ns',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
};

/** A `--type` value: a name of PREDICATE_TYPES or a URI; undefined for anything else. */
export function predicateTypeOf(type: string): string | undefined {
  const known = PREDICATE_TYPES[type.toLowerCase()];
  if (known !== undefined) return known;
  return /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(type) ? type : undefined;
}

export interface DsseSignature {
  readonly keyid: string;
  readonly sig: string;
}

export interface DsseEnvelope {
  readonly payloadType: string;
  /** Base64 of the payload. */
  readonly payload: string;
  readonly signatures: readonly DsseSignature[];
}

/** DSSE v1 pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in bytes, decimal). */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function signEnvelope(key: KeyObject, payloadType: string, payload: Uint8Array, keyid = ''): DsseEnvelope {
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures: [{ keyid, sig: signBytes(key, pae(payloadType, payload)).toString('base64') }] };
}

/** Whether any signature of the envelope is `key`'s over its payload. */
export function verifyEnvelope(envelope: DsseEnvelope, key: KeyObject): boolean {
  const payload = decodeBase64(envelope.payload);
  if (payload === undefined) return false;
  const signed = pae(envelope.payloadType, payload);
  return envelope.signatures.some((s) => {
    const sig = decodeBase64(s.sig);
    return sig !== undefined && verifyBytes(key, signed, sig);
  });
}

export function parseEnvelope(bytes: Uint8Array): DsseEnvelope {
  let doc: { payloadType?: unknown; payload?: unknown; signatures?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch (err) {
    throw new SignError('PAYLOAD_INVALID', 'the DSSE envelope is not JSON', { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || typeof doc.payloadType !== 'string' || typeof doc.payload !== 'string' || !Array.isArray(doc.signatures)) {
    throw new SignError('PAYLOAD_INVALID', 'a DSSE envelope needs payloadType, payload and signatures');
  }
  const signatures: DsseSignature[] = [];
  for (const s of doc.signatures as unknown[]) {
    const o = s as { keyid?: unknown; sig?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.sig !== 'string') throw new SignError('PAYLOAD_INVALID', 'a DSSE signature needs sig');
    signatures.push({ keyid: typeof o.keyid === 'string' ? o.keyid : '', sig: o.sig });
  }
  return { payloadType: doc.payloadType, payload: doc.payload, signatures };
}

/** The payload of an envelope, decoded (DSSE allows standard or URL-safe base64). */
export function envelopePayload(envelope: DsseEnvelope): Buffer {
  const payload = decodeBase64(envelope.payload);
  if (payload === undefined) throw new SignError('PAYLOAD_INVALID', 'the DSSE payload is not base64');
  return payload;
}

export interface StatementSubject {
  readonly name: string;
  readonly digest: Digest;
}

export interface Statement {
  readonly type: string;
  readonly subject: readonly StatementSubject[];
  readonly predicateType: string;
  readonly predicate: unknown;
}

/** An in-toto Statement v1 about `subject` (Cosign names the repository; the digest pins it). */
export function inTotoStatement(subject: readonly StatementSubject[], predicateType: string, predicate: unknown): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_V1,
      subject: subject.map((s) => ({ name: s.name, digest: { [s.digest.slice(0, s.digest.indexOf(':'))]: s.digest.slice(s.digest.indexOf(':') + 1) } })),
      predicateType,
      predicate,
    }),
  );
}

/** Reads a Statement (v1 or v0.1); its subjects' digests as `algorithm:hex`. */
export function parseStatement(bytes: Uint8Array): Statement {
  let doc: { _type?: unknown; subject?: unknown; predicateType?: unknown; predicate?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch (err) {
    throw new SignError('PAYLOAD_INVALID', 'the attestation payload is not JSON', { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || (doc._type !== IN_TOTO_STATEMENT_V1 && doc._type !== IN_TOTO_STATEMENT_V01)) {
    throw new SignError('PAYLOAD_INVALID', `the attestation payload is not an in-toto Statement (${IN_TOTO_STATEMENT_V1} or ${IN_TOTO_STATEMENT_V01})`);
  }
  if (typeof doc.predicateType !== 'string' || !Array.isArray(doc.subject)) throw new SignError('PAYLOAD_INVALID', 'an in-toto Statement needs subject and predicateType');
  const subject: StatementSubject[] = [];
  for (const s of doc.subject as unknown[]) {
    const o = s as { name?: unknown; digest?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.digest !== 'object' || o.digest === null) continue;
    for (const [alg, hex] of Object.entries(o.digest as Record<string, unknown>)) {
      const d = `${alg}:${String(hex)}`;
      if (isDigest(d)) subject.push({ name: typeof o.name === 'string' ? o.name : '', digest: d as Digest });
    }
  }
  return { type: doc._type, subject, predicateType: doc.predicateType, predicate: doc.predicate };
}

function decodeBase64(text: string): Buffer | undefined {
  const normal = text.replace(/-/g, '+').replace(/_/g, '/').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normal)) return undefined;
  return Buffer.from(normal, 'base64');
}
