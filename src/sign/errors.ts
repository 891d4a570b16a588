import { AppError } from '../shared/index.js';

export type SignErrorCode =
  /** Not a key Portcullis reads: no PEM block of a known type, or a block that does not parse. */
  | 'KEY_INVALID'
  /** The password does not open the encrypted private key (or the encrypted key was altered). */
  | 'KEY_PASSWORD'
  /** A key of an algorithm or size Portcullis does not sign with (ECDSA P-256/384/521, RSA ≥ 2048, Ed25519 are). */
  | 'KEY_UNSUPPORTED'
  /** A signed payload, DSSE envelope or in-toto statement that does not parse or lacks a required field. */
  | 'PAYLOAD_INVALID';

export class SignError extends AppError<SignErrorCode> {
  constructor(code: SignErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'SignError';
  }
}
