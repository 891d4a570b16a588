/**
 * The report filters: severities over every kind of finding, --ignore-unfixed as Trivy means it
 * (only `fixed` stays), `.trivyignore` lines and `.trivyignore.yaml` (ids, paths, purls, expiry,
 * statements), OpenVEX statements (not_affected and fixed suppress, affected does not, the latest
 * statement wins), and malformed files failing with a typed error that names file and line.
 * The file texts follow Trivy's test data (pkg/result/testdata) and the OpenVEX examples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScanError } from '../../src/scan/errors.js';
import { filterReport, type ReportFilter } from '../../src/scan/filter.js';
import { globToRegExp, parseIgnoreFile } from '../../src/scan/ignore-file.js';
import { purlMatches } from '../../src/scan/purl-match.js';
import { parseOpenVex } from '../../src/scan/vex.js';
import type { ScanReport } from '../../src/scan/model.js';
import { IMAGE, IMAGE_DIGEST, OS_TARGET, REPORT } from './format/fixture.js';

const NOW = new Date('2024-06-01T12:00:00Z');

/** Every finding left, as `kind target id [pkg]`, sorted. */
function left(report: ScanReport): string[] {
  return report.results
    .flatMap((r) => [
      ...(r.vulnerabilities ?? []).map((v) => `vuln ${r.target} ${v.id} ${v.pkg.name}`),
      ...(r.secrets ?? []).map((s) => `secret ${r.target} ${s.ruleId}`),
      ...(r.misconfigurations ?? []).map((m) => `misconfig ${r.target} ${m.id}`),
    ])
    .sort();
}

const ALL = left(REPORT);
const run = (filter: ReportFilter): ReturnType<typeof filterReport> => filterReport(REPORT, { now: NOW, ...filter });
const without = (...gone: string[]): string[] => {
  for (const g of gone) assert.ok(ALL.includes(g), `fixture has ${g}`);
  return ALL.filter((x) => !gone.includes(x));
};

function assertScanError(fn: () => unknown, code: 'IGNOREFILE_INVALID' | 'VEX_INVALID', where: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ScanError, `a ScanError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, where);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Severity and status

test('filter: no filter keeps everything and counts nothing', () => {
  const out = run({});
  assert.deepEqual(left(out.report), ALL);
  assert.equal(out.suppressed, 0);
  assert.deepEqual(out.removed, { severity: 0, unfixed: 0, risk: 0, ignoreFile: 0, vex: 0 });
  assert.equal(ALL.length, 10);
});

test('filter: severities apply to vulnerabilities, secrets and misconfigurations', () => {
  const out = run({ severities: ['HIGH', 'CRITICAL'] });
  assert.deepEqual(left(out.report), without(`vuln ${OS_TARGET} CVE-2011-3374 apt`, `vuln ${OS_TARGET} CVE-2023-4039 libc6`, 'misconfig image config DS026'));
  assert.equal(out.removed.severity, 3);
  assert.equal(out.suppressed, 0, 'a severity filter is not a suppression');
  const low = run({ severities: ['LOW'] });
  assert.deepEqual(left(low.report), ['misconfig image config DS026', `vuln ${OS_TARGET} CVE-2011-3374 apt`]);
  // Targets stay listed when all their findings are gone, as Trivy keeps them.
  assert.equal(low.report.results.length, REPORT.results.length);
  assert.deepEqual(low.report.results[2]!.secrets, []);
});

test('filter: --ignore-unfixed keeps only status fixed (drops affected and will_not_fix), and only vulnerabilities', () => {
  const out = run({ ignoreUnfixed: true });
  assert.deepEqual(left(out.report), without(`vuln ${OS_TARGET} CVE-2011-3374 apt`, `vuln ${OS_TARGET} CVE-2023-4039 libc6`));
  assert.equal(out.removed.unfixed, 2);
  const statuses = ['unknown', 'affected', 'will_not_fix', 'fix_deferred', 'end_of_life', 'under_investigation', 'fixed'] as const;
  const one: ScanReport = { ...REPORT, results: [{ target: OS_TARGET, class: 'os-pkgs', type: 'debian', vulnerabilities: statuses.map((status, i) => ({ ...REPORT.results[0]!.vulnerabilities![0]!, id: `CVE-2024-${1000 + i}`, status })) }] };
  const kept = filterReport(one, { ignoreUnfixed: true }).report.results[0]!.vulnerabilities!;
  assert.deepEqual(kept.map((v) => v.status), ['fixed']);
});

// ---------------------------------------------------------------------------------------------
// .trivyignore

const TRIVYIGNORE = `# vulnerabilities
CVE-2011-3374 # apt-key is not used: no keys are added at run time
CVE-2023-4039 exp:2024-01-01
CVE-2021-23337 exp:2099-01-01 key2:value2

# a GHSA id names the same flaw as its CVE
GHSA-xvch-5gv4-984h

# secrets and misconfigurations share the list
aws-access-key-id
AVD-DS-0026
`;

test('.trivyignore: ids for every kind, aliases, AVD ids; expired lines no longer suppress; trailing comments are statements', () => {
  const ignore = parseIgnoreFile(TRIVYIGNORE, '.trivyignore');
  const out = run({ ignore });
  assert.deepEqual(
    left(out.report),
    without(
      `vuln ${OS_TARGET} CVE-2011-3374 apt`,
      'vuln app/package-lock.json CVE-2021-23337 lodash',
      'vuln app/package-lock.json CVE-2021-44906 minimist',
      'secret app/config/.env aws-access-key-id',
      'misconfig image config DS026',
    ),
  );
  // exp:2024-01-01 is before NOW: CVE-2023-4039 is shown again.
  assert.ok(left(out.report).includes(`vuln ${OS_TARGET} CVE-2023-4039 libc6`));
  assert.equal(out.suppressed, 5);
  assert.equal(out.removed.ignoreFile, 5);
  const apt = out.suppressions.find((s) => s.id === 'CVE-2011-3374')!;
  assert.deepEqual(apt, {
    kind: 'vulnerability',
    id: 'CVE-2011-3374',
    target: OS_TARGET,
    pkg: { name: 'apt', version: '2.6.1', purl: 'pkg:deb/debian/apt@2.6.1?arch=amd64&distro=debian-12.5' },
    by: 'ignore-file',
    source: '.trivyignore',
    line: 2,
    statement: 'apt-key is not used: no keys are added at run time',
  });
  assert.equal(out.suppressions.find((s) => s.id === 'aws-access-key-id')!.line, 10);
  // Before the expiry date the entry still suppresses.
  const earlier = filterReport(REPORT, { ignore, now: new Date('2023-12-31T23:59:59Z') });
  assert.equal(left(earlier.report).includes(`vuln ${OS_TARGET} CVE-2023-4039 libc6`), false);
});

test('.trivyignore: a bad expiry date is an error naming the file and line', () => {
  assertScanError(() => parseIgnoreFile('CVE-2024-1\nCVE-2024-2 exp:2024-13-01\n', 'ci/.trivyignore'), 'IGNOREFILE_INVALID', /^ci\/\.trivyignore:2: /);
  assertScanError(() => parseIgnoreFile('CVE-2024-2 exp:tomorrow', '.trivyignore'), 'IGNOREFILE_INVALID', /\.trivyignore:1: .*exp:YYYY-MM-DD/);
  assertScanError(() => parseIgnoreFile('\n\nexp:2024-01-01 CVE-2024-2', '.trivyignore'), 'IGNOREFILE_INVALID', /\.trivyignore:3: /);
});

// ---------------------------------------------------------------------------------------------
// .trivyignore.yaml

const TRIVYIGNORE_YAML = `vulnerabilities:
  - id: CVE-2024-2961
    paths:
      - "**/package-lock.json"
    statement: only the lockfile's copy is ignored (there is none)
  - id: CVE-2021-23337
    paths:
      - "app/*.json"
    statement: templates are never compiled from user input
  - id: CVE-2023-4039
    purls:
      - "pkg:deb/debian/libc6"
    statement: the image runs on amd64 only
    expired_at: 2099-01-01
  - id: CVE-2023-6246
    purls:
      - "pkg:deb/debian/libc6@9.9.9"
  - id: CVE-2011-3374
    expired_at: 2024-05-31
  - purls:
      - "pkg:npm/minimist"
    statement: build-time only
secrets:
  - id: aws-access-key-id
    paths:
      - "app/config/*"
    statement: a revoked test key
misconfigurations:
  - id: AVD-DS-0002
    statement: runs under a PodSecurity restricted profile
  - id: DS026
    paths:
      - "docs/Dockerfile"
licenses:
  - id: GPL-3.0
`;

test('.trivyignore.yaml: paths (globs), purls (version-less matches all versions), expiry, id-less entries; statements kept', () => {
  const ignore = parseIgnoreFile(TRIVYIGNORE_YAML, '.trivyignore.yaml');
  const out = run({ ignore });
  assert.deepEqual(
    left(out.report),
    without(
      'vuln app/package-lock.json CVE-2021-23337 lodash',
      `vuln ${OS_TARGET} CVE-2023-4039 libc6`,
      'vuln app/package-lock.json CVE-2021-44906 minimist',
      'secret app/config/.env aws-access-key-id',
      'misconfig image config DS002',
    ),
  );
  // Not suppressed: a path that does not match, a purl of another version, an expired entry, a misconfig path elsewhere.
  for (const kept of [`vuln ${OS_TARGET} CVE-2024-2961 libc6`, `vuln ${OS_TARGET} CVE-2023-6246 libc6`, `vuln ${OS_TARGET} CVE-2011-3374 apt`, 'misconfig image config DS026']) assert.ok(left(out.report).includes(kept), kept);
  const statements = Object.fromEntries(out.suppressions.map((s) => [s.id, s.statement]));
  assert.deepEqual(statements, {
    'CVE-2021-23337': 'templates are never compiled from user input',
    'CVE-2023-4039': 'the image runs on amd64 only',
    'CVE-2021-44906': 'build-time only',
    'aws-access-key-id': 'a revoked test key',
    DS002: 'runs under a PodSecurity restricted profile',
  });
  assert.equal(out.suppressions.find((s) => s.id === 'DS002')!.line, 29);
  assert.equal(ignore.vulnerabilities.find((e) => e.id === 'CVE-2023-4039')!.line, 10);
});

test('.trivyignore.yaml: malformed files fail with the file and line', () => {
  const cases: [string, RegExp][] = [
    ['vulnerabilities:\n  - id: CVE-1\n    paths: [unclosed\n', /^x\.yaml:\d+: not valid YAML/],
    ['vulnerabilities:\n  - id: CVE-1\n    reason: typo for statement\n', /^x\.yaml:3: unknown field 'reason'/],
    ['vulnerabilities:\n  - id: CVE-1\n  - statement: matches everything\n', /^x\.yaml:3: an entry needs an id, paths or purls/],
    ['vulnerabilities:\n  - id: CVE-1\n    expired_at: next week\n', /^x\.yaml:3: expired_at must be a date/],
    ['vulnerabilities:\n  - id: CVE-1\n    purls: ["not a purl"]\n', /^x\.yaml:3: invalid package URL/],
    ['vulnerabilities:\n  - id: CVE-1\n    paths: ["[abc"]\n', /^x\.yaml:3: invalid path pattern/],
    ['vulnerability:\n  - id: CVE-1\n', /^x\.yaml:1: unknown section 'vulnerability'/],
    ['secrets:\n  id: generic\n', /^x\.yaml:2: 'secrets' must be a list/],
    ['- CVE-1\n', /^x\.yaml:1: expected a mapping/],
  ];
  for (const [text, where] of cases) assertScanError(() => parseIgnoreFile(text, 'x.yaml'), 'IGNOREFILE_INVALID', where);
  // An empty file ignores nothing.
  assert.deepEqual(parseIgnoreFile('', 'x.yaml').vulnerabilities, []);
});

// ---------------------------------------------------------------------------------------------
// OpenVEX

const vexDoc = (statements: unknown[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://openvex.dev/docs/example/vex-9fb3463de1b57', author: 'Security Team', timestamp: '2024-05-01T00:00:00Z', version: 1, statements, ...extra }, null, 2);

test('openvex: not_affected and fixed suppress the matching package; affected and under_investigation do not', () => {
  const vex = parseOpenVex(
    vexDoc([
      { vulnerability: { name: 'CVE-2023-4039' }, products: [{ '@id': 'pkg:deb/debian/libc6' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', impact_statement: 'amd64 only' },
      { vulnerability: { name: 'CVE-2021-23337' }, products: [{ '@id': 'pkg:npm/lodash@4.17.20' }], status: 'fixed' },
      { vulnerability: { name: 'CVE-2011-3374' }, products: [{ '@id': 'pkg:deb/debian/apt' }], status: 'affected', action_statement: 'remove apt' },
      { vulnerability: { name: 'CVE-2021-44906' }, products: [{ '@id': 'pkg:npm/minimist' }], status: 'under_investigation' },
    ]),
    'app.openvex.json',
  );
  const out = run({ vex });
  assert.deepEqual(left(out.report), without(`vuln ${OS_TARGET} CVE-2023-4039 libc6`, 'vuln app/package-lock.json CVE-2021-23337 lodash'));
  assert.equal(out.removed.vex, 2);
  assert.equal(out.suppressed, 2);
  const s = out.suppressions.find((x) => x.id === 'CVE-2023-4039')!;
  assert.equal(s.by, 'vex');
  assert.equal(s.status, 'not_affected');
  assert.equal(s.statement, 'vulnerable_code_not_in_execute_path: amd64 only');
  assert.equal(s.source, 'app.openvex.json');
  assert.equal(s.line, 8, 'the line of the statement in the file');
  assert.equal(out.suppressions.find((x) => x.id === 'CVE-2021-23337')!.status, 'fixed');
});

test('openvex: the image as product, with subcomponents (only those) or without (the whole image)', () => {
  const imagePurl = `pkg:oci/app@${encodeURIComponent(IMAGE_DIGEST)}?repository_url=registry.example.com%2Fteam%2Fapp`;
  const vex = parseOpenVex(
    vexDoc([
      // CVE-2024-2961 is in libc6 and libc-bin: only libc-bin is declared not affected.
      { vulnerability: { name: 'CVE-2024-2961' }, products: [{ '@id': imagePurl, subcomponents: [{ '@id': 'pkg:deb/debian/libc-bin' }] }], status: 'not_affected', justification: 'vulnerable_code_not_present' },
      // Version-less image purl, matched by repository_url; no subcomponents: every package.
      { vulnerability: { name: 'CVE-2023-6246' }, products: [{ '@id': 'pkg:oci/app?repository_url=registry.example.com/team/app' }], status: 'not_affected', justification: 'component_not_present' },
      // Another image: no effect.
      { vulnerability: { name: 'CVE-2023-4039' }, products: [{ '@id': 'pkg:oci/other?repository_url=registry.example.com/team/other' }], status: 'not_affected', justification: 'component_not_present' },
      // The image by its reference.
      { vulnerability: { name: 'CVE-2011-3374' }, products: [{ '@id': IMAGE }], status: 'not_affected', justification: 'inline_mitigations_already_exist' },
    ]),
    'image.vex.json',
  );
  const out = run({ vex });
  assert.deepEqual(left(out.report), without(`vuln ${OS_TARGET} CVE-2024-2961 libc-bin`, `vuln ${OS_TARGET} CVE-2023-6246 libc6`, `vuln ${OS_TARGET} CVE-2011-3374 apt`));
});

test('openvex: the latest statement wins; aliases match; the v0.0.x string forms are read', () => {
  const vex = parseOpenVex(
    vexDoc([
      // CVE-2023-4039: this statement is first in the file but the newest, so it wins over the one at the end.
      { vulnerability: { name: 'CVE-2023-4039' }, products: [{ '@id': 'pkg:deb/debian/libc6' }], status: 'affected', timestamp: '2024-05-03T00:00:00Z' },
      // Two statements with the document's time: the later one in the file (affected) wins.
      { vulnerability: { name: 'CVE-2011-3374' }, products: [{ '@id': 'pkg:deb/debian/apt' }], status: 'not_affected', justification: 'vulnerable_code_not_present' },
      { vulnerability: { name: 'CVE-2011-3374' }, products: [{ '@id': 'pkg:deb/debian/apt' }], status: 'affected' },
      // The statement names the GHSA id; the finding's canonical id is the CVE.
      { vulnerability: { name: 'GHSA-xvch-5gv4-984h' }, products: [{ '@id': 'pkg:npm/minimist@1.2.5' }], status: 'not_affected', justification: 'vulnerable_code_cannot_be_controlled_by_adversary' },
      // v0.0.x: a string vulnerability and string products.
      { vulnerability: 'CVE-2021-23337', products: ['pkg:npm/lodash'], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' },
      { vulnerability: { name: 'CVE-2023-4039' }, products: [{ '@id': 'pkg:deb/debian/libc6' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', timestamp: '2024-05-02T00:00:00Z' },
    ]),
    'history.vex.json',
  );
  const out = run({ vex });
  assert.deepEqual(left(out.report), without('vuln app/package-lock.json CVE-2021-44906 minimist', 'vuln app/package-lock.json CVE-2021-23337 lodash'));
});

test('openvex: malformed documents fail with the file and line', () => {
  assertScanError(() => parseOpenVex('{\n  "@context": "https://openvex.dev/ns/v0.2.0",\n  "statements": [\n    {,}\n  ]\n}', 'bad.json'), 'VEX_INVALID', /^bad\.json:4: not valid JSON/);
  assertScanError(() => parseOpenVex(JSON.stringify({ bomFormat: 'CycloneDX' }), 'cdx.json'), 'VEX_INVALID', /^cdx\.json:1: not an OpenVEX document/);
  const doc = vexDoc([
    { vulnerability: { name: 'CVE-1' }, products: [{ '@id': 'pkg:npm/a' }], status: 'not_affected', justification: 'component_not_present' },
    { vulnerability: { name: 'CVE-2' }, products: [{ '@id': 'pkg:npm/b' }], status: 'false_positive' },
  ]);
  const line = doc.split('\n').findIndex((l, i, all) => l.trim() === '{' && all[i + 1]!.includes('"vulnerability"') && all[i + 2]!.includes('CVE-2')) + 1;
  assert.ok(line > 1);
  assertScanError(() => parseOpenVex(doc, 'v.json'), 'VEX_INVALID', new RegExp(`^v\\.json:${line}: statement 2: status "false_positive"`));
  assertScanError(() => parseOpenVex(vexDoc([{ vulnerability: { name: 'CVE-1' }, status: 'fixed' }]), 'v.json'), 'VEX_INVALID', /statement 1: products must be a non-empty list/);
  assertScanError(() => parseOpenVex(vexDoc([{ vulnerability: {}, products: ['pkg:npm/a'], status: 'fixed' }]), 'v.json'), 'VEX_INVALID', /statement 1: vulnerability must have a name/);
});

// ---------------------------------------------------------------------------------------------
// Matching helpers

test('purl matching: no version matches all versions; qualifiers of the pattern must be present', () => {
  const target = 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5';
  assert.equal(purlMatches('pkg:deb/debian/libc6', target), true);
  assert.equal(purlMatches('pkg:deb/debian/libc6@2.36-9+deb12u4', target), true, 'a literal + equals %2B');
  assert.equal(purlMatches('pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64', target), true);
  assert.equal(purlMatches('pkg:deb/debian/libc6?arch=arm64', target), false);
  assert.equal(purlMatches('pkg:deb/debian/libc6@2.36-9+deb12u7', target), false);
  assert.equal(purlMatches('pkg:deb/ubuntu/libc6', target), false);
  assert.equal(purlMatches('pkg:npm/%40angular/core', 'pkg:npm/%40angular/core@17.3.0'), true);
  assert.equal(purlMatches('pkg:pypi/Django_Rest', 'pkg:pypi/django-rest@3.14.0'), true);
});

test('globs: ** spans directories, * and ? stay in one, classes and alternatives', () => {
  const m = (pattern: string, path: string): boolean => globToRegExp(pattern)!.test(path);
  assert.equal(m('**/package-lock.json', 'package-lock.json'), true);
  assert.equal(m('**/package-lock.json', 'a/b/package-lock.json'), true);
  assert.equal(m('app/*.json', 'app/package-lock.json'), true);
  assert.equal(m('app/*.json', 'app/sub/package-lock.json'), false);
  assert.equal(m('vendor/**', 'vendor/a/b.go'), true);
  assert.equal(m('{app,srv}/?.txt', 'srv/a.txt'), true);
  assert.equal(m('[ab]*.txt', 'c.txt'), false);
  assert.equal(globToRegExp('[abc'), undefined);
});
