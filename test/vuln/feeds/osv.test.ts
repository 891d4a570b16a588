/**
 * OSV records: real PyPA (YAML) and Go vulndb (JSON) records, a GHSA record and a Debian DSA
 * record in the shape osv.dev serves (test/fixtures/vuln/feeds/README.md says which is which).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { isOsvRecord, parseOsv } from '../../../src/vuln/feeds/osv.js';

const FIXTURES = new URL('../../../../test/fixtures/vuln/feeds/osv/', import.meta.url);
const load = (name: string): unknown => {
  const text = readFileSync(new URL(name, FIXTURES), 'utf8');
  return name.endsWith('.json') ? (JSON.parse(text) as unknown) : (parse(text) as unknown);
};
/** A record without its long `details`, which the tests check apart. */
function withoutDetails<T extends { details?: string }>(v: T): Omit<T, 'details'> {
  const { details: _, ...rest } = v;
  return rest;
}

test('a PyPA record: GIT range dropped, ECOSYSTEM range and versions kept, CVSS scored, source pysec', () => {
  const r = parseOsv(load('pypa/PYSEC-2023-221.yaml'), 'PYSEC-2023-221.yaml');
  assert.deepEqual(r.errors, []);
  assert.equal(r.vulnerabilities.length, 1);
  const v = r.vulnerabilities[0]!;
  assert.match(v.details ?? '', /^Werkzeug is a comprehensive WSGI web application library/);
  assert.deepEqual(withoutDetails(v), {
    id: 'PYSEC-2023-221',
    aliases: ['CVE-2023-46136', 'GHSA-hrfv-mqp8-q5rw'],
    published: '2023-10-25T18:17:00Z',
    modified: '2023-11-08T18:38:34.170214Z',
    references: ['https://github.com/pallets/werkzeug/commit/f3c803b3ade485a45f12b6d6617595350c0f03e2', 'https://github.com/pallets/werkzeug/security/advisories/GHSA-hrfv-mqp8-q5rw'],
    cvss: [{ source: 'pysec', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', score: 7.5 }],
    source: 'pysec',
  });
  assert.deepEqual(r.affected, [
    {
      vulnId: 'PYSEC-2023-221',
      ecosystem: 'pypi',
      name: 'werkzeug',
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.3.8' }, { introduced: '3.0.0' }, { fixed: '3.0.1' }] }],
      versions: ['0.1', '0.10', '0.10.1'],
      status: 'fixed',
      source: 'pysec',
    },
  ]);
});

test('PyPI names are PEP 503-normalized and versions no installer accepts are dropped', () => {
  const r = parseOsv(load('pypa/PYSEC-2020-341.yaml'), 'PYSEC-2020-341.yaml');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.affected.map((a) => [a.name, a.versions, a.status]), [['jw-util', ['1.0a', '1.0dev1'], 'fixed']]);
  assert.deepEqual(r.skipped, { 'invalid version': 1 });
});

test('a range closed by last_affected is affected, not fixed', () => {
  const r = parseOsv(load('pypa/PYSEC-2022-42969.yaml'), 'PYSEC-2022-42969.yaml');
  assert.deepEqual(r.affected.map((a) => [a.name, a.ranges, a.status]), [['py', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '1.11.0' }] }], 'affected']]);
  assert.equal(r.vulnerabilities[0]!.summary, undefined);
});

test('withdrawn records are skipped and counted, not errors', () => {
  for (const f of ['pypa/PYSEC-2023-73.yaml', 'go/GO-2024-2730.json']) {
    const r = parseOsv(load(f), f);
    assert.deepEqual([r.vulnerabilities, r.affected, r.errors, r.skipped], [[], [], [], { withdrawn: 1 }], f);
  }
});

test('a Go vulndb record: SEMVER ranges per module, source go', () => {
  const r = parseOsv(load('go/GO-2022-0229.json'), 'GO-2022-0229.json');
  assert.deepEqual(r.errors, []);
  const v = r.vulnerabilities[0]!;
  assert.deepEqual(
    [v.id, v.aliases, v.summary, v.published, v.modified, v.source, v.cvss],
    ['GO-2022-0229', ['CVE-2020-7919', 'GHSA-cjjc-xp8v-855w'], 'Panic in certificate parsing in crypto/x509 and golang.org/x/crypto/cryptobyte', '2022-07-06T18:23:48Z', '0001-01-01T00:00:00Z', 'go', []],
  );
  assert.deepEqual(r.affected, [
    {
      vulnId: 'GO-2022-0229',
      ecosystem: 'go',
      name: 'stdlib',
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.12.16' }, { introduced: '1.13.0-0' }, { fixed: '1.13.7' }] }],
      versions: [],
      status: 'fixed',
      source: 'go',
    },
    {
      vulnId: 'GO-2022-0229',
      ecosystem: 'go',
      name: 'golang.org/x/crypto',
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.0.0-20200124225646-8b5121be2f68' }] }],
      versions: [],
      status: 'fixed',
      source: 'go',
    },
  ]);
});

test('a GHSA record: database_specific.severity and the CVSS v3 vector, source ghsa', () => {
  const r = parseOsv(load('ghsa/GHSA-35jh-r3h4-6jhm.json'), 'GHSA-35jh-r3h4-6jhm.json', 'osv');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.vulnerabilities, [
    {
      id: 'GHSA-35jh-r3h4-6jhm',
      aliases: ['CVE-2021-23337'],
      summary: 'Command Injection in lodash',
      details: '`lodash` versions prior to 4.17.21 are vulnerable to Command Injection via the template function.',
      published: '2021-05-06T16:05:51Z',
      modified: '2024-02-16T08:10:42Z',
      references: ['https://nvd.nist.gov/vuln/detail/CVE-2021-23337', 'https://github.com/lodash/lodash'],
      cvss: [{ source: 'ghsa', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', score: 7.2 }],
      severity: { source: 'ghsa', severity: 'HIGH' },
      source: 'ghsa',
    },
  ]);
  assert.deepEqual(
    r.affected.map((a) => [a.ecosystem, a.name, a.status, a.ranges]),
    [
      ['npm', 'lodash', 'fixed', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }]],
      ['npm', 'lodash.template', 'affected', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '4.5.0' }] }]],
    ],
  );

  const log4j = parseOsv(load('ghsa/GHSA-jfh8-c2jp-5v3q.json'), 'GHSA-jfh8-c2jp-5v3q.json');
  assert.deepEqual(log4j.vulnerabilities[0]!.severity, { source: 'ghsa', severity: 'CRITICAL' });
  assert.deepEqual(log4j.vulnerabilities[0]!.cvss.map((c) => [c.version, c.score]), [['3.1', 10]]);
  assert.deepEqual(
    log4j.affected.map((a) => [a.ecosystem, a.name, a.ranges.length, a.status]),
    [['maven', 'org.apache.logging.log4j:log4j-core', 3, 'fixed']],
  );
});

test('a Debian DSA record: OS ecosystem, source package, upstream ids as aliases, the fixed version', () => {
  const r = parseOsv(load('debian/DSA-5532-1.json'), 'DSA-5532-1.json');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.vulnerabilities.map((v) => [v.id, v.aliases, v.source]), [['DSA-5532-1', ['CVE-2023-5363'], 'osv']]);
  assert.deepEqual(r.affected, [
    {
      vulnId: 'DSA-5532-1',
      ecosystem: 'debian:12',
      name: 'openssl',
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }],
      versions: ['3.0.9-1', '3.0.11-1~deb12u1'],
      status: 'fixed',
      fixedVersion: '3.0.11-1~deb12u2',
      source: 'osv',
    },
  ]);
  // A caller's source names records of no known feed.
  assert.equal(parseOsv(load('debian/DSA-5532-1.json'), 'x', 'osv.dev').vulnerabilities[0]!.source, 'osv.dev');
});

test('unknown ecosystems and package-less entries are skipped and counted', () => {
  const r = parseOsv(
    {
      id: 'OSV-2024-1',
      modified: '2024-01-01T00:00:00Z',
      affected: [
        { package: { ecosystem: 'Hackage', name: 'aeson' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.3.0' }] }] },
        { ranges: [{ type: 'GIT', repo: 'https://example.org/x.git', events: [{ introduced: '0' }] }] },
        { package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'GIT', repo: 'https://example.org/y.git', events: [{ introduced: '0' }] }] },
        { package: { ecosystem: 'NuGet', name: 'Newtonsoft.Json' }, versions: ['12.0.1'] },
      ],
    },
    'bundle.json',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.skipped, { 'ecosystem Hackage': 1, 'no package': 1, 'no version ranges': 1 });
  assert.deepEqual(r.affected.map((a) => [a.ecosystem, a.name, a.versions, a.status]), [['nuget', 'newtonsoft.json', ['12.0.1'], 'affected']]);
});

test('malformed records are reported with file and id; a bad affected entry leaves the rest', () => {
  const noId = parseOsv({ summary: 'x', affected: [] }, 'a.json');
  assert.deepEqual([noId.vulnerabilities, noId.errors], [[], ['a.json: record without an id skipped']]);
  assert.deepEqual(parseOsv('text', 'b.json').errors, ['b.json: record without an id skipped']);

  const notList = parseOsv({ id: 'GHSA-aaaa-bbbb-cccc', affected: { package: {} } }, 'c.json');
  assert.deepEqual([notList.vulnerabilities, notList.errors], [[], ['c.json: GHSA-aaaa-bbbb-cccc: skipped: affected is not a list']]);

  const badEvents = parseOsv(
    {
      id: 'GHSA-xxxx-yyyy-zzzz',
      affected: [
        { package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1.0.0' }] }] },
        { package: { ecosystem: 'npm', name: 'b' }, ranges: [{ type: 'SEMVER', events: [{ fixed: 2 }] }] },
        { package: { ecosystem: 'npm', name: 'c' }, ranges: [{ type: 'SEMVER', events: [] }] },
        { package: { ecosystem: 'npm', name: 'd' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] },
      ],
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:X' }],
    },
    'd.json',
  );
  assert.deepEqual(badEvents.affected.map((a) => a.name), ['d']);
  assert.equal(badEvents.vulnerabilities.length, 1);
  assert.deepEqual(badEvents.vulnerabilities[0]!.cvss, []);
  assert.equal(badEvents.errors.length, 4);
  assert.match(badEvents.errors[0]!, /^d\.json: GHSA-xxxx-yyyy-zzzz: .*CVSS.*\(severity ignored\)$/);
  assert.match(badEvents.errors[1]!, /^d\.json: GHSA-xxxx-yyyy-zzzz: affected\[0\] skipped: range event 0 is not one of/);
  assert.match(badEvents.errors[2]!, /^d\.json: GHSA-xxxx-yyyy-zzzz: affected\[1\] skipped: range event 0 /);
  assert.match(badEvents.errors[3]!, /^d\.json: GHSA-xxxx-yyyy-zzzz: affected\[2\] skipped: range events is not a non-empty list$/);
});

test('isOsvRecord tells OSV records from other documents', () => {
  assert.equal(isOsvRecord(load('go/GO-2022-0229.json')), true);
  assert.equal(isOsvRecord({ id: 'x' }), false);
  assert.equal(isOsvRecord({ distroversion: 'v3.19', packages: [] }), false);
  assert.equal(isOsvRecord([]), false);
});
