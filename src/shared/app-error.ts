/**
 * The one error base of Portcullis. Every module narrows `C` to a closed union of its own codes,
 * so callers and tests switch on `code`, never on message text. The HTTP status is chosen at the
 * edge (see registry/http-errors.ts), never here.
 */
export class AppError<C extends string = string> extends Error {
  readonly code: C;
  /** Structured facts for the wire (`detail` in OCI errors) or for logs; never secrets. */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: C, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.detail = options.detail;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
