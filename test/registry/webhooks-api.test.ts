/**
 * The webhook routes of the management API on a real server: what they accept and refuse, what
 * they answer (never a secret), and that nothing they log holds one. Who may call them is the
 * authorization table's (test/registry/management/authz-webhook-rows.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../src/shared/index.js';
import { createProject, startTestServer } from '../helpers/server.js';
import { apiError, call, okJson } from './management/fixtures.js';

function capturingLogger(lines: string[]): Logger {
  const log = (obj: unknown, msg?: string) => void lines.push(`${typeof obj === 'string' ? obj : JSON.stringify(obj, (_, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v))} ${msg ?? ''}`);
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

interface WebhookJson {
  id: number;
  project: string;
  url: string;
  events: string[];
  format: string;
  enabled: boolean;
  createdAt: string;
  createdBy: string | null;
  secret?: string;
}

test('webhooks through the management API: create, read, list, deliveries, delete; secrets never come back', async (t) => {
  const logs: string[] = [];
  const s = await startTestServer(t, { log: capturingLogger(logs) });
  await createProject(s, 'team');
  await createProject(s, 'other');
  const P = '/api/v1/projects/team/webhooks';
  const secret = 'the-project-admins-own-secret';

  const created = await okJson<WebhookJson>(await call(s, s.adminAuth, 'POST', P, { url: 'https://203.0.113.10/hooks/abc?token=t0k3n', events: ['PUSH_ARTIFACT', 'SCANNING_FAILED', 'PUSH_ARTIFACT'], secret }), 201);
  assert.deepEqual(created, {
    id: created.id,
    project: 'team',
    url: 'https://203.0.113.10/hooks/abc?token=t0k3n',
    events: ['PUSH_ARTIFACT', 'SCANNING_FAILED'],
    format: 'default',
    enabled: true,
    createdAt: created.createdAt,
    createdBy: 'admin',
  });
  const generated = await okJson<WebhookJson>(await call(s, s.adminAuth, 'POST', P, { url: 'https://203.0.113.11/', events: ['PROMOTION_REFUSED'], format: 'cloudevents' }), 201);
  assert.match(generated.secret ?? '', /^[0-9a-f]{64}$/, 'a secret made by the registry is shown once, in the answer to the POST');

  const listText = await (await call(s, s.adminAuth, 'GET', P)).text();
  const list = JSON.parse(listText) as WebhookJson[];
  assert.deepEqual(
    list.map((w) => [w.id, w.format]),
    [
      [created.id, 'default'],
      [generated.id, 'cloudevents'],
    ],
  );
  const one = await (await call(s, s.adminAuth, 'GET', `${P}/${generated.id}`)).text();
  for (const text of [listText, one]) {
    assert.ok(!text.includes(secret) && !text.includes(generated.secret!) && !text.includes('"secret"'), `no secret in ${text}`);
  }
  assert.deepEqual(await okJson(await call(s, s.adminAuth, 'GET', `${P}/${created.id}/deliveries`)), []);

  // Refused and invalid requests name what is wrong.
  const bad = async (body: unknown, pattern: RegExp) => assert.match((await apiError(await call(s, s.adminAuth, 'POST', P, body), 400, 'BAD_REQUEST')).message, pattern);
  await bad({ url: 'http://127.0.0.1:5000/v2/', events: ['PUSH_ARTIFACT'] }, /^url: refused: 127\.0\.0\.1 is a loopback address/);
  await bad({ url: 'http://169.254.169.254/latest/meta-data/', events: ['PUSH_ARTIFACT'] }, /cloud metadata address/);
  await bad({ url: 'http://localhost:8080/', events: ['PUSH_ARTIFACT'] }, /loopback/);
  await bad({ url: 'http://[::1]/', events: ['PUSH_ARTIFACT'] }, /loopback/);
  await bad({ url: 'file:///etc/passwd', events: ['PUSH_ARTIFACT'] }, /^url: file is not http or https/);
  await bad({ url: 'https://203.0.113.10/', events: [] }, /^events: /);
  await bad({ url: 'https://203.0.113.10/', events: ['PUSH_IMAGE'] }, /^events\.0: /);
  await bad({ url: 'https://203.0.113.10/', events: ['PUSH_ARTIFACT'], format: 'xml' }, /^format: /);
  await bad({ url: 'https://203.0.113.10/', events: ['PUSH_ARTIFACT'], secret: 'short' }, /^secret: at least 16 characters/);
  await bad({ url: 'https://203.0.113.10/', events: ['PUSH_ARTIFACT'], enabled: false }, /unknown field enabled/);

  // Another project's webhook, or no webhook at all, is not found.
  await apiError(await call(s, s.adminAuth, 'GET', `/api/v1/projects/other/webhooks/${created.id}`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'DELETE', `/api/v1/projects/other/webhooks/${created.id}`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'GET', `/api/v1/projects/other/webhooks/${created.id}/deliveries`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'GET', `${P}/abc`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'GET', `${P}/99999999`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'GET', `${P}/1e3/deliveries?page_size=5`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'GET', `${P}/${created.id}/deliveries?page_size=0`), 400, 'BAD_REQUEST');
  await apiError(await call(s, s.adminAuth, 'POST', '/api/v1/projects/nope/webhooks', { url: 'https://203.0.113.10/', events: ['PUSH_ARTIFACT'] }), 404, 'NOT_FOUND');

  const del = await call(s, s.adminAuth, 'DELETE', `${P}/${created.id}`);
  assert.equal(del.status, 204);
  await apiError(await call(s, s.adminAuth, 'GET', `${P}/${created.id}`), 404, 'NOT_FOUND');
  await apiError(await call(s, s.adminAuth, 'DELETE', `${P}/${created.id}`), 404, 'NOT_FOUND');

  const all = logs.join('\n');
  assert.ok(all.includes('webhook created'), 'creations are logged');
  assert.ok(!all.includes(secret) && !all.includes(generated.secret!), 'no secret in the server log');
  assert.ok(!all.includes('t0k3n'), "nor a receiver URL's query (it may hold a token)");
});
