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
  return [
    row('GET', '/api/v1/projects/:project/policy', '', () => ({ path: `${P}/policy` }), read),
    row('PUT', '/api/v1/projects/:project/policy', 'immutable v* tags', () => ({ path: `${P}/policy`, body: { immutableTags: [{ repositories: '**', tags: 'v*' }] } }), admin(200)),
    row('GET', '/api/v1/projects/:project/trusted-keys', '', () => ({ path: `${P}/trusted-keys` }), read),
    row('POST', '/api/v1/projects/:project/trusted-keys', '', () => ({ path: `${P}/trusted-keys`, body: { name: fresh('ci'), publicKey: pem() } }), admin(201)),
    { ...row('DELETE', '/api/v1/projects/:project/trusted-keys/:name', '', async () => ({ path: `${P}/trusted-keys/${await freshKey()}` }), admin(204)), verify: keyGone },
  ];
}
