/**
 * The JSON report against Trivy's report shape (SchemaVersion 2), written here from Trivy's Go
 * types and its golden files (integration/testdata/debian-buster.json.golden,
 * dockerfile.json.golden): field names, nesting, key order, numeric VendorSeverity and the
 * omitted-when-empty (`omitempty`) rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from '../../../src/scan/format/index.js';
import { applyDecisions } from '../../../src/scan/index.js';
import type { ScanReport } from '../../../src/scan/model.js';
import { aptKeyring, CLEAN, gccStackProtector, IMAGE, IMAGE_DIGEST, IMAGE_ID, LAYER_APP, LAYER_OS, libc6, OS_TARGET, REPORT } from './fixture.js';

type Json = Record<string, unknown>;
const parse = (report: ScanReport): Json => JSON.parse(formatReport(report, 'json')) as Json;
const results = (doc: Json): Json[] => doc['Results'] as Json[];
const vulns = (r: Json): Json[] => r['Vulnerabilities'] as Json[];

test('json: the top level and Metadata are Trivy SchemaVersion 2', () => {
  const doc = parse(REPORT);
  assert.deepEqual(Object.keys(doc), ['SchemaVersion', 'CreatedAt', 'ArtifactName', 'ArtifactType', 'Metadata', 'Results']);
  assert.equal(doc['SchemaVersion'], 2);
  assert.equal(doc['CreatedAt'], '2024-05-06T07:08:09.123Z');
  assert.equal(doc['ArtifactName'], IMAGE);
  assert.equal(doc['ArtifactType'], 'container_image');
  assert.deepEqual(doc['Metadata'], {
    OS: { Family: 'debian', Name: '12.5' },
    ImageID: IMAGE_ID,
    DiffIDs: [LAYER_OS.diffId, LAYER_APP.diffId],
    RepoTags: [IMAGE],
    RepoDigests: [`registry.example.com/team/app@${IMAGE_DIGEST}`],
    ImageConfig: REPORT.metadata.imageConfig,
  });
  assert.deepEqual(
    results(doc).map((r) => [r['Target'], r['Class'], r['Type']]),
    [
      [OS_TARGET, 'os-pkgs', 'debian'],
      ['app/package-lock.json', 'lang-pkgs', 'npm'],
      ['app/config/.env', 'secret', 'secret'],
      ['image config', 'config', 'image-config'],
    ],
  );
});

test('json: one OS vulnerability, field for field and in Trivy\'s key order', () => {
  const doc = parse(REPORT);
  const got = vulns(results(doc)[0]!).find((v) => v['VulnerabilityID'] === 'CVE-2024-2961' && v['PkgName'] === 'libc6')!;
  const expected = {
    VulnerabilityID: 'CVE-2024-2961',
    PkgID: 'libc6@2.36-9+deb12u4',
    PkgName: 'libc6',
    PkgIdentifier: { PURL: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5&upstream=glibc', UID: libc6.id },
    InstalledVersion: '2.36-9+deb12u4',
    FixedVersion: '2.36-9+deb12u7',
    Status: 'fixed',
    Layer: { Digest: LAYER_OS.digest, DiffID: LAYER_OS.diffId },
    SeveritySource: 'nvd',
    PrimaryURL: 'https://avd.aquasec.com/nvd/cve-2024-2961',
    DataSource: { ID: 'debian', Name: 'Debian Security Tracker', URL: 'https://salsa.debian.org/security-tracker-team/security-tracker' },
    Title: 'glibc: Out of bounds write in iconv may lead to remote code execution',
    Description: 'The iconv() function in the GNU C Library versions 2.39 and older may overflow the output buffer passed to it by up to 4 bytes when converting strings to the ISO-2022-CN-EXT character set.',
    Severity: 'HIGH',
    VendorSeverity: { debian: 3, nvd: 3, redhat: 3 },
    CVSS: {
      nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', V3Score: 8.1 },
      redhat: { V3Vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', V3Score: 8.1 },
    },
    References: ['https://security-tracker.debian.org/tracker/CVE-2024-2961', 'https://www.openwall.com/lists/oss-security/2024/04/17/9'],
    PublishedDate: '2024-04-17T18:15:15.933Z',
    LastModifiedDate: '2024-07-22T18:15:03.19Z',
  };
  assert.deepEqual(got, expected);
  // Go marshals struct fields in declaration order (DetectedVulnerability, then the embedded Vulnerability).
  assert.deepEqual(Object.keys(got), Object.keys(expected));
});

test('json: CVSS keeps v2 and v3 of one source side by side, v2 first as trivy-db declares them', () => {
  const doc = parse(REPORT);
  const lodash = vulns(results(doc)[1]!).find((v) => v['PkgName'] === 'lodash')!;
  assert.deepEqual(lodash['CVSS'], {
    ghsa: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', V3Score: 7.2 },
    nvd: { V2Vector: 'AV:N/AC:L/Au:S/C:P/I:P/A:P', V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', V2Score: 6.5, V3Score: 7.2 },
  });
  assert.deepEqual(Object.keys((lodash['CVSS'] as Record<string, object>)['nvd']!), ['V2Vector', 'V3Vector', 'V2Score', 'V3Score']);
  assert.deepEqual(lodash['VendorIDs'], ['GHSA-35jh-r3h4-6jhm']);
  assert.deepEqual(lodash['VendorSeverity'], { ghsa: 3, nvd: 3 });
});

test('json: empty fields are omitted as Go omitempty omits them; Layer (a struct) stays', () => {
  const doc = parse(REPORT);
  const gcc = vulns(results(doc)[0]!).find((v) => v['VulnerabilityID'] === gccStackProtector.id)!;
  for (const absent of ['FixedVersion', 'PrimaryURL', 'Description', 'References', 'PublishedDate', 'LastModifiedDate', 'VendorIDs']) assert.equal(absent in gcc, false, `${absent} is omitted`);
  assert.equal(gcc['Status'], 'affected');
  assert.deepEqual(gcc['Layer'], { Digest: LAYER_OS.digest, DiffID: LAYER_OS.diffId });

  // Status "unknown" is trivy-db's zero value: omitted. No layer: an empty Layer object.
  const odd: ScanReport = { ...REPORT, results: [{ target: OS_TARGET, class: 'os-pkgs', type: 'debian', vulnerabilities: [{ ...aptKeyring, status: 'unknown', layer: {}, cvss: [], vendorSeverity: {} }] }] };
  const v = vulns(results(parse(odd))[0]!)[0]!;
  assert.equal('Status' in v, false);
  assert.deepEqual(v['Layer'], {});
  assert.equal('CVSS' in v, false);
  assert.equal('VendorSeverity' in v, false);
  assert.equal(v['Status'], undefined);
});

test('json: a clean image still lists its targets, without Vulnerabilities', () => {
  const doc = parse(CLEAN);
  assert.deepEqual(results(doc), [
    { Target: OS_TARGET, Class: 'os-pkgs', Type: 'debian' },
    { Target: 'app/package-lock.json', Class: 'lang-pkgs', Type: 'npm' },
  ]);
  // No results at all: Trivy omits Results; Metadata (a struct) stays.
  const none = parse({ ...CLEAN, artifactType: 'filesystem', artifactName: '/src', metadata: {}, results: [] });
  assert.equal('Results' in none, false);
  assert.deepEqual(none['Metadata'], {});
});

test('json: vulnerabilities in Trivy order (package, installed version, severity descending, id)', () => {
  const doc = parse(REPORT);
  assert.deepEqual(
    vulns(results(doc)[0]!).map((v) => `${v['PkgName'] as string} ${v['Severity'] as string} ${v['VulnerabilityID'] as string}`),
    ['apt LOW CVE-2011-3374', 'libc-bin HIGH CVE-2024-2961', 'libc6 CRITICAL CVE-2023-6246', 'libc6 HIGH CVE-2024-2961', 'libc6 MEDIUM CVE-2023-4039'],
  );
  assert.deepEqual(
    vulns(results(doc)[1]!).map((v) => v['PkgName']),
    ['lodash', 'minimist'],
  );
});

test('json: secrets and misconfigurations in Trivy\'s shape', () => {
  const doc = parse(REPORT);
  assert.deepEqual(results(doc)[2]!['Secrets'], [
    {
      RuleID: 'aws-access-key-id',
      Category: 'AWS',
      Severity: 'CRITICAL',
      Title: 'AWS Access Key ID',
      StartLine: 3,
      EndLine: 3,
      Code: { Lines: [{ Number: 3, Content: 'AWS_ACCESS_KEY_ID=********************', IsCause: true, Annotation: '', Truncated: false, FirstCause: true, LastCause: true }] },
      Match: 'AWS_ACCESS_KEY_ID=********************',
      Layer: { Digest: LAYER_APP.digest, DiffID: LAYER_APP.diffId },
    },
  ]);
  const [ds002, ds026] = results(doc)[3]!['Misconfigurations'] as Json[];
  assert.deepEqual(ds002, {
    Type: 'Dockerfile Security Check',
    ID: 'DS002',
    AVDID: 'AVD-DS-0002',
    Title: "Image user should not be 'root'",
    Description: "Running containers with 'root' user can lead to a container escape situation.",
    Message: 'The image config sets no USER: processes run as root',
    Namespace: 'builtin.dockerfile.DS002',
    Resolution: "Add 'USER <non root user name>' line to the Dockerfile",
    Severity: 'HIGH',
    PrimaryURL: 'https://avd.aquasec.com/misconfig/ds002',
    References: ['https://avd.aquasec.com/misconfig/ds002'],
    Status: 'FAIL',
    Layer: {},
    CauseMetadata: { Code: { Lines: null } },
  });
  assert.equal(ds026!['AVDID'], 'AVD-DS-0026');
});

test('json: the output is deterministic and ends with a newline', () => {
  const a = formatReport(REPORT, 'json');
  assert.equal(a, formatReport(REPORT, 'json'));
  assert.ok(a.endsWith('}\n'));
});

test('json: findings a waiver decided about leave their list for ModifiedFindings, as Trivy reports suppressed ones', () => {
  const waived = JSON.parse(formatReport(applyDecisions(REPORT, [{ ids: ['CVE-2024-2961', 'aws-access-key-id'], source: 'portcullis waiver 7', statement: 'no fix upstream' }]), 'json')) as {
    Results: { Target: string; Vulnerabilities?: { VulnerabilityID: string }[]; Secrets?: { RuleID: string }[]; ModifiedFindings?: { Type: string; Status: string; Statement: string; Source: string; Finding: { VulnerabilityID?: string; RuleID?: string } }[] }[];
  };
  const all = JSON.parse(formatReport(REPORT, 'json')) as typeof waived;
  const ids = (d: typeof waived) => d.Results.flatMap((r) => [...(r.Vulnerabilities ?? []).map((v) => v.VulnerabilityID), ...(r.Secrets ?? []).map((x) => x.RuleID)]);
  assert.deepEqual(ids(waived).sort(), ids(all).filter((id) => id !== 'CVE-2024-2961' && id !== 'aws-access-key-id').sort());
  const modified = waived.Results.flatMap((r) => r.ModifiedFindings ?? []);
  const expectedWaived = all.Results.flatMap((r) => [...(r.Vulnerabilities ?? []).map((v) => v.VulnerabilityID), ...(r.Secrets ?? []).map((x) => x.RuleID)]).filter((id) => id === 'CVE-2024-2961' || id === 'aws-access-key-id');
  assert.ok(expectedWaived.length >= 2);
  assert.deepEqual(
    modified.map((m) => [m.Type, m.Status, m.Source, m.Statement, m.Finding.VulnerabilityID ?? m.Finding.RuleID]).sort(),
    expectedWaived.map((id) => [id.startsWith('CVE') ? 'vulnerability' : 'secret', 'ignored', 'portcullis waiver 7', 'no fix upstream', id]).sort(),
  );
});
