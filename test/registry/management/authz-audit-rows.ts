import type { Row, RowContext } from './authz-types.js';

/** The audit log's routes in the authorization table. */
export function auditRows(ctx: RowContext): Row[] {
  void ctx;
  return [];
}
