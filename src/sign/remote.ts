/**
 * Signatures and attestations in a registry, through a small port (what a registry client
 * offers): attach one both ways Cosign and OCI 1.1 know (the `.sig`/`.att` tag, a referrer), find
 * them again, and fetch each layer's bytes for the verifier (verify.ts, which judges). No I/O of
 * its own: the caller brings the client.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { digestOf, isDigest, type Descriptor, type Digest } from '../oci/index.js';
import { DSSE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, inTotoStatement, signEnvelope } from './dsse.js';
import { SignError } from './errors.js';
import { ATTESTATION_ARTIFACT_TYPE, attachmentLayers, attachmentTag, layerKey, MAX_ATTACHMENT_LAYERS, PREDICATE_TYPE_ANNOTATION, referrerManifest, SIGNATURE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE, tagManifest, type AttachmentKind } from './layout.js';
import { signBytes } from './signature.js';
import { SIMPLE_SIGNING_MEDIA_TYPE, simpleSigningPayload, type SimpleSigning } from './simple-signing.js';
import {
  MAX_ENVELOPE,
  MAX_PAYLOAD,
  printable,
  refuse,
  screenAttestationLayer,
  screenSignatureLayer,
  verifyAttestation,
  verifySignature,
  type AttestationPolicy,
  type SignaturePolicy,
  type VerifiedAttestation,
  type VerifyResult,
} from './verify.js';

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

/** Stores a signature or attestation both ways: appended to Cosign's tag, and as an OCI 1.1 referrer. Returns the tag. */
export async function attach(source: AttachmentRegistry, kind: AttachmentKind, blob: Buffer, layer: Descriptor, target: Descriptor, existing?: readonly Descriptor[]): Promise<string> {
  await source.pushBlob(layer.digest, new Blob([blob]));
  const tag = attachmentTag(target.digest as Digest, kind);
  const built = tagManifest(existing ?? (await tagLayers(source, tag)), layer);
  await source.pushBlob(built.configDigest, new Blob([built.config]));
  await source.putManifest(tag, built.manifest, 'application/vnd.oci.image.manifest.v1+json');
  const referrer = referrerManifest(kind, layer, target);
  await source.pushBlob(referrer.configDigest, new Blob([referrer.config]));
  await source.putManifest(digestOf(referrer.manifest), referrer.manifest, 'application/vnd.oci.image.manifest.v1+json');
  return tag;
}

/**
 * The fetch step for a signature layer: its payload blob, read whole up to MAX_PAYLOAD. A layer
 * the verifier would refuse on its descriptor alone is not read; a blob the registry cannot give
 * is PAYLOAD_UNREADABLE, a value like every other refusal. The bytes are not checked here:
 * verifySignature checks them against the layer's digest.
 */
export async function fetchSignaturePayload(source: Pick<AttachmentRegistry, 'blobBytes'>, layer: Descriptor): Promise<VerifyResult<Buffer>> {
  return screenSignatureLayer(layer) ?? fetchBlob(source, layer.digest, MAX_PAYLOAD, 'the payload blob');
}

/** The fetch step for an attestation layer: its DSSE envelope, read whole up to `maxBytes`. */
export async function fetchAttestationEnvelope(source: Pick<AttachmentRegistry, 'blobBytes'>, layer: Descriptor, maxBytes: number = MAX_ENVELOPE): Promise<VerifyResult<Buffer>> {
  return screenAttestationLayer(layer, maxBytes) ?? fetchBlob(source, layer.digest, maxBytes, 'the blob');
}

/** Fetches one signature layer and verifies it: fetchSignaturePayload, then verifySignature. */
export async function fetchAndVerifySignature(source: Pick<AttachmentRegistry, 'blobBytes'>, layer: Descriptor, key: KeyObject, policy: SignaturePolicy): Promise<VerifyResult<SimpleSigning>> {
  const payload = await fetchSignaturePayload(source, layer);
  return payload.ok ? verifySignature(payload.value, layer, key, policy) : payload;
}

/** Fetches one attestation layer and verifies it: fetchAttestationEnvelope, then verifyAttestation. */
export async function fetchAndVerifyAttestation(source: Pick<AttachmentRegistry, 'blobBytes'>, layer: Descriptor, key: KeyObject, policy: AttestationPolicy): Promise<VerifyResult<VerifiedAttestation>> {
  const envelope = await fetchAttestationEnvelope(source, layer, policy.maxBytes);
  return envelope.ok ? verifyAttestation(envelope.value, layer, key, policy) : envelope;
}

/** A blob's bytes, at most `limit`; any failure of the registry is a PAYLOAD_UNREADABLE value. */
async function fetchBlob(source: Pick<AttachmentRegistry, 'blobBytes'>, digest: string, limit: number, what: string): Promise<VerifyResult<Buffer>> {
  try {
    return { ok: true, value: Buffer.from(await source.blobBytes(digest, limit)) };
  } catch (err) {
    return refuse('PAYLOAD_UNREADABLE', `${what} cannot be read: ${printable(err instanceof Error ? err.message : String(err))}`);
  }
}

/**
 * Every signature (or attestation) layer of an image, each once: its `.sig`/`.att` tag (as Cosign
 * and skopeo keep them) and its referrers (at most MAX_ATTACHMENT_LAYERS of them). A referrer that
 * cannot be read is skipped: one bad attachment must not hide the good ones.
 */
export async function attachedLayers(source: AttachmentRegistry, digest: Digest, kind: AttachmentKind): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  const seen = new Set<string>();
  const add = (layers: readonly Descriptor[]): void => {
    for (const l of layers) {
      const key = layerKey(l);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(l);
    }
  };
  // The tag and the referrers are asked for at once, and the referrers' manifests eight at a time:
  // a round trip each, not one per attachment (admission pays this on every uncached review).
  const unlessBad = async (read: () => Promise<readonly Descriptor[]>): Promise<readonly Descriptor[]> => {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof SignError)) throw err;
      return [];
    }
  };
  const [tagged, listed] = await Promise.all([
    unlessBad(() => tagLayers(source, attachmentTag(digest, kind))),
    source.referrers(digest, kind === 'sig' ? SIGNATURE_ARTIFACT_TYPE : ATTESTATION_ARTIFACT_TYPE),
  ]);
  add(tagged);
  const referrers = listed.filter((r) => isDigest(r.digest)).slice(0, MAX_ATTACHMENT_LAYERS);
  // At most 8 in flight: an image may carry up to MAX_ATTACHMENT_LAYERS referrers.
  for (let i = 0; i < referrers.length; i += 8) {
    const manifests = await Promise.all(
      referrers.slice(i, i + 8).map((r) =>
        unlessBad(async () => {
          const m = await source.findManifest(r.digest);
          return m === undefined ? [] : attachmentLayers(m.bytes, m.mediaType);
        }),
      ),
    );
    for (const layers of manifests) add(layers);
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
  // The same claims signed by the same key already: nothing to add (ECDSA signatures differ each
  // time, so signing again in every CI run would grow the .sig manifest without end).
  const tag = attachmentTag(input.target.digest, 'sig');
  const publicKey = createPublicKey(key);
  const existing = await tagLayers(registry, tag);
  // A layer these very bytes pass is one: its digest is theirs, and the key signed them.
  const same = existing.find((l) => verifySignature(payload, l, publicKey, { digest: input.target.digest, allowedReferences: 'any' }).ok);
  if (same !== undefined) return { tag, layer: same };
  const layer: Descriptor = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(payload), size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signBytes(key, payload).toString('base64') } };
  return { tag: await attach(registry, 'sig', payload, layer, input.target, existing), layer };
}

/** Attests `target`: an in-toto Statement v1 of the predicate, in a signed DSSE envelope, stored both ways. */
export async function attestImage(registry: AttachmentRegistry, key: KeyObject, input: { dockerReference: string; target: Descriptor; predicateType: string; predicate: unknown }): Promise<{ tag: string; layer: Descriptor }> {
  const statement = inTotoStatement([{ name: input.dockerReference, digest: input.target.digest }], input.predicateType, input.predicate);
  const envelope = Buffer.from(JSON.stringify(signEnvelope(key, IN_TOTO_PAYLOAD_TYPE, statement)));
  // Cosign marks attestation layers with an empty signature annotation: the signature is in the envelope.
  const layer: Descriptor = { mediaType: DSSE_MEDIA_TYPE, digest: digestOf(envelope), size: envelope.length, annotations: { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: input.predicateType } };
  return { tag: await attach(registry, 'att', envelope, layer, input.target), layer };
}
