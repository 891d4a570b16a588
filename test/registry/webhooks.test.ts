/**
 * Webhook deliveries end to end, on both databases: events told through the registry's EventBus
 * to a WebhookService over a real metadata store and the durable job queue, posted to receivers
 * on loopback (node:http). Signatures are checked by python3's hmac, never by the code under test.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { EventBus, type RegistryEvent } from '../../src/registry/index.js';
import { WEBHOOK_JOB, WebhookError, WebhookService, type WebhookServiceDeps } from '../../src/registry/webhooks.js';
import { silentLogger, type Logger } from '../../src/shared/index.js';
import { openPostgresMetadataStore, openSqliteMetadataStore, PostgresDb, type MetadataStore } from '../../src/storage/index.js';
import { POSTGRES_URL, requirePythonModule, uniqueSchema } from '../helpers/env.js';

const PYTHON = '/usr/bin/python3';
const DIGEST = `sha256:${createHash('sha256').update('the image').digest('hex')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Verifies `X-Portcullis-Signature` with python3's hmac module: exit 0 when it matches. */
function pythonVerifies(secret: string, body: Buffer, signature: string): boolean {
  const script = [
    'import hashlib, hmac, sys',
    'body = sys.stdin.buffer.read()',
    "expected = 'sha256=' + hmac.new(sys.argv[1].encode(), body, hashlib.sha256).hexdigest()",
    'sys.exit(0 if hmac.compare_digest(expected, sys.argv[2]) else 1)',
  ].join('\n');
  try {
    execFileSync(PYTHON, ['-c', script, secret, signature], { input: body, stdio: ['pipe', 'ignore', 'inherit'] });
    return true;
  } catch (err) {
    if ((err as { status?: number }).status === 1) return false;
    throw err;
  }
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Resolves when `n` requests have arrived. */
  count(n: number, timeoutMs?: number): Promise<Received[]>;
}

/** An HTTP receiver on 127.0.0.1; `answer` decides each response (default 200). */
async function receiver(t: TestContext, answer: (n: number, res: ServerResponse) => void | Promise<void> = (_, res) => void res.end('ok')): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      for (const w of waiters.splice(0)) w();
      void Promise.resolve(answer(received.length, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    async count(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${received.length} requests, not ${n}, within ${timeoutMs} ms`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(50)]);
      }
      return received.slice(0, n);
    },
  };
}

/** Everything logged, as text: the tests check that no secret is in it. */
function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (obj: unknown, msg?: string) => void lines.push(`${level} ${typeof obj === 'string' ? obj : JSON.stringify(obj, (_, v: unknown) => (v instanceof Error ? { message: v.message } : v))} ${msg ?? ''}`);
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

interface World {
  readonly meta: MetadataStore;
  readonly service: WebhookService;
  readonly bus: EventBus;
  readonly logs: string[];
}

type Db = 'SQLite' | 'PostgreSQL';

/** A store with project `team`, a started service with fast retries, and a bus that tells it. */
async function world(t: TestContext, db: Db, deps: Partial<WebhookServiceDeps> = {}, start = true): Promise<World> {
  let meta: MetadataStore;
  if (db === 'SQLite') {
    meta = await openSqliteMetadataStore(':memory:');
    t.after(() => meta.close());
  } else {
    const schema = uniqueSchema();
    meta = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
    t.after(async () => {
      await meta.close();
      const raw = new PostgresDb({ url: POSTGRES_URL, schema });
      await raw.dropSchema();
      await raw.close();
    });
  }
  await meta.projects.create({ name: 'team', public: false, now: Date.now() });
  const logs: string[] = [];
  const service = new WebhookService({ meta, log: capturingLogger(logs), now: Date.now, holder: 'replica-a', allowPrivate: true, registryUrl: 'https://registry.example.com', backoffMs: () => 100, pollMs: 25, ...deps });
  const bus = new EventBus(Date.now, silentLogger);
  bus.add('webhooks', (e) => service.handle(e));
  if (start) service.start();
  t.after(() => service.stop());
  return { meta, service, bus, logs };
}

const push = (over: Partial<RegistryEvent> = {}): RegistryEvent => ({
  action: 'artifact.push',
  actor: 'alice',
  client: '10.1.2.3',
  project: 'team',
  resource: `team/app@${DIGEST}`,
  outcome: 'succeeded',
  detail: { repository: 'team/app', digest: DIGEST, tag: '1.0', mediaType: 'application/vnd.oci.image.manifest.v1+json', via: 'distribution' },
  ...over,
});

/** Waits until the delivery log of `webhook` has a delivery in a final state; resolves to it. */
async function settled(service: WebhookService, webhook: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [d] = await service.deliveries(webhook, { limit: 1 });
    if (d !== undefined && d.state !== 'pending') return d;
    if (Date.now() > deadline) throw new Error(`delivery still ${d?.state ?? 'missing'} after ${timeoutMs} ms: ${JSON.stringify(d)}`);
    await sleep(25);
  }
}

for (const db of ['SQLite', 'PostgreSQL'] as const) {
  describe(`webhook deliveries (${db})`, () => {
    test("a push is posted in Harbor's shape, signed with the secret (python3's hmac agrees), and logged", async (t) => {
      if (!requirePythonModule(t, PYTHON, 'hmac', 'python3')) return;
      const w = await world(t, db);
      const r = await receiver(t);
      const { webhook, generatedSecret } = await w.service.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret: undefined, format: 'default', createdBy: 'padmin' });
      assert.match(generatedSecret ?? '', /^[0-9a-f]{64}$/, 'a secret is made when none is given');
      const before = Date.now();
      await w.bus.emit(push());
      const [got] = await r.count(1);
      const h = got!.headers;
      assert.equal(h['content-type'], 'application/json');
      assert.match(String(h['x-portcullis-delivery']), UUID);
      assert.equal(h['x-portcullis-event'], 'PUSH_ARTIFACT');
      assert.equal(h['host'], `127.0.0.1:${r.port}`);
      const signature = String(h['x-portcullis-signature']);
      assert.match(signature, /^sha256=[0-9a-f]{64}$/);
      assert.ok(pythonVerifies(generatedSecret!, got!.body, signature), 'python3 verifies the signature over the exact body');
      assert.ok(!pythonVerifies(generatedSecret!, Buffer.concat([got!.body, Buffer.from(' ')]), signature), 'and refuses it for another body');
      assert.ok(!pythonVerifies('another-secret-entirely', got!.body, signature), 'and under another secret');

      const body = JSON.parse(got!.body.toString('utf8')) as Record<string, unknown>;
      assert.ok(typeof body['occur_at'] === 'number' && body['occur_at'] >= Math.floor(before / 1000) && body['occur_at'] <= Date.now() / 1000);
      assert.deepEqual(body, {
        type: 'PUSH_ARTIFACT',
        occur_at: body['occur_at'],
        operator: 'alice',
        event_data: {
          resources: [{ digest: DIGEST, tag: '1.0', resource_url: 'registry.example.com/team/app:1.0' }],
          repository: { name: 'app', namespace: 'team', repo_full_name: 'team/app', repo_type: 'private' },
          portcullis: { action: 'artifact.push', outcome: 'succeeded', project: 'team', resource: `team/app@${DIGEST}`, detail: push().detail },
        },
      });

      const d = await settled(w.service, webhook.id);
      assert.equal(d.id, h['x-portcullis-delivery']);
      assert.equal(d.state, 'delivered');
      assert.equal(d.attempts, 1);
      assert.equal(d.statusCode, 200);
      assert.equal(d.response, 'ok');
      assert.equal(d.event, 'PUSH_ARTIFACT');
      assert.equal(d.payload, got!.body.toString('utf8'));
      assert.equal(d.history.length, 1);
      assert.equal((await w.meta.jobs.counts(WEBHOOK_JOB)).done, 1);
      assert.ok(!w.logs.join('\n').includes(generatedSecret!), 'the secret is never logged');
      assert.ok(!w.logs.join('\n').includes('/hook'), 'nor the path of the receiver URL (it may hold a token)');
    });

    test('a receiver answering 500 twice gets the third attempt: same delivery id, body and signature; each attempt logged', async (t) => {
      const w = await world(t, db);
      const r = await receiver(t, (n, res) => {
        res.statusCode = n <= 2 ? 500 : 204;
        res.end(n <= 2 ? 'try later' : undefined);
      });
      const secret = 'a-secret-of-the-project-admin';
      const { webhook } = await w.service.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret, format: 'default', createdBy: null });
      await w.bus.emit(push());
      const got = await r.count(3);
      const d = await settled(w.service, webhook.id);
      assert.equal(d.state, 'delivered');
      assert.equal(d.attempts, 3);
      assert.equal(d.statusCode, 204);
      assert.equal(d.error, null);
      assert.deepEqual(
        d.history.map((a) => [a.statusCode, a.error]),
        [
          [500, 'the receiver answered 500'],
          [500, 'the receiver answered 500'],
          [204, null],
        ],
      );
      assert.equal(new Set(got.map((g) => g.headers['x-portcullis-delivery'])).size, 1, 'one delivery id in every attempt');
      assert.equal(new Set(got.map((g) => g.body.toString('hex'))).size, 1, 'the same body');
      assert.equal(new Set(got.map((g) => g.headers['x-portcullis-signature'])).size, 1, 'the same signature');
      assert.ok(got[1]!.at - got[0]!.at >= 90 && got[2]!.at - got[1]!.at >= 90, 'each retry waited its backoff');
      assert.equal(r.received.length, 3, 'nothing after the delivery succeeded');
    });

    test('a slow receiver never slows the call that emitted the event, nor the deliveries to other receivers', { timeout: 30_000 }, async (t) => {
      const w = await world(t, db);
      const slow = await receiver(t, async (_, res) => {
        await sleep(5_000);
        res.end('finally');
      });
      const fast = await receiver(t);
      const a = await w.service.create({ project: 'team', url: slow.url, events: ['PUSH_ARTIFACT'], secret: 'slow-receiver-secret', format: 'default', createdBy: null });
      await w.service.create({ project: 'team', url: fast.url, events: ['PUSH_ARTIFACT'], secret: 'fast-receiver-secret', format: 'default', createdBy: null });
      const emit = async (i: number): Promise<number> => {
        const started = performance.now();
        await w.bus.emit(push({ resource: `team/app:${i}`, detail: { repository: 'team/app', digest: DIGEST, tag: String(i) } }));
        return performance.now() - started;
      };
      const times = [await emit(0)];
      // The slow receiver now holds the first delivery for 5 s: two more pushes meanwhile.
      await slow.count(1);
      times.push(await emit(1), await emit(2));
      assert.ok(Math.max(...times) < 500, `emitting took ${times.map((x) => x.toFixed(1)).join(', ')} ms while the slow receiver sleeps 5 s`);
      const fastGot = await fast.count(3, 3_000);
      assert.ok(fastGot[2]!.at - slow.received[0]!.at < 4_000, 'the other receiver got all three while the slow one still slept');
      const d = await settled(w.service, a.webhook.id, 25_000);
      assert.equal(d.state, 'delivered');
      assert.equal(d.response, 'finally');
      assert.ok(d.history[0]!.durationMs >= 4_900, 'the attempt waited for the slow receiver');
    });
  });
}

describe('webhook deliveries: formats, failures, limits (SQLite)', () => {
  test('CloudEvents 1.0 in structured mode', async (t) => {
    const w = await world(t, 'SQLite');
    const r = await receiver(t);
    const { webhook } = await w.service.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret: 'cloudevents-secret-1', format: 'cloudevents', createdBy: null });
    await w.bus.emit(push());
    const [got] = await r.count(1);
    assert.equal(got!.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
    const body = JSON.parse(got!.body.toString('utf8')) as Record<string, unknown>;
    assert.equal(body['specversion'], '1.0');
    assert.equal(body['id'], got!.headers['x-portcullis-delivery']);
    assert.equal(body['source'], `/projects/team/webhooks/${webhook.id}`);
    assert.equal(body['type'], 'harbor.artifact.pushed');
    assert.equal(body['datacontenttype'], 'application/json');
    assert.equal(body['operator'], 'alice');
    assert.ok(!Number.isNaN(Date.parse(String(body['time']))));
    assert.deepEqual((body['data'] as Record<string, unknown>)['resources'], [{ digest: DIGEST, tag: '1.0', resource_url: 'registry.example.com/team/app:1.0' }]);
  });

  test('only subscribed events of the webhook\'s own project are delivered; a deleted webhook\'s queued deliveries post nothing', async (t) => {
    const w = await world(t, 'SQLite', {}, false);
    await w.meta.projects.create({ name: 'other', public: true, now: 1 });
    const r = await receiver(t);
    const deletes = await w.service.create({ project: 'team', url: r.url, events: ['DELETE_ARTIFACT'], secret: 'deletes-only-secret', format: 'default', createdBy: null });
    const gone = await w.service.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret: 'deleted-webhook-secret', format: 'default', createdBy: null });
    await w.bus.emit(push({ project: 'other', resource: `other/app@${DIGEST}` }));
    await w.bus.emit(push({ outcome: 'failed' }));
    await w.bus.emit({ ...push(), action: 'tag.delete', resource: 'team/app:1.0' });
    await w.bus.emit(push());
    assert.equal((await w.meta.jobs.counts(WEBHOOK_JOB)).queued, 1, 'the push to the second webhook only');
    assert.equal(await w.service.delete('team', gone.webhook.id), true);
    await w.bus.emit({ ...push(), action: 'artifact.delete', detail: { repository: 'team/app', digest: DIGEST, tags: ['1.0'] } });
    w.service.start();
    const [got] = await r.count(1);
    assert.equal(got!.headers['x-portcullis-event'], 'DELETE_ARTIFACT');
    await settled(w.service, deletes.webhook.id);
    await sleep(200);
    assert.equal(r.received.length, 1, "the deleted webhook's delivery was not posted");
    assert.deepEqual(await w.meta.jobs.counts(WEBHOOK_JOB), { queued: 0, running: 0, done: 2, failed: 0 });
  });

  test('an attempt without an answer within the timeout fails and is retried', async (t) => {
    const w = await world(t, 'SQLite', { timeoutMs: 300 });
    const r = await receiver(t, async (n, res) => {
      if (n === 1) await sleep(2_000);
      res.end('ok');
    });
    const { webhook } = await w.service.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret: 'timeout-secret-123', format: 'default', createdBy: null });
    await w.bus.emit(push());
    const d = await settled(w.service, webhook.id);
    assert.equal(d.state, 'delivered');
    assert.equal(d.attempts, 2);
    assert.equal(d.history[0]!.error, 'no answer within 0.3 s');
    assert.ok(d.history[0]!.durationMs < 1_500, `the first attempt ended after ${d.history[0]!.durationMs} ms`);
  });

  test('retries end when the window ends: the delivery fails for good, with the last error', async (t) => {
    const w = await world(t, 'SQLite', { windowMs: 350, backoffMs: (n) => 50 * 2 ** (n - 1) });
    const r = await receiver(t, (_, res) => {
      res.statusCode = 503;
      res.end('x'.repeat(5_000));
    });
    const { webhook } = await w.service.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret: 'window-secret-1234', format: 'default', createdBy: null });
    await w.bus.emit(push());
    const d = await settled(w.service, webhook.id);
    assert.equal(d.state, 'failed');
    assert.equal(d.statusCode, 503);
    assert.ok(d.attempts >= 3 && d.attempts <= 4, `${d.attempts} attempts: 50, 100, 200 ms apart within 350 ms`);
    assert.equal(d.nextAttemptAt, null);
    assert.equal(d.response?.length, 512, 'only an excerpt of the response is kept');
    await sleep(400);
    assert.equal(r.received.length, d.attempts, 'no attempt after the last one recorded');
  });

  test('at most 32 webhooks per project', async (t) => {
    const w = await world(t, 'SQLite', { resolve: async () => ['93.184.216.34'] }, false);
    for (let i = 0; i < 32; i++) await w.service.create({ project: 'team', url: `https://hooks.example.com/${i}`, events: ['PUSH_ARTIFACT'], secret: undefined, format: 'default', createdBy: null });
    await assert.rejects(w.service.create({ project: 'team', url: 'https://hooks.example.com/33', events: ['PUSH_ARTIFACT'], secret: undefined, format: 'default', createdBy: null }), (err: unknown) => err instanceof WebhookError && err.code === 'TOO_MANY_WEBHOOKS');
  });
});

describe('webhook receivers the registry must not reach', () => {
  const create = (w: World, url: string) => w.service.create({ project: 'team', url, events: ['PUSH_ARTIFACT'], secret: 'guard-secret-12345', format: 'default', createdBy: null });
  const refused = async (p: Promise<unknown>, pattern: RegExp) =>
    assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof WebhookError, String(err));
      assert.equal(err.code, 'URL_REFUSED', err.message);
      assert.match(err.message, pattern);
      return true;
    });

  test('refused at creation: loopback, link-local, metadata, private ranges, names that resolve to them, and the registry itself', async (t) => {
    const w = await world(t, 'SQLite', { allowPrivate: false, resolve: async (h) => (h === 'public.example' ? ['93.184.216.34'] : h === 'registry.example.com' ? ['203.0.113.7'] : h === 'mixed.example' ? ['93.184.216.34', '169.254.169.254'] : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }))) }, false);
    const systemDns = await world(t, 'SQLite', { allowPrivate: false }, false);
    await refused(create(w, 'http://127.0.0.1:8080/hook'), /127\.0\.0\.1 is a loopback address \(set webhooks\.allowPrivate to allow it\)/);
    await refused(create(w, 'http://[::1]:8080/hook'), /::1 is a loopback address/);
    await refused(create(w, 'http://[::ffff:127.0.0.1]/'), /loopback/);
    await refused(create(w, 'http://2130706433/'), /127\.0\.0\.1 is a loopback/);
    await refused(create(w, 'http://169.254.169.254/latest/meta-data/'), /169\.254\.169\.254 is a cloud metadata address$/);
    await refused(create(w, 'http://[fd00:ec2::254]/'), /cloud metadata/);
    await refused(create(w, 'http://metadata.google.internal/computeMetadata/v1/'), /metadata\.google\.internal is a cloud metadata address/);
    await refused(create(w, 'http://[fe80::1]/'), /link-local/);
    await refused(create(w, 'http://0.0.0.0:9000/'), /unspecified/);
    await refused(create(w, 'http://10.0.0.5/'), /private network/);
    await refused(create(w, 'http://[fd12::1]/'), /private network/);
    await refused(create(w, 'https://app.localhost/'), /loopback/);
    await refused(create(w, 'https://mixed.example/'), /mixed\.example resolves to 169\.254\.169\.254, which is a cloud metadata address/);
    await refused(create(w, 'https://registry.example.com/api/v1/users'), /the registry itself/);
    await refused(create(w, 'https://203.0.113.7/'), /the registry itself/);
    // The system resolver: localhost is loopback wherever /etc/hosts says so.
    await refused(create(systemDns, 'http://localhost:5000/hook'), /localhost (resolves to (127\.0\.0\.1|::1), which )?is a loopback address/);
    // Accepted: a public address, and a name that does not resolve now (every attempt checks it again).
    assert.equal((await create(w, 'https://public.example/hook')).webhook.url, 'https://public.example/hook');
    assert.equal((await create(w, 'https://hooks.example.com/x')).webhook.url, 'https://hooks.example.com/x');
    assert.deepEqual(await w.meta.webhooks.list('team').then((l) => l.length), 2);
  });

  test('malformed URLs are invalid', async (t) => {
    const w = await world(t, 'SQLite', {}, false);
    for (const [url, pattern] of [
      ['not a url', /not a valid URL/],
      ['ftp://hooks.example.com/', /ftp is not http or https/],
      ['https://user:pw@hooks.example.com/', /credentials/],
      ['https://hooks.example.com/#x', /fragment/],
    ] as const) {
      await assert.rejects(create(w, url), (err: unknown) => err instanceof WebhookError && err.code === 'URL_INVALID' && pattern.test(err.message));
    }
  });

  test('allowPrivate lets loopback and private receivers in, never link-local or metadata ones', async (t) => {
    const w = await world(t, 'SQLite', { allowPrivate: true }, false);
    await create(w, 'http://127.0.0.1:8080/hook');
    await create(w, 'http://10.0.0.5/');
    await create(w, 'http://localhost:8080/');
    await refused(create(w, 'http://169.254.169.254/latest/meta-data/'), /169\.254\.169\.254 is a cloud metadata address$/);
    await refused(create(w, 'http://[fd00:ec2::254]/'), /cloud metadata/);
    await refused(create(w, 'http://metadata.google.internal/'), /cloud metadata/);
    await refused(create(w, 'http://169.254.10.10/'), /link-local/);
    await refused(create(w, 'http://[fe80::1]/'), /link-local/);
  });

  test('refused at delivery: a name that resolved to a public address at creation and to loopback now (DNS rebinding) is not posted to', async (t) => {
    const r = await receiver(t);
    let calls = 0;
    const w = await world(t, 'SQLite', {
      allowPrivate: false,
      resolve: async (h) => {
        if (h !== 'rebind.example') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        return ++calls === 1 ? ['93.184.216.34'] : ['127.0.0.1'];
      },
    });
    const { webhook } = await create(w, `http://rebind.example:${r.port}/hook`);
    await w.bus.emit(push());
    const d = await settled(w.service, webhook.id);
    assert.equal(d.state, 'failed', 'refused, and not retried');
    assert.equal(d.attempts, 1);
    assert.equal(d.statusCode, null);
    assert.equal(d.error, 'refused: rebind.example resolves to 127.0.0.1, which is a loopback address (set webhooks.allowPrivate to allow it)');
    assert.equal(r.received.length, 0, 'the receiver on loopback got nothing');
  });

  test('refused at delivery: a loopback URL stored before the guard (or by another replica with allowPrivate) is not posted to', async (t) => {
    const r = await receiver(t);
    const w = await world(t, 'SQLite', { allowPrivate: false });
    const stored = await w.meta.webhooks.create({ project: 'team', url: r.url, events: ['PUSH_ARTIFACT'], secret: 'stored-secret-12345', format: 'default', enabled: true, createdAt: 1, createdBy: null });
    const metadata = await w.meta.webhooks.create({ project: 'team', url: 'http://169.254.169.254/latest/meta-data/', events: ['PUSH_ARTIFACT'], secret: 'stored-secret-12345', format: 'default', enabled: true, createdAt: 1, createdBy: null });
    await w.bus.emit(push());
    assert.match((await settled(w.service, stored!.id)).error ?? '', /^refused: 127\.0\.0\.1 is a loopback address/);
    assert.match((await settled(w.service, metadata!.id)).error ?? '', /^refused: 169\.254\.169\.254 is a cloud metadata address/);
    assert.equal(r.received.length, 0);
  });

  test('the connection goes to the address that was checked, not to what the name resolves to later', async (t) => {
    const r = await receiver(t);
    // "pinned.test" is unknown to the system's resolver: only the injected one names it.
    const w = await world(t, 'SQLite', { allowPrivate: true, resolve: async () => ['127.0.0.1'] });
    const { webhook } = await create(w, `http://pinned.test:${r.port}/hook`);
    await w.bus.emit(push());
    const [got] = await r.count(1);
    assert.equal(got!.headers['host'], `pinned.test:${r.port}`, 'the Host header names the URL');
    assert.equal((await settled(w.service, webhook.id)).state, 'delivered');
  });
});
