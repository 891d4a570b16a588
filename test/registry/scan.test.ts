/**
 * Scanning in the registry: a pushed image is scanned in the background against an advisory DB
 * built here from hand-written feed records; the management API serves the summary and Trivy's
 * JSON report with the image's authorization; replacing the DB re-evaluates every stored image
 * from its stored SBOM and names exactly the images that gained a vulnerability. The queue
 * survives a restart.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import type { Logger } from '../../src/shared/index.js';
import { buildDb, type Advisory } from '../helpers/advisory-db.js';
import { tempDir } from '../helpers/env.js';
import { makeTar, type LayerEntry } from '../helpers/images.js';
import { digestOf, pushBlob, pushManifest, type Target } from '../helpers/push.js';
import { settled } from '../helpers/registry-jobs.js';
import { basicAuth, createProject, createRobot, createUser, startTestServer, type TestServer } from '../helpers/server.js';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const STATUS = [
  'Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n',
  'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n',
].join('\n');
// A GitHub token (the format only: 36 characters that were never a real token).
const TOKEN = `ghp_${'A1b2C3d4E5'.repeat(3)}f6G7h8`;

const npmPackage = (name: string, version: string): LayerEntry => ({ type: 'file', path: `app/node_modules/${name}/package.json`, data: JSON.stringify({ name, version, license: 'MIT' }) });

/**
 * Pushes an image of the given layers. Its config has no Cmd, no User and no Healthcheck: the
 * image config checks find exactly those three things (no command, runs as root, no health check).
 */
async function pushImage(target: Target, repo: string, tag: string, layerEntries: readonly (readonly LayerEntry[])[]): Promise<string> {
  const layers = await Promise.all(layerEntries.map(async (entries) => ({ tar: await makeTar(entries), gz: Buffer.alloc(0) })));
  for (const l of layers) l.gz = gzipSync(l.tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l.tar)) }, config: {} }));
  for (const l of layers) await pushBlob(target, repo, l.gz);
  await pushBlob(target, repo, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l.gz), size: l.gz.length })),
  });
  return pushManifest(target, repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

/** Debian 12 with bash and libc6 (source glibc), left-pad 1.3.0, and a file holding a token. */
const debianApp = (): LayerEntry[][] => [
  [
    { type: 'file', path: 'etc/os-release', data: OS_RELEASE },
    { type: 'file', path: 'var/lib/dpkg/status', data: STATUS },
  ],
  [npmPackage('left-pad', '1.3.0'), { type: 'file', path: 'app/deploy.env', data: `GITHUB_TOKEN=${TOKEN}\n` }],
];
/** No distribution, one npm package. */
const npmOnly = (name: string, version: string): LayerEntry[][] => [[npmPackage(name, version)]];

// ------------------------------------------------------------------ the advisory DB

const V1: readonly Advisory[] = [
  { id: 'CVE-2099-1001', ecosystem: 'debian:12', name: 'bash', fixed: '5.2.15-2+deb12u1', severity: 'HIGH' },
  { id: 'CVE-2099-1002', ecosystem: 'debian:12', name: 'glibc', severity: 'LOW' },
  { id: 'CVE-2099-1003', ecosystem: 'npm', name: 'left-pad', fixed: '1.3.1', severity: 'CRITICAL' },
  // Not installed in any image: must match nothing.
  { id: 'CVE-2099-1009', ecosystem: 'npm', name: 'right-pad', fixed: '9.9.9', severity: 'CRITICAL' },
];
const V2: readonly Advisory[] = [...V1, { id: 'CVE-2099-2001', ecosystem: 'npm', name: 'left-pad', severity: 'MEDIUM' }];
const V3: readonly Advisory[] = [...V2, { id: 'CVE-2099-3001', ecosystem: 'npm', name: 'is-even', fixed: '1.0.1', severity: 'HIGH' }];

// ------------------------------------------------------------------ API helpers

interface ScanStatus {
  status: string;
  summary: Record<string, unknown>;
  vulnerabilitiesEvaluated: boolean;
  dbBuiltAt: string | null;
  scannedAt: string;
  warnings: string[];
}

interface TrivyReport {
  Results?: { Target: string; Class: string; Vulnerabilities?: { VulnerabilityID: string; PkgName: string; InstalledVersion: string; FixedVersion?: string; Severity: string }[]; Secrets?: { RuleID: string }[]; Misconfigurations?: { ID: string }[] }[];
}

const scanPath = (repo: string, ref: string) => `/api/v1/projects/${repo.split('/')[0]}/repositories/${repo.split('/').slice(1).join('/')}/artifacts/${ref}/scan`;

async function waitForScan(url: string, path: string, auth: string, timeoutMs = 30_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}${path}`, { headers: { Authorization: auth } });
    if (res.status !== 202) return res;
    const body = (await res.json()) as { status: string };
    assert.equal(body.status, 'pending');
    if (Date.now() > deadline) throw new Error(`${path} was not scanned within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function scanned(s: { url: string }, repo: string, ref: string, auth: string): Promise<ScanStatus> {
  const res = await waitForScan(s.url, scanPath(repo, ref), auth);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as ScanStatus;
}

async function vulnerabilities(s: TestServer, repo: string, ref: string): Promise<string[]> {
  const res = await s.admin(`${scanPath(repo, ref)}/report?format=json`);
  assert.equal(res.status, 200);
  const report = (await res.json()) as TrivyReport;
  return (report.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((v) => `${v.VulnerabilityID} ${v.PkgName} ${v.InstalledVersion} ${v.FixedVersion ?? '-'} ${v.Severity}`)).sort();
}

async function reevaluate(s: TestServer): Promise<{ evaluated: number; skipped: number; dbBuiltAt: string; newlyAffected: { repository: string; digest: string; tags: string[]; newVulnerabilities: string[] }[] }> {
  const res = await s.admin('/api/v1/system/vulndb/reevaluate', { method: 'POST' });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as Awaited<ReturnType<typeof reevaluate>>;
}

/** Pushes an SBOM artifact of an image that lists no package, dated far in the future (a forgery anyone with push rights can make). */
async function pushForgedSbom(target: Target, repo: string, image: string): Promise<void> {
  const res = await fetch(`${target.url}/v2/${repo}/manifests/${image}`, { headers: { Authorization: target.auth!, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image, size: (await res.arrayBuffer()).byteLength };
  const doc = Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [] }));
  const empty = Buffer.from('{}');
  await pushBlob(target, repo, doc);
  await pushBlob(target, repo, empty);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.cyclonedx+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: empty.length },
    layers: [{ mediaType: 'application/vnd.cyclonedx+json', digest: digestOf(doc), size: doc.length }],
    subject,
    annotations: { 'org.opencontainers.image.created': '2999-01-01T00:00:00Z' },
  });
  await pushManifest(target, repo, digestOf(manifest), manifest, 'application/vnd.oci.image.manifest.v1+json');
}

type Counts = Partial<Record<'critical' | 'high' | 'medium' | 'low' | 'unknown', number>>;
const SEVERITY_KEYS = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

/** The summary the API must show for findings counted by hand per class: every class by severity, each class's total and breakdown. */
function expectedSummary(vulnerabilities: Counts, fixable: number, secrets: Counts, misconfigurations: Counts): Record<string, unknown> {
  const full = (c: Counts) => Object.fromEntries(SEVERITY_KEYS.map((k) => [k, c[k] ?? 0]));
  const sum = (c: Counts) => SEVERITY_KEYS.reduce((n, k) => n + (c[k] ?? 0), 0);
  return {
    ...Object.fromEntries(SEVERITY_KEYS.map((k) => [k, (vulnerabilities[k] ?? 0) + (secrets[k] ?? 0) + (misconfigurations[k] ?? 0)])),
    fixable,
    vulnerabilities: sum(vulnerabilities),
    secrets: sum(secrets),
    misconfigurations: sum(misconfigurations),
    byClass: { vulnerabilities: full(vulnerabilities), secrets: full(secrets), misconfigurations: full(misconfigurations) },
  };
}

/** The image config checks on an image without Cmd, User or Healthcheck: PCL-IMG-002 (medium), DS002 (high), DS026 (low). */
const CONFIG_FINDINGS: Counts = { high: 1, medium: 1, low: 1 };
/** debianApp against V1: bash (high, fixable), glibc (low), left-pad (critical, fixable); the GitHub token (critical). */
const APP_V1 = expectedSummary({ critical: 1, high: 1, low: 1 }, 2, { critical: 1 }, CONFIG_FINDINGS);
const zeros = expectedSummary({}, 0, {}, CONFIG_FINDINGS);

/** A logger that keeps every entry (the tests look for the newly-affected lines). */
function capturingLogger(): { log: Logger; entries: { msg: string; obj: Record<string, unknown> }[] } {
  const entries: { msg: string; obj: Record<string, unknown> }[] = [];
  const fn = (obj: Record<string, unknown> | string, msg?: string) => {
    if (typeof obj === 'string') entries.push({ msg: obj, obj: {} });
    else entries.push({ msg: msg ?? '', obj });
  };
  const log: Logger = { debug: fn, info: fn, warn: fn, error: fn, child: () => log };
  return { log, entries };
}

for (const database of ['sqlite', 'postgres'] as const) {
  // With the SBOM worker on, re-evaluation reads its SBOM; with it off, the scan keeps one itself.
  const sbom = database === 'postgres';
  describe(`scanning in the registry (${database}, SBOM worker ${sbom ? 'on' : 'off'})`, () => {
    test('pushed images are scanned; the summary and report are exact; a new DB names exactly the newly affected images', { timeout: 120_000 }, async (t) => {
      const dir = tempDir(t, 'portcullis-vulndb-');
      const db = join(dir, 'advisory.db');
      const now = Date.now();
      const v1 = await buildDb(db, V1, new Date(now - 3000));
      const { log, entries } = capturingLogger();
      const s = await startTestServer(t, { database, log, config: { scan: { enabled: true, db }, sbom: { enabled: sbom } } });
      await createProject(s, 'team');
      const admin: Target = { url: s.url, auth: s.adminAuth };
      const app = await pushImage(admin, 'team/app', '1.0', debianApp());
      const other = await pushImage(admin, 'team/other', '2.0', npmOnly('is-even', '1.0.0'));

      const a = await scanned(s, 'team/app', '1.0', s.adminAuth);
      assert.equal(a.status, 'done');
      assert.deepEqual(a.summary, APP_V1);
      // Every class counts by severity: two critical findings, a CVE and the token.
      assert.equal(a.summary['critical'], 2);
      assert.equal(a.dbBuiltAt, v1);
      assert.equal(a.vulnerabilitiesEvaluated, true);
      assert.deepEqual(a.warnings, []);
      assert.ok(Math.abs(Date.parse(a.scannedAt) - Date.now()) < 120_000);
      assert.deepEqual(await vulnerabilities(s, 'team/app', app), [
        'CVE-2099-1001 bash 5.2.15-2+b2 5.2.15-2+deb12u1 HIGH',
        'CVE-2099-1002 libc6 2.36-9+deb12u4 - LOW',
        'CVE-2099-1003 left-pad 1.3.0 1.3.1 CRITICAL',
      ]);
      const report = (await (await s.admin(`${scanPath('team/app', '1.0')}/report`)).json()) as TrivyReport;
      assert.deepEqual(report.Results?.flatMap((r) => (r.Secrets ?? []).map((x) => `${r.Target} ${x.RuleID}`)), ['/app/deploy.env github-pat']);
      assert.deepEqual(report.Results?.flatMap((r) => (r.Misconfigurations ?? []).map((x) => x.ID)).length, 3);
      assert.deepEqual((await scanned(s, 'team/other', other, s.adminAuth)).summary, zeros);
      assert.deepEqual(await vulnerabilities(s, 'team/other', '2.0'), []);

      // The report is a referrer of the image, as the SBOMs are.
      const referrers = (await (await s.admin(`/v2/team/app/referrers/${app}?artifactType=${encodeURIComponent('application/vnd.portcullis.scan-report.v1+json')}`)).json()) as { manifests: unknown[] };
      assert.equal(referrers.manifests.length, 1);
      // Re-evaluation reads the stored SBOM: with the SBOM worker on, wait until it is there.
      if (sbom) for (const [repo, ref] of [['team/app', app], ['team/other', other]] as const) assert.equal((await settled(s.url, scanPath(repo, ref).replace(/\/scan$/, '/sbom'), s.adminAuth)).status, 200);

      // Anyone who may push can add an SBOM artifact of the image, newer than Portcullis's, that
      // lists nothing: re-evaluation and the rebuilt report must go on reading Portcullis's own.
      await pushForgedSbom(admin, 'team/app', app);

      // DB v2: one more advisory, for left-pad. Only team/app gains it.
      const v2 = await buildDb(db, V2, new Date(now - 2000));
      const first = await reevaluate(s);
      assert.equal(first.dbBuiltAt, v2);
      assert.equal(first.evaluated, 2);
      assert.equal(first.skipped, 0);
      assert.deepEqual(first.newlyAffected, [{ repository: 'team/app', digest: app, tags: ['1.0'], newVulnerabilities: ['CVE-2099-2001'] }]);
      const after = await scanned(s, 'team/app', '1.0', s.adminAuth);
      assert.deepEqual(after.summary, expectedSummary({ critical: 1, high: 1, medium: 1, low: 1 }, 2, { critical: 1 }, CONFIG_FINDINGS), 'secrets and config findings carry over');
      assert.equal(after.dbBuiltAt, v2);
      assert.ok((await vulnerabilities(s, 'team/app', '1.0')).includes('CVE-2099-2001 left-pad 1.3.0 - MEDIUM'));
      assert.equal(((await (await s.admin(`/v2/team/app/referrers/${app}?artifactType=${encodeURIComponent('application/vnd.portcullis.scan-report.v1+json')}`)).json()) as { manifests: unknown[] }).manifests.length, 1, 'the replaced report is gone');
      assert.deepEqual((await reevaluate(s)).newlyAffected, [], 'the same DB again: nothing is new');
      assert.ok(!entries.some((e) => e.msg === 'a new advisory DB: every stored image will be re-evaluated' && e.obj['dbBuiltAt'] === v2), 'the worker did not re-run what the API did');

      // DB v3, seen by the worker (a push starts a batch): it re-evaluates on its own and logs team/other.
      const v3 = await buildDb(db, V3, new Date(now - 1000));
      await pushImage(admin, 'team/third', '3.0', npmOnly('is-odd', '3.0.0'));
      await scanned(s, 'team/third', '3.0', s.adminAuth);
      const deadline = Date.now() + 30_000;
      while (!entries.some((e) => e.msg === 'stored images re-evaluated' && e.obj['dbBuiltAt'] === v3)) {
        if (Date.now() > deadline) assert.fail('the worker did not re-evaluate the stored images against the new DB');
        await new Promise((r) => setTimeout(r, 100));
      }
      const auto = await scanned(s, 'team/other', '2.0', s.adminAuth);
      assert.equal(auto.dbBuiltAt, v3);
      assert.deepEqual(auto.summary, expectedSummary({ high: 1 }, 1, {}, CONFIG_FINDINGS));
      const logged = entries.filter((e) => e.msg === 'image newly affected').map((e) => [e.obj['repository'], e.obj['digest'], e.obj['newVulnerabilities'], e.obj['dbBuiltAt']]);
      assert.deepEqual(logged, [
        ['team/app', app, ['CVE-2099-2001'], v2],
        ['team/other', other, ['CVE-2099-3001'], v3],
      ]);
      assert.deepEqual((await reevaluate(s)).newlyAffected, []);

      // Crates the DB holds nothing for: not "no vulnerabilities" but a warning that says so.
      const rust = await pushImage(admin, 'team/rust', '1.0', [[{ type: 'file', path: 'app/Cargo.lock', data: 'version = 3\n\n[[package]]\nname = "smallvec"\nversion = "1.6.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n' }]]);
      assert.deepEqual((await scanned(s, 'team/rust', rust, s.adminAuth)).warnings, ['the advisory DB holds no data for crates.io: 1 crates.io package was not checked for vulnerabilities']);
    });
  });
}

test('without an advisory DB the scan still finds secrets and config problems, and says vulnerabilities were not evaluated', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t, 'portcullis-vulndb-'), 'advisory.db');
  const s = await startTestServer(t, { config: { scan: { enabled: true, db } } });
  await createProject(s, 'team');
  const digest = await pushImage({ url: s.url, auth: s.adminAuth }, 'team/app', '1.0', debianApp());
  const r = await scanned(s, 'team/app', digest, s.adminAuth);
  assert.deepEqual(r.summary, expectedSummary({}, 0, { critical: 1 }, CONFIG_FINDINGS));
  assert.equal(r.vulnerabilitiesEvaluated, false);
  assert.equal(r.dbBuiltAt, null);
  assert.match(r.warnings.join('\n'), /vulnerabilities were not evaluated/);
  const res = await s.admin('/api/v1/system/vulndb/reevaluate', { method: 'POST' });
  assert.equal(res.status, 409);
  assert.match(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message, /no advisory DB/);

  // A DB appears: re-evaluation finds the image's vulnerabilities, all new to it.
  const builtAt = await buildDb(db, V1, new Date());
  const out = await reevaluate(s);
  assert.equal(out.dbBuiltAt, builtAt);
  assert.deepEqual(out.newlyAffected, [{ repository: 'team/app', digest, tags: ['1.0'], newVulnerabilities: ['CVE-2099-1001', 'CVE-2099-1002', 'CVE-2099-1003'] }]);
  const now = await scanned(s, 'team/app', '1.0', s.adminAuth);
  assert.deepEqual(now.summary, APP_V1);
  assert.equal(now.vulnerabilitiesEvaluated, true);
});

test('an old DB still serves, with a warning', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t, 'portcullis-vulndb-'), 'advisory.db');
  await buildDb(db, V1, new Date(Date.now() - 8 * 86_400_000));
  const s = await startTestServer(t, { config: { scan: { enabled: true, db, maxDbAge: '7d' } } });
  await createProject(s, 'team');
  await pushImage({ url: s.url, auth: s.adminAuth }, 'team/app', '1.0', debianApp());
  const r = await scanned(s, 'team/app', '1.0', s.adminAuth);
  assert.equal(r.summary['critical'], 2);
  assert.match(r.warnings.join('\n'), /longer ago than scan\.maxDbAge/);
});

test('the scan has the authorization of the image; unknown artifacts and non-images are 404', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t, 'portcullis-vulndb-'), 'advisory.db');
  await buildDb(db, V1, new Date());
  const s = await startTestServer(t, { config: { scan: { enabled: true, db } } });
  await createProject(s, 'team');
  await createUser(s, 'stranger', 'stranger-password-1');
  const pusher = await createRobot(s, 'pusher', [{ project: 'team', actions: ['push'] }]);
  const digest = await pushImage({ url: s.url, auth: s.adminAuth }, 'team/app', '1.0', debianApp());
  await scanned(s, 'team/app', digest, s.adminAuth);
  const get = (path: string, auth?: string) => fetch(`${s.url}${path}`, auth === undefined ? {} : { headers: { Authorization: auth } });
  for (const path of [scanPath('team/app', digest), `${scanPath('team/app', digest)}/report`]) {
    assert.equal((await get(path, basicAuth(pusher.name, pusher.secret))).status, 403, `${path}: a robot that may push but not pull`);
    assert.equal((await get(path, basicAuth('stranger', 'stranger-password-1'))).status, 404, `${path}: a private project is hidden from non-members`);
    assert.equal((await get(path)).status, 401, `${path}: anonymous`);
  }
  const reeval = await fetch(`${s.url}/api/v1/system/vulndb/reevaluate`, { method: 'POST', headers: { Authorization: basicAuth('stranger', 'stranger-password-1') } });
  assert.equal(reeval.status, 403, 'only system administrators re-evaluate');
  assert.equal((await s.admin(scanPath('team/app', `sha256:${'0'.repeat(64)}`))).status, 404);
  assert.equal((await s.admin(`${scanPath('team/app', 'nope')}/report`)).status, 404);
  assert.equal((await s.admin(scanPath('team/nothing', '1.0'))).status, 404);
  assert.equal((await s.admin(`${scanPath('team/app', '1.0')}/report?format=xml`)).status, 400);
  // The report artifact is not an image: it is not scanned.
  const referrers = (await (await s.admin(`/v2/team/app/referrers/${digest}`)).json()) as { manifests: { digest: string; artifactType: string }[] };
  const stored = referrers.manifests.find((m) => m.artifactType === 'application/vnd.portcullis.scan-report.v1+json');
  assert.ok(stored !== undefined);
  assert.equal((await s.admin(scanPath('team/app', stored.digest))).status, 404);
});

test('a scan queued before a restart is done after it', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t, 'portcullis-vulndb-'), 'advisory.db');
  await buildDb(db, V1, new Date());
  // Pushed with the worker off: asking for the scan queues it in the database.
  const first = await startTestServer(t, { config: { scan: { enabled: false, db } } });
  await createProject(first, 'team');
  const digest = await pushImage({ url: first.url, auth: first.adminAuth }, 'team/app', '1.0', debianApp());
  const pending = await first.admin(scanPath('team/app', digest));
  assert.equal(pending.status, 202);
  assert.deepEqual(await pending.json(), { status: 'pending', job: 'queued', attempts: 0 });
  const dataDir = first.dataDir;
  await first.server.close();

  const { loadConfig } = await import('../../src/config/index.js');
  const { startServer } = await import('../../src/server/index.js');
  const { silentLogger } = await import('../../src/shared/index.js');
  const config = loadConfig({ file: { path: 'c.yml', text: JSON.stringify({ addr: '127.0.0.1:0', data: dataDir, sbom: { enabled: false }, scan: { enabled: true, db, update: { interval: 0 } } }) }, env: {}, flags: {}, cwd: dataDir });
  const second = await startServer({ config, log: silentLogger, adminPassword: 'unused-admin-password' });
  t.after(() => second.close());
  const r = await scanned(second, 'team/app', digest, first.adminAuth);
  assert.deepEqual(r.summary, APP_V1);
});
