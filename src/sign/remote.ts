/**
 * Signatures and attestations in a registry, through a small port (what a registry client
 * offers): attach one both ways Cosign and OCI 1.1 know (the `.sig`/`.att` tag, a referrer), find
 * them again, and check each against a key. No I/O of its own: the caller brings the client.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { digestOf, isDigest, type Descriptor, type Digest } from '../oci/index.js';
import { DSSE_MEDIA_TYPE, envelopePayload, IN_TOTO_PAYLOAD_TYPE, inTotoStatement, parseEnvelope, parseStatement, signEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse.js';
import { SignError } from './errors.js';
import { ATTESTATION_ARTIFACT_TYPE, attachmentLayers, attachmentTag, layerKey, MAX_ATTACHMENT_LAYERS, PREDICATE_TYPE_ANNOTATION, referrerManifest, SIGNATURE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE, tagManifest, type AttachmentKind } from './layout.js';
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

/** An attestation envelope (an SBOM inside can be large, not unbounded). */
export const MAX_ENVELOPE = 64 * 1024 * 1024;

/**
 * An attestation layer against `key`: a DSSE envelope of an in-toto statement whose subject names
 * this image's digest and an allowed repository (`allowed`, normalized by `normalize`), of the
 * wanted predicate type. Failures of any kind are values with a reason, never exceptions.
 */
export async function checkAttestation(
  source: AttachmentRegistry,
  layer: Descriptor,
  digest: Digest,
  key: KeyObject,
  wanted: string | undefined,
  options: { allowed?: ReadonlySet<string>; normalize?: (reference: string) => string; maxBytes?: number } = {},
): Promise<Check<{ envelope: DsseEnvelope; predicateType: string }>> {
  if (layer.mediaType !== DSSE_MEDIA_TYPE) return { kind: 'failed', reason: `a ${printable(layer.mediaType)} layer, not a DSSE envelope` };
  const limit = options.maxBytes ?? MAX_ENVELOPE;
  if (layer.size > limit) return { kind: 'failed', reason: `an envelope of ${layer.size} bytes is over the limit of ${limit}` };
  const bytes = await fetchBlob(source, layer.digest, limit);
  if (typeof bytes === 'string') return { kind: 'failed', reason: bytes };
  try {
    const envelope = parseEnvelope(bytes);
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { kind: 'failed', reason: `payload type ${printable(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}` };
    if (!verifyEnvelope(envelope, key)) return { kind: 'failed', reason: 'the envelope signature does not verify with this key (another key, or the statement was altered)' };
    const statement = parseStatement(envelopePayload(envelope));
    const normalize = options.normalize ?? ((r: string) => r);
    const about = statement.subject.filter((x) => x.digest === digest);
    if (about.length === 0) return { kind: 'failed', reason: `the statement is about ${printable(statement.subject.map((x) => x.digest).join(', ')) || 'nothing'}, not this image (${digest})` };
    if (options.allowed !== undefined && !about.some((x) => options.allowed!.has(normalize(x.name)))) {
      const names = about.map((x) => printable(x.name)).join(', ');
      return { kind: 'failed', reason: `the statement names ${names}, not ${[...options.allowed].join(' or ')} (--allowed-reference ${about[0]!.name === '' ? 'REPO' : printable(about[0]!.name)} accepts it)` };
    }
    if (wanted !== undefined && statement.predicateType !== wanted) return { kind: 'failed', reason: `predicate type ${printable(statement.predicateType)}, not ${wanted}` };
    return { kind: 'ok', value: { envelope, predicateType: statement.predicateType } };
  } catch (err) {
    if (err instanceof SignError) return { kind: 'failed', reason: err.message };
    throw err;
  }
}

/** A blob's bytes checked against its digest; a reason (a string) when it cannot be read or does not match. */
async function fetchBlob(source: AttachmentRegistry, digest: string, limit: number): Promise<Buffer | string> {
  let bytes: Buffer;
  try {
    bytes = Buffer.from(await source.blobBytes(digest, limit));
  } catch (err) {
    return `the blob cannot be read: ${printable((err as Error).message)}`;
  }
  return digestOf(bytes) === digest ? bytes : 'the blob does not match its digest';
}

/** Text from a registry, made safe to print: no control characters (terminal escapes), bounded. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/**
 * Checks one signature layer of the image `digest` with `key`: the payload's signature, its type,
 * the digest it signs, the docker reference it names (one of `allowed`, already normalized by
 * `normalize`; `any` accepts every one, as Cosign's own verification does by default) and the
 * claims asked for.
 */
export async function checkSignature(source: AttachmentRegistry, layer: Descriptor, digest: Digest, key: KeyObject, allowed: ReadonlySet<string> | 'any', claims: Readonly<Record<string, string>>, normalize: (reference: string) => string = (r) => r): Promise<Check<SimpleSigning>> {
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return { kind: 'failed', reason: `a ${printable(layer.mediaType)} layer, not a simple-signing payload` };
  const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (signature === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return { kind: 'failed', reason: `no base64 ${SIGNATURE_ANNOTATION} annotation` };
  if (layer.size > MAX_PAYLOAD) return { kind: 'failed', reason: `a payload of ${layer.size} bytes is not a signature payload` };
  const payload = await fetchBlob(source, layer.digest, MAX_PAYLOAD);
  if (typeof payload === 'string') return { kind: 'failed', reason: payload.replace('the blob', 'the payload blob') };
  if (!verifyBytes(key, payload, Buffer.from(signature, 'base64'))) return { kind: 'failed', reason: 'the signature does not verify with this key (another key, or the payload or signature was altered)' };
  let parsed: SimpleSigning;
  try {
    parsed = parseSimpleSigning(payload);
  } catch (err) {
    return { kind: 'failed', reason: (err as Error).message };
  }
  if (parsed.type !== COSIGN_SIGNATURE_TYPE) return { kind: 'failed', reason: `critical.type is "${printable(parsed.type)}", not "${COSIGN_SIGNATURE_TYPE}"` };
  if (parsed.digest !== digest) return { kind: 'failed', reason: `it signs ${parsed.digest}, not this image (${digest})` };
  if (allowed !== 'any' && !allowed.has(normalize(parsed.dockerReference))) return { kind: 'failed', reason: `it names ${printable(parsed.dockerReference)}, not ${[...allowed].join(' or ')} (--allowed-reference ${printable(parsed.dockerReference)} accepts it)` };
  for (const [k, v] of Object.entries(claims)) {
    const optional = parsed.optional ?? {};
    if (!Object.hasOwn(optional, k)) return { kind: 'failed', reason: `no annotation ${k}` };
    const got = optional[k];
    // As Cosign: claims are strings, compared as strings.
    if (typeof got !== 'string' || got !== v) return { kind: 'failed', reason: `annotation ${k} is ${printable(JSON.stringify(got) ?? 'null')}, not "${v}"` };
  }
  return { kind: 'ok', value: parsed };
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
  try {
    add(await tagLayers(source, attachmentTag(digest, kind)));
  } catch (err) {
    if (!(err instanceof SignError)) throw err;
  }
  const referrers = (await source.referrers(digest, kind === 'sig' ? SIGNATURE_ARTIFACT_TYPE : ATTESTATION_ARTIFACT_TYPE)).filter((r) => isDigest(r.digest)).slice(0, MAX_ATTACHMENT_LAYERS);
  for (const r of referrers) {
    try {
      const m = await source.findManifest(r.digest);
      if (m !== undefined) add(attachmentLayers(m.bytes, m.mediaType));
    } catch (err) {
      if (!(err instanceof SignError)) throw err;
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
  // The same claims signed by the same key already: nothing to add (ECDSA signatures differ each
  // time, so signing again in every CI run would grow the .sig manifest without end).
  const tag = attachmentTag(input.target.digest, 'sig');
  const publicKey = createPublicKey(key);
  const existing = await tagLayers(registry, tag);
  const payloadDigest = digestOf(payload);
  for (const l of existing) {
    if (l.digest !== payloadDigest || l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    const sig = l.annotations?.[SIGNATURE_ANNOTATION];
    if (sig !== undefined && verifyBytes(publicKey, payload, Buffer.from(sig, 'base64'))) return { tag, layer: l };
  }
  const layer: Descriptor = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: payloadDigest, size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signBytes(key, payload).toString('base64') } };
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
