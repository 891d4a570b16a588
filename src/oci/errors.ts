import { AppError } from '../shared/index.js';

/**
 * Error codes of the OCI Distribution Spec v1.1 (section "Error Codes"), plus two of
 * distribution's own: RANGE_INVALID (416, an out-of-order chunk) and PAGINATION_NUMBER_INVALID. A closed union: a code that is not
 * here cannot be written on the wire.
 */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

/** Statuses the spec names for particular endpoints, other than a code's default. */
export type OciStatusOverride = 404 | 409 | 412 | 413 | 416;

export interface OciErrorOptions {
  readonly cause?: unknown;
  readonly detail?: Record<string, unknown>;
  /** Only where the spec asks for a status other than the code's default (e.g. 413). */
  readonly status?: OciStatusOverride;
  /** Further errors reported in the same response (one per unknown blob, say). */
  readonly related?: readonly OciError[];
  /** Headers the answer needs: WWW-Authenticate on 401, Range on 416, Retry-After on 429. */
  readonly headers?: Readonly<Record<string, string>>;
}

export class OciError extends AppError<OciErrorCode> {
  readonly status: number;
  readonly related: readonly OciError[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: OciErrorCode, message: string, options: OciErrorOptions = {}) {
    super(code, message, options);
    this.name = 'OciError';
    this.status = options.status ?? OCI_ERROR_STATUS[code];
    this.related = options.related ?? [];
    this.headers = options.headers ?? {};
  }
}

export function isOciErrorCode(value: string): value is OciErrorCode {
  return Object.hasOwn(OCI_ERROR_STATUS, value);
}
