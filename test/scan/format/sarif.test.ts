/**
 * SARIF 2.1.0: valid against the OASIS SARIF 2.1.0 JSON schema (test/fixtures/schemas/
 * sarif-schema-2.1.0.json, draft-07, checked with ajv and ajv-formats), and the rules GitHub code
 * scanning adds on upload: every result has a location with startLine ≥ 1, ruleIndex points at the
 * rule with that id, rule ids are unique, security-severity is a number in a string. The mapping
 * (levels, scores, names, URIs) is Trivy's pkg/report/sarif.go.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { formatReport, imagePathUri } from '../../../src/scan/format/index.js';
import { applyDecisions } from '../../../src/scan/index.js';
import type { ScanReport } from '../../../src/scan/model.js';
import { CLEAN, IMAGE, IMAGE_ID, REPORT } from './fixture.js';

let validate: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;
function schemaValidator(): ((data: unknown) => boolean) & { errors?: unknown } {
  if (validate === undefined) {
    const schema = JSON.parse(readFileSync(new URL('../../../../test/fixtures/schemas/sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object;
    const ajv = new Ajv.default({ allErrors: true, strict: false });
    addFormats.default(ajv);
    validate = ajv.compile(schema);
  }
  return validate;
}

const sarif = (report: ScanReport): Log => JSON.parse(formatReport(report, 'sarif', { toolVersion: '0.1.0' })) as Log;
const run = (report: ScanReport): { rules: ReportingDescriptor[]; results: Result[] } => {
  const r = sarif(report).runs[0]!;
  return { rules: r.tool.driver.rules ?? [], results: r.results ?? [] };
};

const EDGE: ScanReport = {
  ...REPORT,
  results: [
    ...REPORT.results,
    // A secret reported at line 0 and a title-less vulnerability: the writer must still produce valid SARIF.
    { target: 'etc/key.pem', class: 'secret', type: 'secret', secrets: [{ ruleId: 'private-key', category: 'AsymmetricPrivateKey', title: '', severity: 'HIGH', path: 'etc/key.pem', startLine: 0, endLine: 0, match: '' }] },
    {
      target: 'Dockerfile',
      class: 'config',
      type: 'dockerfile',
      misconfigurations: [{ id: 'DS001', title: ':latest tag used', description: '', message: "Specify a tag in the 'FROM' statement", resolution: 'Add a tag', severity: 'MEDIUM', lines: { start: 1, end: 1 } }],
    },
  ],
};

// Findings a registry waiver decided about: reported, with the decision as an accepted suppression.
const WAIVED: ScanReport = applyDecisions(REPORT, [{ ids: ['CVE-2024-2961', 'aws-access-key-id'], source: 'portcullis waiver 7', statement: 'no fix upstream' }]);

test('sarif: waived findings are results with an external suppression naming the waiver', () => {
  const { results } = run(WAIVED);
  const suppressed = results.filter((r) => r.suppressions !== undefined);
  assert.deepEqual([...new Set(suppressed.map((r) => r.ruleId))].sort(), ['CVE-2024-2961', 'aws-access-key-id']);
  for (const r of suppressed) assert.deepEqual(r.suppressions, [{ kind: 'external', justification: 'portcullis waiver 7: no fix upstream' }]);
  assert.equal(results.length, run(REPORT).results.length, 'every finding is still reported');
});

for (const [label, report] of Object.entries({ full: REPORT, edge: EDGE, clean: CLEAN, waived: WAIVED })) {
  test(`sarif (${label}): valid against the SARIF 2.1.0 schema`, () => {
    const doc = sarif(report);
    const v = schemaValidator();
    assert.ok(v(doc), `schema errors: ${JSON.stringify(v.errors, null, 2)}`);
    assert.equal(doc.version, '2.1.0');
    assert.equal(doc.runs.length, 1);
    assert.ok(Array.isArray(doc.runs[0]!.results), 'results is present even when empty (GitHub requires it)');
  });

  test(`sarif (${label}): GitHub code scanning's constraints hold`, () => {
    const { rules, results } = run(report);
    const ids = rules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
    for (const rule of rules) {
      const score = rule.properties?.['security-severity'] as unknown;
      assert.equal(typeof score, 'string', `${rule.id}: security-severity is a string`);
      assert.match(score as string, /^\d+(\.\d+)?$/, `${rule.id}: security-severity is numeric`);
      assert.ok(Number(score) >= 0 && Number(score) <= 10);
      assert.ok((rule.shortDescription?.text ?? '') !== '', `${rule.id}: a short description`);
    }
    for (const r of results) {
      assert.equal(rules[r.ruleIndex!]!.id, r.ruleId, `ruleIndex ${r.ruleIndex} points at ${r.ruleId}`);
      assert.ok((r.locations ?? []).length > 0, `${r.ruleId}: has a location`);
      for (const loc of r.locations!) {
        const region = loc.physicalLocation!.region!;
        assert.ok(region.startLine! >= 1, `${r.ruleId}: startLine ${region.startLine}`);
        assert.ok((region.endLine ?? region.startLine!) >= region.startLine!);
        assert.ok(loc.physicalLocation!.artifactLocation!.uri !== '', 'a non-empty uri');
      }
    }
  });
}

test('sarif: one result per finding, one rule per id, the tool is Portcullis', () => {
  const doc = sarif(REPORT);
  const driver = doc.runs[0]!.tool.driver;
  assert.equal(driver.name, 'Portcullis');
  assert.equal(driver.version, '0.1.0');
  const { rules, results } = run(REPORT);
  // 5 OS + 2 npm vulnerabilities, 1 secret, 2 misconfigurations; CVE-2024-2961 twice (libc6, libc-bin) but one rule.
  assert.equal(results.length, 10);
  assert.equal(rules.length, 9);
  assert.equal(results.filter((r) => r.ruleId === 'CVE-2024-2961').length, 2);
});

test('sarif: levels, tags and security-severity as Trivy sets them', () => {
  const { rules, results } = run(REPORT);
  const rule = (id: string): ReportingDescriptor => rules.find((r) => r.id === id)!;
  const level = (id: string): string | undefined => results.find((r) => r.ruleId === id)!.level;
  assert.equal(level('CVE-2023-6246'), 'error'); // CRITICAL
  assert.equal(level('CVE-2024-2961'), 'error'); // HIGH
  assert.equal(level('CVE-2023-4039'), 'warning'); // MEDIUM
  assert.equal(level('CVE-2011-3374'), 'note'); // LOW
  assert.equal(level('DS026'), 'note');
  // The CVSS v3 score of the source the severity comes from (nvd: 8.1; ghsa: 9.8)...
  assert.equal(rule('CVE-2024-2961').properties!['security-severity'], '8.1');
  assert.equal(rule('CVE-2021-44906').properties!['security-severity'], '9.8');
  // ...else Trivy's per-severity default: debian rates CVE-2023-6246 CRITICAL without a vector.
  assert.equal(rule('CVE-2023-6246').properties!['security-severity'], '9.5');
  assert.equal(rule('CVE-2023-4039').properties!['security-severity'], '5.5');
  assert.equal(rule('CVE-2011-3374').properties!['security-severity'], '2.0');
  assert.equal(rule('DS002').properties!['security-severity'], '8.0');
  assert.deepEqual(rule('CVE-2024-2961').properties!.tags, ['vulnerability', 'security', 'HIGH']);
  assert.deepEqual(rule('aws-access-key-id').properties!.tags, ['secret', 'security', 'CRITICAL']);
  assert.deepEqual(rule('DS002').properties!.tags, ['misconfiguration', 'security', 'HIGH']);
  assert.equal(rule('CVE-2024-2961').name, 'OsPackageVulnerability');
  assert.equal(rule('CVE-2021-23337').name, 'LanguageSpecificPackageVulnerability');
  assert.equal(rule('DS002').name, 'Misconfiguration');
  assert.equal(rule('aws-access-key-id').name, 'Secret');
  assert.equal(rule('CVE-2024-2961').helpUri, 'https://avd.aquasec.com/nvd/cve-2024-2961');
  assert.equal(rule('CVE-2024-2961').properties!['cvssv3_baseScore'], 8.1);
});

test('sarif: locations: the image repository for OS packages, the file for the rest, lines for secrets', () => {
  const { results } = run(REPORT);
  const loc = (id: string): NonNullable<Result['locations']>[number]['physicalLocation'] => results.find((r) => r.ruleId === id)!.locations![0]!.physicalLocation;
  assert.deepEqual(loc('CVE-2011-3374')!.artifactLocation, { uri: 'team/app', uriBaseId: 'ROOTPATH' });
  assert.deepEqual(loc('CVE-2021-23337')!.artifactLocation, { uri: 'app/package-lock.json', uriBaseId: 'ROOTPATH' });
  assert.deepEqual(loc('aws-access-key-id')!.artifactLocation, { uri: 'app/config/.env', uriBaseId: 'ROOTPATH' });
  assert.deepEqual(loc('aws-access-key-id')!.region, { startLine: 3, startColumn: 1, endLine: 3, endColumn: 1 });
  assert.deepEqual(loc('DS002')!.artifactLocation, { uri: 'team/app', uriBaseId: 'ROOTPATH' });
  assert.match(results.find((r) => r.ruleId === 'CVE-2021-23337')!.message.text!, /^Package: lodash\nInstalled Version: 4\.17\.20\nVulnerability CVE-2021-23337\nSeverity: HIGH\nFixed Version: 4\.17\.21\n/);
  const props = sarif(REPORT).runs[0]!.properties!;
  assert.equal(props['imageName'], IMAGE);
  assert.equal(props['imageID'], IMAGE_ID);
});

test('sarif: image references reduce to the repository path as Trivy does', () => {
  assert.equal(imagePathUri('registry.example.com/team/app:1.2.3 (debian 12.5)'), 'team/app');
  assert.equal(imagePathUri('alpine:3.19 (alpine 3.19.1)'), 'library/alpine');
  assert.equal(imagePathUri('localhost:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'), 'app');
  assert.equal(imagePathUri('ghcr.io/aquasecurity/trivy:0.50.0'), 'aquasecurity/trivy');
  assert.equal(imagePathUri('oci-archive:/tmp/App.tar (debian 12.5)'), 'oci-archive:/tmp/App.tar');
});
