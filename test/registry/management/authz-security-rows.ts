import type { Row, RowContext } from './authz-types.js';

/**
 * The security search routes in the authorization table. They name no project: any signed-in
 * caller may ask, and each answer is limited to the projects the caller may pull from
 * (test/registry/security-search.test.ts checks what each caller sees). This server has no
 * advisory DB: a vulnerability search is a CONFLICT saying so, once the caller is let in.
 */
export function securityRows(ctx: RowContext): Row[] {
  const { row, project } = ctx;
  if (project !== 'team') return [];
  //                                                                                                                anon out  gst  dev  mnt  padm robot admin
  return [
    row('GET', '/api/v1/vulnerabilities/:id/artifacts', 'no advisory DB', () => ({ path: '/api/v1/vulnerabilities/CVE-2024-3094/artifacts' }), [401, 409, 409, 409, 409, 409, 409, 409]),
    row('GET', '/api/v1/packages', '', () => ({ path: '/api/v1/packages?name=left-pad' }), /*                                       */ [401, 200, 200, 200, 200, 200, 200, 200]),
    row('GET', '/api/v1/security/summary', '', () => ({ path: '/api/v1/security/summary' }), /*                                     */ [401, 200, 200, 200, 200, 200, 200, 200]),
  ];
}
