import { AppError } from '../shared/app-error.js';

/**
 * Error codes of the OCI Distribution Spec v1.1 (section "Error Codes"), plus RANGE_INVALID which
 * distribution uses for 416 answers to out-of-order chunks. A closed union: a code that is not
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
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

/** Statuses the spec names for particular endpoints, other than a code's default. */
export type OciStatusOverride = 409 | 413 | 416;

export class OciError extends AppError<OciErrorCode> {
  /** Set only where the spec asks for a status other than the code's default (e.g. 413). */
  readonly status: number;

  constructor(
    code: OciErrorCode,
    message: string,
    options: { cause?: unknown; detail?: Record<string, unknown>; status?: OciStatusOverride } = {},
  ) {
    super(code, message, options);
    this.name = 'OciError';
    this.status = options.status ?? OCI_ERROR_STATUS[code];
  }
}

export function isOciErrorCode(value: string): value is OciErrorCode {
  return Object.hasOwn(OCI_ERROR_STATUS, value);
}
