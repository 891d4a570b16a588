/**
 * The RPM distributions' and Wolfi's feeds, each in its published form (the fixtures' README says
 * which are real records and which are written in their exact shape): OSV records of Red Hat,
 * AlmaLinux, Rocky Linux, SUSE and Photon OS; Amazon Linux's updateinfo.xml (plain and gzip);
 * Oracle's ELSA OVAL (plain and bzip2, streamed); Wolfi's and Chainguard's secdb.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readFeeds, type FeedFile } from '../../../src/vuln/index.js';
import { alasRelease } from '../../../src/vuln/feeds/alas.js';
import { parseAlpineSecdb } from '../../../src/vuln/feeds/alpine.js';
import { osvEcosystem } from '../../../src/vuln/feeds/names.js';
import { parseOsv } from '../../../src/vuln/feeds/osv.js';
import { requireTools, tempDir } from '../../helpers/env.js';

const FIXTURES = new URL('../../../../test/fixtures/vuln/feeds/', import.meta.url).pathname;
const json = (p: string): unknown => JSON.parse(readFileSync(join(FIXTURES, p), 'utf8')) as unknown;
async function collect(input: string): Promise<FeedFile[]> {
  const out: FeedFile[] = [];
  for await (const f of readFeeds(input)) out.push(f);
  return out;
}

test('osv.dev ecosystems of the RPM distributions, Wolfi and Chainguard map to one key per release', () => {
  const cases: [string, string | undefined][] = [
    ['Red Hat:enterprise_linux:9::appstream', 'rhel:9'],
    ['Red Hat:enterprise_linux:8::baseos', 'rhel:8'],
    ['Red Hat:enterprise_linux:7::server', 'rhel:7'],
    ['Red Hat:enterprise_linux:9', 'rhel:9'],
    ['Red Hat:rhel_aus:8.6::appstream', undefined],
    ['Red Hat:rhel_eus:9.2::baseos', undefined],
    ['Red Hat:rhel_tus:8.6::appstream', undefined],
    ['Red Hat:rhel_e4s:8.6::appstream', undefined],
    ['Red Hat:rhel_els:7', undefined],
    ['Red Hat:openshift:4.14::el9', undefined],
    ['AlmaLinux:8', 'almalinux:8'],
    ['Rocky Linux:9', 'rocky:9'],
    ['SUSE:Linux Enterprise Server 15 SP5', 'sles:15.5'],
    ['SUSE:Linux Enterprise Server for SAP Applications 15 SP5', 'sles:15.5'],
    ['SUSE:Linux Enterprise Module for Basesystem 15 SP5', 'sles:15.5'],
    ['SUSE:Linux Enterprise Server LTSS 15 SP3', 'sles:15.3'],
    ['SUSE:Linux Enterprise Server 15', 'sles:15'],
    ['SUSE:Linux Enterprise Server 12 SP5', 'sles:12.5'],
    ['SUSE:Linux Enterprise Micro 5.5', 'sle-micro:5.5'],
    ['SUSE:Linux Enterprise Storage 7.1', undefined],
    ['openSUSE:Leap 15.5', 'opensuse-leap:15.5'],
    ['openSUSE:Tumbleweed', 'opensuse-tumbleweed'],
    ['openSUSE:Leap Micro 5.5', undefined],
    ['Photon OS:5.0', 'photon:5.0'],
    ['Azure Linux:3', 'azurelinux:3'],
    ['Azure Linux:2', 'azurelinux:2'],
    ['Mageia:9', 'mageia:9'],
    ['openEuler:22.03-LTS-SP1', 'openeuler:22.03-LTS-SP1'],
    ['openEuler:24.03-LTS', 'openeuler:24.03-LTS'],
    ['Wolfi', 'wolfi'],
    ['Chainguard', 'chainguard'],
    ['Wolfi:1', undefined],
  ];
  for (const [name, want] of cases) assert.equal(osvEcosystem(name)?.ecosystem, want, name);
});

test('Red Hat: mainline RHEL kept, the AUS/EUS/TUS/E4S streams skipped; upstream CVEs are aliases; the rating comes from the classification link', () => {
  const eus = parseOsv(json('redhat/RHSA-2024_4546.json'), 'RHSA-2024_4546.json');
  assert.deepEqual(eus.errors, []);
  assert.deepEqual(eus.affected, []);
  assert.deepEqual(eus.skipped, { 'ecosystem Red Hat:rhel_aus:8.6::appstream': 3, 'ecosystem Red Hat:rhel_e4s:8.6::appstream': 3, 'ecosystem Red Hat:rhel_tus:8.6::appstream': 3 });
  const v = eus.vulnerabilities[0]!;
  // GO-2024-2687 is a related flaw of another database, not this one's id.
  assert.deepEqual([v.id, v.aliases, v.source, v.severity], ['RHSA-2024:4546', ['CVE-2023-45288'], 'redhat', { source: 'redhat', severity: 'HIGH' }]);

  const r = parseOsv(json('redhat/RHSA-2023_7877.json'), 'RHSA-2023_7877.json');
  assert.deepEqual(
    r.affected.map((a) => [a.ecosystem, a.name, a.fixedVersion, a.severity, a.source]),
    [
      ['rhel:9', 'openssl', '1:3.0.7-25.el9_3', 'LOW', 'redhat'],
      ['rhel:9', 'openssl-libs', '1:3.0.7-25.el9_3', 'LOW', 'redhat'],
      ['rhel:9', 'openssl-devel', '1:3.0.7-25.el9_3', 'LOW', 'redhat'],
    ],
  );
});

test('Red Hat: an rpmmod purl files the record under its module stream', () => {
  const r = parseOsv(
    {
      id: 'RHSA-2099:0001',
      modified: '2099-01-01T00:00:00Z',
      upstream: ['CVE-2099-0001'],
      affected: [
        {
          package: { name: 'nodejs', ecosystem: 'Red Hat:enterprise_linux:8::appstream', purl: 'pkg:rpm/redhat/nodejs@18.19.1-1.module%2Bel8.9.0%2B21388%2Be2f3b3a8?arch=src&epoch=1&rpmmod=nodejs:18:8090020240226114731:a75119d5' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:18.19.1-1.module+el8.9.0+21388+e2f3b3a8' }] }],
        },
        { package: { name: 'bash', ecosystem: 'Red Hat:enterprise_linux:8::baseos', purl: 'pkg:rpm/redhat/bash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '4.4.20-5.el8' }] }] },
      ],
    },
    'x.json',
  );
  assert.deepEqual(r.affected.map((a) => a.name), ['nodejs:18/nodejs', 'bash']);
});

test('AlmaLinux and Rocky: binary names, the summary prefix is the rating, CVEs under aliases or related become aliases', () => {
  const alma = parseOsv(json('almalinux/ALSA-2022_6224.json'), 'ALSA-2022_6224.json');
  assert.deepEqual(alma.errors, []);
  assert.deepEqual(alma.affected.map((a) => [a.ecosystem, a.name, a.fixedVersion, a.severity]), [
    ['almalinux:9', 'openssl', '1:3.0.1-41.el9_0', 'MEDIUM'],
    ['almalinux:9', 'openssl-devel', '1:3.0.1-41.el9_0', 'MEDIUM'],
    ['almalinux:9', 'openssl-libs', '1:3.0.1-41.el9_0', 'MEDIUM'],
    ['almalinux:9', 'openssl-perl', '1:3.0.1-41.el9_0', 'MEDIUM'],
  ]);
  assert.deepEqual(alma.vulnerabilities[0]!.severity, { source: 'alma', severity: 'MEDIUM' });
  const related = parseOsv(json('almalinux/ALSA-2025_10073.json'), 'ALSA-2025_10073.json');
  assert.deepEqual(related.vulnerabilities[0]!.aliases, ['CVE-2025-6430', 'CVE-2025-6424', 'CVE-2025-6429', 'CVE-2025-6425']);
  assert.deepEqual(related.affected.map((a) => [a.ecosystem, a.name, a.severity]), [['almalinux:10', 'firefox', 'HIGH']]);
  const rocky = parseOsv(json('rocky/RLSA-2023_7877.json'), 'RLSA-2023_7877.json');
  assert.deepEqual(rocky.affected.map((a) => [a.ecosystem, a.name, a.source, a.severity]), [
    ['rocky:9', 'openssl-libs', 'rocky', 'LOW'],
    ['rocky:9', 'openssl', 'rocky', 'LOW'],
  ]);
  // A language advisory's `related` ids stay apart.
  assert.deepEqual(parseOsv({ id: 'GHSA-aaaa-bbbb-cccc', related: ['CVE-2099-1'], affected: [] }, 'g.json').vulnerabilities[0]!.aliases, []);
});

test('SUSE: the binaries of every product of one code stream, once; other products skipped', () => {
  const r = parseOsv(json('suse/SUSE-SU-2024_0001-1.json'), 'SUSE-SU-2024_0001-1.json');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.skipped, { 'ecosystem SUSE:Linux Enterprise Storage 7.1': 1 });
  assert.deepEqual(r.affected.map((a) => [a.ecosystem, a.name, a.fixedVersion, a.source]), [
    ['sles:15.5', 'openssl-3', '3.0.8-150500.5.20.1', 'suse'],
    ['sles:15.5', 'libopenssl-3-devel', '3.0.8-150500.5.20.1', 'suse'],
    ['sles:15.5', 'libopenssl3', '3.0.8-150500.5.20.1', 'suse'],
    ['opensuse-leap:15.5', 'openssl-3', '3.0.8-150500.5.20.1', 'suse'],
    ['opensuse-leap:15.5', 'libopenssl3', '3.0.8-150500.5.20.1', 'suse'],
  ]);
  assert.deepEqual(r.vulnerabilities[0]!.aliases, ['CVE-2023-5678']);
  const photon = parseOsv(json('photon/PHSA-2024-5.0-0200.json'), 'PHSA.json');
  assert.deepEqual(photon.affected.map((a) => [a.ecosystem, a.name, a.fixedVersion, a.source]), [['photon:5.0', 'openssl', '3.0.13-1.ph5', 'photon']]);
});

test('Amazon Linux updateinfo.xml, plain and gzip: the release from each ALAS id, security updates only, the highest EVR per package', async (t) => {
  assert.deepEqual(['ALAS-2018-1065', 'ALAS2-2023-2108', 'ALAS2023-2024-550', 'ALAS2022-2022-001', 'ALAS2KERNEL-5.10-2023-032', 'ALAS2DOCKER-2023-029', 'RHSA-2023:1'].map(alasRelease), ['2018.03', '2', '2023', '2022', '2', '2', undefined]);
  const gz = join(tempDir(t), 'updateinfo.xml.gz');
  writeFileSync(gz, gzipSync(readFileSync(join(FIXTURES, 'amazon/updateinfo.xml'))));
  for (const path of [join(FIXTURES, 'amazon/updateinfo.xml'), gz]) {
    const files = await collect(path);
    assert.equal(files.length, 1);
    const { format, records } = files[0]!;
    assert.equal(format, 'alas-updateinfo');
    assert.deepEqual([records.errors, records.skipped], [[], { 'update type bugfix': 1 }]);
    assert.deepEqual(records.affected.map((a) => [a.vulnId, a.ecosystem, a.name, a.fixedVersion, a.severity]), [
      ['ALAS2023-2023-460', 'amzn:2023', 'curl', '8.5.0-1.amzn2023.0.2', 'MEDIUM'],
      ['ALAS2023-2023-460', 'amzn:2023', 'libcurl', '8.5.0-1.amzn2023.0.2', 'MEDIUM'],
      ['ALAS2023-2024-550', 'amzn:2023', 'openssl-libs', '1:3.0.8-1.amzn2023.0.11', 'HIGH'],
      ['ALAS2023-2024-550', 'amzn:2023', 'openssl', '1:3.0.8-1.amzn2023.0.11', 'HIGH'],
      ['ALAS2-2023-2108', 'amzn:2', 'openssl', '1:1.0.2k-24.amzn2.0.7', 'HIGH'],
    ]);
    const v = records.vulnerabilities[1]!;
    assert.deepEqual([v.id, v.aliases, v.severity, v.published, v.source], ['ALAS2023-2024-550', ['CVE-2024-0727', 'CVE-2023-6237'], { source: 'amazon', severity: 'HIGH' }, '2024-03-13T21:31:00Z', 'alas']);
  }
});

test('Oracle ELSA OVAL, plain and bzip2 (streamed): releases and modules from the criteria, arches folded, inventory definitions skipped', async (t) => {
  const plain = join(FIXTURES, 'oracle/com.oracle.elsa-2024.xml');
  const paths = [plain];
  if (requireTools(t, 'bzip2')) {
    const bz = join(tempDir(t), 'com.oracle.elsa-2024.xml.bz2');
    writeFileSync(bz, execFileSync('bzip2', ['-c', plain]));
    paths.push(bz);
  }
  for (const path of paths) {
    const [file, ...rest] = await collect(path);
    assert.equal(rest.length, 0);
    assert.equal(file!.format, 'oracle-oval');
    assert.deepEqual([file!.records.errors, file!.records.skipped], [[], { 'definition class inventory': 1 }]);
    assert.deepEqual(file!.records.affected.map((a) => [a.vulnId, a.ecosystem, a.name, a.fixedVersion, a.severity, a.source]), [
      ['ELSA-2024-0310', 'ol:9', 'openssl-libs', '1:3.0.7-25.0.1.el9_3', 'MEDIUM', 'oracle-oval'],
      ['ELSA-2024-0310', 'ol:9', 'openssl', '1:3.0.7-25.0.1.el9_3', 'MEDIUM', 'oracle-oval'],
      ['ELSA-2024-0118', 'ol:8', 'nodejs:18/nodejs', '1:18.19.1-1.module+el8.9.0+90201+e1a9d8a8', 'HIGH', 'oracle-oval'],
    ]);
    assert.deepEqual(file!.records.vulnerabilities.map((v) => [v.id, v.aliases, v.summary, v.published]), [
      ['ELSA-2024-0310', ['CVE-2023-5678'], 'ELSA-2024-0310: openssl security update (MODERATE)', '2024-01-23T00:00:00Z'],
      ['ELSA-2024-0118', ['CVE-2023-46809', 'CVE-2024-22019'], 'ELSA-2024-0118: nodejs:18 security update (IMPORTANT)', '2024-02-20T00:00:00Z'],
    ]);
  }
});

test('a cut XML feed keeps what came before the cut and says where; another vendor\'s OVAL and an HTML page are no feed', async (t) => {
  const dir = tempDir(t);
  const text = readFileSync(join(FIXTURES, 'oracle/com.oracle.elsa-2024.xml'), 'utf8');
  const cut = join(dir, 'cut.xml');
  writeFileSync(cut, text.slice(0, text.indexOf('<definition id="oval:com.oracle.elsa:def:20240118"') + 200));
  const [file] = await collect(cut);
  assert.deepEqual(file!.records.affected.map((a) => a.vulnId), ['ELSA-2024-0310', 'ELSA-2024-0310']);
  assert.equal(file!.records.errors.length, 1);
  assert.match(file!.records.errors[0]!, /cut short after 1 definitions/);
  const redhat = join(dir, 'rhel-9.oval.xml');
  writeFileSync(redhat, '<?xml version="1.0"?><oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"><generator><product_name>Red Hat OVAL Patch Definition Merger</product_name></generator><definitions/></oval_definitions>');
  await assert.rejects(collect(redhat), (e: Error & { code?: string }) => e.code === 'FEED_INVALID' && /another vendor/.test(e.message));
  const html = join(dir, 'error.xml');
  writeFileSync(html, '<!DOCTYPE html><html><body>503</body></html>');
  await assert.rejects(collect(html), { code: 'FEED_INVALID' });
});

test('Wolfi and Chainguard secdb: rolling ecosystems told apart by urlprefix, their own sources; an unknown distribution is skipped', () => {
  const wolfi = parseAlpineSecdb(json('wolfi/security.json'), 'security.json');
  assert.deepEqual(wolfi.errors, []);
  assert.deepEqual(wolfi.affected.map((a) => [a.vulnId, a.ecosystem, a.name, a.status, a.fixedVersion, a.source]), [
    ['CVE-2023-6129', 'wolfi', 'openssl', 'not_affected', undefined, 'wolfi-secdb'],
    ['CVE-2024-4603', 'wolfi', 'openssl', 'fixed', '3.3.0-r8', 'wolfi-secdb'],
    ['CVE-2024-2961', 'wolfi', 'glibc', 'fixed', '2.39-r3', 'wolfi-secdb'],
  ]);
  const cg = parseAlpineSecdb(json('chainguard/security.json'), 'security.json');
  assert.deepEqual(cg.affected.map((a) => [a.ecosystem, a.source]), [['chainguard', 'chainguard-secdb']]);
  const other = parseAlpineSecdb({ apkurl: 'x', urlprefix: 'https://packages.example.org', packages: [] }, 'x.json');
  assert.deepEqual([other.affected, other.skipped], [[], { 'distribution https://packages.example.org': 1 }]);
});
