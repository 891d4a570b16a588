import { AppError } from '../shared/index.js';

export type VulnErrorCode =
  /** A feed file (or URL) is not in any format Portcullis reads, or cannot be parsed at all. */
  | 'FEED_INVALID'
  /** A feed file or directory cannot be read, or a download failed. */
  | 'FEED_UNREADABLE'
  /** The file is not a Portcullis advisory DB (a foreign SQLite file, a corrupt file, not SQLite at all). */
  | 'DB_INVALID'
  /** The advisory DB was built by another schema version than this scanner reads. */
  | 'DB_SCHEMA'
  /** No advisory DB at the path given. */
  | 'DB_NOT_FOUND'
  /** A CVSS vector that cannot be parsed. */
  | 'CVSS_INVALID';

export class VulnError extends AppError<VulnErrorCode> {
  constructor(code: VulnErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'VulnError';
  }
}
