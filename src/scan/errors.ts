import { AppError } from '../shared/index.js';

export type ScanErrorCode =
  /** An ignore file (`.trivyignore` or `.trivyignore.yaml`) that cannot be read as one: the message names the file and line. */
  | 'IGNOREFILE_INVALID'
  /** A VEX document that is not OpenVEX JSON, or a statement that cannot be used: the message names the file and statement. */
  | 'VEX_INVALID';

export class ScanError extends AppError<ScanErrorCode> {
  constructor(code: ScanErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'ScanError';
  }
}
