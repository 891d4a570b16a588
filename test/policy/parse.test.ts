import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicyError, parsePolicy } from '../../src/policy/index.js';

test('a full policy document is read, with defaults filled and durations in milliseconds', () => {
  const p = parsePolicy({
    immutableTags: [{ repositories: '**', tags: 'v*' }, { repositories: { excluding: 'sandbox/**' }, tags: { matching: 'release-*' } }],
    preventVulnerable: { severity: 'high' },
    requireSignature: { keys: ['project', 'trusted:ci', 'trusted:ci'] },
    promotion: { requireScan: { maxAge: '24h' }, maxSeverity: 'high', denyMisconfigurations: ['PCL-IMG-001'], denySecrets: true, requireSignature: { keys: ['trusted:ci'], minSignatures: 1 }, requireSbom: true },
  });
  assert.deepEqual(p, {
    immutableTags: [
      { repositories: { matching: '**' }, tags: { matching: 'v*' } },
      { repositories: { excluding: 'sandbox/**' }, tags: { matching: 'release-*' } },
    ],
    preventVulnerable: { severity: 'high', unscanned: 'allow', fixableOnly: false },
    requireSignature: { keys: ['project', 'trusted:ci'], minSignatures: 1 },
    promotion: { requireScan: { maxAgeMs: 86_400_000 }, maxSeverity: 'high', denyMisconfigurations: ['PCL-IMG-001'], denySecrets: true, requireSignature: { keys: ['trusted:ci'], minSignatures: 1 }, requireSbom: true },
  });
  assert.deepEqual(parsePolicy({}), { immutableTags: [] });
});

const refused: [string, unknown, string][] = [
  ['an unknown top-level key', { preventVulnerble: {} }, '(the document)'],
  ['an unknown nested key', { promotion: { requireScan: { maxAge: '1h', minAge: '1m' } } }, 'promotion.requireScan'],
  ['a bad severity', { preventVulnerable: { severity: 'severe' } }, 'preventVulnerable.severity'],
  ['a bad duration', { promotion: { requireScan: { maxAge: 'a day' } } }, 'promotion.requireScan.maxAge'],
  ['a key that is none of the forms', { requireSignature: { keys: ['ci'] } }, 'requireSignature.keys.0'],
  ['more signatures than keys', { requireSignature: { keys: ['project'], minSignatures: 2 } }, 'requireSignature.minSignatures'],
  ['a selector with both forms', { immutableTags: [{ repositories: { matching: 'a', excluding: 'b' }, tags: '*' }] }, 'immutableTags.0.repositories'],
  ['an empty glob', { immutableTags: [{ repositories: '', tags: '*' }] }, 'immutableTags.0.repositories'],
  ['not an object', [], '(the document)'],
];
for (const [what, doc, path] of refused) {
  test(`refused with the path of the bad key: ${what}`, () => {
    assert.throws(
      () => parsePolicy(doc),
      (err: unknown) => err instanceof PolicyError && err.code === 'POLICY_INVALID' && err.detail?.['path'] === path && err.message.startsWith(`${path}: `),
    );
  });
}

test('a PEM public key is a key the policy may name', () => {
  const pem = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';
  assert.deepEqual(parsePolicy({ requireSignature: { keys: [pem] } }).requireSignature?.keys, [pem]);
});
