/**
 * RPM distributions and Wolfi end to end: the feed fixtures in their published forms (OSV
 * records, updateinfo.xml, ELSA OVAL, secdb) read by readFeeds into a real DB file, and images'
 * packages (as the rpm and apk catalogers report them) matched against it, as a scan does. Every
 * version order the cases rely on is checked against rpm's own labelCompare (python3-rpm).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Distro, Inventory, Package } from '../../src/sbom/index.js';
import { AdvisoryDb, buildAdvisoryDb, compareRpmEvrString, coverageWarnings, distroEcosystem, lookupKey, matchInventory, readFeeds, type FeedInput } from '../../src/vuln/index.js';
import { parseOsv } from '../../src/vuln/feeds/osv.js';
import { requirePythonModule, tempDir } from '../helpers/env.js';

const FIXTURES = new URL('../../../test/fixtures/vuln/feeds/', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

/** Records written inline: a RHEL 7 errata (for CentOS 7), a modular AlmaLinux 8 one without a stream, Chainguard's OSV for Wolfi. */
const INLINE = [
  {
    id: 'RHSA-2099:0007',
    modified: '2099-01-01T00:00:00Z',
    upstream: ['CVE-2099-0007'],
    references: [{ type: 'ARTICLE', url: 'https://access.redhat.com/security/updates/classification/#moderate' }],
    affected: [{ package: { name: 'bash', ecosystem: 'Red Hat:enterprise_linux:7::server' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0:4.2.46-35.el7_9' }] }] }],
  },
  {
    id: 'ALSA-2099:0018',
    summary: 'Important: nodejs:18 security update',
    modified: '2099-01-01T00:00:00Z',
    aliases: ['CVE-2099-0018'],
    affected: [{ package: { name: 'nodejs', ecosystem: 'AlmaLinux:8' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:18.19.1-1.module_el8.9.0+3775+d8460d29' }] }] }],
  },
  {
    id: 'CGA-test-0001',
    modified: '2099-01-01T00:00:00Z',
    upstream: ['CVE-2099-0101'],
    affected: [
      { package: { name: 'openssl', ecosystem: 'Wolfi' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.3.1-r0' }] }] },
      { package: { name: 'busybox', ecosystem: 'Wolfi' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.36.1-r8' }] }] },
    ],
  },
];

let n = 0;
function rpm(name: string, version: string, extra: Partial<Package> = {}): Package {
  n += 1;
  return { id: `pkg-${n}`, type: 'rpm', name, version, purl: `pkg:rpm/x/${name}@${version}`, licenses: [], locations: [{ path: 'var/lib/rpm/rpmdb.sqlite' }], dependsOn: [], ...extra };
}
function apk(name: string, version: string, origin = name): Package {
  n += 1;
  return { id: `pkg-${n}`, type: 'apk', name, version, source: { name: origin }, purl: `pkg:apk/wolfi/${name}@${version}`, licenses: [], locations: [{ path: 'lib/apk/db/installed' }], dependsOn: [], ...{} };
}

async function openDb(t: TestContext): Promise<AdvisoryDb> {
  const out = join(tempDir(t), 'advisory.db');
  const dirs = ['redhat', 'almalinux', 'rocky', 'suse', 'photon', 'wolfi', 'chainguard', 'amazon', 'oracle'];
  const inputs: FeedInput[] = dirs.map((d) => ({ feed: d, files: readFeeds(join(FIXTURES, d)) }));
  const inline = INLINE.map((r) => parseOsv(r, `${r.id}.json`));
  for (const r of inline) assert.deepEqual(r.errors, []);
  inputs.push({ feed: 'inline', files: (async function* () { for (const r of inline) yield { file: 'inline.json', records: r }; })() });
  await buildAdvisoryDb(out, inputs);
  const db = AdvisoryDb.open(out);
  t.after(() => db.close());
  return db;
}

type Row = [pkg: string, vuln: string, status: string, fixed: string | undefined, severity: string, source: string];
const rows = (distro: Distro, packages: Package[], db: AdvisoryDb): Row[] =>
  matchInventory({ distro, packages }, db).map((m) => [m.package.name, m.vulnerability.id, m.status, m.fixedVersion, m.severity, m.severitySource]);

test('each RPM distribution and Wolfi is judged by its own release\'s data, binary or source names as its feeds key them', async (t) => {
  const db = await openDb(t);
  const ubi9: Distro = { id: 'rhel', versionId: '9.3', prettyName: 'Red Hat Enterprise Linux 9.3 (Plow)' };
  // UBI 9's openssl-libs (epoch 1, as the rpmdb says it) before and after RHSA-2023:7877.
  assert.deepEqual(rows(ubi9, [rpm('openssl-libs', '3.0.7-24.el9', { epoch: 1, source: { name: 'openssl', version: '3.0.7-24.el9' } })], db), [
    ['openssl-libs', 'CVE-2023-5678', 'fixed', '1:3.0.7-25.el9_3', 'LOW', 'redhat'],
  ]);
  assert.deepEqual(rows(ubi9, [rpm('openssl-libs', '3.0.7-25.el9_3', { epoch: 1 })], db), []);
  // Epochs: an installed package without one is epoch 0, older than any 1:… whatever its version.
  assert.deepEqual(rows(ubi9, [rpm('openssl-libs', '3.0.9-1.el9')], db).map((r) => r.slice(0, 4)), [['openssl-libs', 'CVE-2023-5678', 'fixed', '1:3.0.7-25.el9_3']]);
  // A RHEL 8 image is not judged by RHEL 9's errata.
  assert.deepEqual(rows({ id: 'rhel', versionId: '8.9' }, [rpm('openssl-libs', '1.1.1k-9.el8', { epoch: 1 })], db), []);
  // CentOS Linux 7 is judged by Red Hat's RHEL 7 errata.
  assert.deepEqual(rows({ id: 'centos', versionId: '7' }, [rpm('bash', '4.2.46-34.el7', { source: { name: 'bash' } })], db), [['bash', 'CVE-2099-0007', 'fixed', '4.2.46-35.el7_9', 'MEDIUM', 'redhat']]);
  assert.deepEqual(rows({ id: 'rocky', versionId: '9.3' }, [rpm('openssl-libs', '3.0.7-24.el9', { epoch: 1 })], db), [['openssl-libs', 'CVE-2023-5678', 'fixed', '1:3.0.7-25.el9_3', 'LOW', 'rocky']]);
  assert.deepEqual(rows({ id: 'almalinux', versionId: '9.0' }, [rpm('openssl-libs', '3.0.1-40.el9_0', { epoch: 1 })], db), [['openssl-libs', 'ALSA-2022:6224', 'fixed', '1:3.0.1-41.el9_0', 'MEDIUM', 'alma']]);
  // Amazon Linux 2023 and 2 through ALAS, each by its own release.
  const al2023: Distro = { id: 'amzn', versionId: '2023' };
  assert.deepEqual(rows(al2023, [rpm('libcurl', '8.4.0-1.amzn2023.0.1', { source: { name: 'curl' } }), rpm('openssl-libs', '3.0.8-1.amzn2023.0.10', { epoch: 1 })], db), [
    ['libcurl', 'CVE-2023-46218', 'fixed', '8.5.0-1.amzn2023.0.2', 'MEDIUM', 'amazon'],
    ['openssl-libs', 'ALAS2023-2024-550', 'fixed', '1:3.0.8-1.amzn2023.0.11', 'HIGH', 'amazon'],
  ]);
  assert.deepEqual(rows({ id: 'amzn', versionId: '2' }, [rpm('openssl', '1.0.2k-24.amzn2.0.6', { epoch: 1 })], db).map((r) => r.slice(0, 4)), [['openssl', 'CVE-2023-0465', 'fixed', '1:1.0.2k-24.amzn2.0.7']]);
  // Oracle Linux through ELSA OVAL: Oracle's rating decides for Oracle's package, whatever the others say of the same CVE.
  const ol9 = rows({ id: 'ol', versionId: '9.3' }, [rpm('openssl-libs', '3.0.7-24.0.1.el9', { epoch: 1 })], db);
  assert.deepEqual(ol9, [['openssl-libs', 'CVE-2023-5678', 'fixed', '1:3.0.7-25.0.1.el9_3', 'MEDIUM', 'oracle-oval']]);
  const m = matchInventory({ distro: { id: 'ol', versionId: '9.3' }, packages: [rpm('openssl-libs', '3.0.7-24.0.1.el9', { epoch: 1 })] }, db)[0]!;
  // Every vendor's rating of the CVE is kept (Red Hat's and SUSE's from their CVSS vectors, which rate before a stated word).
  assert.deepEqual(m.vendorSeverity, { 'oracle-oval': 'MEDIUM', redhat: 'MEDIUM', 'suse-cvrf': 'MEDIUM', rocky: 'LOW' });
  // SUSE by product and service pack, binary names from the record's binaries.
  assert.deepEqual(rows({ id: 'sles', versionId: '15.5' }, [rpm('libopenssl3', '3.0.8-150500.5.17.1', { source: { name: 'openssl-3' } })], db).map((r) => r.slice(0, 4)), [['libopenssl3', 'CVE-2023-5678', 'fixed', '3.0.8-150500.5.20.1']]);
  assert.deepEqual(rows({ id: 'sles', versionId: '15.4' }, [rpm('libopenssl3', '3.0.8-150500.5.17.1')], db), []);
  assert.deepEqual(rows({ id: 'opensuse-leap', versionId: '15.5' }, [rpm('libopenssl3', '3.0.8-150500.5.17.1')], db).map((r) => r.slice(0, 2)), [['libopenssl3', 'CVE-2023-5678']]);
  assert.deepEqual(rows({ id: 'photon', versionId: '5.0' }, [rpm('openssl', '3.0.12-1.ph5')], db).map((r) => r.slice(0, 4)), [['openssl', 'CVE-2023-5678', 'fixed', '3.0.13-1.ph5']]);
  // Wolfi: apk order, the origin package; a package of another name is not judged by openssl's records.
  assert.deepEqual(rows({ id: 'wolfi', versionId: '20230201' }, [apk('libssl3', '3.3.0-r7', 'openssl'), apk('openssl', '3.3.0-r8')], db).map((r) => r.slice(0, 4)), [['libssl3', 'CVE-2024-4603', 'fixed', '3.3.0-r8']]);
});

test('a distribution\'s own feed decides where it speaks: Wolfi\'s secdb over OSV records of the same package', async (t) => {
  const db = await openDb(t);
  const wolfi: Distro = { id: 'wolfi', versionId: '20230201' };
  // openssl: the secdb speaks about it, so CGA-test-0001's 3.3.1-r0 fix for it is not used; busybox: only OSV speaks.
  assert.deepEqual(rows(wolfi, [apk('openssl', '3.3.0-r9'), apk('busybox', '1.36.1-r7')], db).map((r) => r.slice(0, 4)), [['busybox', 'CVE-2099-0101', 'fixed', '1.36.1-r8']]);
  // Chainguard's own secdb for Chainguard images.
  assert.deepEqual(rows({ id: 'chainguard', versionId: '20230214' }, [apk('openssl', '3.3.0-r7')], db).map((r) => r.slice(0, 2)), [['openssl', 'CVE-2024-4603']]);
});

test('modular RPMs: a stream\'s fix judges that stream only, never a plain build; a fix of unstated stream judges modular builds only', async (t) => {
  const db = await openDb(t);
  const ol8: Distro = { id: 'ol', versionId: '8.9' };
  const node18 = rpm('nodejs', '18.18.2-1.module+el8.9.0+90105+93bf3b1c', { epoch: 1, properties: { modularitylabel: 'nodejs:18:8090020231019152822:a75119d5' } });
  assert.deepEqual(rows(ol8, [node18], db).map((r) => r.slice(0, 4)), [['nodejs', 'ELSA-2024-0118', 'fixed', '1:18.19.1-1.module+el8.9.0+90201+e1a9d8a8']]);
  assert.equal(matchInventory({ distro: ol8, packages: [node18] }, db)[0]!.matchedName, 'nodejs:18/nodejs');
  const node20 = rpm('nodejs', '20.10.0-1.module+el8.9.0+90134+31b7c9c5', { epoch: 1, properties: { modularitylabel: 'nodejs:20:8090020231206100837:a75119d5' } });
  const plain = rpm('nodejs', '16.0.0-1.el8', { epoch: 1 });
  assert.deepEqual(rows(ol8, [node20, plain], db), []);
  // AlmaLinux states no stream: its modular fix judges a modular nodejs, not a plain one.
  const alma8: Distro = { id: 'almalinux', versionId: '8.9' };
  const almaNode = rpm('nodejs', '18.18.2-1.module_el8.9.0+3712+4c6a2a1b', { epoch: 1, properties: { modularitylabel: 'nodejs:18:8090020231019152822:a75119d5' } });
  assert.deepEqual(rows(alma8, [almaNode], db).map((r) => r.slice(0, 4)), [['nodejs', 'CVE-2099-0018', 'fixed', '1:18.19.1-1.module_el8.9.0+3775+d8460d29']]);
  assert.deepEqual(rows(alma8, [rpm('nodejs', '16.0.0-1.el8', { epoch: 1 })], db), []);
});

test('coverage still names what the DB has no data for', async (t) => {
  const db = await openDb(t);
  const pkgs = [rpm('bash', '4.2.46-12.47.amzn1')];
  const inv = (distro: Distro): Pick<Inventory, 'distro' | 'packages'> => ({ distro, packages: pkgs });
  assert.deepEqual(coverageWarnings(inv({ id: 'amzn', versionId: '2023' }), db), []);
  assert.deepEqual(coverageWarnings(inv({ id: 'amzn', versionId: '2018.03' }), db), [
    "the advisory DB holds no data for amzn:2018.03: 1 rpm package was not checked for vulnerabilities (add the distribution's feed to the DB: see docs/scan.md)",
  ]);
  assert.deepEqual(coverageWarnings(inv({ id: 'mageia', versionId: '9' }), db), [
    "the advisory DB holds no data for mageia:9: 1 rpm package was not checked for vulnerabilities (add the distribution's feed to the DB: see docs/scan.md)",
  ]);
  assert.deepEqual(coverageWarnings(inv({ id: 'rhel' }), db), ['unsupported OS rhel (no VERSION_ID): 1 rpm package was not checked for vulnerabilities']);
});

test('the releases and names each distribution is looked up by', () => {
  const cases: [Distro, string | undefined][] = [
    [{ id: 'rhel', versionId: '9.3' }, 'rhel:9'],
    [{ id: 'centos', versionId: '7' }, 'rhel:7'],
    [{ id: 'centos', versionId: '9', prettyName: 'CentOS Stream 9' }, 'rhel:9'],
    [{ id: 'almalinux', versionId: '8.9' }, 'almalinux:8'],
    [{ id: 'rocky', versionId: '9.3' }, 'rocky:9'],
    [{ id: 'ol', versionId: '8.9' }, 'ol:8'],
    [{ id: 'amzn', versionId: '2' }, 'amzn:2'],
    [{ id: 'amzn', versionId: '2023' }, 'amzn:2023'],
    [{ id: 'amzn', versionId: '2018.03' }, 'amzn:2018.03'],
    [{ id: 'sles', versionId: '15.5' }, 'sles:15.5'],
    [{ id: 'sles_sap', versionId: '15.5' }, 'sles:15.5'],
    [{ id: 'sles', versionId: '15' }, 'sles:15'],
    [{ id: 'sle-micro', versionId: '5.5' }, 'sle-micro:5.5'],
    [{ id: 'opensuse-leap', versionId: '15.5' }, 'opensuse-leap:15.5'],
    [{ id: 'opensuse-tumbleweed', versionId: '20240101' }, 'opensuse-tumbleweed'],
    [{ id: 'photon', versionId: '5.0' }, 'photon:5.0'],
    [{ id: 'azurelinux', versionId: '3.0' }, 'azurelinux:3'],
    [{ id: 'mariner', versionId: '2.0' }, 'azurelinux:2'],
    [{ id: 'mageia', versionId: '9' }, 'mageia:9'],
    [{ id: 'openeuler', versionId: '22.03', prettyName: 'openEuler 22.03 (LTS-SP1)' }, 'openeuler:22.03-LTS-SP1'],
    [{ id: 'openeuler', versionId: '23.09', prettyName: 'openEuler 23.09' }, 'openeuler:23.09'],
    [{ id: 'wolfi', versionId: '20230201' }, 'wolfi'],
    [{ id: 'chainguard' }, 'chainguard'],
    [{ id: 'rhel' }, undefined],
    [{ id: 'fedora', versionId: '39' }, 'fedora:39'],
  ];
  for (const [d, want] of cases) assert.equal(distroEcosystem(d), want, `${d.id} ${d.versionId ?? ''}`);
  const p = rpm('openssl-libs', '3.0.7-24.el9', { epoch: 1, source: { name: 'openssl', version: '3.0.7-24.el9' } });
  assert.deepEqual(lookupKey(p, 'rhel:9'), { ecosystem: 'rhel:9', name: 'openssl-libs', version: '1:3.0.7-24.el9' });
  assert.deepEqual(lookupKey(p, 'mageia:9'), { ecosystem: 'mageia:9', name: 'openssl', version: '1:3.0.7-24.el9' });
  assert.deepEqual(lookupKey(p, 'openeuler:22.03-LTS-SP1')?.name, 'openssl');
});

test('the version orders these cases rely on are rpm\'s (python3-rpm labelCompare)', (t) => {
  if (!requirePythonModule(t, PYTHON, 'rpm', 'python3-rpm')) return;
  const pairs: [string, string][] = [
    ['1:3.0.7-24.el9', '1:3.0.7-25.el9_3'],
    ['1:3.0.7-25.el9_3', '1:3.0.7-25.el9_3'],
    ['3.0.9-1.el9', '1:3.0.7-25.el9_3'],
    ['4.2.46-34.el7', '0:4.2.46-35.el7_9'],
    ['1:3.0.1-40.el9_0', '1:3.0.1-41.el9_0'],
    ['8.4.0-1.amzn2023.0.1', '8.5.0-1.amzn2023.0.2'],
    ['1:3.0.8-1.amzn2023.0.10', '1:3.0.8-1.amzn2023.0.11'],
    ['1:1.0.2k-24.amzn2.0.6', '1:1.0.2k-24.amzn2.0.7'],
    ['1:3.0.7-24.0.1.el9', '1:3.0.7-25.0.1.el9_3'],
    ['1:3.0.7-25.el9_3', '1:3.0.7-25.0.1.el9_3'],
    ['3.0.8-150500.5.17.1', '3.0.8-150500.5.20.1'],
    ['3.0.12-1.ph5', '3.0.13-1.ph5'],
    ['1:18.18.2-1.module+el8.9.0+90105+93bf3b1c', '1:18.19.1-1.module+el8.9.0+90201+e1a9d8a8'],
    ['1:18.18.2-1.module_el8.9.0+3712+4c6a2a1b', '1:18.19.1-1.module_el8.9.0+3775+d8460d29'],
    ['1:20.10.0-1.module+el8.9.0+90134+31b7c9c5', '1:18.19.1-1.module+el8.9.0+90201+e1a9d8a8'],
  ];
  const evr = (s: string): [string | null, string, string | null] => {
    const m = /^(?:(\d+):)?([^-]+)(?:-(.+))?$/.exec(s)!;
    return [m[1] ?? null, m[2]!, m[3] ?? null];
  };
  const script = 'import rpm, sys, json\nfor a, b in json.load(sys.stdin): print(rpm.labelCompare(tuple(a), tuple(b)))';
  const out = execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(pairs.map(([a, b]) => [evr(a), evr(b)])), encoding: 'utf8' }).trim().split('\n').map(Number);
  assert.deepEqual(pairs.map(([a, b]) => Math.sign(compareRpmEvrString(a, b))), out.map(Math.sign));
});
