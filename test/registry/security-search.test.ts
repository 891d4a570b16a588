/**
 * "Which images hold CVE-X?" through the management API, on images the registry scanned itself:
 * every image holding an affected version is named with its package, installed and fixed versions,
 * and no other; each caller sees only the projects they may pull from; a CVE that arrives with a
 * new DB is answered at once (before any re-evaluation); packages by purl and by name; the security
 * summary; deleted images leave every answer. SQLite and the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildDb, type Advisory } from '../helpers/advisory-db.js';
import { tempDir } from '../helpers/env.js';
import type { LayerEntry } from '../helpers/images.js';
import type { Target } from '../helpers/push.js';
import { pushLayeredImage, scanStatus } from '../helpers/registry-jobs.js';
import { runCli } from '../helpers/cli.js';
import { addMember, basicAuth, createProject, createUser, startTestServer, type TestServer } from '../helpers/server.js';

const OS_RELEASE = 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const dpkg = (pkgs: readonly [string, string, string?][]): LayerEntry => ({
  type: 'file',
  path: 'var/lib/dpkg/status',
  data: pkgs.map(([name, version, source]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\n${source !== undefined ? `Source: ${source}\n` : ''}Version: ${version}\n`).join('\n'),
});
const npm = (name: string, version: string): LayerEntry => ({ type: 'file', path: `app/node_modules/${name}/package.json`, data: JSON.stringify({ name, version }) });

const V1: readonly Advisory[] = [
  { id: 'CVE-2099-1001', ecosystem: 'debian:12', name: 'openssl', fixed: '3.0.13-1~deb12u1', severity: 'HIGH' },
  { id: 'CVE-2099-1003', ecosystem: 'npm', name: 'left-pad', fixed: '1.3.1', severity: 'CRITICAL', aliases: ['GHSA-aaaa-bbbb-cccc'], kev: '2099-01-02' },
  { id: 'CVE-2099-1004', ecosystem: 'npm', name: 'is-even', fixed: '1.0.1', severity: 'MEDIUM' },
];
const V2: readonly Advisory[] = [...V1, { id: 'CVE-2099-2001', ecosystem: 'npm', name: 'left-pad', severity: 'LOW' }];

interface Hit {
  project: string;
  repository: string;
  digest: string;
  tags: string[];
  packages: { ecosystem: string; name: string; installedVersion: string; fixedVersion?: string; count: number; severity?: string }[];
}

const get = async (s: TestServer, path: string, auth: string): Promise<{ status: number; body: any; headers: Headers }> => {
  const res = await fetch(`${s.url}${path}`, { headers: { Authorization: auth } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
};
const brief = (hits: Hit[]) => hits.map((h) => `${h.repository}:${h.tags.join(',')} ${h.packages.map((p) => `${p.name}@${p.installedVersion}${p.fixedVersion !== undefined ? `>${p.fixedVersion}` : ''}`).join(' ')}`);

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`security search (${database})`, () => {
    test('which images hold CVE-X, which hold a package, the summary: exact, scoped to the caller, current with the DB', { timeout: 120_000 }, async (t) => {
      const dir = tempDir(t, 'portcullis-search-');
      const db = join(dir, 'advisory.db');
      const v1 = await buildDb(db, V1, new Date(Date.now() - 5000));
      const s = await startTestServer(t, { database, config: { scan: { enabled: true, db }, sbom: { enabled: false } } });
      for (const [p, pub] of [['team', false], ['other', false], ['open', true]] as const) await createProject(s, p, pub);
      await createUser(s, 'dev', 'dev-Password-1');
      await addMember(s, 'team', 'dev', 'developer');
      const dev = basicAuth('dev', 'dev-Password-1');
      const admin: Target = { url: s.url, auth: s.adminAuth };
      // libssl3 and openssl come from the openssl source package: one version, two packages.
      const debian = [
        { type: 'file', path: 'etc/os-release', data: OS_RELEASE },
        dpkg([
          ['libssl3', '3.0.11-1~deb12u2', 'openssl'],
          ['openssl', '3.0.11-1~deb12u2'],
          ['bash', '5.2.15-2+b2'],
        ]),
      ] as LayerEntry[];
      const images: [string, string, LayerEntry[][]][] = [
        ['team/app', '1.0', [debian, [npm('left-pad', '1.3.0')]]],
        ['team/app', '2.0', [[npm('left-pad', '1.3.1'), npm('is-even', '1.0.0')]]],
        ['other/svc', '1', [[npm('left-pad', '1.3.0')]]],
        ['open/lib', '1', [[npm('left-pad', '1.2.0')]]],
      ];
      const digests = new Map<string, string>();
      for (const [repo, tag, layers] of images) digests.set(`${repo}:${tag}`, (await pushLayeredImage(admin, repo, tag, layers)).digest);
      for (const [repo, tag] of images) assert.equal((await scanStatus(s.url, repo, tag, s.adminAuth)).status, 'done');

      // ---- a CVE: every image holding an affected version, with its versions, and no other.
      const cve = await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts', s.adminAuth);
      assert.equal(cve.status, 200, JSON.stringify(cve.body));
      assert.equal(cve.headers.get('x-total-count'), '3');
      assert.equal(cve.body.total, 3);
      assert.deepEqual(brief(cve.body.artifacts), ['open/lib:1 left-pad@1.2.0>1.3.1', 'other/svc:1 left-pad@1.3.0>1.3.1', 'team/app:1.0 left-pad@1.3.0>1.3.1'], 'team/app:2.0 holds the fixed version');
      assert.equal(cve.body.vulnerability.id, 'CVE-2099-1003');
      assert.equal(cve.body.vulnerability.severity, 'CRITICAL');
      assert.deepEqual(cve.body.vulnerability.knownExploited, { dateAdded: '2099-01-02', dueDate: '2099-01-02' });
      const first = cve.body.artifacts[2] as Hit;
      assert.equal(first.digest, digests.get('team/app:1.0'));
      assert.equal(first.project, 'team');
      assert.deepEqual(first.packages, [{ ecosystem: 'npm', name: 'left-pad', installedVersion: '1.3.0', count: 1, fixedVersion: '1.3.1', status: 'fixed', severity: 'CRITICAL' }]);
      // By an alias, and in lower case: the same answer.
      for (const id of ['GHSA-aaaa-bbbb-cccc', 'cve-2099-1003']) assert.deepEqual((await get(s, `/api/v1/vulnerabilities/${id}/artifacts`, s.adminAuth)).body.artifacts, cve.body.artifacts, id);
      // An OS package: found through its source package, both binary packages counted.
      const os = await get(s, '/api/v1/vulnerabilities/CVE-2099-1001/artifacts', s.adminAuth);
      assert.deepEqual(os.body.artifacts.map((a: Hit) => [a.repository, a.packages]), [['team/app', [{ ecosystem: 'debian:12', name: 'openssl', installedVersion: '3.0.11-1~deb12u2', count: 2, fixedVersion: '3.0.13-1~deb12u1', status: 'fixed', severity: 'HIGH' }]]]);

      // ---- scoped: a developer of team sees team's images and the public project's, not other's.
      const mine = await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts', dev);
      assert.equal(mine.status, 200);
      assert.deepEqual(brief(mine.body.artifacts), ['open/lib:1 left-pad@1.2.0>1.3.1', 'team/app:1.0 left-pad@1.3.0>1.3.1']);
      assert.equal(mine.headers.get('x-total-count'), '2');
      assert.equal((await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts', '')).status, 401);

      // ---- pages: Harbor's page and page_size, the next page in Link.
      const p1 = await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts?page=2&page_size=1', s.adminAuth);
      assert.deepEqual(brief(p1.body.artifacts), ['other/svc:1 left-pad@1.3.0>1.3.1']);
      assert.equal(p1.headers.get('link'), '</api/v1/vulnerabilities/CVE-2099-1003/artifacts?page=3&page_size=1>; rel="next"');
      assert.equal((await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts?page=3&page_size=1', s.adminAuth)).headers.get('link'), null);
      assert.equal((await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts?page_size=101', s.adminAuth)).status, 400);
      assert.equal((await get(s, '/api/v1/vulnerabilities/CVE-2000-0000/artifacts', s.adminAuth)).status, 404);
      assert.equal((await get(s, `/api/v1/vulnerabilities/${encodeURIComponent('a b;c')}/artifacts`, s.adminAuth)).status, 400);

      // ---- a CVE that came with a new DB is answered at once: no re-evaluation has run.
      const fresh = join(dir, 'v2.db');
      await buildDb(fresh, V2, new Date(Date.now() - 1000));
      await rename(fresh, db);
      // Images of one repository come in digest order: sorted here.
      const news = await get(s, '/api/v1/vulnerabilities/CVE-2099-2001/artifacts', s.adminAuth);
      assert.equal(news.status, 200, JSON.stringify(news.body));
      assert.deepEqual(brief(news.body.artifacts).sort(), ['open/lib:1 left-pad@1.2.0', 'other/svc:1 left-pad@1.3.0', 'team/app:1.0 left-pad@1.3.0', 'team/app:2.0 left-pad@1.3.1']);

      // ---- packages: by purl (a version, or every version), by name, by name and version.
      const byPurl = await get(s, `/api/v1/packages?purl=${encodeURIComponent('pkg:npm/left-pad@1.3.0')}`, s.adminAuth);
      assert.equal(byPurl.status, 200, JSON.stringify(byPurl.body));
      assert.deepEqual(byPurl.body.artifacts.map((a: Hit) => `${a.repository}:${a.tags.join()}`), ['other/svc:1', 'team/app:1.0']);
      assert.deepEqual(byPurl.body.packages, [{ ecosystem: 'npm', name: 'left-pad', version: '1.3.0' }]);
      const every = await get(s, `/api/v1/packages?purl=${encodeURIComponent('pkg:npm/left-pad')}`, s.adminAuth);
      assert.equal(every.body.total, 4);
      const debPurl = await get(s, `/api/v1/packages?purl=${encodeURIComponent('pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12&upstream=openssl')}`, s.adminAuth);
      assert.deepEqual(brief(debPurl.body.artifacts), ['team/app:1.0 openssl@3.0.11-1~deb12u2']);
      const byName = await get(s, '/api/v1/packages?name=left-pad&version=1.2.0', dev);
      assert.deepEqual(brief(byName.body.artifacts), ['open/lib:1 left-pad@1.2.0']);
      assert.equal((await get(s, '/api/v1/packages?name=left-pad', dev)).body.total, 3, 'not other/svc');
      assert.equal((await get(s, '/api/v1/packages?name=left-pad&ecosystem=pypi', s.adminAuth)).body.total, 0);
      for (const bad of ['', '?purl=pkg:npm/x&name=x', '?purl=nonsense', '?version=1.0', '?name=x&page=0']) assert.equal((await get(s, `/api/v1/packages${bad}`, s.adminAuth)).status, 400, bad);

      // ---- the summary (Harbor's Security Hub) over what the caller may pull from.
      const sum = await get(s, '/api/v1/security/summary', s.adminAuth);
      assert.equal(sum.status, 200, JSON.stringify(sum.body));
      assert.equal(sum.body.totalArtifacts, 4);
      assert.equal(sum.body.scanned, 4);
      assert.equal(sum.body.unscanned, 0);
      // Stored results (evaluated against v1): app 1.0 openssl×2 (high) + left-pad (critical); app 2.0 is-even (medium); svc and lib left-pad (critical).
      assert.deepEqual(sum.body.vulnerabilities, { critical: 3, high: 2, medium: 1, low: 0, unknown: 0, fixable: 6, total: 6 });
      assert.deepEqual(
        sum.body.dangerousVulnerabilities.map((v: { id: string; severity: string; artifacts: number }) => `${v.id} ${v.severity} ${v.artifacts}`),
        ['CVE-2099-1003 CRITICAL 3', 'CVE-2099-1001 HIGH 1', 'CVE-2099-1004 MEDIUM 1'],
      );
      assert.deepEqual(sum.body.dangerousArtifacts[0], { project: 'team', repository: 'team/app', digest: digests.get('team/app:1.0'), tags: ['1.0'], critical: 1, high: 2, medium: 0, low: 0, unknown: 0, fixable: 3 });
      assert.deepEqual([sum.body.knownExploited.vulnerabilities, sum.body.knownExploited.artifacts, sum.body.knownExploited.top[0].id], [1, 3, 'CVE-2099-1003']);
      assert.ok(sum.body.dbBuiltAt > v1);
      const devSum = await get(s, '/api/v1/security/summary?top=1', dev);
      assert.equal(devSum.body.totalArtifacts, 3);
      assert.deepEqual(devSum.body.vulnerabilities, { critical: 2, high: 2, medium: 1, low: 0, unknown: 0, fixable: 5, total: 5 });
      assert.equal(devSum.body.dangerousVulnerabilities.length, 1);

      // ---- the CLI: the same answers as a table or JSON; --exit-code when any image holds it; usage errors exit 2.
      const home = tempDir(t, 'portcullis-search-cli-');
      const env = { PORTCULLIS_SERVER: s.url, PORTCULLIS_USERNAME: 'dev', PORTCULLIS_PASSWORD: 'dev-Password-1' };
      const cliTable = await runCli(home, ['search', 'cve', 'CVE-2099-1003', '--exit-code', '3'], env);
      assert.equal(cliTable.code, 3, cliTable.stderr);
      assert.deepEqual(cliTable.stdout.trim().split('\n').map((l) => l.split(/\s+/).filter((c) => !c.startsWith('sha256:')).join(' ')), ['REPOSITORY TAGS DIGEST PACKAGE INSTALLED FIXED', 'open/lib 1 left-pad (npm) 1.2.0 1.3.1', 'team/app 1.0 left-pad (npm) 1.3.0 1.3.1']);
      assert.match(cliTable.stderr, /^2 images\n$/);
      const cliJson = await runCli(home, ['search', 'package', 'left-pad@1.3.0', '-f', 'json'], env);
      assert.equal(cliJson.code, 0, cliJson.stderr);
      assert.deepEqual(JSON.parse(cliJson.stdout).artifacts.map((a: Hit) => a.repository), ['team/app']);
      const none = await runCli(home, ['search', 'package', 'pkg:npm/right-pad', '--exit-code', '3'], env);
      assert.equal(none.code, 0, 'nothing found: exit 0');
      assert.equal((await runCli(home, ['search', 'package', 'x@', '--limit', '5'], env)).code, 2);
      assert.equal((await runCli(home, ['search', 'cve', 'CVE-2000-0000'], env)).code, 1);

      // ---- a deleted image leaves every answer.
      const del = await fetch(`${s.url}/api/v1/projects/other/repositories/svc/artifacts/1`, { method: 'DELETE', headers: { Authorization: s.adminAuth } });
      assert.equal(del.status, 204);
      assert.deepEqual(brief((await get(s, '/api/v1/vulnerabilities/CVE-2099-1003/artifacts', s.adminAuth)).body.artifacts), ['open/lib:1 left-pad@1.2.0>1.3.1', 'team/app:1.0 left-pad@1.3.0>1.3.1']);
      assert.equal((await get(s, '/api/v1/security/summary', s.adminAuth)).body.scanned, 3);
    });
  });
}
