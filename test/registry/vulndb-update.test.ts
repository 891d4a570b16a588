/**
 * A DB that keeps itself current (`scan.update`), against feeds served from a local HTTP server:
 * the first update after the start builds the DB and the images pushed before are re-evaluated; a
 * feed that fails is shown by GET /api/v1/system/vulndb with its error while its previous data
 * stays in the DB; replicas on one metadata store (PostgreSQL) and one blob store update once per
 * interval and all end with the DB the updating one built, a replica that joins later included,
 * after a garbage collection. Without a DB the endpoint says so.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig, type ConfigInput } from '../../src/config/index.js';
import { DB_UPDATE_JOB, displayUrl, type VulnDbView } from '../../src/registry/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { asDigest } from '../../src/oci/index.js';
import { FsBlobStore, openPostgresMetadataStore, openSqliteMetadataStore, PostgresDb, type MetadataStore } from '../../src/storage/index.js';
import { buildDb } from '../helpers/advisory-db.js';
import { POSTGRES_URL, tempDir, uniqueSchema } from '../helpers/env.js';
import type { LayerEntry } from '../helpers/images.js';
import { artifactPath, pushLayeredImage, scanStatus } from '../helpers/registry-jobs.js';
import { ADMIN_PASSWORD, basicAuth, createProject, startTestServer } from '../helpers/server.js';

// ------------------------------------------------------------------ feeds

/** The Debian security tracker's JSON (an extract): openssl in bookworm, fixed in `fixed`. */
const tracker = (fixed: string): Buffer =>
  Buffer.from(JSON.stringify({ openssl: { 'CVE-2023-5678': { description: 'Generating excessively long X9.42 DH keys may be very slow.', scope: 'local', releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency: 'medium' } } } } }));
/** GitHub advisories in OSV JSON for npm packages: [id, package, fixed]. */
const ghsa = (records: readonly (readonly [string, string, string])[]): Buffer =>
  Buffer.from(JSON.stringify(records.map(([id, name, fixed]) => ({ id, modified: '2024-02-16T21:14:18Z', aliases: [], affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }], database_specific: { severity: 'HIGH' } }))));

interface Served {
  body: Buffer;
  etag: string;
  status?: number;
}

interface FeedServer {
  readonly url: (path: string) => string;
  readonly files: Map<string, Served>;
  /** Requests per path. */
  readonly hits: Map<string, number>;
}

async function feedServer(t: TestContext, files: Map<string, Served>): Promise<FeedServer> {
  const hits = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const f = files.get(path);
    if (f === undefined) return void res.writeHead(404).end();
    if (f.status !== undefined) return void res.writeHead(f.status).end('<html>unavailable</html>');
    if (req.headers['if-none-match'] === f.etag) return void res.writeHead(304, { ETag: f.etag }).end();
    res.writeHead(200, { 'Content-Length': f.body.length, ETag: f.etag }).end(f.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: (p) => `http://127.0.0.1:${port}${p}`, files, hits };
}

// ------------------------------------------------------------------ images and API

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const STATUS = 'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n';
const npmPackage = (name: string, version: string): LayerEntry => ({ type: 'file', path: `app/node_modules/${name}/package.json`, data: JSON.stringify({ name, version, license: 'MIT' }) });
/** Debian 12 with libssl3 (source openssl), and left-pad 1.3.0 and is-even 1.0.0. */
const APP: LayerEntry[][] = [
  [
    { type: 'file', path: 'etc/os-release', data: OS_RELEASE },
    { type: 'file', path: 'var/lib/dpkg/status', data: STATUS },
  ],
  [npmPackage('left-pad', '1.3.0'), npmPackage('is-even', '1.0.0')],
];

const ADMIN = basicAuth('admin', ADMIN_PASSWORD);

async function view(url: string, auth = ADMIN): Promise<VulnDbView> {
  const res = await fetch(`${url}/api/v1/system/vulndb`, { headers: { Authorization: auth } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as VulnDbView;
}

/** Polls until `ok` holds of what `get` resolves to. */
async function until<T, S extends T>(what: string, get: () => Promise<T>, ok: (v: T) => v is S, timeoutMs?: number): Promise<S>;
async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs?: number): Promise<T>;
async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function requestUpdate(url: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/system/vulndb/update`, { method: 'POST', headers: { Authorization: ADMIN } });
  assert.equal(res.status, 202, await res.text());
}

/** The vulnerability ids of the image's report (made again against the current DB when it is stale). */
async function reportIds(url: string, repo: string, ref: string): Promise<string[]> {
  const res = await fetch(`${url}${artifactPath(repo, ref)}/scan/report?format=json`, { headers: { Authorization: ADMIN } });
  assert.equal(res.status, 200);
  const report = (await res.json()) as { Results?: { Vulnerabilities?: { VulnerabilityID: string; FixedVersion?: string }[] }[] };
  return (report.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((v) => `${v.VulnerabilityID} ${v.FixedVersion ?? '-'}`)).sort();
}

const present = (v: VulnDbView): v is Extract<VulnDbView, { present: true }> => v.present;

// ------------------------------------------------------------------ one registry

test('the first update builds the DB, images pushed before are re-evaluated; a failing feed is shown and its data kept', { timeout: 30_000 }, async (t) => {
  const feeds = await feedServer(
    t,
    new Map([
      // Down at first: the registry starts and scans all the same.
      ['/tracker.json', { body: tracker('3.0.13-1~deb12u1'), etag: '"t1"', status: 503 }],
      ['/ghsa.json', { body: ghsa([['GHSA-aaaa-bbbb-cccc', 'left-pad', '1.3.1']]), etag: '"g1"', status: 503 }],
    ]),
  );
  const token = `ghp_${'A1b2C3d4E5'.repeat(3)}f6G7h8`;
  const urls = [feeds.url('/tracker.json'), `${feeds.url('/ghsa.json')}?access_token=${token}`.replace('http://', 'http://mirror-user:s3cret@')];
  const s = await startTestServer(t, { config: { scan: { enabled: true, update: { interval: '1h', feeds: urls } } } });

  // Every feed failed: no DB, said so; the image is scanned without one.
  const failed = await until('the first update has run', () => view(s.url), (v) => v.update.lastRun !== null);
  assert.equal(failed.present, false);
  assert.match(failed.update.lastError?.message ?? '', /2 of 2 feeds failed: .*HTTP 503/);
  assert.equal(failed.update.lastSuccess, null);
  assert.deepEqual(
    failed.feeds.map((f) => [f.url, f.result, f.lastError?.message]),
    [
      [feeds.url('/tracker.json'), 'failed', 'HTTP 503 Service Unavailable'],
      [`${feeds.url('/ghsa.json')}?access_token=REDACTED`, 'failed', 'HTTP 503 Service Unavailable'],
    ],
  );
  assert.ok(!JSON.stringify(failed).includes('s3cret') && !JSON.stringify(failed).includes(token), 'no credentials in the answer');
  await createProject(s, 'team');
  const digest = (await pushLayeredImage({ url: s.url, auth: s.adminAuth }, 'team/app', '1', APP)).digest;
  const first = await scanStatus(s.url, 'team/app', digest, s.adminAuth);
  assert.equal(first.status, 'done');
  assert.equal((first as { dbBuiltAt?: string | null }).dbBuiltAt, null);

  // The feeds come back: an update builds the DB; the image pushed before is re-evaluated.
  for (const f of feeds.files.values()) delete f.status;
  await requestUpdate(s.url);
  const built = await until('the DB is there', () => view(s.url), present);
  assert.equal(built.source, 'update');
  assert.equal(built.stale, false);
  assert.equal(built.update.lastError, null);
  assert.ok(built.update.lastSuccess !== null);
  assert.deepEqual(built.counts.ecosystems, { 'debian:12': 1, npm: 1 });
  assert.deepEqual(
    built.feeds.map((f) => [f.result, f.etag, f.size !== undefined && f.size > 0]),
    [
      ['updated', '"t1"', true],
      ['updated', '"g1"', true],
    ],
  );
  const evaluated = await until('the image is re-evaluated', () => scanStatus(s.url, 'team/app', digest, s.adminAuth), (r) => (r as { dbBuiltAt?: string }).dbBuiltAt === built.builtAt);
  assert.equal(evaluated.summary?.['vulnerabilities'], 2);
  assert.deepEqual(await reportIds(s.url, 'team/app', digest), ['CVE-2023-5678 3.0.13-1~deb12u1', 'GHSA-aaaa-bbbb-cccc 1.3.1']);

  // The tracker fails; GHSA names a new advisory: the DB is rebuilt with the tracker's previous copy.
  feeds.files.get('/tracker.json')!.status = 500;
  feeds.files.set('/ghsa.json', { body: ghsa([['GHSA-aaaa-bbbb-cccc', 'left-pad', '1.3.1'], ['GHSA-dddd-eeee-ffff', 'is-even', '1.0.1']]), etag: '"g2"' });
  await requestUpdate(s.url);
  const second = await until('the second DB is there', () => view(s.url), (v): v is Extract<VulnDbView, { present: true }> => present(v) && v.builtAt !== built.builtAt);
  assert.match(second.update.lastError?.message ?? '', new RegExp(`^1 of 2 feeds failed: ${feeds.url('/tracker.json').replace(/[./]/g, '\\$&')} \\(HTTP 500 Internal Server Error; its previous copy is used\\)$`));
  assert.equal(second.update.lastSuccess, built.update.lastSuccess, 'a run with a failed feed is no success');
  assert.deepEqual(
    second.feeds.map((f) => [f.result, f.lastError?.message ?? null, f.lastSuccess === null]),
    [
      ['failed', 'HTTP 500 Internal Server Error', false],
      ['updated', null, false],
    ],
  );
  await until('the image is re-evaluated again', () => scanStatus(s.url, 'team/app', digest, s.adminAuth), (r) => (r as { dbBuiltAt?: string }).dbBuiltAt === second.builtAt);
  assert.deepEqual(await reportIds(s.url, 'team/app', digest), ['CVE-2023-5678 3.0.13-1~deb12u1', 'GHSA-aaaa-bbbb-cccc 1.3.1', 'GHSA-dddd-eeee-ffff 1.0.1'], "the tracker's data is kept");
});

test('no DB and updates off: the endpoint says so (any signed-in account); asking for an update is a conflict', async (t) => {
  const s = await startTestServer(t);
  const v = await view(s.url);
  assert.equal(v.present, false);
  assert.ok(!v.present);
  assert.match(v.hint, /portcullis db update/);
  assert.deepEqual(v.update, { enabled: false, intervalSeconds: 0, running: false, holder: null, lastRun: null, lastSuccess: null, lastError: null, nextRun: null });
  assert.deepEqual(v.feeds, []);
  assert.equal(v.maxAgeSeconds, 7 * 86_400);
  assert.equal((await fetch(`${s.url}/api/v1/system/vulndb`)).status, 401);
  const res = await fetch(`${s.url}/api/v1/system/vulndb/update`, { method: 'POST', headers: { Authorization: ADMIN } });
  assert.equal(res.status, 409);
  assert.match(await res.text(), /updates are off/);
});

test('displayUrl drops user information and the query values that look like secrets', () => {
  assert.equal(displayUrl('https://user:pw@mirror.example.com/feeds/all.zip'), 'https://mirror.example.com/feeds/all.zip');
  assert.equal(displayUrl('https://m.example.com/a.json?X-Amz-Signature=abc&X-Amz-Date=20240101T000000Z&page=2'), 'https://m.example.com/a.json?X-Amz-Signature=REDACTED&X-Amz-Date=REDACTED&page=2');
  assert.equal(displayUrl('https://m.example.com/a.json?apikey=x&v=2024'), 'https://m.example.com/a.json?apikey=REDACTED&v=2024');
  assert.equal(displayUrl('https://m.example.com/a.json?x=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5'), 'https://m.example.com/a.json?x=REDACTED');
  assert.equal(displayUrl('not a url'), '(not a URL)');
});

test('a re-evaluation is run where its DB build is: one for a build this replica lacks is left to others, one for a build it replaced is done', { timeout: 20_000 }, async (t) => {
  const s = await startTestServer(t, { config: { scan: { enabled: true } } });
  const db = join(s.dataDir, 'advisory.db');
  const builtAt = await buildDb(db, [{ id: 'CVE-2099-0001', ecosystem: 'npm', name: 'left-pad', fixed: '1.3.1', severity: 'HIGH' }], new Date(Date.now() - 60_000));
  const meta = await openSqliteMetadataStore(join(s.dataDir, 'portcullis.db'));
  t.after(() => meta.close());
  const later = new Date(Date.now() - 1_000).toISOString();
  const earlier = new Date(Date.now() - 120_000).toISOString();
  for (const b of [later, earlier]) await meta.jobs.enqueue('scan-reevaluate', b, JSON.stringify({ builtAt: b }), Date.now());
  const missing = await until('the job of the build not here is tried', () => meta.jobs.get('scan-reevaluate', later), (j) => j?.attempts === 1 && j.state === 'queued');
  assert.equal(missing?.error, `this replica does not have advisory DB build ${later} yet (it has ${builtAt})`);
  await until('the job of a replaced build is done', () => meta.jobs.get('scan-reevaluate', earlier), (j) => j?.state === 'done');
  const evaluated = await meta.settings.get('scan.evaluated-db');
  assert.ok(evaluated !== earlier && evaluated !== later, `no re-evaluation ran against a build other than the one here (${evaluated})`);
});

// ------------------------------------------------------------------ replicas

interface Replica {
  readonly server: RunningServer;
  readonly dataDir: string;
}

/** Replicas on one PostgreSQL schema and one blob store, each with its own data directory (its own `scan.db`). */
async function cluster(t: TestContext, scan: NonNullable<ConfigInput['scan']>): Promise<{ start: () => Promise<Replica>; meta: MetadataStore; storage: string }> {
  const schema = uniqueSchema();
  const storage = tempDir(t, 'portcullis-shared-storage-');
  const replicas: RunningServer[] = [];
  const meta = await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
  t.after(async () => {
    for (const r of replicas) await r.close();
    await meta.close();
    const db = new PostgresDb({ url: POSTGRES_URL, schema });
    await db.dropSchema();
    await db.close();
  });
  const start = async (): Promise<Replica> => {
    const dataDir = tempDir(t, 'portcullis-replica-');
    const text = JSON.stringify({ addr: '127.0.0.1:0', data: dataDir, database: { kind: 'postgres', url: POSTGRES_URL, schema }, storage: { path: storage }, sbom: { enabled: false }, gc: { grace: '1s' }, scan: { enabled: true, ...scan } });
    const config = loadConfig({ file: { path: 'replica.yml', text }, env: {}, flags: {}, cwd: dataDir });
    const server = await startServer({ config, log: silentLogger, adminPassword: ADMIN_PASSWORD });
    replicas.push(server);
    return { server, dataDir };
  };
  return { start, meta, storage };
}

test('two replicas: one update per interval, both end with the DB it built; a replica that joins after a collection gets it too', { timeout: 40_000 }, async (t) => {
  const feeds = await feedServer(
    t,
    new Map([
      ['/tracker.json', { body: tracker('3.0.13-1~deb12u1'), etag: '"t1"' }],
      ['/ghsa.json', { body: ghsa([['GHSA-aaaa-bbbb-cccc', 'left-pad', '1.3.1']]), etag: '"g1"' }],
    ]),
  );
  const c = await cluster(t, { update: { interval: '1h', feeds: [feeds.url('/tracker.json'), feeds.url('/ghsa.json')] } });
  const [a, b] = await Promise.all([c.start(), c.start()]);
  const urls = [a.server.url, b.server.url];
  const built = await Promise.all(urls.map((u) => until(`the DB at ${u}`, () => view(u), present)));
  assert.equal(built[0]!.builtAt, built[1]!.builtAt, 'the same build on both');
  assert.deepEqual(built.map((v) => v.source), ['update', 'update']);
  assert.deepEqual([feeds.hits.get('/tracker.json'), feeds.hits.get('/ghsa.json')], [1, 1], 'one replica fetched, once');
  assert.equal((await c.meta.jobs.counts(DB_UPDATE_JOB)).done, 1);
  const holder = built[0]!.update.holder;
  assert.ok(holder !== null && built[1]!.update.holder === holder);
  const published = JSON.parse((await c.meta.settings.get('scan.db.published'))!) as { digest: string; builtAt: string };
  assert.equal(published.builtAt, built[0]!.builtAt);

  // An image pushed to one replica is re-evaluated when the next DB arrives, whichever replica runs it.
  const created = await fetch(`${urls[1]}/api/v1/projects`, { method: 'POST', headers: { Authorization: ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'team' }) });
  assert.equal(created.status, 201);
  const digest = (await pushLayeredImage({ url: urls[1]!, auth: ADMIN }, 'team/app', '1', APP)).digest;
  assert.equal((await scanStatus(urls[0]!, 'team/app', digest, ADMIN)).summary?.['vulnerabilities'], 2);
  feeds.files.set('/ghsa.json', { body: ghsa([['GHSA-aaaa-bbbb-cccc', 'left-pad', '1.3.1'], ['GHSA-dddd-eeee-ffff', 'is-even', '1.0.1']]), etag: '"g2"' });
  await requestUpdate(urls[1]!);
  const next = await Promise.all(urls.map((u) => until(`the second DB at ${u}`, () => view(u), (v): v is Extract<VulnDbView, { present: true }> => present(v) && v.builtAt !== built[0]!.builtAt)));
  assert.equal(next[0]!.builtAt, next[1]!.builtAt);
  assert.deepEqual([feeds.hits.get('/tracker.json'), feeds.hits.get('/ghsa.json')], [2, 2], 'the asked-for update ran once');
  const evaluated = await until('the image is re-evaluated', () => scanStatus(urls[0]!, 'team/app', digest, ADMIN), (r) => (r as { dbBuiltAt?: string }).dbBuiltAt === next[0]!.builtAt);
  assert.equal(evaluated.summary?.['vulnerabilities'], 3);

  // A collection after the grace: the DB blob let go is deleted (or collected now), the pinned one stays.
  const current = JSON.parse((await c.meta.settings.get('scan.db.published'))!) as { digest: string };
  assert.notEqual(current.digest, published.digest);
  await new Promise((r) => setTimeout(r, 1100));
  const gc = await fetch(`${urls[0]}/api/v1/system/gc`, { method: 'POST', headers: { Authorization: ADMIN, 'Content-Type': 'application/json' }, body: '{}' });
  const report = (await gc.json()) as { blobs: { digest: string }[] };
  assert.ok(!report.blobs.some((x) => x.digest === current.digest), 'the published DB is not collected');
  assert.equal(await statBlob(c.storage, current.digest), true);
  assert.equal(await statBlob(c.storage, published.digest), false, 'the DB blob let go is gone');

  // Scale-out: a third replica, a fresh data directory, installs the published DB (and fetches nothing).
  const third = await c.start();
  const joined = await until('the DB on the third replica', () => view(third.server.url), present);
  assert.equal(joined.builtAt, next[0]!.builtAt);
  assert.deepEqual([feeds.hits.get('/tracker.json'), feeds.hits.get('/ghsa.json')], [2, 2]);
});

test('two replicas, a short interval: every interval is one job run by one replica, and the feeds are fetched once per run', { timeout: 30_000 }, async (t) => {
  const feeds = await feedServer(t, new Map([['/ghsa.json', { body: ghsa([['GHSA-aaaa-bbbb-cccc', 'left-pad', '1.3.1']]), etag: '"g1"' }]]));
  const c = await cluster(t, { update: { interval: '2s', feeds: [feeds.url('/ghsa.json')] } });
  const replicas = await Promise.all([c.start(), c.start()]);
  await until('three intervals updated', () => c.meta.jobs.counts(DB_UPDATE_JOB), (n) => n.done >= 3, 20_000);
  for (const r of replicas) await r.server.close();
  const counts = await c.meta.jobs.counts(DB_UPDATE_JOB);
  const fetched = feeds.hits.get('/ghsa.json') ?? 0;
  // One job per interval (its key), each run once: never more fetches than jobs, but for one a close
  // interrupted (it went back to the queue). A job claimed after its interval ended fetches nothing.
  assert.ok(fetched >= 2 && fetched <= counts.done + 1, `${fetched} fetches for ${counts.done} runs done (${JSON.stringify(counts)})`);
  assert.equal(counts.failed, 0);
});

async function statBlob(storage: string, digest: string): Promise<boolean> {
  return (await new FsBlobStore(storage).stat(asDigest(digest))) !== undefined;
}
