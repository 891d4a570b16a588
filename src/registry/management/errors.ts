import { AppError } from '../../shared/index.js';

/** The management API's error codes and their HTTP statuses, in one table (docs/errors.md lists them). */
export const API_ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  POLICY_REFUSED: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export class ApiError extends AppError<ApiErrorCode> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  /** `detail` is sent with the error (`{code, message, detail}`): facts a program acts on, never secrets. */
  constructor(code: ApiErrorCode, message: string, options: { headers?: Record<string, string>; cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, { ...(options.cause === undefined ? {} : { cause: options.cause }), ...(options.detail === undefined ? {} : { detail: options.detail }) });
    this.name = 'ApiError';
    this.status = API_ERROR_STATUS[code];
    this.headers = options.headers ?? {};
  }
}
