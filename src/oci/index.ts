export { OciError, OCI_ERROR_STATUS, isOciErrorCode, type OciErrorCode, type OciErrorOptions, type OciStatusOverride } from './errors.js';
export { Digester, asDigest, digestOf, isDigest, parseDigest, type Digest, type DigestAlgorithm, type ParsedDigest } from './digest.js';
export { MAX_NAME_LENGTH, isProjectName, isRepositoryName, isTag, parseRepositoryName, type RepositoryName } from './names.js';
export { MANIFEST_MEDIA_TYPES, MediaType, isIndexMediaType, isManifestMediaType, type ManifestMediaType } from './media-types.js';
export {
  MAX_MANIFEST_BYTES,
  artifactTypeOf,
  blobReferences,
  manifestReferences,
  parseManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
  type Platform,
} from './manifest.js';
