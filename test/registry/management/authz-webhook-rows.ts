import assert from 'node:assert/strict';
import type { Row, RowContext } from './authz-types.js';

/**
 * The webhook routes in the authorization table: project admins and administrators only, reading
 * included (a receiver URL can be a credential). The receivers are a TEST-NET address and the
 * event one that never happens here, so nothing is ever posted.
 */
export function webhookRows(ctx: RowContext): Row[] {
  const { s, P, project, row } = ctx;
  const W = `${P}/webhooks`;
  const body = { url: 'https://203.0.113.10/hook', events: ['WAIVER_DECIDED'], secret: 'authz-table-secret-1' };
  /** A fresh webhook of the project, made by the administrator; resolves to its path. */
  const freshWebhook = async (): Promise<string> => {
    const res = await s.admin(W, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    assert.equal(res.status, 201, text);
    return `${W}/${(JSON.parse(text) as { id: number }).id}`;
  };
  let shared: Promise<string> | undefined;
  const sharedWebhook = () => (shared ??= freshWebhook());

  if (project === 'open') {
    // The public project: visible to everyone, so callers without the admin role get 403 rather than 404.
    //                                                                                                     anon out  gst  dev  mnt  padm robot admin
    return [
      row('POST', '/api/v1/projects/:project/webhooks', '', () => ({ path: W, body }), /*                   */ [401, 403, 403, 403, 403, 201, 403, 201]),
      row('GET', '/api/v1/projects/:project/webhooks', '', () => ({ path: W }), /*                          */ [401, 403, 403, 403, 403, 200, 403, 200]),
      row('GET', '/api/v1/projects/:project/webhooks/:id', '', async () => ({ path: await sharedWebhook() }), [401, 403, 403, 403, 403, 200, 403, 200]),
      row('DELETE', '/api/v1/projects/:project/webhooks/:id', '', async () => ({ path: await freshWebhook() }), [401, 403, 403, 403, 403, 204, 403, 204]),
      row('GET', '/api/v1/projects/:project/webhooks/:id/deliveries', '', async () => ({ path: `${await sharedWebhook()}/deliveries` }), [401, 403, 403, 403, 403, 200, 403, 200]),
    ];
  }
  //                                                                                                       anon out  gst  dev  mnt  padm robot admin
  return [
    row('POST', '/api/v1/projects/:project/webhooks', '', () => ({ path: W, body }), /*                     */ [401, 404, 403, 403, 403, 201, 403, 201]),
    row('GET', '/api/v1/projects/:project/webhooks', '', () => ({ path: W }), /*                            */ [401, 404, 403, 403, 403, 200, 403, 200]),
    row('GET', '/api/v1/projects/:project/webhooks/:id', '', async () => ({ path: await sharedWebhook() }), [401, 404, 403, 403, 403, 200, 403, 200]),
    row('DELETE', '/api/v1/projects/:project/webhooks/:id', '', async () => ({ path: await freshWebhook() }), [401, 404, 403, 403, 403, 204, 403, 204]),
    row('GET', '/api/v1/projects/:project/webhooks/:id/deliveries', '', async () => ({ path: `${await sharedWebhook()}/deliveries` }), [401, 404, 403, 403, 403, 200, 403, 200]),
  ];
}
