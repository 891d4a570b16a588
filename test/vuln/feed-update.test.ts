/**
 * `db update` against feeds served from a local HTTP server: conditional requests (an unchanged
 * feed is a 304), a feed that fails (a 500, a truncated gzip, a document of another schema, a
 * server that never answers) keeps its previous copy, and the DB is swapped in only whole.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Package } from '../../src/sbom/index.js';
import { AdvisoryDb, feedStatePath, matchInventory, updateAdvisoryDb, type FeedsFile } from '../../src/vuln/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

/** The Debian security tracker's JSON, as published (an extract). */
const tracker = (fixed: string) => ({
  openssl: { 'CVE-2023-5678': { description: 'Generating excessively long X9.42 DH keys may be very slow.', scope: 'local', releases: { bookworm: { status: 'resolved', repositories: { bookworm: '3.0.11-1~deb12u2' }, fixed_version: fixed, urgency: 'not yet assigned' } } } },
});
const ghsa = (fixed: string) => [{ id: 'GHSA-2m57-hf25-phgg', modified: '2024-02-16T21:14:18Z', aliases: ['CVE-2023-23969'], affected: [{ package: { ecosystem: 'PyPI', name: 'django' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '4.1' }, { fixed }] }] }], database_specific: { severity: 'HIGH' } }];
const nvd = gzipSync(JSON.stringify({ format: 'NVD_CVE', version: '2.0', timestamp: '2024-05-02T03:00:00.000', vulnerabilities: [{ cve: { id: 'CVE-2023-5678', vulnStatus: 'Modified', descriptions: [{ lang: 'en', value: 'X9.42 DH' }], metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L' } }] } } }] }));

interface Served {
  body: Buffer;
  etag?: string;
  status?: number;
  hang?: boolean;
}

async function feedServer(t: import('node:test').TestContext, files: Map<string, Served>): Promise<{ url: (path: string) => string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const f = files.get(req.url ?? '');
    seen.push(`${req.url} ${req.headers['if-none-match'] ?? '-'}`);
    if (f === undefined) return void res.writeHead(404).end();
    if (f.hang === true) return; // never answers
    if (f.status !== undefined) return void res.writeHead(f.status).end('<html>error</html>');
    if (f.etag !== undefined && req.headers['if-none-match'] === f.etag) return void res.writeHead(304, { ETag: f.etag }).end();
    res.writeHead(200, { 'Content-Length': f.body.length, ...(f.etag !== undefined ? { ETag: f.etag } : {}) });
    res.end(f.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: (p) => `http://127.0.0.1:${port}${p}`, seen };
}

let n = 0;
const pkg = (p: Pick<Package, 'type' | 'name' | 'version'> & Partial<Package>): Package => ({ id: `p${++n}`, purl: `pkg:${p.type}/${p.name}@${p.version}`, licenses: [], locations: [{ path: 'x' }], dependsOn: [], ...p });
const image = { distro: { id: 'debian', versionId: '12' }, packages: [pkg({ type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', source: { name: 'openssl' } }), pkg({ type: 'pypi', name: 'Django', version: '4.1.5' })] };
const findings = (dbPath: string): string[] => {
  const db = AdvisoryDb.open(dbPath);
  try {
    return matchInventory(image, db).map((m) => `${m.vulnerability.id} ${m.fixedVersion ?? '-'} ${m.severity}/${m.severitySource}`).sort();
  } finally {
    db.close();
  }
};

test('db update: fetched, then unchanged (304: no rebuild), then a changed feed rebuilds while a failing one keeps its copy', async (t) => {
  const dir = tempDir(t);
  const files = new Map<string, Served>([
    ['/tracker.json', { body: Buffer.from(JSON.stringify(tracker('3.0.13-1~deb12u1'))), etag: '"t1"' }],
    ['/ghsa.json', { body: Buffer.from(JSON.stringify(ghsa('4.1.6'))), etag: '"g1"' }],
    ['/nvdcve-2.0-2023.json.gz', { body: nvd, etag: '"n1"' }],
  ]);
  const srv = await feedServer(t, files);
  const urls = ['/tracker.json', '/ghsa.json', '/nvdcve-2.0-2023.json.gz'].map(srv.url);
  const dbPath = join(dir, 'db', 'advisory.db');
  const o = { cacheDir: join(dir, 'feeds') };

  const first = await updateAdvisoryDb(dbPath, urls, o);
  assert.deepEqual(first.feeds.map((f) => f.result), ['updated', 'updated', 'updated']);
  assert.equal(first.rebuilt, true);
  assert.deepEqual(findings(dbPath), ['CVE-2023-23969 4.1.6 HIGH/ghsa', 'CVE-2023-5678 3.0.13-1~deb12u1 MEDIUM/nvd']);

  srv.seen.length = 0;
  const again = await updateAdvisoryDb(dbPath, urls, o);
  assert.deepEqual(again.feeds.map((f) => f.result), ['unchanged', 'unchanged', 'unchanged']);
  assert.equal(again.rebuilt, false);
  assert.deepEqual(srv.seen.sort(), ['/ghsa.json "g1"', '/nvdcve-2.0-2023.json.gz "n1"', '/tracker.json "t1"'], 'conditional requests only');

  files.set('/ghsa.json', { body: Buffer.from(JSON.stringify(ghsa('4.1.7'))), etag: '"g2"' });
  files.set('/tracker.json', { body: Buffer.alloc(0), status: 500 });
  const third = await updateAdvisoryDb(dbPath, urls, o);
  assert.deepEqual(third.feeds.map((f) => (f.result === 'failed' ? `failed ${f.error} kept=${f.kept}` : f.result)), ['failed HTTP 500 Internal Server Error kept=true', 'updated', 'unchanged']);
  assert.equal(third.rebuilt, true);
  assert.deepEqual(findings(dbPath), ['CVE-2023-23969 4.1.7 HIGH/ghsa', 'CVE-2023-5678 3.0.13-1~deb12u1 MEDIUM/nvd'], "the tracker's previous copy still speaks");
  const state = JSON.parse((await import('node:fs')).readFileSync(feedStatePath(dbPath), 'utf8')) as FeedsFile;
  assert.equal(state.feeds[0]!.lastError?.message, 'HTTP 500 Internal Server Error');
  assert.ok(state.feeds[1]!.lastSuccess !== undefined);
  assert.deepEqual(readdirSync(join(dir, 'db')).sort(), ['advisory.db', 'advisory.db.feeds.json'], 'nothing half-built left beside the DB');
});

test('db update: a truncated gzip, another schema, a server that never answers: failed, no copy taken, the DB untouched', async (t) => {
  const dir = tempDir(t);
  const good = Buffer.from(JSON.stringify(ghsa('4.1.6')));
  const files = new Map<string, Served>([
    ['/ghsa.json', { body: good, etag: '"g1"' }],
    ['/nvdcve-2.0-2024.json.gz', { body: nvd.subarray(0, Math.floor(nvd.length / 2)) }],
    ['/other.json', { body: Buffer.from(JSON.stringify({ kind: 'Something', items: [] })) }],
    ['/slow.json', { body: Buffer.alloc(0), hang: true }],
  ]);
  const srv = await feedServer(t, files);
  const dbPath = join(dir, 'advisory.db');
  const o = { cacheDir: join(dir, 'feeds'), timeoutMs: 1000 };
  await updateAdvisoryDb(dbPath, [srv.url('/ghsa.json')], o);
  const before = findings(dbPath);
  const r = await updateAdvisoryDb(dbPath, ['/ghsa.json', '/nvdcve-2.0-2024.json.gz', '/other.json', '/slow.json'].map(srv.url), o);
  const why = r.feeds.map((f) => (f.result === 'failed' ? `${f.error} kept=${f.kept}` : f.result));
  assert.equal(why[0], 'unchanged');
  assert.match(why[1]!, /truncated or corrupt gzip download .* kept=false$/);
  assert.match(why[2]!, /does not read as a feed .* kept=false$/);
  assert.match(why[3]!, /timed out after 1000 ms kept=false$/);
  assert.deepEqual(findings(dbPath), before);
});

test('db update says why a download failed: DNS, TLS, a refused connection, the status', async (t) => {
  const dir = tempDir(t);
  // A server whose certificate nobody trusts (self-signed), as a mirror behind a private CA looks.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=mirror.example', '-days', '1'], { stdio: 'ignore' });
  const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('[]'));
  tls.listen(0, '127.0.0.1');
  await once(tls, 'listening');
  t.after(() => tls.close());
  const srv = await feedServer(t, new Map([['/gone.json', { body: Buffer.alloc(0), status: 503 }]]));
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/x.json`;
  closed.close();
  const urls = ['http://feeds.portcullis-test.invalid/x.json', `https://127.0.0.1:${(tls.address() as AddressInfo).port}/x.json`, refused, srv.url('/gone.json')];
  const r = await updateAdvisoryDb(join(dir, 'advisory.db'), urls, { cacheDir: join(dir, 'feeds'), timeoutMs: 10_000 });
  const why = r.feeds.map((f) => (f.result === 'failed' ? f.error : f.result));
  assert.match(why[0]!, /^download failed: DNS: the host name does not resolve \((ENOTFOUND|EAI_AGAIN)\)$/);
  assert.match(why[1]!, /^download failed: TLS: the server's certificate is not trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN); a mirror with a private CA needs NODE_EXTRA_CA_CERTS\)$/);
  assert.equal(why[2], 'download failed: the connection was refused (ECONNREFUSED)');
  assert.equal(why[3], 'HTTP 503 Service Unavailable');
  assert.equal(r.rebuilt, false);
});

test('portcullis db update --feeds FILE: a line per feed, exit 1 when one failed but the DB stays usable; a bad feeds file is a usage error', async (t) => {
  const home = tempDir(t);
  const files = new Map<string, Served>([
    ['/ghsa.json', { body: Buffer.from(JSON.stringify(ghsa('4.1.6'))), etag: '"g1"' }],
    ['/gone.json', { body: Buffer.alloc(0), status: 500 }],
  ]);
  const srv = await feedServer(t, files);
  writeFileSync(join(home, 'feeds.txt'), `# our mirror\n${srv.url('/ghsa.json')}\n\n${srv.url('/gone.json')}  # down today\n`);
  const r = await runCli(home, ['db', 'update', '--feeds', 'feeds.txt', '--db', 'advisory.db']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[\d\/2\] http:\/\/127\.0\.0\.1:\d+\/ghsa\.json: updated/);
  assert.match(r.stderr, /gone\.json: failed: HTTP 500 Internal Server Error \(no previous copy\)/);
  assert.match(r.stderr, /1 of 2 feeds failed: .*gone\.json \(the DB stays usable\)/);
  assert.ok(existsSync(join(home, 'advisory.db')));
  const again = await runCli(home, ['db', 'update', '--feeds', 'feeds.txt', '--db', 'advisory.db']);
  assert.match(again.stderr, /ghsa\.json: unchanged/);
  writeFileSync(join(home, 'bad.txt'), 'not a url\n');
  const bad = await runCli(home, ['db', 'update', '--feeds', 'bad.txt', '--db', 'advisory.db']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.txt:1: "not a url" is not a URL/);
});

test('portcullis db update and db build on a terminal: a progress line (downloads, then the build), redrawn in place; none under CI', async (t) => {
  const home = tempDir(t);
  const srv = await feedServer(t, new Map([['/ghsa.json', { body: Buffer.from(JSON.stringify(ghsa('4.1.6'))), etag: '"g1"' }], ['/tracker.json', { body: Buffer.from(JSON.stringify(tracker('3.0.13-1~deb12u1'))) }]]));
  writeFileSync(join(home, 'feeds.txt'), `${srv.url('/ghsa.json')}\n${srv.url('/tracker.json')}\n`);
  writeFileSync(join(home, 'ghsa.json'), JSON.stringify(ghsa('4.1.6')));
  const cli = resolve(import.meta.dirname, '../../src/cli/main.js');
  // script(1) gives the command a terminal; what it wrote comes back on script's stdout. (Not
  // execFileSync: the feeds are served from this process.)
  const onTerminal = async (args: string, ci: string): Promise<string> =>
    (await promisify(execFile)('script', ['-qec', `${process.execPath} ${cli} ${args}`, '/dev/null'], { cwd: home, env: { ...process.env, CI: ci, HOME: home }, encoding: 'utf8', timeout: 60_000 })).stdout;
  const update = await onTerminal('db update --feeds feeds.txt --db advisory.db', 'false');
  assert.match(update, /\r\x1b\[2Kfetching: 127\.0\.0\.1:\d+\/(ghsa|tracker)\.json /);
  assert.match(update, /\r\x1b\[2Kbuilding: feed 1\/2 127\.0\.0\.1:\d+\/ghsa\.json: \d+ files, \d+ records/);
  assert.match(update, /\r\x1b\[2Kbuilding: feed 2\/2 127\.0\.0\.1:\d+\/tracker\.json: \d+ files, \d+ records/);
  assert.match(update, /\[2\/2\] http:\/\/127\.0\.0\.1:\d+\/(ghsa|tracker)\.json: updated/);
  const build = await onTerminal('db build ghsa.json -o built.db', 'false');
  assert.match(build, /\r\x1b\[2Kbuilding: feed 1\/1 ghsa\.json: \d+ files, \d+ records/);
  const ci = await onTerminal('db build ghsa.json -o built.db', 'true');
  assert.doesNotMatch(ci, /building:/);
  assert.match(ci, /1 vulnerabilities, 1 affected-package records/);
});
