/**
 * The rows other modules add to the authorization table (test/registry/management/authz.test.ts),
 * one module per area, so that the table covers every route without one file holding them all.
 */
import { auditRows } from './authz-audit-rows.js';
import { gateRows } from './authz-gate-rows.js';
import { securityRows } from './authz-security-rows.js';
import type { Row, RowContext } from './authz-types.js';
import { webhookRows } from './authz-webhook-rows.js';

export const EXTRA_ROWS: readonly ((ctx: RowContext) => Row[])[] = [auditRows, gateRows, securityRows, webhookRows];
