/** The gates' routes in the authorization table: policies and trusted keys (waivers and promotions join them). */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { call } from './fixtures.js';
import type { Expect, Req, Row, RowContext } from './authz-types.js';

const pem = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

export function gateRows(ctx: RowContext): Row[] {
  const { s, P, row, fresh } = ctx;
  const open = ctx.project === 'open';
  // Reads: members (and, in the public project, everyone); changes: project admins.
  const read: Expect = open ? [200, 200, 200, 200, 200, 200, 200, 200] : [401, 404, 200, 200, 200, 200, 200, 200];
  const admin = (ok: number): Expect => (open ? [401, 403, 403, 403, 403, ok, 403, ok] : [401, 404, 403, 403, 403, ok, 403, ok]);
  const freshKey = async (): Promise<string> => {
    const name = fresh('key');
    const r = await s.admin(`${P}/trusted-keys`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, publicKey: pem() }) });
    assert.equal(r.status, 201, await r.text());
    return name;
  };
  const keyGone = async (req: Req, status: number): Promise<void> => {
    const name = req.path.slice(req.path.lastIndexOf('/') + 1);
    const keys = (await (await call(s, s.adminAuth, 'GET', `${P}/trusted-keys`)).json()) as { name: string }[];
    assert.equal(keys.some((k) => k.name === name), status >= 300, `trusted key ${name} after DELETE answered ${status}`);
  };
  const freshWaiver = async (): Promise<number> => {
    const r = await s.admin('/api/v1/waivers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ project: ctx.project, ids: ['CVE-2024-0001'], reason: 'authz table', expires: '1d' }) });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    return (JSON.parse(text) as { id: number }).id;
  };
  const waiverRequest = { project: ctx.project, repository: 'app', ids: ['CVE-2024-0002'], reason: 'not reachable in our deployment', expires: '30d' };
  // Any account that may pull in the project asks; only the security team decides (none of these callers is in it).
  const member: Expect = open ? [401, 201, 201, 201, 201, 201, 201, 201] : [401, 404, 201, 201, 201, 201, 201, 201];
  const seeWaivers: Expect = open ? [401, 200, 200, 200, 200, 200, 200, 200] : [401, 404, 200, 200, 200, 200, 200, 200];
  const decide: Expect = open ? [401, 403, 403, 403, 403, 403, 403, 403] : [401, 404, 403, 403, 403, 403, 403, 403];
  // Pull on the source and push on the target (here the same project).
  const promote: Expect = open ? [401, 403, 403, 201, 201, 201, 403, 201] : [401, 404, 403, 201, 201, 201, 201, 201];
  return [
    row('POST', '/api/v1/promotions', 'within the project', () => ({ path: '/api/v1/promotions', body: { source: `${ctx.project}/app:latest`, target: `${ctx.project}/${fresh('promoted')}:v1` } }), promote),
    row('GET', '/api/v1/promotions', 'into the project', () => ({ path: `/api/v1/promotions?project=${ctx.project}` }), seeWaivers),
    row('POST', '/api/v1/waivers', 'request', () => ({ path: '/api/v1/waivers', body: waiverRequest }), member),
    row('GET', '/api/v1/waivers', 'of the project', () => ({ path: `/api/v1/waivers?project=${ctx.project}` }), seeWaivers),
    row('GET', '/api/v1/waivers/:id', '', async () => ({ path: `/api/v1/waivers/${await freshWaiver()}` }), seeWaivers),
    row('POST', '/api/v1/waivers/:id/approve', 'not by the security team', async () => ({ path: `/api/v1/waivers/${await freshWaiver()}/approve`, body: {} }), decide),
    row('POST', '/api/v1/waivers/:id/reject', 'not by the security team', async () => ({ path: `/api/v1/waivers/${await freshWaiver()}/reject`, body: {} }), decide),
    // What admission reads of an image: as the image itself (pull right).
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/facts', '', () => ({ path: `${P}/repositories/app/artifacts/latest/facts` }), read),
    row('GET', '/api/v1/projects/:project/policy', '', () => ({ path: `${P}/policy` }), read),
    row('PUT', '/api/v1/projects/:project/policy', 'immutable v* tags', () => ({ path: `${P}/policy`, body: { immutableTags: [{ repositories: '**', tags: 'v*' }] } }), admin(200)),
    row('GET', '/api/v1/projects/:project/trusted-keys', '', () => ({ path: `${P}/trusted-keys` }), read),
    row('POST', '/api/v1/projects/:project/trusted-keys', '', () => ({ path: `${P}/trusted-keys`, body: { name: fresh('ci'), publicKey: pem() } }), admin(201)),
    { ...row('DELETE', '/api/v1/projects/:project/trusted-keys/:name', '', async () => ({ path: `${P}/trusted-keys/${await freshKey()}` }), admin(204)), verify: keyGone },
  ];
}
