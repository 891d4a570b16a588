/**
 * Where Cosign keeps signatures and attestations in a registry, as pure data:
 *   tag-based  an image manifest tagged `sha256-<hex>.sig` (`.att`) in the image's repository,
 *              one layer per signature: the payload blob, its signature in the annotation
 *              `dev.cosignproject.cosign/signature` (attestations: a DSSE envelope blob with a
 *              `predicateType` annotation); a new signature is appended to those already there;
 *   referrers  an OCI 1.1 manifest per signature whose `subject` is the image (artifactType
 *              `application/vnd.dev.cosign.artifact.sig.v1+json`, `.att.` for attestations),
 *              an empty config and the same one layer.
 * Readers accept what other tools write too: skopeo rewrites the `.sig` manifest with its own
 * config and may list one blob twice.
 */
import { digestOf, MediaType, parseManifest, type Descriptor, type Digest } from '../oci/index.js';
import { SignError } from './errors.js';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';
export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const ATTESTATION_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.att.v1+json';
/** The empty JSON object `{}`, the config of artifacts that have none (OCI 1.1). */
const EMPTY_CONFIG = Buffer.from('{}');

export type AttachmentKind = 'sig' | 'att';

/** `sha256:abc…` → `sha256-abc….sig` (or `.att`): Cosign's tag-based discovery. */
export function attachmentTag(digest: Digest, kind: AttachmentKind): string {
  return `${digest.replace(':', '-')}.${kind}`;
}

/** A blob to store and the manifest bytes that reference it. */
export interface BuiltManifest {
  readonly manifest: Buffer;
  readonly config: Buffer;
  readonly configDigest: Digest;
}

/**
 * The `.sig`/`.att` manifest holding `existing` layers and `added` (left out when an identical
 * layer, same digest and annotations, is there already): an OCI image manifest whose config lists
 * the layers as diff ids, as Cosign's go-containerregistry writes it.
 */
export function tagManifest(existing: readonly Descriptor[], added: Descriptor): BuiltManifest {
  const layers = existing.some((l) => layerKey(l) === layerKey(added)) ? [...existing] : [...existing, added];
  if (layers.length > MAX_ATTACHMENT_LAYERS) throw new SignError('PAYLOAD_INVALID', `the signature manifest would hold more than ${MAX_ATTACHMENT_LAYERS} layers`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const configDigest = digestOf(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, size: config.length, digest: configDigest },
      layers: layers.map(descriptorJson),
    }),
  );
  return { manifest, config, configDigest };
}

/** The OCI 1.1 referrer form of one signature or attestation of `subject`. */
export function referrerManifest(kind: AttachmentKind, layer: Descriptor, subject: Descriptor): BuiltManifest {
  const configDigest = digestOf(EMPTY_CONFIG);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: kind === 'sig' ? SIGNATURE_ARTIFACT_TYPE : ATTESTATION_ARTIFACT_TYPE,
      config: { mediaType: MediaType.OciEmpty, size: EMPTY_CONFIG.length, digest: configDigest },
      layers: [descriptorJson(layer)],
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    }),
  );
  return { manifest, config: EMPTY_CONFIG, configDigest };
}

/** More layers than this in one `.sig`/`.att` manifest is refused (Cosign's own bound): reading stays cheap. */
export const MAX_ATTACHMENT_LAYERS = 1000;

/** The layers of a `.sig`/`.att` manifest or a referrer, each once (skopeo may repeat a blob). */
export function attachmentLayers(manifestBytes: Uint8Array, contentType?: string): Descriptor[] {
  let manifest;
  try {
    manifest = parseManifest(manifestBytes, contentType);
  } catch (err) {
    throw new SignError('PAYLOAD_INVALID', `the signature manifest is not a manifest: ${(err as Error).message}`, { cause: err });
  }
  if (!('layers' in manifest)) throw new SignError('PAYLOAD_INVALID', 'the signature manifest is an index, not an image manifest');
  if (manifest.layers.length > MAX_ATTACHMENT_LAYERS) throw new SignError('PAYLOAD_INVALID', `the signature manifest lists ${manifest.layers.length} layers; more than ${MAX_ATTACHMENT_LAYERS} is refused`);
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  for (const l of manifest.layers) {
    const key = layerKey(l);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(l);
  }
  return out;
}

/** What makes two layers the same: media type, digest and annotations (in key order). */
export function layerKey(d: Descriptor): string {
  const annotations = Object.entries(d.annotations ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([d.mediaType, d.digest, annotations]);
}

/** A descriptor as Go marshals ggcr's v1.Descriptor: mediaType, size, digest, then annotations. */
function descriptorJson(d: Descriptor): Record<string, unknown> {
  return { mediaType: d.mediaType, size: d.size, digest: d.digest, ...(d.annotations !== undefined && Object.keys(d.annotations).length > 0 ? { annotations: d.annotations } : {}) };
}
