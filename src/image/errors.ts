import { AppError } from '../shared/index.js';

export type ImageErrorCode =
  /** The source string names no known kind of source, or a malformed reference. */
  | 'SOURCE_INVALID'
  /** The image, tag, file or blob is not there. */
  | 'NOT_FOUND'
  /** The registry wants credentials that were not given, or refused them. */
  | 'UNAUTHORIZED'
  /** No manifest of the index matches the platform asked for. */
  | 'PLATFORM_NOT_FOUND'
  /** A manifest, index, config or archive index is not what the spec says. */
  | 'MANIFEST_INVALID'
  /** Content does not hash to the digest that names it. */
  | 'DIGEST_MISMATCH'
  /** A layer is not a valid (compressed) tar archive. */
  | 'LAYER_INVALID'
  /** A layer ends in the middle of an entry. */
  | 'LAYER_TRUNCATED'
  /** A media type or compression this reader does not handle. */
  | 'UNSUPPORTED'
  /** The registry could not be reached or answered with a server error. */
  | 'NETWORK'
  /** The registry's policy refuses the pull (412: a vulnerable or unsigned image); its message says why. */
  | 'DENIED'
  /** Symbolic links loop, or lead out of the image root. */
  | 'LINK_LOOP';

export class ImageError extends AppError<ImageErrorCode> {
  constructor(code: ImageErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'ImageError';
  }
}
