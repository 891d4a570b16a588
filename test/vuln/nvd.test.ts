/**
 * The NVD and CVE records as sources of severity: the seed's Alpine image, whose secdb states no
 * severity, gets the NVD's rating; the NVD's feed is read as it is published (CVE API 2.0 JSON,
 * gzip-compressed, streamed in batches); CVEs no package feed names are not kept.
 *
 * The NVD extract is CVE-2023-5678 as the NVD published it on 2024-05-01 (public domain; the
 * English description shortened), read from fkie-cad/nvd-json-data-feeds.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Package } from '../../src/sbom/index.js';
import { AdvisoryDb, buildAdvisoryDb, matchInventory, readFeeds, type FeedInput } from '../../src/vuln/index.js';
import { parseAlpineSecdb } from '../../src/vuln/feeds/alpine.js';
import { parseOsv } from '../../src/vuln/feeds/osv.js';
import { tempDir } from '../helpers/env.js';

const CVE_2023_5678 = {
  cve: {
    id: 'CVE-2023-5678',
    sourceIdentifier: 'openssl-security@openssl.org',
    published: '2023-11-06T16:15:42.670',
    lastModified: '2024-05-01T18:15:12.393',
    vulnStatus: 'Modified',
    descriptions: [
      { lang: 'en', value: 'Issue summary: Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.' },
      { lang: 'es', value: 'Resumen del problema: generar claves X9.42 DH excesivamente largas ...' },
    ],
    metrics: {
      cvssMetricV31: [
        {
          source: 'nvd@nist.gov',
          type: 'Primary',
          cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', baseScore: 5.3, baseSeverity: 'MEDIUM' },
          exploitabilityScore: 3.9,
          impactScore: 1.4,
        },
      ],
    },
    weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: 'CWE-754' }] }],
    references: [{ url: 'https://www.openssl.org/news/secadv/20231106.txt', source: 'openssl-security@openssl.org', tags: ['Vendor Advisory'] }],
  },
};
/** A CVE no package feed below names: it must not enter the DB. */
const CVE_UNNAMED = { cve: { id: 'CVE-2021-44228', published: '2021-12-10T10:15:09.143', lastModified: '2024-01-01T00:00:00.000', vulnStatus: 'Analyzed', descriptions: [{ lang: 'en', value: 'Apache Log4j2 JNDI features ...' }], metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H' } }] } } };
const REJECTED = { cve: { id: 'CVE-2023-0001', vulnStatus: 'Rejected', descriptions: [{ lang: 'en', value: 'Rejected reason: ...' }] } };

const nvdFeed = (items: unknown[]) => ({ resultsPerPage: items.length, startIndex: 0, totalResults: items.length, format: 'NVD_CVE', version: '2.0', timestamp: '2024-05-02T03:00:00.000', vulnerabilities: items });

const ALPINE = { distroversion: 'v3.19', reponame: 'main', urlprefix: 'https://dl-cdn.alpinelinux.org/alpine', apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk', archs: ['x86_64'], packages: [{ pkg: { name: 'openssl', secfixes: { '3.1.4-r3': ['CVE-2023-5678'] } } }] };

async function* files(input: string): FeedInput['files'] {
  for await (const f of readFeeds(input)) yield { file: f.file, records: f.records };
}

let n = 0;
function pkg(p: Pick<Package, 'type' | 'name' | 'version'> & Partial<Package>): Package {
  n += 1;
  return { id: `pkg-${n}`, purl: `pkg:${p.type}/${p.name}@${p.version}`, licenses: [], locations: [{ path: 'x' }], dependsOn: [], ...p };
}

test('an Alpine finding, unrated by its secdb, takes the NVD rating of a gzip-compressed NVD feed; CVEs nothing names are not kept', async (t) => {
  const dir = tempDir(t);
  const nvd = join(dir, 'nvdcve-2.0-2023.json.gz');
  writeFileSync(nvd, gzipSync(JSON.stringify(nvdFeed([CVE_UNNAMED, CVE_2023_5678, REJECTED, { cve: { sourceIdentifier: 'x' } }]))));
  const seen: string[] = [];
  const out = join(dir, 'advisory.db');
  const info = await buildAdvisoryDb(out, [
    { feed: 'alpine', files: (async function* () { yield { file: 'main.json', records: parseAlpineSecdb(ALPINE, 'main.json') }; })() },
    { feed: 'nvd', files: files(nvd) },
  ], { onError: (e) => seen.push(e) });
  assert.deepEqual(seen, [`${nvd}[3]: not an NVD CVE item (no cve.id): skipped`]);
  assert.equal(info.counts.vulnerabilities, 1, 'only the CVE a package record names');
  const db = AdvisoryDb.open(out);
  t.after(() => db.close());
  assert.equal(db.vulnerability('CVE-2021-44228'), undefined);
  const [m, ...rest] = matchInventory({ distro: { id: 'alpine', versionId: '3.19.1' }, packages: [pkg({ type: 'apk', name: 'libcrypto3', version: '3.1.4-r2', source: { name: 'openssl' } })] }, db);
  assert.equal(rest.length, 0);
  assert.equal(m!.vulnerability.id, 'CVE-2023-5678');
  assert.equal(m!.severity, 'MEDIUM');
  assert.equal(m!.severitySource, 'nvd');
  assert.deepEqual(m!.vendorSeverity, { nvd: 'MEDIUM' });
  assert.deepEqual(m!.vulnerability.cvss, [{ source: 'nvd', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', score: 5.3 }]);
  assert.deepEqual(m!.vulnerability.cweIds, ['CWE-754']);
  assert.match(m!.vulnerability.details ?? '', /^Issue summary: Generating excessively long X9\.42 DH keys/);
  assert.equal(m!.vulnerability.published, '2023-11-06T16:15:42.670');
});

test('an NVD feed is streamed in batches; a truncated gzip keeps what came before the cut and says so', async (t) => {
  const dir = tempDir(t);
  const items = Array.from({ length: 4500 }, (_, i) => ({ cve: { id: `CVE-2024-${String(10000 + i)}`, vulnStatus: 'Analyzed', descriptions: [{ lang: 'en', value: `flaw ${i}` }], metrics: {} } }));
  const whole = gzipSync(JSON.stringify(nvdFeed(items)));
  const path = join(dir, 'nvdcve-2.0-2024.json.gz');
  writeFileSync(path, whole);
  const got = [];
  for await (const f of readFeeds(path)) got.push(f);
  assert.deepEqual(got.map((f) => [f.file.slice(path.length), f.format, f.records.vulnerabilities.length, f.records.errors.length]), [
    [' (items 0-1999)', 'nvd', 2000, 0],
    [' (items 2000-3999)', 'nvd', 2000, 0],
    [' (items 4000-4499)', 'nvd', 500, 0],
  ]);
  assert.equal(got[2]!.records.vulnerabilities.at(-1)!.id, 'CVE-2024-14499');

  const cut = join(dir, 'nvdcve-2.0-cut.json.gz');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const partial = [];
  for await (const f of readFeeds(cut)) partial.push(f);
  const last = partial.at(-1)!;
  assert.match(last.records.errors.join('\n'), /cut short after \d+ items \(a truncated or corrupt file\)/);
  const kept = partial.reduce((a, f) => a + f.records.vulnerabilities.length, 0);
  assert.ok(kept > 1000 && kept < 4500, `${kept} items before the cut`);
});

test('a CVE JSON 5 record: the CNA and CISA ADP scores and CWEs; a language finding rates by GHSA first, then the NVD', async (t) => {
  const dir = tempDir(t);
  // Shaped as the CVE list (cvelistV5) publishes a record with CISA's vulnrichment ADP container.
  const cve5 = {
    dataType: 'CVE_RECORD',
    dataVersion: '5.1',
    cveMetadata: { cveId: 'CVE-2099-0100', state: 'PUBLISHED', datePublished: '2099-01-02T00:00:00.000Z', dateUpdated: '2099-01-03T00:00:00.000Z' },
    containers: {
      cna: {
        title: 'Example flaw in example-lib',
        descriptions: [{ lang: 'en', value: 'example-lib before 1.2.0 mishandles input.' }],
        metrics: [{ cvssV3_1: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8 } }],
        problemTypes: [{ descriptions: [{ type: 'CWE', cweId: 'CWE-20', lang: 'en', description: 'CWE-20 Improper Input Validation' }] }],
        references: [{ url: 'https://example.com/advisory' }],
      },
      adp: [{ providerMetadata: { shortName: 'CISA-ADP' }, metrics: [{ cvssV3_1: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N', baseScore: 5.9 } }] }],
    },
  };
  writeFileSync(join(dir, 'CVE-2099-0100.json'), JSON.stringify(cve5));
  const ghsa = parseOsv({ id: 'GHSA-xxxx-0100-0001', modified: '2099-01-03T00:00:00Z', aliases: ['CVE-2099-0100'], affected: [{ package: { ecosystem: 'npm', name: 'example-lib' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2.0' }] }] }], database_specific: { severity: 'MODERATE' } }, 'ghsa.json', 'ghsa');
  const out = join(dir, 'advisory.db');
  await buildAdvisoryDb(out, [
    { feed: 'ghsa', files: (async function* () { yield { file: 'ghsa.json', records: ghsa }; })() },
    { feed: 'cve', files: files(join(dir, 'CVE-2099-0100.json')) },
  ]);
  const db = AdvisoryDb.open(out);
  t.after(() => db.close());
  const [m] = matchInventory({ packages: [pkg({ type: 'npm', name: 'example-lib', version: '1.1.0' })] }, db);
  assert.equal(m!.severity, 'MEDIUM', "GitHub's rating of a language package comes first");
  assert.equal(m!.severitySource, 'ghsa');
  assert.deepEqual(m!.vendorSeverity, { ghsa: 'MEDIUM', cna: 'CRITICAL', 'cisa-adp': 'MEDIUM' });
  assert.deepEqual(m!.vulnerability.cweIds, ['CWE-20']);
  assert.equal(m!.vulnerability.summary, 'Example flaw in example-lib');
});

test("KEV and EPSS files as published: their bad entries are error lines, the rest is read; EPSS's date comes from its model line", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'known_exploited_vulnerabilities.json'), JSON.stringify({ title: 'CISA Catalog of Known Exploited Vulnerabilities', catalogVersion: '2099.01.02', dateReleased: '2099-01-02T15:00:00.000Z', count: 2, vulnerabilities: [{ cveID: 'CVE-2021-44228', vendorProject: 'Apache', product: 'Log4j2', vulnerabilityName: 'Apache Log4j2 Remote Code Execution Vulnerability', dateAdded: '2021-12-10', dueDate: '2021-12-24', knownRansomwareCampaignUse: 'Known' }, { cveID: 'not-a-cve', dateAdded: '2021-12-10' }] }));
  writeFileSync(join(dir, 'epss.csv'), '#model_version:v2025.03.14,score_date:2099-01-02T12:55:00Z\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\nCVE-2021-0001,1.5,0.2\n');
  writeFileSync(join(dir, 'not-epss.csv'), 'cve,epss,percentile,extra\n');
  const got = [];
  for await (const f of readFeeds(dir)) got.push(f);
  assert.deepEqual(got.map((f) => [f.file.slice(dir.length + 1), f.format, f.records.vulnerabilities.length]), [
    ['epss.csv', 'epss', 1],
    ['known_exploited_vulnerabilities.json', 'kev', 1],
    ['not-epss.csv', 'epss', 0],
  ]);
  assert.match(got[2]!.records.errors.join('\n'), /not-epss\.csv:1: not EPSS's header \(cve,epss,percentile\): the file is skipped/);
  assert.deepEqual(got[0]!.records.vulnerabilities[0]!.epss, { score: 0.94358, percentile: 0.99957, date: '2099-01-02' });
  assert.deepEqual(got[0]!.records.errors, [`${join(dir, 'epss.csv')}:4: not an EPSS row (CVE, score and percentile in 0..1): skipped`]);
  assert.deepEqual(got[1]!.records.vulnerabilities[0]!.knownExploited, { dateAdded: '2021-12-10', dueDate: '2021-12-24', ransomware: true });
  assert.deepEqual(got[1]!.records.errors, [`${join(dir, 'known_exploited_vulnerabilities.json')}[1]: a KEV entry without a cveID or dateAdded: skipped`]);
});
