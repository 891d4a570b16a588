/**
 * Matching: OSV range semantics, OS packages through their source package and release, language
 * packages on normalized names, records merged by alias. Feeds go through the real parsers in
 * their published formats and into a real DB file, so the whole path a scan takes is exercised.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Inventory, Package } from '../../src/sbom/index.js';
import { AdvisoryDb, buildAdvisoryDb, compareNpm, inRange, matchInventory, matchKeys, Matcher, packageMatchKey, splitMatchKey, type FeedRecords, type MatchKeys, type VulnerabilityMatch } from '../../src/vuln/index.js';
import { parseAlpineSecdb } from '../../src/vuln/feeds/alpine.js';
import { parseDebianTracker } from '../../src/vuln/feeds/debian.js';
import { parseOsv } from '../../src/vuln/feeds/osv.js';
import { tempDir } from '../helpers/env.js';

test('OSV range events: introduced, fixed, last_affected, limit, several ranges, any order', () => {
  const r = (events: object[]) => ({ type: 'ECOSYSTEM' as const, events: events as never });
  const cases: [object[], string, boolean, string?][] = [
    [[{ introduced: '0' }, { fixed: '1.2.3' }], '1.2.2', true, '1.2.3'],
    [[{ introduced: '0' }, { fixed: '1.2.3' }], '1.2.3', false],
    [[{ introduced: '0' }, { fixed: '1.2.3' }], '0.0.1', true, '1.2.3'],
    [[{ introduced: '1.0.0' }, { fixed: '1.2.3' }], '0.9.0', false],
    [[{ introduced: '1.0.0' }, { fixed: '1.2.3' }], '1.0.0', true, '1.2.3'],
    [[{ introduced: '1.0.0' }, { last_affected: '1.4.0' }], '1.4.0', true],
    [[{ introduced: '1.0.0' }, { last_affected: '1.4.0' }], '1.4.1', false],
    [[{ introduced: '1.0.0' }, { limit: '2.0.0' }], '1.5.0', true],
    [[{ introduced: '1.0.0' }, { limit: '2.0.0' }], '2.0.0', false],
    // Two branches in one range, events not in order.
    [[{ fixed: '2.4.1' }, { introduced: '2.0.0' }, { fixed: '1.9.5' }, { introduced: '0' }], '1.9.4', true, '1.9.5'],
    [[{ fixed: '2.4.1' }, { introduced: '2.0.0' }, { fixed: '1.9.5' }, { introduced: '0' }], '1.9.9', false],
    [[{ fixed: '2.4.1' }, { introduced: '2.0.0' }, { fixed: '1.9.5' }, { introduced: '0' }], '2.3.0', true, '2.4.1'],
    [[{ fixed: '2.4.1' }, { introduced: '2.0.0' }, { fixed: '1.9.5' }, { introduced: '0' }], '3.0.0', false],
    // Unfixed.
    [[{ introduced: '0' }], '99.0.0', true],
  ];
  for (const [events, version, affected, fixed] of cases) {
    const got = inRange(r(events), version, compareNpm);
    assert.equal(got.affected, affected, `${JSON.stringify(events)} @ ${version}`);
    assert.equal(got.fixed, fixed, `${JSON.stringify(events)} @ ${version}: fixed`);
  }
});

// --- feeds in their published formats ---

/** The Debian security tracker's JSON (security-tracker.debian.org/tracker/data/json), three packages. */
const DEBIAN_TRACKER = {
  openssl: {
    'CVE-2023-5678': {
      description: 'Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.',
      scope: 'local',
      releases: {
        bookworm: { status: 'resolved', repositories: { bookworm: '3.0.11-1~deb12u2' }, fixed_version: '3.0.13-1~deb12u1', urgency: 'not yet assigned' },
        bullseye: { status: 'resolved', repositories: { bullseye: '1.1.1w-0+deb11u1' }, fixed_version: '1.1.1w-0+deb11u2', urgency: 'not yet assigned' },
      },
    },
    'CVE-2024-0727': {
      description: 'Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash',
      scope: 'local',
      releases: {
        bookworm: { status: 'open', repositories: { bookworm: '3.0.11-1~deb12u2' }, urgency: 'low', nodsa: 'Minor issue', nodsa_reason: 'postponed' },
      },
    },
    'CVE-2010-5298': {
      description: 'Race condition in the ssl3_read_bytes function',
      scope: 'remote',
      releases: { bookworm: { status: 'resolved', repositories: { bookworm: '3.0.11-1~deb12u2' }, fixed_version: '0', urgency: 'low' } },
    },
  },
  glibc: {
    'CVE-2010-4756': {
      description: 'The glob implementation in the GNU C Library allows remote authenticated users to cause a denial of service',
      scope: 'remote',
      releases: { bookworm: { status: 'open', repositories: { bookworm: '2.36-9+deb12u4' }, urgency: 'unimportant', nodsa: 'ignored', nodsa_reason: 'ignored' } },
    },
    'CVE-2023-4911': {
      description: 'A buffer overflow was discovered in the GNU C Library dynamic loader (Looney Tunables)',
      scope: 'local',
      releases: { bookworm: { status: 'resolved', repositories: { bookworm: '2.36-9+deb12u4' }, fixed_version: '2.36-9+deb12u3', urgency: 'high' } },
    },
  },
};

/** Alpine secdb v3.19 main.json, the shape secdb.alpinelinux.org serves. */
const ALPINE_SECDB = {
  apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
  archs: ['aarch64', 'x86_64'],
  reponame: 'main',
  urlprefix: 'https://dl-cdn.alpinelinux.org/alpine',
  distroversion: 'v3.19',
  packages: [
    { pkg: { name: 'openssl', secfixes: { '3.1.4-r1': ['CVE-2023-5363'], '3.1.4-r3': ['CVE-2023-5678'], '0': ['CVE-2022-1292'] } } },
    { pkg: { name: 'busybox', secfixes: { '1.36.1-r16': ['CVE-2023-42363'] } } },
  ],
};

/** GitHub advisories as OSV (the shape of github/advisory-database), one aliasing a CVE the tracker also names. */
const GHSA_PYPI = {
  schema_version: '1.4.0',
  id: 'GHSA-2m57-hf25-phgg',
  modified: '2024-02-16T21:14:18Z',
  published: '2023-02-01T06:30:21Z',
  aliases: ['CVE-2023-23969'],
  summary: 'Django contains Uncontrolled Resource Consumption via cached header',
  details: 'In Django 3.2 before 3.2.17, 4.0 before 4.0.9, and 4.1 before 4.1.6, the parsed values of Accept-Language headers are cached.',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
  affected: [
    {
      package: { ecosystem: 'PyPI', name: 'Django' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '3.2' }, { fixed: '3.2.17' }, { introduced: '4.0' }, { fixed: '4.0.9' }, { introduced: '4.1' }, { fixed: '4.1.6' }] }],
    },
  ],
  references: [{ type: 'ADVISORY', url: 'https://nvd.nist.gov/vuln/detail/CVE-2023-23969' }],
  database_specific: { cwe_ids: ['CWE-400'], severity: 'HIGH', github_reviewed: true },
};
const PYSEC_SAME = {
  id: 'PYSEC-2023-13',
  modified: '2023-02-15T00:00:00Z',
  aliases: ['CVE-2023-23969', 'GHSA-2m57-hf25-phgg'],
  details: 'In Django 3.2 before 3.2.17 ...',
  affected: [{ package: { ecosystem: 'PyPI', name: 'django' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '3.2' }, { fixed: '3.2.17' }] }], versions: [] }],
};
const GHSA_MAVEN = {
  id: 'GHSA-jfh8-c2jp-5v3q',
  modified: '2024-01-01T00:00:00Z',
  published: '2021-12-10T00:40:56Z',
  aliases: ['CVE-2021-44228'],
  summary: 'Remote code injection in Log4j',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H' }],
  affected: [
    {
      package: { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { fixed: '2.3.1' }, { introduced: '2.4' }, { fixed: '2.12.2' }, { introduced: '2.13.0' }, { fixed: '2.15.0' }] }],
    },
  ],
  database_specific: { severity: 'CRITICAL' },
};
/** Go vulndb: SEMVER ranges without the `v` Go versions carry. */
const GO_VULN = {
  id: 'GO-2022-0969',
  modified: '2023-06-12T18:45:41Z',
  aliases: ['CVE-2022-27664', 'GHSA-69cg-p879-7622'],
  summary: 'Denial of service in net/http and golang.org/x/net/http2',
  affected: [{ package: { name: 'golang.org/x/net', ecosystem: 'Go' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.0.0-20220906165146-f3363e06e74c' }] }] }],
};
/** A Debian security advisory as OSV: one advisory, several CVEs (its `upstream`). */
const DSA_MULTI = {
  id: 'DSA-5532-1',
  modified: '2023-10-30T00:00:00Z',
  upstream: ['CVE-2023-5363', 'CVE-2023-5678'],
  affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }] }],
};
const NPM_SCOPED = {
  id: 'GHSA-xxxx-npm0-0001',
  modified: '2024-01-01T00:00:00Z',
  summary: 'Prototype pollution in a scoped package',
  affected: [{ package: { ecosystem: 'npm', name: '@babel/traverse' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '7.23.2' }] }] }],
  database_specific: { severity: 'CRITICAL' },
};

function feed(records: FeedRecords): AsyncIterable<{ file: string; records: FeedRecords }> {
  return (async function* () {
    yield { file: 'inline', records };
  })();
}

async function buildDb(dir: string): Promise<AdvisoryDb> {
  const out = join(dir, 'advisory.db');
  const osv = [GHSA_PYPI, PYSEC_SAME, GHSA_MAVEN, GO_VULN, NPM_SCOPED, DSA_MULTI].map((r) => parseOsv(r, 'osv.json'));
  await buildAdvisoryDb(out, [
    { feed: 'debian', files: feed(parseDebianTracker(DEBIAN_TRACKER, 'tracker.json')) },
    { feed: 'alpine', files: feed(parseAlpineSecdb(ALPINE_SECDB, 'main.json')) },
    {
      feed: 'osv',
      files: (async function* () {
        for (const r of osv) yield { file: 'osv.json', records: r };
      })(),
    },
  ]);
  return AdvisoryDb.open(out);
}

let n = 0;
function pkg(p: Partial<Package> & Pick<Package, 'type' | 'name' | 'version'>): Package {
  n += 1;
  return { id: `pkg-${n}`, purl: `pkg:${p.type}/${p.name}@${p.version}`, licenses: [], locations: [{ path: 'x', layer: 'sha256:aa' }], dependsOn: [], ...p };
}

function facts(matches: readonly VulnerabilityMatch[]): string[] {
  return matches.map((m) => `${m.package.name} ${m.vulnerability.id} ${m.status} ${m.fixedVersion ?? '-'} ${m.severity}/${m.severitySource}`).sort();
}

test('Debian: source packages, this release only, fixed / postponed / will-not-fix / not affected', async (t) => {
  const db = await buildDb(tempDir(t));
  t.after(() => db.close());
  const inv: Pick<Inventory, 'distro' | 'packages'> = {
    distro: { id: 'debian', versionId: '12', versionCodename: 'bookworm' },
    packages: [
      pkg({ type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', source: { name: 'openssl' } }),
      pkg({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u4', source: { name: 'glibc' } }),
      // Not in any feed.
      pkg({ type: 'deb', name: 'bash', version: '5.2.15-2+b2' }),
    ],
  };
  assert.deepEqual(facts(matchInventory(inv, db)), [
    // CVE-2023-4911 was fixed in 2.36-9+deb12u3 and libc6 has deb12u4: not reported.
    'libc6 CVE-2010-4756 will_not_fix - LOW/debian',
    'libssl3 CVE-2023-5678 fixed 3.0.13-1~deb12u1 UNKNOWN/',
    'libssl3 CVE-2024-0727 fix_deferred - LOW/debian',
  ]);
  // The same package in bullseye is judged by bullseye's record only.
  const old = matchInventory({ distro: { id: 'debian', versionId: '11' }, packages: [pkg({ type: 'deb', name: 'libssl1.1', version: '1.1.1w-0+deb11u1', source: { name: 'openssl' } })] }, db);
  assert.deepEqual(facts(old), ['libssl1.1 CVE-2023-5678 fixed 1.1.1w-0+deb11u2 UNKNOWN/']);
  // A release no feed covers gets nothing from bookworm's records.
  assert.deepEqual(matchInventory({ distro: { id: 'debian', versionId: '13' }, packages: inv.packages }, db), []);
});

test('a version matched through the explicit `versions` list keeps the fixes its ranges name, in every ecosystem', async (t) => {
  // As OSV publishes them: ranges and the enumerated versions they cover (PyPI's, from its release
  // history). A version in the list and one only inside a range must get the same fixes.
  const cases = [
    // Django 2.2 and CVE-2019-12308 (PYSEC-2019-79), pip and CVE-2023-5752: the two cases found by hand.
    { ecosystem: 'PyPI', name: 'django', type: 'pypi', id: 'CVE-2019-12308', events: [{ introduced: '0' }, { fixed: '1.11.21' }, { introduced: '2.0' }, { fixed: '2.1.9' }, { introduced: '2.2' }, { fixed: '2.2.2' }], listed: '2.2', inRange: '2.2.1', fixes: '1.11.21, 2.1.9, 2.2.2' },
    { ecosystem: 'PyPI', name: 'pip', type: 'pypi', id: 'CVE-2023-5752', events: [{ introduced: '0' }, { fixed: '23.3' }], listed: '23.2.1', inRange: '22.0', fixes: '23.3' },
    { ecosystem: 'npm', name: 'lodash', type: 'npm', id: 'CVE-2021-23337', events: [{ introduced: '0' }, { fixed: '4.17.21' }], listed: '4.17.20', inRange: '4.17.19', fixes: '4.17.21' },
    { ecosystem: 'Maven', name: 'com.example:lib', type: 'maven', id: 'CVE-2099-0001', events: [{ introduced: '1.0' }, { fixed: '1.5.1' }, { introduced: '2.0' }, { fixed: '2.0.3' }], listed: '2.0.1', inRange: '1.2', fixes: '1.5.1, 2.0.3' },
    { ecosystem: 'RubyGems', name: 'rack', type: 'gem', id: 'CVE-2099-0002', events: [{ introduced: '0' }, { fixed: '2.2.6.3' }], listed: '2.2.6.2', inRange: '2.0.0', fixes: '2.2.6.3' },
    { ecosystem: 'crates.io', name: 'time', type: 'cargo', id: 'CVE-2099-0003', events: [{ introduced: '0.2.7' }, { fixed: '0.2.23' }], listed: '0.2.22', inRange: '0.2.8', fixes: '0.2.23' },
    { ecosystem: 'NuGet', name: 'Newtonsoft.Json', type: 'nuget', id: 'CVE-2099-0004', events: [{ introduced: '0' }, { fixed: '13.0.1' }], listed: '12.0.3', inRange: '11.0.1', fixes: '13.0.1' },
    { ecosystem: 'Packagist', name: 'guzzlehttp/guzzle', type: 'composer', id: 'CVE-2099-0005', events: [{ introduced: '7.0.0' }, { fixed: '7.4.5' }], listed: '7.4.4', inRange: '7.1.0', fixes: '7.4.5' },
  ];
  const out = join(tempDir(t), 'advisory.db');
  const records = cases.map((c) =>
    parseOsv({ id: c.id, modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: c.ecosystem, name: c.name }, ranges: [{ type: 'ECOSYSTEM', events: c.events }], versions: [c.listed] }] }, 'osv.json'),
  );
  await buildAdvisoryDb(out, [{ feed: 'osv', files: (async function* () { for (const r of records) yield { file: 'osv.json', records: r }; })() }]);
  const db = AdvisoryDb.open(out);
  t.after(() => db.close());
  for (const c of cases) {
    const [namespace, name] = c.type === 'maven' ? c.name.split(':') : c.type === 'composer' ? c.name.split('/') : [undefined, c.name];
    for (const version of [c.listed, c.inRange]) {
      const matches = matchInventory({ packages: [pkg({ type: c.type as Package['type'], ...(namespace !== undefined ? { namespace } : {}), name: name!, version })] }, db);
      assert.deepEqual(matches.map((m) => [m.vulnerability.id, m.status, m.fixedVersion]), [[c.id, 'fixed', c.fixes]], `${c.ecosystem} ${c.name} ${version}`);
    }
  }
});

test('Alpine: origin package and release; "0" means never affected', async (t) => {
  const db = await buildDb(tempDir(t));
  t.after(() => db.close());
  const inv: Pick<Inventory, 'distro' | 'packages'> = {
    distro: { id: 'alpine', versionId: '3.19.1' },
    packages: [
      pkg({ type: 'apk', name: 'libcrypto3', version: '3.1.4-r2', source: { name: 'openssl' } }),
      pkg({ type: 'apk', name: 'busybox', version: '1.36.1-r16' }),
    ],
  };
  assert.deepEqual(facts(matchInventory(inv, db)), ['libcrypto3 CVE-2023-5678 fixed 3.1.4-r3 UNKNOWN/']);
  assert.deepEqual(matchInventory({ distro: { id: 'alpine', versionId: '3.18.4' }, packages: inv.packages }, db), []);
});

test('language packages: PyPI names normalized, Maven group:artifact, Go without v, npm scopes; aliases merged', async (t) => {
  const db = await buildDb(tempDir(t));
  t.after(() => db.close());
  const inv: Pick<Inventory, 'distro' | 'packages'> = {
    packages: [
      pkg({ type: 'pypi', name: 'DJANGO', version: '4.1.5' }),
      pkg({ type: 'pypi', name: 'Django', version: '4.1.6' }),
      pkg({ type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.14.1' }),
      pkg({ type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-api', version: '2.14.1' }),
      pkg({ type: 'golang', namespace: 'golang.org/x', name: 'net', version: 'v0.0.0-20220722155237-a158d28d115b' }),
      pkg({ type: 'golang', namespace: 'golang.org/x', name: 'net', version: 'v0.7.0' }),
      pkg({ type: 'npm', namespace: '@babel', name: 'traverse', version: '7.22.0' }),
    ],
  };
  const matches = matchInventory(inv, db);
  assert.deepEqual(facts(matches), [
    // Every fixed version the advisories name, in version order, as Trivy lists them.
    'DJANGO CVE-2023-23969 fixed 3.2.17, 4.0.9, 4.1.6 HIGH/ghsa',
    'log4j-core CVE-2021-44228 fixed 2.3.1, 2.12.2, 2.15.0 CRITICAL/ghsa',
    'net CVE-2022-27664 fixed 0.0.0-20220906165146-f3363e06e74c UNKNOWN/',
    'traverse GHSA-xxxx-npm0-0001 fixed 7.23.2 CRITICAL/ghsa',
  ]);
  const django = matches.find((m) => m.package.name === 'DJANGO')!;
  assert.deepEqual([...django.vulnerability.aliases].sort(), ['GHSA-2m57-hf25-phgg', 'PYSEC-2023-13']);
  assert.equal(django.vulnerability.summary, 'Django contains Uncontrolled Resource Consumption via cached header');
  assert.deepEqual(django.vulnerability.cvss.map((c) => [c.source, c.score]), [['ghsa', 7.5]]);
  const go = matches.find((m) => m.package.name === 'net')!;
  assert.deepEqual([...go.vulnerability.aliases].sort(), ['GHSA-69cg-p879-7622', 'GO-2022-0969']);
});

test('DB metadata and lookups by alias', async (t) => {
  const db = await buildDb(tempDir(t));
  t.after(() => db.close());
  assert.equal(db.info.schemaVersion, 1);
  assert.deepEqual(
    db.info.sources.map((s) => [s.feed, s.files]),
    [
      ['debian', 1],
      ['alpine', 1],
      ['osv', 6],
    ],
  );
  assert.equal(db.vulnerability('GHSA-jfh8-c2jp-5v3q')?.id, 'CVE-2021-44228');
  assert.equal(db.vulnerability('PYSEC-2023-13')?.id, 'CVE-2023-23969');
  assert.ok(db.info.counts.ecosystems['debian:12']! >= 4);
  // An advisory about two CVEs stays itself: neither CVE absorbs it, and they stay apart.
  assert.equal(db.vulnerability('DSA-5532-1')?.id, 'DSA-5532-1');
  assert.equal(db.vulnerability('CVE-2023-5678')?.id, 'CVE-2023-5678');
  assert.deepEqual(db.vulnerability('CVE-2023-5678')?.aliases, []);
});

test('Matcher.count agrees with match, from an inventory or its stored match keys (a JSON round trip)', async (t) => {
  const db = await buildDb(tempDir(t));
  t.after(() => db.close());
  const inv: Pick<Inventory, 'distro' | 'packages'> = {
    distro: { id: 'debian', versionId: '12' },
    packages: [
      // Two binary packages of one source: one lookup key, two findings each.
      pkg({ type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', source: { name: 'openssl', version: '3.0.11-1~deb12u2' } }),
      pkg({ type: 'deb', name: 'openssl', version: '3.0.11-1~deb12u2', source: { name: 'openssl', version: '3.0.11-1~deb12u2' } }),
      pkg({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u4', source: { name: 'glibc' } }),
      pkg({ type: 'pypi', name: 'Django', version: '4.1.5' }),
      pkg({ type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.14.1' }),
    ],
  };
  const matches = matchInventory(inv, db);
  const expected = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 };
  for (const m of matches) {
    expected[m.severity.toLowerCase() as keyof typeof expected] += 1;
    if (m.fixedVersion !== undefined) expected.fixable += 1;
  }
  const ids = [...new Set(matches.map((m) => m.vulnerability.id))].sort();
  const matcher = new Matcher(db);
  assert.deepEqual(matcher.count(inv), { counts: expected, ids });
  const keys: MatchKeys = matchKeys(inv);
  assert.equal(keys.keys[keys.keys.indexOf(packageMatchKey('debian:12', 'openssl', '3.0.11-1~deb12u2', 1, 'debian-tracker')) + 1], 2, 'two packages share the openssl key');
  assert.deepEqual(new Matcher(db).count(keys), { counts: expected, ids });
  assert.deepEqual(matcher.count(keys), { counts: expected, ids }, 'the memo gives the same answer');
  assert.equal(expected.critical + expected.high + expected.medium + expected.low + expected.unknown, matches.length);
  assert.ok(matches.length >= 6);

  // Counting one inventory, then others that bring new ids (ranked between the first's), then the
  // first again: each answer equals a fresh Matcher's.
  const parts = inv.packages.map((p) => ({ distro: inv.distro!, packages: [p] }));
  const shared = new Matcher(db);
  for (const part of [parts[4]!, parts[0]!, parts[3]!, parts[2]!, inv, parts[4]!]) assert.deepEqual(shared.count(part), new Matcher(db).count(part));

  // The same keys as numbers (a registry's term dictionary): countRefs, and the numbers it lacks.
  const numbered = new Map<number, string>();
  const refs = new Uint32Array(keys.keys.length);
  for (let i = 0; i < keys.keys.length; i += 2) {
    numbered.set(1000 + i, keys.keys[i] as string);
    refs[i] = 1000 + i;
    refs[i + 1] = keys.keys[i + 1] as number;
  }
  const byRef = new Matcher(db);
  assert.deepEqual(byRef.unknownRefs(refs), [...numbered.keys()]);
  const asked: number[] = [];
  const named = (r: { counts: unknown; ids: Uint32Array }) => ({ counts: r.counts, ids: Array.from(byRef.orderByName(r.ids), (n) => byRef.idName(n)) });
  const first = byRef.countRefs(refs, (r) => (asked.push(r), numbered.get(r)));
  assert.equal(new Set(first.ids).size, first.ids.length, 'distinct');
  assert.deepEqual(named(first), { counts: expected, ids });
  assert.deepEqual(byRef.unknownRefs(refs), []);
  assert.deepEqual(named(byRef.countRefs(refs, () => assert.fail('a known number is not asked for again'))), { counts: expected, ids });
  assert.throws(() => byRef.idName(99999), RangeError);
  assert.equal(asked.length, numbered.size);
  assert.throws(() => new Matcher(db).countRefs(Uint32Array.from([7, 1]), () => undefined), /match key number 7 is unknown/);

});

test('match keys never merge two packages, whatever their names hold', () => {
  const sep = '\u007f';
  const a = packageMatchKey('npm', `a${sep}b`, '1', 0);
  const b = packageMatchKey('npm', 'a', `b${sep}1`, 0);
  assert.notEqual(a, b);
  assert.notEqual(packageMatchKey('npm', 'a', '1', 0), packageMatchKey('npm', 'a', '1', 1));
  const keys = matchKeys({ packages: [pkg({ type: 'npm', name: `a${sep}b`, version: '1' }), pkg({ type: 'npm', name: 'a', version: `b${sep}1` })] });
  assert.equal(keys.keys.length, 4, 'two keys, one package each');
  assert.deepEqual(keys.keys.filter((_, i) => i % 2 === 0).map((k) => splitMatchKey(k as string)), [
    { os: 0, feed: '', ecosystem: 'npm', name: `a${sep}b`, version: '1' },
    { os: 0, feed: '', ecosystem: 'npm', name: 'a', version: `b${sep}1` },
  ], 'and read back as they were');
});
