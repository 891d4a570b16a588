import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { factReasons, labelsMatter, matchAdmission, nameReasons, parseAdmissionPolicy, PolicyError, verdictOf, type AdmissionFacts, type AdmissionImage, type AdmissionRule } from '../../src/policy/index.js';

const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexample\n-----END PUBLIC KEY-----\n';

/** The example policy, as written there. */
const EXAMPLE = {
  allowedRegistries: ['registry.example.com'],
  defaultAction: 'deny',
  rules: [
    {
      name: 'prod-signed',
      images: ['registry.example.com/prod/**'],
      namespaces: { names: ['*'], selector: { matchLabels: { tier: 'prod' } } },
      mode: 'enforce',
      require: {
        signatures: { keys: ['cosign.pub'], minSignatures: 1 },
        attestations: [{ predicateType: 'https://cyclonedx.org/bom', key: 'cosign.pub' }],
        noLatest: true,
        digestPinned: false,
        maxSeverity: 'high',
        sbom: true,
        promotedTo: 'prod',
      },
    },
  ],
};

const image = (text: string, registry: string, repository: string, tag?: string, digest?: string): AdmissionImage => ({ text, registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) });
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('the admission policy document', () => {
  test("the issue's example reads as written, key paths kept as paths, inline PEMs as keys", () => {
    const p = parseAdmissionPolicy(EXAMPLE);
    assert.deepEqual(p.allowedRegistries, ['registry.example.com']);
    const r = p.rules[0]!;
    assert.deepEqual(r.require.signatures, { keys: [{ path: 'cosign.pub' }], minSignatures: 1 });
    assert.deepEqual(r.require.attestations, [{ predicateType: 'https://cyclonedx.org/bom', key: { path: 'cosign.pub' } }]);
    assert.deepEqual(parseAdmissionPolicy({ rules: [{ name: 'x', images: ['**'], require: { signatures: { keys: [PEM] } } }] }).rules[0]!.require.signatures, { keys: [{ pem: PEM.trim() }], minSignatures: 1 });
  });

  test('defaults: deny, enforce, no requirement', () => {
    const p = parseAdmissionPolicy({ rules: [{ name: 'any', images: ['**'] }] });
    assert.equal(p.defaultAction, 'deny');
    assert.equal(p.rules[0]!.mode, 'enforce');
    assert.deepEqual(p.rules[0]!.require, {});
    assert.equal(p.allowedRegistries, undefined);
  });

  for (const [what, doc, path] of [
    ['an unknown key', { ...EXAMPLE, rulez: [] }, '(the document)'],
    ['an unknown requirement', { rules: [{ name: 'r', images: ['**'], require: { signed: true } }] }, 'rules.0.require'],
    ['a bad severity', { rules: [{ name: 'r', images: ['**'], require: { maxSeverity: 'severe' } }] }, 'rules.0.require.maxSeverity'],
    ['a bad mode', { rules: [{ name: 'r', images: ['**'], mode: 'block' }] }, 'rules.0.mode'],
    ['more signatures than keys', { rules: [{ name: 'r', images: ['**'], require: { signatures: { keys: ['a.pub'], minSignatures: 2 } } }] }, 'rules.0.require.signatures.minSignatures'],
    ['a selector operator', { rules: [{ name: 'r', images: ['**'], namespaces: { selector: { matchExpressions: [{ key: 'tier', operator: 'Like', values: ['x'] }] } } }] }, 'rules.0.namespaces.selector.matchExpressions.0.operator'],
    ['In without values', { rules: [{ name: 'r', images: ['**'], namespaces: { selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] } } }] }, 'rules.0.namespaces.selector.matchExpressions.0.values'],
    ['a registry with a path', { allowedRegistries: ['registry.example.com/prod'] }, 'allowedRegistries.0'],
    ['duplicate rule names', { rules: [{ name: 'r', images: ['a'] }, { name: 'r', images: ['b'] }] }, 'rules'],
    ['no images', { rules: [{ name: 'r', images: [] }] }, 'rules.0.images'],
  ] as const) {
    test(`refused with the path of the bad key: ${what}`, () => {
      assert.throws(
        () => parseAdmissionPolicy(doc),
        (err: unknown) => err instanceof PolicyError && (err.detail as { path: string }).path === path && err.message.startsWith(`${path}: `),
      );
    });
  }
});

describe('which rule decides', () => {
  const policy = parseAdmissionPolicy({
    allowedRegistries: ['registry.example.com', 'docker.io'],
    rules: [
      { name: 'prod-labelled', images: ['registry.example.com/prod/**'], namespaces: { selector: { matchLabels: { tier: 'prod' } } }, require: { noLatest: true } },
      { name: 'prod', images: ['registry.example.com/prod/**'], namespaces: { names: ['prod-*'] }, mode: 'warn' },
      { name: 'hub', images: ['docker.io/library/*'], mode: 'audit' },
    ],
  });
  const ns = (name: string, labels: Record<string, string> = {}) => ({ name, labels });
  const app = image('registry.example.com/prod/app:1.0', 'registry.example.com', 'prod/app', '1.0');

  test('the registry first, then the first matching rule, else the default', () => {
    const malware = image('totally-not-malware:latest', 'docker.io', 'library/totally-not-malware', 'latest');
    assert.equal(matchAdmission(policy, image('evil.example.net/x:1', 'evil.example.net', 'x', '1'), ns('default')).kind, 'registry-denied');
    const m = matchAdmission(policy, malware, ns('default'));
    assert.equal(m.kind === 'rule' && m.rule.name, 'hub');
    assert.equal((matchAdmission(policy, app, ns('prod-eu', { tier: 'prod' })) as { rule: AdmissionRule }).rule.name, 'prod-labelled');
    assert.equal((matchAdmission(policy, app, ns('prod-eu', { tier: 'dev' })) as { rule: AdmissionRule }).rule.name, 'prod');
    assert.deepEqual(matchAdmission(policy, app, ns('dev')), { kind: 'default', action: 'deny' });
    assert.deepEqual(verdictOf(app, { kind: 'default', action: 'deny' }, undefined, []).reasons.map((r) => r.code), ['NO_RULE']);
  });

  test("the issue's example denies totally-not-malware:latest before any rule", () => {
    const p = parseAdmissionPolicy(EXAMPLE);
    const m = matchAdmission(p, image('docker.io/totally-not-malware:latest', 'docker.io', 'totally-not-malware', 'latest'), ns('default'));
    assert.equal(m.kind, 'registry-denied');
    assert.match((m as { reason: { message: string } }).reason.message, /registry docker\.io is not one the policy allows \(registry\.example\.com\)/);
  });

  test('labels matter only when a rule that selects by label could decide', () => {
    assert.equal(labelsMatter(policy, app, 'prod-eu'), true);
    assert.equal(labelsMatter(policy, image('docker.io/library/nginx', 'docker.io', 'library/nginx', 'latest'), 'prod-eu'), false);
  });

  test('expressions: In, NotIn, Exists, DoesNotExist', () => {
    const p = parseAdmissionPolicy({
      rules: [
        { name: 'in', images: ['**'], namespaces: { selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod', 'stage'] }, { key: 'legacy', operator: 'DoesNotExist' }] } } },
        { name: 'exists', images: ['**'], namespaces: { selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }, { key: 'tier', operator: 'NotIn', values: ['prod'] }] } } },
      ],
    });
    const rule = (labels: Record<string, string>) => {
      const m = matchAdmission(p, app, ns('x', labels));
      return m.kind === 'rule' ? m.rule.name : m.kind;
    };
    assert.equal(rule({ tier: 'stage' }), 'in');
    assert.equal(rule({ tier: 'stage', legacy: 'yes', team: 'a' }), 'exists');
    assert.equal(rule({ tier: 'prod', legacy: 'yes', team: 'a' }), 'default');
    assert.equal(rule({}), 'default');
  });
});

describe('the verdict on facts', () => {
  const rule = parseAdmissionPolicy({
    rules: [{ name: 'r', images: ['**'], require: { signatures: { keys: ['a.pub', 'b.pub'], minSignatures: 2 }, maxSeverity: 'high', sbom: true, promotedTo: 'prod', attestations: [{ predicateType: 'https://cyclonedx.org/bom', key: 'a.pub' }] } }],
  }).rules[0]!;
  const good: AdmissionFacts = {
    digest: DIGEST,
    signatures: { verified: [true, true], found: 2, notes: [] },
    attestations: { verified: [true], notes: [] },
    scan: { findings: { critical: 0, high: 0, medium: 3, low: 1, unknown: 0 }, ids: ['CVE-1'] },
    sbom: true,
    promotedTo: ['prod'],
  };
  const codes = (f: AdmissionFacts) => factReasons(rule, f).map((r) => r.code);

  test('everything in order passes; each failure is named, all at once', () => {
    assert.deepEqual(codes(good), []);
    assert.deepEqual(codes({ ...good, signatures: { verified: [true, false], found: 3, notes: ['SIGNATURE_MISMATCH with b.pub'] } }), ['SIGNATURE']);
    assert.deepEqual(
      codes({ digest: DIGEST, signatures: { verified: [false, false], found: 0, notes: [] }, attestations: { verified: [false], notes: ['it has no attestation'] }, scan: { findings: { critical: 2, high: 1, medium: 0, low: 0, unknown: 0 }, ids: ['CVE-9', 'PCL-IMG-001', 'CVE-8'] }, sbom: false, promotedTo: ['qa'] }),
      ['SIGNATURE', 'ATTESTATION', 'SEVERITY', 'SBOM_MISSING', 'NOT_PROMOTED'],
    );
    const severity = factReasons(rule, { ...good, scan: { findings: { critical: 2, high: 1, medium: 0, low: 0, unknown: 0 }, ids: ['CVE-9', 'PCL-IMG-001', 'CVE-8'] } })[0]!;
    assert.equal(severity.message, '2 critical, 1 high findings at or above high: CVE-9, PCL-IMG-001, CVE-8');
  });

  test('unscanned is denied unless the rule allows it; what could not be learned fails closed', () => {
    assert.deepEqual(codes({ ...good, scan: 'unscanned' }), ['UNSCANNED']);
    const lenient = { ...rule, require: { ...rule.require, unscanned: 'allow' as const } };
    assert.deepEqual(factReasons(lenient, { ...good, scan: 'unscanned' }), []);
    assert.deepEqual(codes({ ...good, scan: { unavailable: 'not Portcullis' }, sbom: { unavailable: 'not Portcullis' } }), ['FACTS_UNAVAILABLE', 'FACTS_UNAVAILABLE']);
    assert.deepEqual(codes({ digest: DIGEST }), ['FACTS_UNAVAILABLE', 'FACTS_UNAVAILABLE', 'FACTS_UNAVAILABLE', 'FACTS_UNAVAILABLE', 'FACTS_UNAVAILABLE']);
  });

  test('names: latest and digests', () => {
    const r = parseAdmissionPolicy({ rules: [{ name: 'pinned', images: ['**'], require: { digestPinned: true } }, { name: 'nolatest', images: ['**'], require: { noLatest: true } }] }).rules;
    assert.deepEqual(nameReasons(r[0]!, image('a/b:1', 'docker.io', 'a/b', '1')).map((x) => x.code), ['NOT_DIGEST_PINNED']);
    assert.deepEqual(nameReasons(r[0]!, image(`a/b@${DIGEST}`, 'docker.io', 'a/b', undefined, DIGEST)), []);
    assert.deepEqual(nameReasons(r[1]!, image('a/b', 'docker.io', 'a/b', 'latest')).map((x) => x.code), ['LATEST_TAG']);
    assert.deepEqual(nameReasons(r[1]!, image(`a/b:latest@${DIGEST}`, 'docker.io', 'a/b', 'latest', DIGEST)), [], 'pinned by digest, the tag says nothing');
    assert.deepEqual(nameReasons(r[1]!, image('a/b:1.2', 'docker.io', 'a/b', '1.2')), []);
  });

  test('modes: warn and audit let the image in with their reasons; enforce denies', () => {
    const reasons = [{ code: 'SIGNATURE' as const, message: 'no' }];
    for (const [mode, allowed] of [['enforce', false], ['warn', true], ['audit', true]] as const) {
      const v = verdictOf(image('x', 'docker.io', 'library/x', 'latest'), { kind: 'rule', rule: { ...rule, mode } }, DIGEST, reasons);
      assert.equal(v.allowed, allowed, mode);
      assert.deepEqual(v.reasons, reasons);
    }
  });
});
