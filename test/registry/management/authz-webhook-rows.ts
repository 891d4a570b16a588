import type { Row, RowContext } from './authz-types.js';

/** The webhook routes in the authorization table. */
export function webhookRows(ctx: RowContext): Row[] {
  void ctx;
  return [];
}
