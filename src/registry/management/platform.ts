import type { MetadataStore, ArtifactRecord } from '../../storage/index.js';
import { pickPlatform, platformImages } from '../platform-images.js';
import { ApiError } from './errors.js';

/**
 * The image a request about `artifact` means: the artifact itself, or the image of a
 * multi-platform index for `?platform=` (which an index needs and an image refuses: a per-image
 * document of an index would be one platform's, silently).
 */
export async function forPlatform(meta: Pick<MetadataStore, 'artifacts'>, name: string, artifact: ArtifactRecord, platform: string | undefined, what: string): Promise<ArtifactRecord> {
  const images = await platformImages(meta, name, artifact);
  if (images === undefined) {
    if (platform !== undefined) throw new ApiError('BAD_REQUEST', `?platform= picks an image of a multi-platform index; ${name}@${artifact.digest} is not one: leave it out`);
    return artifact;
  }
  const offered = images.map((i) => i.platform).join(', ') || 'none';
  if (platform === undefined) throw new ApiError('BAD_REQUEST', `${name}@${artifact.digest} is a multi-platform index: ask for the ${what} of one of its platforms with ?platform= (${offered})`);
  if (platform.length > 100) throw new ApiError('BAD_REQUEST', 'platform is OS/ARCH[/VARIANT], e.g. linux/arm64/v8: what was given is longer than 100 characters');
  let picked;
  try {
    picked = pickPlatform(images, platform);
  } catch (err) {
    throw new ApiError('BAD_REQUEST', err instanceof Error ? err.message : String(err));
  }
  if (picked === undefined) throw new ApiError('NOT_FOUND', `${name}@${artifact.digest} has no image for ${platform.slice(0, 60)}; it offers: ${offered}`);
  return picked.artifact;
}
