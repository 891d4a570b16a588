/**
 * The one verifier of signatures and attestations: pure and synchronous. The caller fetches the
 * layer's bytes (remote.ts does, through the registry port) and hands them over with the layer's
 * descriptor, a public key and a policy; every refusal comes back as a value with a code from a
 * closed list (documented in docs/errors.md, "Verification") and a message a person can act on.
 * `portcullis verify`, the registry's gates and admission all judge through these two functions.
 */
import type { KeyObject } from 'node:crypto';
import { digestOf, isDigest, type Descriptor, type DigestAlgorithm, type Digest } from '../oci/index.js';
import { DSSE_MEDIA_TYPE, envelopePayload, IN_TOTO_PAYLOAD_TYPE, parseEnvelope, parseStatement, verifyEnvelope, type DsseEnvelope, type Statement } from './dsse.js';
import { SignError } from './errors.js';
import { SIGNATURE_ANNOTATION } from './layout.js';
import { verifyBytes } from './signature.js';
import { COSIGN_SIGNATURE_TYPE, parseSimpleSigning, SIMPLE_SIGNING_MEDIA_TYPE, type SimpleSigning } from './simple-signing.js';

/** Every reason a signature or attestation is refused; one line each in docs/errors.md. */
export const VERIFY_CODES = [
  'NOT_A_SIGNATURE',
  'NOT_AN_ENVELOPE',
  'SIGNATURE_MISSING',
  'PAYLOAD_TOO_LARGE',
  'ENVELOPE_TOO_LARGE',
  'PAYLOAD_UNREADABLE',
  'PAYLOAD_DIGEST_MISMATCH',
  'ENVELOPE_INVALID',
  'PAYLOAD_TYPE_MISMATCH',
  'SIGNATURE_MISMATCH',
  'PAYLOAD_INVALID',
  'STATEMENT_INVALID',
  'WRONG_TYPE',
  'WRONG_DIGEST',
  'REFERENCE_NOT_ALLOWED',
  'CLAIM_MISSING',
  'CLAIM_MISMATCH',
  'PREDICATE_TYPE_MISMATCH',
] as const;

export type VerifyCode = (typeof VERIFY_CODES)[number];

export interface VerifyFailure {
  readonly ok: false;
  readonly code: VerifyCode;
  readonly message: string;
}

export type VerifyResult<T> = { readonly ok: true; readonly value: T } | VerifyFailure;

/** What a signature must say to pass. */
export interface SignaturePolicy {
  /** The image (manifest digest) the signature must sign. */
  readonly digest: Digest;
  /** The docker references accepted, already normalized; `any` accepts every one (Cosign's default). */
  readonly allowedReferences: ReadonlySet<string> | 'any';
  /** Claims `optional` must hold, each an own string member with exactly this value (as Cosign's `-a`). */
  readonly claims?: Readonly<Record<string, string>>;
  /** Applied to the signed reference before it is looked up in `allowedReferences`. */
  readonly normalize?: (reference: string) => string;
}

/** What an attestation must say to pass. */
export interface AttestationPolicy {
  readonly digest: Digest;
  readonly allowedReferences: ReadonlySet<string> | 'any';
  /** The predicate type wanted; any when absent. */
  readonly predicateType?: string;
  readonly normalize?: (reference: string) => string;
  /** The largest envelope read (MAX_ENVELOPE when absent). */
  readonly maxBytes?: number;
}

export interface VerifiedAttestation {
  readonly envelope: DsseEnvelope;
  readonly statement: Statement;
}

/** A signature payload is a few hundred bytes; anything past this is not one. */
export const MAX_PAYLOAD = 1024 * 1024;

/** An attestation envelope (an SBOM inside can be large, not unbounded). */
export const MAX_ENVELOPE = 64 * 1024 * 1024;

/**
 * A signature layer (Cosign's simple signing) of the image `policy.digest` against `key`: the
 * payload's bytes and signature, its type, the digest it signs, the docker reference it names and
 * the claims asked for, in that order; the first that fails is the reason.
 */
export function verifySignature(payload: Uint8Array, layer: Descriptor, key: KeyObject, policy: SignaturePolicy): VerifyResult<SimpleSigning> {
  const screened = screenSignatureLayer(layer);
  if (screened !== undefined) return screened;
  if (payload.byteLength > MAX_PAYLOAD) return refuse('PAYLOAD_TOO_LARGE', `a payload of ${payload.byteLength} bytes is not a signature payload`);
  if (!matchesDigest(payload, layer.digest)) return refuse('PAYLOAD_DIGEST_MISMATCH', 'the payload blob does not match its digest');
  const signature = layer.annotations![SIGNATURE_ANNOTATION]!;
  if (!verifyBytes(key, payload, Buffer.from(signature, 'base64'))) return refuse('SIGNATURE_MISMATCH', 'the signature does not verify with this key (another key, or the payload or signature was altered)');
  let parsed: SimpleSigning;
  try {
    parsed = parseSimpleSigning(payload);
  } catch (err) {
    if (err instanceof SignError) return refuse('PAYLOAD_INVALID', err.message);
    throw err;
  }
  if (parsed.type !== COSIGN_SIGNATURE_TYPE) return refuse('WRONG_TYPE', `critical.type is "${printable(parsed.type)}", not "${COSIGN_SIGNATURE_TYPE}"`);
  if (parsed.digest !== policy.digest) return refuse('WRONG_DIGEST', `it signs ${parsed.digest}, not this image (${policy.digest})`);
  const { allowedReferences: allowed, normalize = (r: string) => r } = policy;
  if (allowed !== 'any' && !allowed.has(normalize(parsed.dockerReference))) {
    const named = printable(parsed.dockerReference);
    return refuse('REFERENCE_NOT_ALLOWED', `it names ${named}, not ${[...allowed].join(' or ')} (--allowed-reference ${named} accepts it)`);
  }
  const optional = parsed.optional ?? {};
  for (const [k, v] of Object.entries(policy.claims ?? {})) {
    if (!Object.hasOwn(optional, k)) return refuse('CLAIM_MISSING', `no annotation ${k}`);
    const got = optional[k];
    // As Cosign: claims are strings, compared as strings.
    if (typeof got !== 'string' || got !== v) return refuse('CLAIM_MISMATCH', `annotation ${k} is ${printable(JSON.stringify(got) ?? 'null')}, not "${v}"`);
  }
  return { ok: true, value: parsed };
}

/**
 * An attestation layer against `key`: a DSSE envelope of an in-toto statement whose subject names
 * the image `policy.digest` under an allowed repository, of the wanted predicate type.
 */
export function verifyAttestation(bytes: Uint8Array, layer: Descriptor, key: KeyObject, policy: AttestationPolicy): VerifyResult<VerifiedAttestation> {
  const limit = policy.maxBytes ?? MAX_ENVELOPE;
  const screened = screenAttestationLayer(layer, limit);
  if (screened !== undefined) return screened;
  if (bytes.byteLength > limit) return refuse('ENVELOPE_TOO_LARGE', `an envelope of ${bytes.byteLength} bytes is over the limit of ${limit}`);
  if (!matchesDigest(bytes, layer.digest)) return refuse('PAYLOAD_DIGEST_MISMATCH', 'the blob does not match its digest');
  let envelope: DsseEnvelope;
  try {
    envelope = parseEnvelope(bytes);
  } catch (err) {
    if (err instanceof SignError) return refuse('ENVELOPE_INVALID', err.message);
    throw err;
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return refuse('PAYLOAD_TYPE_MISMATCH', `payload type ${printable(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  if (envelope.signatures.length === 0) return refuse('SIGNATURE_MISSING', 'the envelope has no signatures');
  if (!verifyEnvelope(envelope, key)) return refuse('SIGNATURE_MISMATCH', 'the envelope signature does not verify with this key (another key, or the statement was altered)');
  let statement: Statement;
  try {
    statement = parseStatement(envelopePayload(envelope));
  } catch (err) {
    if (err instanceof SignError) return refuse('STATEMENT_INVALID', err.message);
    throw err;
  }
  const about = statement.subject.filter((x) => x.digest === policy.digest);
  if (about.length === 0) return refuse('WRONG_DIGEST', `the statement is about ${printable(statement.subject.map((x) => x.digest).join(', ')) || 'nothing'}, not this image (${policy.digest})`);
  const { allowedReferences: allowed, normalize = (r: string) => r } = policy;
  if (allowed !== 'any' && !about.some((x) => allowed.has(normalize(x.name)))) {
    const names = about.map((x) => printable(x.name)).join(', ');
    return refuse('REFERENCE_NOT_ALLOWED', `the statement names ${names}, not ${[...allowed].join(' or ')} (--allowed-reference ${about[0]!.name === '' ? 'REPO' : printable(about[0]!.name)} accepts it)`);
  }
  if (policy.predicateType !== undefined && statement.predicateType !== policy.predicateType) return refuse('PREDICATE_TYPE_MISMATCH', `predicate type ${printable(statement.predicateType)}, not ${policy.predicateType}`);
  return { ok: true, value: { envelope, statement } };
}

/**
 * What a signature layer's descriptor alone refuses, before a byte is read: the media type, the
 * signature annotation, the size. The fetch step asks first, so that it never reads what this
 * verifier would refuse anyway.
 */
export function screenSignatureLayer(layer: Descriptor): VerifyFailure | undefined {
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return refuse('NOT_A_SIGNATURE', `a ${printable(layer.mediaType)} layer, not a simple-signing payload`);
  const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (signature === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return refuse('SIGNATURE_MISSING', `no base64 ${SIGNATURE_ANNOTATION} annotation`);
  if (layer.size > MAX_PAYLOAD) return refuse('PAYLOAD_TOO_LARGE', `a payload of ${layer.size} bytes is not a signature payload`);
  return undefined;
}

/** As screenSignatureLayer, for an attestation layer of at most `limit` bytes. */
export function screenAttestationLayer(layer: Descriptor, limit: number): VerifyFailure | undefined {
  if (layer.mediaType !== DSSE_MEDIA_TYPE) return refuse('NOT_AN_ENVELOPE', `a ${printable(layer.mediaType)} layer, not a DSSE envelope`);
  if (layer.size > limit) return refuse('ENVELOPE_TOO_LARGE', `an envelope of ${layer.size} bytes is over the limit of ${limit}`);
  return undefined;
}

/** Text from a registry, made safe to print: no control characters (terminal escapes), bounded. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

export function refuse(code: VerifyCode, message: string): VerifyFailure {
  return { ok: false, code, message };
}

/** Whether `bytes` hash to `digest`, with the digest's own algorithm. */
function matchesDigest(bytes: Uint8Array, digest: string): boolean {
  return isDigest(digest) && digestOf(bytes, digest.slice(0, digest.indexOf(':')) as DigestAlgorithm) === digest;
}
