/**
 * CycloneDX 1.6 with vulnerabilities: valid for the CycloneDX library's strict 1.6 validator; the
 * components are the SBOM writer's (same bom-refs); every vulnerability's `affects` names existing
 * bom-refs; ratings carry each source's CVSS method, vector and score.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { formatInventory } from '../../../src/sbom/index.js';
import { formatReport } from '../../../src/scan/format/index.js';
import type { ScanReport } from '../../../src/scan/model.js';
import { apt, CLEAN, INVENTORY, libc6, libcBin, lodash, minimist, REPORT } from './fixture.js';

const VALIDATOR = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
const OPTIONS = { inventory: INVENTORY, toolVersion: '0.1.0', timestamp: new Date('2024-05-06T07:08:09.123Z'), serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79' } as const;

interface CdxVuln {
  id: string;
  source?: { name?: string; url?: string };
  references?: { id: string; source: { name?: string; url?: string } }[];
  ratings?: { source?: { name?: string }; score?: number; severity?: string; method?: string; vector?: string }[];
  description?: string;
  recommendation?: string;
  advisories?: { url: string }[];
  published?: string;
  updated?: string;
  analysis?: { state?: string; response?: string[]; detail?: string };
  affects?: { ref: string; versions?: { version?: string; status?: string }[] }[];
}
interface CdxBom {
  specVersion: string;
  metadata: { component: { 'bom-ref': string } };
  components?: { 'bom-ref': string; purl?: string }[];
  vulnerabilities?: CdxVuln[];
}

const render = (report: ScanReport): { text: string; bom: CdxBom } => {
  const text = formatReport(report, 'cyclonedx', OPTIONS);
  return { text, bom: JSON.parse(text) as CdxBom };
};

for (const [label, report] of Object.entries({ full: REPORT, clean: CLEAN })) {
  test(`cyclonedx (${label}): valid against the CycloneDX 1.6 schema (library's strict validator)`, async () => {
    const { text, bom } = render(report);
    const errors = await VALIDATOR.validate(text);
    assert.equal(errors, null, `schema errors: ${JSON.stringify(errors, null, 2)}`);
    assert.equal(bom.specVersion, '1.6');
  });
}

test('cyclonedx: the components are exactly the SBOM writer\'s', () => {
  const { bom } = render(REPORT);
  const sbom = JSON.parse(formatInventory(INVENTORY, 'cyclonedx-json', OPTIONS)) as CdxBom & Record<string, unknown>;
  const { vulnerabilities, ...rest } = bom as CdxBom & Record<string, unknown>;
  assert.ok(vulnerabilities !== undefined && vulnerabilities.length > 0);
  assert.deepEqual(rest, sbom);
  // A clean report is the SBOM itself.
  assert.deepEqual(render(CLEAN).bom, sbom);
});

test('cyclonedx: one vulnerability per id; affects reference existing bom-refs with the installed version', () => {
  const { bom } = render(REPORT);
  const refs = new Set([bom.metadata.component['bom-ref'], ...(bom.components ?? []).map((c) => c['bom-ref'])]);
  const vulns = bom.vulnerabilities!;
  assert.deepEqual(vulns.map((v) => v.id).sort(), ['CVE-2011-3374', 'CVE-2021-23337', 'CVE-2021-44906', 'CVE-2023-4039', 'CVE-2023-6246', 'CVE-2024-2961']);
  for (const v of vulns) {
    assert.ok((v.affects ?? []).length > 0, `${v.id} affects something`);
    for (const a of v.affects!) assert.ok(refs.has(a.ref), `${v.id} affects ${a.ref}: not a bom-ref of this BOM`);
  }
  const iconv = vulns.find((v) => v.id === 'CVE-2024-2961')!;
  assert.deepEqual(iconv.affects!.map((a) => a.ref).sort(), [libc6.id, libcBin.id].sort());
  assert.deepEqual(iconv.affects![0]!.versions, [{ version: '2.36-9+deb12u4', status: 'affected' }]);
  assert.deepEqual(vulns.find((v) => v.id === 'CVE-2011-3374')!.affects!.map((a) => a.ref), [apt.id]);
  assert.deepEqual(vulns.find((v) => v.id === 'CVE-2021-23337')!.affects!.map((a) => a.ref), [lodash.id]);
  assert.deepEqual(vulns.find((v) => v.id === 'CVE-2021-44906')!.affects!.map((a) => a.ref), [minimist.id]);
});

test('cyclonedx: ratings, source, references, advisories, recommendation and analysis', () => {
  const { bom } = render(REPORT);
  const byId = new Map(bom.vulnerabilities!.map((v) => [v.id, v]));
  const iconv = byId.get('CVE-2024-2961')!;
  assert.deepEqual(iconv.source, { name: 'debian', url: 'https://salsa.debian.org/security-tracker-team/security-tracker' });
  const nvd = iconv.ratings!.find((r) => r.source?.name === 'nvd')!;
  assert.deepEqual(nvd, { source: { name: 'nvd' }, score: 8.1, severity: 'high', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H' });
  // debian rates it without a vector: a severity-only rating.
  assert.deepEqual(iconv.ratings!.find((r) => r.source?.name === 'debian'), { source: { name: 'debian' }, severity: 'high' });
  assert.equal(iconv.recommendation, 'Upgrade libc-bin to 2.36-9+deb12u7; Upgrade libc6 to 2.36-9+deb12u7');
  assert.deepEqual(iconv.analysis?.response, ['update']);
  assert.equal(iconv.analysis?.state, undefined, 'a scanner does not claim an analysis state');
  assert.deepEqual(
    iconv.advisories!.map((a) => a.url),
    ['https://security-tracker.debian.org/tracker/CVE-2024-2961', 'https://www.openwall.com/lists/oss-security/2024/04/17/9'],
  );
  assert.equal(iconv.published, '2024-04-17T18:15:15.933Z');

  const apt = byId.get('CVE-2011-3374')!;
  assert.equal(apt.recommendation, undefined, 'no fix, no recommendation');
  assert.deepEqual(apt.analysis?.response, ['will_not_fix']);
  assert.deepEqual(apt.ratings!.find((r) => r.method === 'CVSSv2'), { source: { name: 'nvd' }, score: 4.3, severity: 'medium', method: 'CVSSv2', vector: 'AV:N/AC:M/Au:N/C:N/I:P/A:N' });

  const lodashVuln = byId.get('CVE-2021-23337')!;
  assert.deepEqual(lodashVuln.references, [{ id: 'GHSA-35jh-r3h4-6jhm', source: { name: 'ghsa', url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm' } }]);
  assert.equal(lodashVuln.recommendation, 'Upgrade lodash to 4.17.21');
});

test('cyclonedx: deterministic with a fixed timestamp and serial number; needs the inventory', () => {
  assert.equal(formatReport(REPORT, 'cyclonedx', OPTIONS), formatReport(REPORT, 'cyclonedx', OPTIONS));
  assert.throws(() => formatReport(REPORT, 'cyclonedx', {}), /inventory/);
});
