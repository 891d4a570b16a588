import type { Row, RowContext } from './authz-types.js';

/**
 * The audit log's routes in the authorization table. The whole log, its check and its export are
 * for system administrators; a project's administrators read their project's entries (a private
 * project the caller cannot see is 404, as everywhere).
 */
export function auditRows(ctx: RowContext): Row[] {
  const { row, project } = ctx;
  const outsider = project === 'team' ? 404 : 403;
  //                                                                                                          anon out       gst  dev  mnt  padm robot admin
  const rows = [row('GET', '/api/v1/audit', `project=${project}`, () => ({ path: `/api/v1/audit?project=${project}` }), [401, outsider, 403, 403, 403, 200, 403, 200])];
  // The routes that name no project: once (in the private project's table).
  if (project !== 'team') return rows;
  return [
    ...rows,
    row('GET', '/api/v1/audit', 'the whole log', () => ({ path: '/api/v1/audit' }), /*                                 */ [401, 403, 403, 403, 403, 403, 403, 200]),
    row('GET', '/api/v1/audit', 'the whole log, filtered', () => ({ path: '/api/v1/audit?action=artifact.push&limit=5' }), [401, 403, 403, 403, 403, 403, 403, 200]),
    row('GET', '/api/v1/audit/verify', '', () => ({ path: '/api/v1/audit/verify' }), /*                                 */ [401, 403, 403, 403, 403, 403, 403, 200]),
    row('GET', '/api/v1/audit/export', '', () => ({ path: '/api/v1/audit/export' }), /*                                 */ [401, 403, 403, 403, 403, 403, 403, 200]),
  ];
}
