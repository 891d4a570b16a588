/**
 * Webhooks on a real server: a real push through /v2 reaches a receiver on loopback, signed (the
 * signature checked by python3's hmac), while the push itself never waits for the receiver.
 * Loopback receivers need `webhooks.allowPrivate`; until the configuration has that key, the test
 * says so and skips.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { requirePythonModule } from '../helpers/env.js';
import { createProject, startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.js';
import { call, okJson, pushImage } from './management/fixtures.js';

const PYTHON = '/usr/bin/python3';

async function serverWithPrivateWebhooks(t: TestContext): Promise<TestServer | undefined> {
  try {
    return await startTestServer(t, { config: { webhooks: { allowPrivate: true } } as unknown as NonNullable<TestServerOptions['config']> });
  } catch (err) {
    if (/webhooks: unknown setting/.test((err as Error).message)) {
      t.skip('the configuration has no webhooks.allowPrivate yet (src/config/schema.ts)');
      return undefined;
    }
    throw err;
  }
}

test('a real push is posted to the project webhook, signed, without waiting for a slow receiver', { timeout: 60_000 }, async (t) => {
  if (!requirePythonModule(t, PYTHON, 'hmac', 'python3')) return;
  const s = await serverWithPrivateWebhooks(t);
  if (s === undefined) return;
  const received: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      // A slow receiver: the push must not wait for it.
      setTimeout(() => res.end('thanks'), 3_000);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => (receiver.closeAllConnections(), receiver.close(() => r()))));
  const port = (receiver.address() as AddressInfo).port;

  await createProject(s, 'team');
  const secret = 'a-project-admin-secret';
  const hook = await okJson<{ id: number }>(await call(s, s.adminAuth, 'POST', '/api/v1/projects/team/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['PUSH_ARTIFACT'], secret }), 201);

  const started = performance.now();
  const image = await pushImage(s, 'team/app', '1.0');
  const pushMs = performance.now() - started;
  assert.ok(pushMs < 2_500, `the push took ${pushMs.toFixed(0)} ms`);

  const deadline = Date.now() + 20_000;
  while (received.length === 0 && Date.now() < deadline) await sleep(50);
  assert.equal(received.length, 1, 'one delivery');
  const [got] = received;
  const signature = String(got!.headers['x-portcullis-signature']);
  const verify = "import hashlib, hmac, sys\nb = sys.stdin.buffer.read()\nsys.exit(0 if hmac.compare_digest('sha256=' + hmac.new(sys.argv[1].encode(), b, hashlib.sha256).hexdigest(), sys.argv[2]) else 1)";
  execFileSync(PYTHON, ['-c', verify, secret, signature], { input: got!.body });
  const body = JSON.parse(got!.body.toString('utf8')) as { type: string; operator: string; event_data: { resources: unknown[]; repository: unknown } };
  assert.equal(body.type, 'PUSH_ARTIFACT');
  assert.equal(body.operator, 'admin');
  assert.deepEqual(body.event_data.resources, [{ digest: image.digest, tag: '1.0', resource_url: `team/app:1.0` }]);
  assert.deepEqual(body.event_data.repository, { name: 'app', namespace: 'team', repo_full_name: 'team/app', repo_type: 'private' });

  let log: { id: string; state: string; attempts: number; statusCode: number | null }[] = [];
  while (Date.now() < deadline + 10_000) {
    log = await okJson(await call(s, s.adminAuth, 'GET', `/api/v1/projects/team/webhooks/${hook.id}/deliveries`));
    if (log[0]?.state === 'delivered') break;
    await sleep(100);
  }
  assert.deepEqual(
    log.map((d) => [d.id, d.state, d.attempts, d.statusCode]),
    [[got!.headers['x-portcullis-delivery'], 'delivered', 1, 200]],
  );
});
