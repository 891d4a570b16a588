import { isDigest, type Digest } from './digest.js';
import { OciError } from './errors.js';
import { MediaType, isManifestMediaType, type ManifestMediaType } from './media-types.js';

/** distribution's and the OCI spec's customary limit on a manifest body. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly platform?: Platform;
}

interface ManifestCommon {
  readonly mediaType: ManifestMediaType;
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest extends ManifestCommon {
  readonly kind: 'image';
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageIndex extends ManifestCommon {
  readonly kind: 'index';
  readonly manifests: readonly Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

/**
 * Parses and validates a manifest body as received on PUT. The media type comes from the body's
 * `mediaType` field, else from the request's Content-Type, else from the document's shape (umoci
 * writes OCI manifests without `mediaType`); when both are given they must agree.
 */
export function parseManifest(body: Uint8Array, contentType: string | undefined): Manifest {
  if (body.byteLength > MAX_MANIFEST_BYTES) {
    throw new OciError('MANIFEST_INVALID', `manifest is ${body.byteLength} bytes; the limit is ${MAX_MANIFEST_BYTES}`, { status: 413 });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new OciError('MANIFEST_INVALID', `manifest is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');

  const declared = optionalString(doc, 'mediaType', '');
  const header = normaliseContentType(contentType);
  if (declared === MediaType.DockerSchema1 || declared === MediaType.DockerSchema1Signed || header === MediaType.DockerSchema1 || header === MediaType.DockerSchema1Signed || doc['schemaVersion'] === 1) {
    throw new OciError('MANIFEST_INVALID', 'Docker schema 1 manifests are not supported: convert the image with `skopeo copy --format v2s2` or push it with a current client');
  }
  if (doc['schemaVersion'] !== 2) throw invalid('schemaVersion must be 2');

  let mediaType: string;
  if (declared !== undefined) {
    if (header !== undefined && isManifestMediaType(header) && header !== declared) {
      throw invalid(`Content-Type "${header}" does not match the manifest's mediaType "${declared}"`);
    }
    mediaType = declared;
  } else if (header !== undefined && isManifestMediaType(header)) {
    mediaType = header;
  } else {
    mediaType = Array.isArray(doc['manifests']) ? MediaType.OciIndex : MediaType.OciManifest;
  }
  if (!isManifestMediaType(mediaType)) {
    throw invalid(`unsupported manifest media type "${mediaType}": expected one of ${[MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList].join(', ')}`);
  }
  // Docker's formats require the field; OCI's make it optional.
  if (declared === undefined && (mediaType === MediaType.DockerManifest || mediaType === MediaType.DockerManifestList)) {
    throw invalid(`a ${mediaType} manifest must carry its mediaType field`);
  }

  const common = {
    mediaType,
    ...(doc['subject'] !== undefined ? { subject: descriptor(doc['subject'], 'subject') } : {}),
    ...(doc['artifactType'] !== undefined ? { artifactType: mediaTypeString(doc['artifactType'], 'artifactType') } : {}),
    ...(doc['annotations'] !== undefined ? { annotations: annotations(doc['annotations'], 'annotations') } : {}),
  };

  if (mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList) {
    if (!Array.isArray(doc['manifests'])) throw invalid('an index must have a manifests array');
    if (doc['config'] !== undefined || doc['layers'] !== undefined) throw invalid('an index must not have config or layers');
    const manifests = doc['manifests'].map((d, i) => descriptor(d, `manifests[${i}]`));
    if (mediaType === MediaType.DockerManifestList) {
      for (const [i, m] of manifests.entries()) {
        if (m.platform === undefined) throw invalid(`manifests[${i}] of a Docker manifest list needs a platform`);
      }
    }
    return { kind: 'index', ...common, manifests };
  }

  if (doc['manifests'] !== undefined) throw invalid('an image manifest must not have a manifests array');
  const config = descriptor(doc['config'], 'config');
  if (!Array.isArray(doc['layers'])) throw invalid('an image manifest must have a layers array');
  const layers = doc['layers'].map((d, i) => descriptor(d, `layers[${i}]`));
  if (config.mediaType === MediaType.OciEmpty && common.artifactType === undefined) {
    throw invalid('artifactType is required when config.mediaType is application/vnd.oci.empty.v1+json');
  }
  return { kind: 'image', ...common, config, layers };
}

/** Blobs a manifest needs in its repository: config and layers, except foreign layers fetched from `urls`. */
export function blobReferences(m: Manifest): Digest[] {
  if (m.kind === 'index') return [];
  const out = [m.config.digest];
  for (const l of m.layers) if (l.urls === undefined || l.urls.length === 0) out.push(l.digest);
  return unique(out);
}

/** Manifests an index needs in its repository. */
export function manifestReferences(m: Manifest): Digest[] {
  return m.kind === 'index' ? unique(m.manifests.map((d) => d.digest)) : [];
}

/** The artifactType the referrers API reports: the field, else (for image manifests) config.mediaType. */
export function artifactTypeOf(m: Manifest): string | undefined {
  if (m.artifactType !== undefined) return m.artifactType;
  return m.kind === 'image' ? m.config.mediaType : undefined;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const mediaType = mediaTypeString(value['mediaType'], `${where}.mediaType`);
  const digest = value['digest'];
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw new OciError('MANIFEST_INVALID', `${where}.digest is not a valid digest`, { detail: { field: `${where}.digest` } });
  }
  const size = value['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  const out: { -readonly [K in keyof Descriptor]: Descriptor[K] } = { mediaType, digest, size };
  if (value['urls'] !== undefined) {
    if (!Array.isArray(value['urls']) || !value['urls'].every((u) => typeof u === 'string')) throw invalid(`${where}.urls must be an array of strings`);
    out.urls = value['urls'] as string[];
  }
  if (value['annotations'] !== undefined) out.annotations = annotations(value['annotations'], `${where}.annotations`);
  if (value['artifactType'] !== undefined) out.artifactType = mediaTypeString(value['artifactType'], `${where}.artifactType`);
  if (value['platform'] !== undefined) out.platform = platform(value['platform'], `${where}.platform`);
  return out;
}

function platform(value: unknown, where: string): Platform {
  if (!isObject(value)) throw invalid(`${where} must be an object`);
  const architecture = value['architecture'];
  const os = value['os'];
  if (typeof architecture !== 'string' || typeof os !== 'string') throw invalid(`${where} needs string architecture and os`);
  const out: { -readonly [K in keyof Platform]: Platform[K] } = { architecture, os };
  const variant = optionalString(value, 'variant', where);
  if (variant !== undefined) out.variant = variant;
  const osVersion = optionalString(value, 'os.version', where);
  if (osVersion !== undefined) out['os.version'] = osVersion;
  const features = value['os.features'];
  if (features !== undefined) {
    if (!Array.isArray(features) || !features.every((f) => typeof f === 'string')) throw invalid(`${where}.os.features must be an array of strings`);
    out['os.features'] = features as string[];
  }
  return out;
}

// RFC 6838 type/subtype (a +suffix is part of the subtype); no parameters.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function mediaTypeString(value: unknown, where: string): string {
  if (typeof value !== 'string' || !MEDIA_TYPE_RE.test(value)) throw invalid(`${where} must be a media type such as application/vnd.oci.image.layer.v1.tar+gzip`);
  return value;
}

function annotations(value: unknown, where: string): Record<string, string> {
  if (!isObject(value)) throw invalid(`${where} must be an object of strings`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid(`${where}["${k}"] must be a string`);
  }
  return value as Record<string, string>;
}

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`${where ? `${where}.` : ''}${key} must be a string`);
  return v;
}

function normaliseContentType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bare = value.split(';')[0]!.trim().toLowerCase();
  return bare === '' ? undefined : bare;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): OciError {
  return new OciError('MANIFEST_INVALID', `invalid manifest: ${message}`);
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
