import { AppError } from '../shared/index.js';

export type PolicyErrorCode =
  /** A policy document that does not validate; `detail.path` names the bad key. */
  'POLICY_INVALID';

export class PolicyError extends AppError<PolicyErrorCode> {
  constructor(code: PolicyErrorCode, message: string, options: { detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'PolicyError';
  }
}
