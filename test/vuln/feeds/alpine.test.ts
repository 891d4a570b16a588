/**
 * Alpine secdb: excerpts of the real YAML files (alpine-secdb git repository) and a JSON file in
 * the shape secdb.alpinelinux.org serves (test/fixtures/vuln/feeds/README.md).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { isAlpineSecdb, parseAlpineSecdb, secfixIds } from '../../../src/vuln/feeds/alpine.js';
import type { AffectedRecord } from '../../../src/vuln/model.js';

const FIXTURES = new URL('../../../../test/fixtures/vuln/feeds/alpine/', import.meta.url);
const yaml = (name: string): unknown => parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown;

const fixed = (vulnId: string, ecosystem: string, name: string, version: string): AffectedRecord => ({
  vulnId,
  ecosystem,
  name,
  ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] }],
  versions: [],
  status: 'fixed',
  fixedVersion: version,
  source: 'alpine-secdb',
});
const notAffected = (vulnId: string, ecosystem: string, name: string): AffectedRecord => ({ vulnId, ecosystem, name, ranges: [], versions: [], status: 'not_affected', source: 'alpine-secdb' });

test('v3.8 main (YAML): "0" means not affected, typo versions repaired, XSA ids as aliases or ids', () => {
  const r = parseAlpineSecdb(yaml('v3.8/main.yaml'), 'v3.8/main.yaml');
  assert.deepEqual(r.affected, [
    notAffected('CVE-2016-0682', 'alpine:3.8', 'db'),
    notAffected('CVE-2016-0689', 'alpine:3.8', 'db'),
    fixed('CVE-2019-2805', 'alpine:3.8', 'mariadb', '10.2.26-r0'),
    fixed('CVE-2016-9843', 'alpine:3.8', 'mariadb', '10.2.19-r0'),
    fixed('XSA-207', 'alpine:3.8', 'xen', '4.7.1-r5'),
    fixed('CVE-2017-2615', 'alpine:3.8', 'xen', '4.7.1-r5'),
    fixed('CVE-2018-10472', 'alpine:3.8', 'xen', '4.10.1-r0'),
    fixed('CVE-2018-8897', 'alpine:3.8', 'xen', '4.10-1-r1'),
  ]);
  assert.deepEqual(
    r.vulnerabilities.map((v) => [v.id, v.aliases]),
    [
      ['CVE-2016-0682', []],
      ['CVE-2016-0689', []],
      ['CVE-2019-2805', []],
      ['CVE-2016-9843', []],
      ['XSA-207', []],
      ['CVE-2017-2615', ['XSA-208']],
      ['CVE-2018-10472', ['XSA-258']],
      ['CVE-2018-8897', ['XSA-260']],
    ],
  );
  assert.deepEqual(r.vulnerabilities[0], { id: 'CVE-2016-0682', aliases: [], references: [], cvss: [], source: 'alpine-secdb' });
  // `4.10-1-r1` is no apk version and no typo we can repair: kept as written, and said so.
  assert.deepEqual(r.errors, ['v3.8/main.yaml: xen: "4.10-1-r1" is not an apk version: kept as written']);
});

test('v3.10 main (YAML): trailing text dropped, placeholder CVE ids fall back to the XSA id, shared XSA ids are no aliases', () => {
  const r = parseAlpineSecdb(yaml('v3.10/main.yaml'), 'v3.10/main.yaml');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.affected.map((a) => [a.vulnId, a.name, a.fixedVersion]),
    [
      ['CVE-2017-16808', 'tcpdump', '4.9.3-r0'],
      ['CVE-2018-10103', 'tcpdump', '4.9.3-r0'],
      ['CVE-2016-7922', 'tcpdump', '4.9.0-r0'],
      ['CVE-2018-12126', 'xen', '4.12.0-r2'],
      ['CVE-2018-12127', 'xen', '4.12.0-r2'],
      ['XSA-295', 'xen', '4.12.1-r0'],
    ],
  );
  assert.ok(r.affected.every((a) => a.ecosystem === 'alpine:3.10'));
  // XSA-297 covers both CVEs: an alias of neither, or the DB would merge them.
  assert.deepEqual(r.vulnerabilities.find((v) => v.id === 'CVE-2018-12127')?.aliases, []);
  assert.deepEqual(secfixIds('CVE-2018-3620 CVE-2018-3646 XSA-273').others, ['XSA-273']);
  const shared = parseAlpineSecdb({ distroversion: 'v3.8', packages: [{ pkg: { name: 'xen', secfixes: { '4.10.1-r3': ['CVE-2018-3620 CVE-2018-3646 XSA-273', 'CVE-2018-15470 XSA-272'] } } }] }, 'x');
  assert.deepEqual(shared.vulnerabilities.map((v) => [v.id, v.aliases]), [['CVE-2018-3620', []], ['CVE-2018-3646', []], ['CVE-2018-15470', ['XSA-272']]]);
});

test('the JSON as served: same shape, keys trimmed', () => {
  const doc = JSON.parse(readFileSync(new URL('v3.19-main.json', FIXTURES), 'utf8')) as unknown;
  assert.equal(isAlpineSecdb(doc), true);
  const r = parseAlpineSecdb(doc, 'main.json');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.affected, [
    fixed('CVE-2023-5678', 'alpine:3.19', 'openssl', '3.1.4-r1'),
    fixed('CVE-2023-6129', 'alpine:3.19', 'openssl', '3.1.4-r3'),
    fixed('CVE-2023-6237', 'alpine:3.19', 'openssl', '3.1.4-r4'),
    fixed('CVE-2024-0727', 'alpine:3.19', 'openssl', '3.1.4-r4'),
    fixed('CVE-2023-46218', 'alpine:3.19', 'curl', '8.5.0-r0'),
    fixed('CVE-2023-46219', 'alpine:3.19', 'curl', '8.5.0-r0'),
    fixed('CVE-2023-38545', 'alpine:3.19', 'curl', '8.4.0-r0'),
    fixed('CVE-2023-38546', 'alpine:3.19', 'curl', '8.4.0-r0'),
  ]);
});

test('ids in hand-written entries', () => {
  const cases: ReadonlyArray<readonly [string, string[], string[]]> = [
    ['CVE-2019-1234', ['CVE-2019-1234'], []],
    ['CVE-2017-8904 XSA-214', ['CVE-2017-8904'], ['XSA-214']],
    ['CVE-2018-3620 CVE-2018-3646 XSA-273', ['CVE-2018-3620', 'CVE-2018-3646'], ['XSA-273']],
    ['CVE-2017-5753 CVE-2017-5715 CVE-2017-5754 XSA-254 XPTI', ['CVE-2017-5753', 'CVE-2017-5715', 'CVE-2017-5754'], ['XSA-254']],
    ['CVE-????-?????  XSA-295', [], ['XSA-295']],
    ['CVE_2019-2426', ['CVE-2019-2426'], []],
    ['CVE 2018-16859', ['CVE-2018-16859'], []],
    [' CVE-2016-6263', ['CVE-2016-6263'], []],
    ['CVE-2017-17434-1', ['CVE-2017-17434'], []],
    ['CVE-2017-8073.patch', ['CVE-2017-8073'], []],
    ['CVE-2018-16301 (was fixed in libpcap)', ['CVE-2018-16301'], []],
    ['CVE-2017-14450 TALOS-2017-0499', ['CVE-2017-14450'], ['TALOS-2017-0499']],
    ['CVE-2016-10134 ZBX-11023', ['CVE-2016-10134'], ['ZBX-11023']],
    ['wnpa-sec-2017-21', [], ['wnpa-sec-2017-21']],
    ['(no id here)', [], []],
  ];
  for (const [entry, cves, others] of cases) assert.deepEqual(secfixIds(entry), { cves, others }, entry);
});

test('quirks: null lists, an id under two versions, an entry without id, a bad package', () => {
  const r = parseAlpineSecdb(
    {
      distroversion: 'v3.6',
      packages: [
        { pkg: { name: 'heimdal', secfixes: { '7.1.0-r2': ['CVE-2017-17439'], '7.4.0-r0': null } } },
        { pkg: { name: 'libx', secfixes: { '1.0-r1': ['CVE-2020-11111'], '1.2-r0': ['CVE-2020-11111', 'see upstream'], '0': ['CVE-2020-11111'] } } },
        { pkg: { secfixes: {} } },
        { pkg: { name: 'nofixes' } },
      ],
    },
    'v3.6/main.yaml',
  );
  assert.deepEqual(
    r.affected.map((a) => [a.vulnId, a.name, a.status, a.fixedVersion]),
    [
      ['CVE-2017-17439', 'heimdal', 'fixed', '7.1.0-r2'],
      ['CVE-2020-11111', 'libx', 'fixed', '1.2-r0'],
    ],
  );
  assert.deepEqual(r.errors, ['v3.6/main.yaml: libx 1.2-r0: no advisory id in "see upstream": skipped', 'v3.6/main.yaml: packages[2] has no pkg.name: skipped']);
});

test('an edge file is skipped and counted; a document that is no secdb is FEED_INVALID', () => {
  assert.deepEqual(parseAlpineSecdb({ distroversion: 'edge', packages: [] }, 'edge/main.json').skipped, { 'release edge': 1 });
  assert.deepEqual(parseAlpineSecdb({ distroversion: 'v3.3', reponame: 'community', packages: null }, 'x').affected, []);
  assert.throws(() => parseAlpineSecdb({ packages: [] }, 'x.json'), { name: 'VulnError', code: 'FEED_INVALID' });
});
