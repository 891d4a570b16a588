import { AppError } from '../shared/index.js';

/** CLI failures: USAGE exits 2, everything else 1 (the guide's exit-code contract). */
export type CliErrorCode = 'USAGE' | 'FAILED';

export class CliError extends AppError<CliErrorCode> {
  /** `detail`: what the server said besides its message (`detail.gates` of a refused promotion, say). */
  constructor(code: CliErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'CliError';
  }

  get exitCode(): number {
    return this.code === 'USAGE' ? 2 : 1;
  }
}
