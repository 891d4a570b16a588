/**
 * The images of a multi-platform index, as the registry stores them: what the scan, SBOM and
 * facts routes answer for when asked about an index. Each platform's image is scanned and SBOM'd
 * on its own (a client pushes it by digest before the index); the index is judged by all of them.
 */
import { isIndexMediaType, parseManifest, type Digest, type Platform } from '../oci/index.js';
import { formatPlatform, parsePlatform, platformMatches } from '../image/index.js';
import type { ArtifactRecord, MetadataStore } from '../storage/index.js';
import { isImageArtifact } from './scan-summary.js';

export interface PlatformImage {
  /** `linux/arm64/v8`, as `--platform` reads it. */
  readonly platform: string;
  /** The index's platform of the entry, for matching. */
  readonly spec: Platform;
  readonly digest: Digest;
  readonly artifact: ArtifactRecord;
}

/** BuildKit lists its provenance and SBOM attestations in the index as images of platform unknown/unknown. */
const ATTESTATION_REFERENCE = 'vnd.docker.reference.type';

/**
 * The container images an index lists, in its order, with their platforms; undefined when the
 * artifact is no index. Entries that are no image of a platform (BuildKit's attestation
 * manifests, nested indexes, artifacts) and entries the repository lacks are left out.
 */
export async function platformImages(meta: Pick<MetadataStore, 'artifacts'>, repository: string, artifact: ArtifactRecord): Promise<PlatformImage[] | undefined> {
  if (!isIndexMediaType(artifact.mediaType)) return undefined;
  const m = await meta.artifacts.getManifest(repository, artifact.digest, true);
  if (m?.content === undefined) return undefined;
  const index = parseManifest(m.content, m.mediaType);
  if (index.kind !== 'index') return undefined;
  const out: PlatformImage[] = [];
  for (const d of index.manifests) {
    if (d.platform === undefined || d.platform.os === 'unknown' || d.annotations?.[ATTESTATION_REFERENCE] !== undefined) continue;
    const child = await meta.artifacts.getArtifact(repository, d.digest);
    if (child === undefined || !isImageArtifact(child)) continue;
    out.push({ platform: formatPlatform(d.platform), spec: d.platform, digest: d.digest, artifact: child });
  }
  return out;
}

/**
 * The image of `images` for `wanted` (`linux/amd64`; arm64 means v8 as containerd reads it), or
 * undefined. A malformed platform throws the image layer's SOURCE_INVALID error.
 */
export function pickPlatform(images: readonly PlatformImage[], wanted: string): PlatformImage | undefined {
  const want = parsePlatform(wanted);
  return images.find((i) => platformMatches(want, i.spec));
}
