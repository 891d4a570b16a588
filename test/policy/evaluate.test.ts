import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { directPushAllowed, evaluatePromotion, evaluatePull, immutableRuleFor, isCosignTag, parsePolicy, type Finding, type ImageFacts } from '../../src/policy/index.js';

const vuln = (id: string, severity: Finding['severity'], fixable = true): Finding => ({ id, severity, class: 'vulnerability', fixable });
const facts = (over: Partial<ImageFacts> & { findings?: Finding[]; dbBuiltAt?: string | null } = {}): ImageFacts => ({
  scan: { scannedAt: 0, dbBuiltAt: over.dbBuiltAt === undefined ? '2026-12-06T00:00:00.000Z' : over.dbBuiltAt, findings: over.findings ?? [] },
  verifiedKeys: over.verifiedKeys ?? new Set(),
  hasSbom: over.hasSbom ?? true,
  waivers: over.waivers ?? [],
});

describe('immutable tags', () => {
  const policy = parsePolicy({ immutableTags: [{ repositories: '**', tags: 'v*' }, { repositories: { excluding: 'sandbox/**' }, tags: 'release' }] });
  const cases: [string, string, boolean][] = [
    ['app', 'v1.2.3', true],
    ['team/app', 'v1', true],
    ['app', 'latest', false],
    ['app', 'release', true],
    ['sandbox/app', 'release', false],
    ['sandbox/app', 'v2', true],
    ['app', `sha256-${'a'.repeat(64)}.sig`, false],
  ];
  for (const [repo, tag, immutable] of cases) test(`${repo}:${tag} ${immutable ? 'is' : 'is not'} immutable`, () => assert.equal(immutableRuleFor(policy, repo, tag) !== undefined, immutable));
  test("Cosign's attachment tags, and only those, are exempt", () => {
    assert.ok(isCosignTag(`sha256-${'0'.repeat(64)}.att`));
    assert.ok(!isCosignTag(`sha256-${'0'.repeat(63)}.sig`));
    assert.ok(!isCosignTag('v1.sig'));
  });
});

describe('the pull gate', () => {
  const pv = parsePolicy({ preventVulnerable: { severity: 'high' } });
  test('findings of every class at or above the bar refuse, strongest named first; below it allows', () => {
    const d = evaluatePull(pv, facts({ findings: [vuln('CVE-2', 'HIGH'), vuln('CVE-1', 'CRITICAL'), vuln('CVE-3', 'MEDIUM'), { id: 'PCL-IMG-001', severity: 'CRITICAL', class: 'misconfiguration', fixable: false }, { id: 'aws-access-key-id', severity: 'CRITICAL', class: 'secret', fixable: false }] }));
    assert.equal(d.allowed, false);
    assert.deepEqual(d.gates[0]?.ids, ['CVE-1', 'PCL-IMG-001', 'aws-access-key-id', 'CVE-2'], 'by severity, then by code point');
    assert.match(d.gates[0]!.reason, /^3 critical, 1 high findings at or above high: /);
    assert.equal(evaluatePull(pv, facts({ findings: [vuln('CVE-3', 'MEDIUM'), vuln('CVE-4', 'UNKNOWN')] })).allowed, true);
  });
  test('an approved waiver lets exactly its ids through, and says which', () => {
    const d = evaluatePull(pv, facts({ findings: [vuln('CVE-1', 'CRITICAL'), vuln('CVE-2', 'HIGH')], waivers: [{ id: 7, ids: ['CVE-1'] }] }));
    assert.equal(d.allowed, false);
    assert.deepEqual(d.gates[0]?.ids, ['CVE-2']);
    assert.deepEqual(d.waived, [{ id: 'CVE-1', waiver: 7 }]);
    assert.equal(evaluatePull(pv, facts({ findings: [vuln('CVE-1', 'CRITICAL')], waivers: [{ id: 7, ids: ['CVE-1'] }] })).allowed, true);
  });
  test('fixableOnly: vulnerabilities without a fix pass, secrets and misconfigurations still count', () => {
    const p = parsePolicy({ preventVulnerable: { severity: 'high', fixableOnly: true } });
    assert.equal(evaluatePull(p, facts({ findings: [vuln('CVE-1', 'CRITICAL', false)] })).allowed, true);
    assert.equal(evaluatePull(p, facts({ findings: [vuln('CVE-1', 'CRITICAL', true)] })).allowed, false);
    assert.equal(evaluatePull(p, facts({ findings: [{ id: 'PCL-IMG-001', severity: 'CRITICAL', class: 'misconfiguration', fixable: false }] })).allowed, false);
  });
  test('an unscanned image: allowed or refused as the policy says', () => {
    const none: ImageFacts = { verifiedKeys: new Set(), hasSbom: false, waivers: [] };
    assert.equal(evaluatePull(pv, none).allowed, true);
    const d = evaluatePull(parsePolicy({ preventVulnerable: { severity: 'high', unscanned: 'deny' } }), none);
    assert.deepEqual([d.allowed, d.gates[0]?.gate], [false, 'unscanned']);
  });
  test('signatures: only keys the policy names count, and as many as it asks', () => {
    const p = parsePolicy({ requireSignature: { keys: ['project', 'trusted:ci'], minSignatures: 2 } });
    assert.equal(evaluatePull(p, facts({ verifiedKeys: new Set(['project', 'trusted:ci']) })).allowed, true);
    const one = evaluatePull(p, facts({ verifiedKeys: new Set(['project', 'trusted:other']) }));
    assert.equal(one.allowed, false);
    assert.deepEqual(one.gates[0]?.ids, ['trusted:ci']);
    assert.match(one.gates[0]!.reason, /needs 2 signatures that verify with project or trusted:ci; only project verifies/);
  });
  test('a policy without pull gates allows anything', () => {
    assert.deepEqual(evaluatePull(parsePolicy({}), facts({ findings: [vuln('CVE-1', 'CRITICAL')] })), { allowed: true, gates: [], waived: [] });
  });
});

describe('promotion gates', () => {
  const now = Date.parse('2026-12-06T12:00:00.000Z');
  const gates = parsePolicy({ promotion: { requireScan: { maxAge: '24h' }, maxSeverity: 'high', denyMisconfigurations: ['PCL-IMG-001'], denySecrets: true, requireSignature: { keys: ['trusted:ci'] }, requireSbom: true } }).promotion!;
  test('the incident image fails every gate it should, all of them listed', () => {
    const incident = facts({
      dbBuiltAt: '2026-12-01T00:00:00.000Z',
      hasSbom: false,
      findings: [...Array.from({ length: 14 }, (_, i) => vuln(`CVE-2026-${1000 + i}`, 'CRITICAL')), { id: 'PCL-IMG-001', severity: 'CRITICAL', class: 'misconfiguration', fixable: false }],
    });
    const d = evaluatePromotion(gates, incident, now);
    assert.equal(d.allowed, false);
    assert.deepEqual(
      d.gates.filter((g) => !g.passed).map((g) => g.gate),
      ['scan-age', 'severity', 'misconfigurations', 'signature', 'sbom'],
    );
    assert.deepEqual(d.gates.find((g) => g.gate === 'misconfigurations')?.ids, ['PCL-IMG-001']);
    assert.match(d.gates.find((g) => g.gate === 'severity')!.reason, /^15 critical findings at or above high: CVE-2026-1000, CVE-2026-1001, CVE-2026-1002, CVE-2026-1003, CVE-2026-1004 and 10 more$/);
  });
  test('a clean, fresh, signed image with an SBOM passes every gate', () => {
    const d = evaluatePromotion(gates, facts({ verifiedKeys: new Set(['trusted:ci']), findings: [vuln('CVE-1', 'LOW')] }), now);
    assert.equal(d.allowed, true);
    assert.deepEqual(d.gates.map((g) => g.gate), ['scan-age', 'severity', 'misconfigurations', 'secrets', 'signature', 'sbom']);
  });
  test('secrets refuse; a waiver of the secret rule lets it through', () => {
    const leaky = facts({ verifiedKeys: new Set(['trusted:ci']), findings: [{ id: 'aws-access-key-id', severity: 'CRITICAL', class: 'secret', fixable: false }] });
    assert.deepEqual(evaluatePromotion({ denySecrets: true }, leaky, now).gates[0]?.ids, ['aws-access-key-id']);
    assert.equal(evaluatePromotion({ denySecrets: true }, { ...leaky, waivers: [{ id: 3, ids: ['aws-access-key-id'] }] }, now).allowed, true);
  });
  test('a scan without a DB, or no scan at all, fails the scan gate', () => {
    assert.match(evaluatePromotion({ requireScan: { maxAgeMs: 1 } }, facts({ dbBuiltAt: null }), now).gates[0]!.reason, /without an advisory DB/);
    assert.match(evaluatePromotion({ requireScan: { maxAgeMs: 1 } }, { verifiedKeys: new Set(), hasSbom: true, waivers: [] }, now).gates[0]!.reason, /no scan result/);
  });
  test('a project with gates takes from clients only what attaches to its images, unless it allows direct pushes', () => {
    const p = parsePolicy({ promotion: { maxSeverity: 'high' } });
    const sig = `sha256-${'b'.repeat(64)}.sig`;
    assert.equal(directPushAllowed(p, { tag: '1.0', image: true }), false, 'an image under a tag');
    assert.equal(directPushAllowed(p, { tag: null, image: true }), false, 'an image by digest');
    assert.equal(directPushAllowed(p, { tag: sig, image: true }), false, 'an image disguised under a Cosign tag');
    assert.equal(directPushAllowed(p, { tag: '1.0', image: false }), false, 'an artifact under a tag of its own');
    assert.equal(directPushAllowed(p, { tag: sig, image: false }), true, "Cosign's signature tag");
    assert.equal(directPushAllowed(p, { tag: `sha256-${'b'.repeat(64)}.att`, image: false }), true, "Cosign's attestation tag");
    assert.equal(directPushAllowed(p, { tag: null, image: false }), true, 'a referrer by digest');
    assert.equal(directPushAllowed(parsePolicy({ promotion: { allowDirectPush: true } }), { tag: '1.0', image: true }), true);
    assert.equal(directPushAllowed(parsePolicy({}), { tag: '1.0', image: true }), true);
  });
});

describe('denyKnownExploited', () => {
  const kev = (id: string, severity: Finding['severity']): Finding => ({ id, severity, class: 'vulnerability', fixable: false, knownExploited: true });
  test('a pull is refused for an exploited vulnerability below the severity bar; a waiver lets it through', () => {
    const policy = parsePolicy({ preventVulnerable: { severity: 'critical', denyKnownExploited: true } });
    const d = evaluatePull(policy, facts({ findings: [kev('CVE-2023-5678', 'MEDIUM'), vuln('CVE-9', 'HIGH')] }));
    assert.equal(d.allowed, false);
    assert.deepEqual(d.gates.map((g) => [g.gate, g.passed]), [['severity', true], ['known-exploited', false]]);
    assert.match(d.gates[1]!.reason, /Known Exploited Vulnerabilities catalogue: CVE-2023-5678/);
    assert.equal(evaluatePull(policy, facts({ findings: [kev('CVE-2023-5678', 'MEDIUM')], waivers: [{ id: 3, ids: ['CVE-2023-5678'] }] })).allowed, true);
    // Without the setting an exploited MEDIUM passes a critical bar, as before.
    assert.equal(evaluatePull(parsePolicy({ preventVulnerable: { severity: 'critical' } }), facts({ findings: [kev('CVE-2023-5678', 'MEDIUM')] })).allowed, true);
  });
  test('a promotion gate, which an unscanned image fails', () => {
    const { promotion } = parsePolicy({ promotion: { denyKnownExploited: true } });
    const refused = evaluatePromotion(promotion!, facts({ findings: [kev('CVE-2021-44228', 'CRITICAL')] }), Date.now());
    assert.deepEqual(refused.gates.map((g) => [g.gate, g.passed, g.ids]), [['known-exploited', false, ['CVE-2021-44228']]]);
    assert.equal(evaluatePromotion(promotion!, facts({ findings: [vuln('CVE-1', 'CRITICAL')] }), Date.now()).allowed, true);
    assert.equal(evaluatePromotion(promotion!, { verifiedKeys: new Set(), hasSbom: false, waivers: [] }, Date.now()).allowed, false);
  });
});
