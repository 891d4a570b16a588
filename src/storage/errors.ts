import { AppError } from '../shared/index.js';

export type StorageErrorCode =
  /** The content does not hash to the digest the caller expected. */
  | 'DIGEST_MISMATCH'
  /** The content is not as long as the caller declared. */
  | 'SIZE_MISMATCH'
  /** A chunk was offered at an offset other than the end of the staged data. */
  | 'OFFSET_MISMATCH'
  /** No upload session with that id. */
  | 'UPLOAD_UNKNOWN'
  /** A uniqueness rule was broken (a user, project or robot name taken). */
  | 'CONFLICT'
  /** The row to change does not exist. */
  | 'NOT_FOUND'
  /** The schema in the database is newer than this build knows. */
  | 'SCHEMA_TOO_NEW'
  /** The backend cannot be reached or refused the operation. */
  | 'UNAVAILABLE';

export class StorageError extends AppError<StorageErrorCode> {
  constructor(code: StorageErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'StorageError';
  }
}
