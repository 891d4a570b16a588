import { AppError } from '../shared/index.js';

export type AdmissionErrorCode =
  /** The request is no AdmissionReview this webhook can read (answered 400). */
  | 'BAD_REVIEW'
  /** The policy file cannot be read, or does not validate (the message names the bad key's path). */
  | 'POLICY_INVALID'
  /** The serving certificate or key cannot be read. */
  | 'TLS_INVALID';

export class AdmissionError extends AppError<AdmissionErrorCode> {
  constructor(code: AdmissionErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'AdmissionError';
  }
}
