/**
 * Signatures and attestations in a registry, through a small port (what a registry client
 * offers): attach one both ways Cosign and OCI 1.1 know (the `.sig`/`.att` tag, a referrer), find
 * them again, and check each against a key. No I/O of its own: the caller brings the client.
 */
import type { KeyObject } from 'node:crypto';
import { digestOf, type Descriptor, type Digest } from '../oci/index.js';
import { DSSE_MEDIA_TYPE, envelopePayload, IN_TOTO_PAYLOAD_TYPE, inTotoStatement, parseEnvelope, parseStatement, signEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse.js';
import { SignError } from './errors.js';
import { ATTESTATION_ARTIFACT_TYPE, attachmentLayers, attachmentTag, PREDICATE_TYPE_ANNOTATION, referrerManifest, SIGNATURE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE, tagManifest, type AttachmentKind } from './layout.js';
import { signBytes, verifyBytes } from './signature.js';
import { COSIGN_SIGNATURE_TYPE, parseSimpleSigning, SIMPLE_SIGNING_MEDIA_TYPE, simpleSigningPayload, type SimpleSigning } from './simple-signing.js';

/** What signing and verifying need of a registry client, for one repository. */
export interface AttachmentRegistry {
  /** The manifest at a tag or digest; undefined when there is none. */
  findManifest(reference: string): Promise<{ readonly bytes: Uint8Array; readonly mediaType?: string } | undefined>;
  pushBlob(digest: string, body: Blob): Promise<void>;
  putManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<unknown>;
  /** OCI 1.1 referrers of a manifest of one artifact type (none from a registry without the API). */
  referrers(digest: string, artifactType: string): Promise<readonly Descriptor[]>;
  /** A small blob, whole; refused past `limit` bytes. */
  blobBytes(digest: string, limit: number): Promise<Uint8Array>;
}

export type Check<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'failed'; readonly reason: string };

/** A signature payload is a few hundred bytes; anything past this is not one. */
export const MAX_PAYLOAD = 1024 * 1024;

/** Stores a signature or attestation both ways: appended to Cosign's tag, and as an OCI 1.1 referrer. Returns the tag. */
export async function attach(source: AttachmentRegistry, kind: AttachmentKind, blob: Buffer, layer: Descriptor, target: Descriptor): Promise<string> {
  await source.pushBlob(layer.digest, new Blob([blob]));
  const tag = attachmentTag(target.digest as Digest, kind);
  const built = tagManifest(await tagLayers(source, tag), layer);
  await source.pushBlob(built.configDigest, new Blob([built.config]));
  await source.putManifest(tag, built.manifest, 'application/vnd.oci.image.manifest.v1+json');
  const referrer = referrerManifest(kind, layer, target);
  await source.pushBlob(referrer.configDigest, new Blob([referrer.config]));
  await source.putManifest(digestOf(referrer.manifest), referrer.manifest, 'application/vnd.oci.image.manifest.v1+json');
  return tag;
}

/** An attestation envelope (an SBOM inside can be large, not unbounded). */
export const MAX_ENVELOPE = 64 * 1024 * 1024;

export async function checkAttestation(source: AttachmentRegistry, layer: Descriptor, digest: Digest, key: KeyObject, wanted: string | undefined): Promise<Check<DsseEnvelope>> {
  if (layer.mediaType !== DSSE_MEDIA_TYPE) return { kind: 'failed', reason: `a ${layer.mediaType} layer, not a DSSE envelope` };
  if (wanted !== undefined && layer.annotations?.[PREDICATE_TYPE_ANNOTATION] !== undefined && layer.annotations[PREDICATE_TYPE_ANNOTATION] !== wanted) {
    return { kind: 'failed', reason: `predicate type ${layer.annotations[PREDICATE_TYPE_ANNOTATION]}, not ${wanted}` };
  }
  if (layer.size > MAX_ENVELOPE) return { kind: 'failed', reason: `an envelope of ${layer.size} bytes is over the limit of ${MAX_ENVELOPE}` };
  const bytes = Buffer.from(await source.blobBytes(layer.digest, MAX_ENVELOPE));
  if (digestOf(bytes) !== layer.digest) return { kind: 'failed', reason: 'the envelope blob does not match its digest' };
  try {
    const envelope = parseEnvelope(bytes);
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { kind: 'failed', reason: `payload type ${envelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}` };
    if (!verifyEnvelope(envelope, key)) return { kind: 'failed', reason: 'the envelope signature does not verify with this key (another key, or the statement was altered)' };
    const statement = parseStatement(envelopePayload(envelope));
    if (!statement.subject.some((s) => s.digest === digest)) return { kind: 'failed', reason: `the statement is about ${statement.subject.map((s) => s.digest).join(', ') || 'nothing'}, not this image (${digest})` };
    if (wanted !== undefined && statement.predicateType !== wanted) return { kind: 'failed', reason: `predicate type ${statement.predicateType}, not ${wanted}` };
    return { kind: 'ok', value: envelope };
  } catch (err) {
    if (err instanceof SignError) return { kind: 'failed', reason: err.message };
    throw err;
  }
}

/** `allowed`: the docker-references accepted, already normalized by `normalize`. */
export async function checkSignature(source: AttachmentRegistry, layer: Descriptor, digest: Digest, key: KeyObject, allowed: ReadonlySet<string>, claims: Readonly<Record<string, string>>, normalize: (reference: string) => string = (r) => r): Promise<Check<SimpleSigning>> {
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return { kind: 'failed', reason: `a ${layer.mediaType} layer, not a simple-signing payload` };
  const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (signature === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return { kind: 'failed', reason: `no base64 ${SIGNATURE_ANNOTATION} annotation` };
  if (layer.size > MAX_PAYLOAD) return { kind: 'failed', reason: `a payload of ${layer.size} bytes is not a signature payload` };
  const payload = Buffer.from(await source.blobBytes(layer.digest, MAX_PAYLOAD));
  if (digestOf(payload) !== layer.digest) return { kind: 'failed', reason: 'the payload blob does not match its digest' };
  if (!verifyBytes(key, payload, Buffer.from(signature, 'base64'))) return { kind: 'failed', reason: 'the signature does not verify with this key (another key, or the payload or signature was altered)' };
  let parsed: SimpleSigning;
  try {
    parsed = parseSimpleSigning(payload);
  } catch (err) {
    return { kind: 'failed', reason: (err as Error).message };
  }
  if (parsed.type !== COSIGN_SIGNATURE_TYPE) return { kind: 'failed', reason: `critical.type is "${parsed.type}", not "${COSIGN_SIGNATURE_TYPE}"` };
  if (parsed.digest !== digest) return { kind: 'failed', reason: `it signs ${parsed.digest}, not this image (${digest})` };
  if (!allowed.has(normalize(parsed.dockerReference))) return { kind: 'failed', reason: `it names ${parsed.dockerReference}, not ${[...allowed].join(' or ')} (--allowed-reference ${parsed.dockerReference} accepts it)` };
  for (const [k, v] of Object.entries(claims)) {
    const got = parsed.optional?.[k];
    if (got === undefined) return { kind: 'failed', reason: `no annotation ${k}` };
    if (String(got) !== v) return { kind: 'failed', reason: `annotation ${k} is "${String(got)}", not "${v}"` };
  }
  return { kind: 'ok', value: parsed };
}

/** Every signature (or attestation) layer of an image: its `.sig`/`.att` tag (as Cosign and skopeo keep them) and its referrers. */
export async function attachedLayers(source: AttachmentRegistry, digest: Digest, kind: AttachmentKind): Promise<Descriptor[]> {
  const out = await tagLayers(source, attachmentTag(digest, kind));
  for (const r of await source.referrers(digest, kind === 'sig' ? SIGNATURE_ARTIFACT_TYPE : ATTESTATION_ARTIFACT_TYPE)) {
    const m = await source.findManifest(r.digest);
    if (m === undefined) continue;
    for (const l of attachmentLayers(m.bytes, m.mediaType)) {
      if (!out.some((o) => o.digest === l.digest && o.annotations?.[SIGNATURE_ANNOTATION] === l.annotations?.[SIGNATURE_ANNOTATION])) out.push(l);
    }
  }
  return out;
}

/** The layers of a `.sig`/`.att` tag; none when the tag does not exist. */
async function tagLayers(source: AttachmentRegistry, tag: string): Promise<Descriptor[]> {
  const m = await source.findManifest(tag);
  return m === undefined ? [] : attachmentLayers(m.bytes, m.mediaType);
}


/**
 * Signs `target` (an image manifest, by digest) as Cosign does and stores the signature both
 * ways. `dockerReference` is the repository the signature names (`registry/repo`).
 */
export async function signImage(registry: AttachmentRegistry, key: KeyObject, input: { dockerReference: string; target: Descriptor; annotations?: Readonly<Record<string, string>> }): Promise<{ tag: string; layer: Descriptor }> {
  const payload = simpleSigningPayload({ dockerReference: input.dockerReference, digest: input.target.digest, ...(input.annotations !== undefined ? { annotations: input.annotations } : {}) });
  const layer: Descriptor = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(payload), size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signBytes(key, payload).toString('base64') } };
  return { tag: await attach(registry, 'sig', payload, layer, input.target), layer };
}

/** Attests `target`: an in-toto Statement v1 of the predicate, in a signed DSSE envelope, stored both ways. */
export async function attestImage(registry: AttachmentRegistry, key: KeyObject, input: { dockerReference: string; target: Descriptor; predicateType: string; predicate: unknown }): Promise<{ tag: string; layer: Descriptor }> {
  const statement = inTotoStatement([{ name: input.dockerReference, digest: input.target.digest }], input.predicateType, input.predicate);
  const envelope = Buffer.from(JSON.stringify(signEnvelope(key, IN_TOTO_PAYLOAD_TYPE, statement)));
  // Cosign marks attestation layers with an empty signature annotation: the signature is in the envelope.
  const layer: Descriptor = { mediaType: DSSE_MEDIA_TYPE, digest: digestOf(envelope), size: envelope.length, annotations: { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: input.predicateType } };
  return { tag: await attach(registry, 'att', envelope, layer, input.target), layer };
}
