/**
 * Signatures, the simple-signing payload and DSSE against OpenSSL: what Portcullis signs, OpenSSL
 * verifies (`openssl dgst -sha256 -verify`, `pkeyutl -rawin` for Ed25519), and what OpenSSL signs,
 * Portcullis verifies; payloads byte for byte as Cosign writes them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Digest } from '../../src/oci/index.js';
import {
  envelopePayload,
  inTotoStatement,
  loadPrivateKey,
  loadPublicKey,
  pae,
  parseEnvelope,
  parseSimpleSigning,
  parseStatement,
  predicateTypeOf,
  SignError,
  signBytes,
  signEnvelope,
  simpleSigningPayload,
  verifyBytes,
  verifyEnvelope,
} from '../../src/sign/index.js';
import { requireTools, tempDir } from '../helpers/env.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as Digest;
const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('the simple-signing payload is byte for byte what Cosign signs, and reads back', () => {
  assert.equal(
    simpleSigningPayload({ dockerReference: 'registry.example.com/team/app', digest: DIGEST }).toString(),
    `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`,
  );
  const annotated = simpleSigningPayload({ dockerReference: 'r/a', digest: DIGEST, annotations: { team: 'payments', commit: 'abc123' } });
  assert.match(annotated.toString(), /"optional":\{"commit":"abc123","team":"payments"\}\}$/, 'annotation keys sorted, as Go marshals a map');
  assert.deepEqual(parseSimpleSigning(annotated), { dockerReference: 'r/a', digest: DIGEST, type: 'cosign container image signature', optional: { commit: 'abc123', team: 'payments' } });
  // Go matches field names case-insensitively: Cosign's own docs show "Docker-manifest-digest".
  const docs = Buffer.from(`{"critical":{"identity":{"docker-reference":"testing/manifest"},"image":{"Docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":{"creator":"Bob the Builder","timestamp":1458239713}}`);
  assert.equal(parseSimpleSigning(docs).digest, DIGEST);
  assert.deepEqual(parseSimpleSigning(docs).optional, { creator: 'Bob the Builder', timestamp: 1458239713 });
  for (const bad of ['nope', '{}', '{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:12"},"type":"t"}}', `{"critical":{"identity":{},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"t"}}`]) {
    assert.throws(() => parseSimpleSigning(Buffer.from(bad)), (e: unknown) => e instanceof SignError && e.code === 'PAYLOAD_INVALID', bad);
  }
});

test('signatures of every key kind verify with OpenSSL, and OpenSSL signatures verify here', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const dir = tempDir(t);
  const payload = simpleSigningPayload({ dockerReference: 'registry.example.com/team/app', digest: DIGEST });
  writeFileSync(join(dir, 'payload.json'), payload);
  const kinds: [string, string[]][] = [
    ['p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']],
    ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
    ['ed25519', ['-algorithm', 'ED25519']],
  ];
  for (const [kind, args] of kinds) {
    const keyFile = join(dir, `${kind}.pem`);
    const pubFile = join(dir, `${kind}.pub`);
    openssl('genpkey', ...args, '-out', keyFile);
    openssl('pkey', '-in', keyFile, '-pubout', '-out', pubFile);
    const key = await loadPrivateKey(readFileSync(keyFile, 'utf8'), () => '', kind);
    const pub = loadPublicKey(readFileSync(pubFile, 'utf8'), kind);
    // Ours → OpenSSL.
    writeFileSync(join(dir, `${kind}.sig`), signBytes(key, payload));
    const verifyArgs = kind === 'ed25519' ? ['pkeyutl', '-verify', '-pubin', '-inkey', pubFile, '-rawin', '-in', join(dir, 'payload.json'), '-sigfile', join(dir, `${kind}.sig`)] : ['dgst', '-sha256', '-verify', pubFile, '-signature', join(dir, `${kind}.sig`), join(dir, 'payload.json')];
    assert.match(openssl(...verifyArgs), /Verified OK|Signature Verified Successfully/, kind);
    // OpenSSL → ours.
    const signArgs = kind === 'ed25519' ? ['pkeyutl', '-sign', '-inkey', keyFile, '-rawin', '-in', join(dir, 'payload.json'), '-out', join(dir, `${kind}.osig`)] : ['dgst', '-sha256', '-sign', keyFile, '-out', join(dir, `${kind}.osig`), join(dir, 'payload.json')];
    openssl(...signArgs);
    const theirs = readFileSync(join(dir, `${kind}.osig`));
    assert.equal(verifyBytes(pub, payload, theirs), true, `${kind}: OpenSSL's signature`);
    // Tampering: another payload, a flipped bit, garbage.
    const other = simpleSigningPayload({ dockerReference: 'registry.example.com/team/app', digest: `sha256:${'cd'.repeat(32)}` as Digest });
    assert.equal(verifyBytes(pub, other, theirs), false, `${kind}: another digest`);
    const flipped = Buffer.from(theirs);
    flipped[flipped.length - 3]! ^= 0x10;
    assert.equal(verifyBytes(pub, payload, flipped), false, `${kind}: a flipped bit`);
    assert.equal(verifyBytes(pub, payload, Buffer.from('not a signature')), false, `${kind}: garbage`);
  }
});

test('DSSE: PAE as the spec defines it, envelopes OpenSSL verifies over it, statements that read back', async (t) => {
  // The DSSE spec's own example.
  assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  assert.equal(pae('t', Buffer.from('é')).toString(), 'DSSEv1 1 t 2 é', 'lengths in bytes');
  if (!requireTools(t, 'openssl')) return;
  const dir = tempDir(t);
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'k.pem'));
  openssl('pkey', '-in', join(dir, 'k.pem'), '-pubout', '-out', join(dir, 'k.pub'));
  const key = await loadPrivateKey(readFileSync(join(dir, 'k.pem'), 'utf8'), () => '');
  const pub = loadPublicKey(readFileSync(join(dir, 'k.pub'), 'utf8'));
  const statement = inTotoStatement([{ name: 'registry.example.com/team/app', digest: DIGEST }], predicateTypeOf('cyclonedx')!, { bomFormat: 'CycloneDX' });
  assert.deepEqual(JSON.parse(statement.toString()), {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'registry.example.com/team/app', digest: { sha256: 'ab'.repeat(32) } }],
    predicateType: 'https://cyclonedx.org/bom',
    predicate: { bomFormat: 'CycloneDX' },
  });
  const env = signEnvelope(key, 'application/vnd.in-toto+json', statement);
  const parsed = parseEnvelope(Buffer.from(JSON.stringify(env)));
  assert.deepEqual(parsed, env);
  assert.equal(verifyEnvelope(parsed, pub), true);
  // OpenSSL checks the signature over PAE(type, payload), not over the payload alone.
  writeFileSync(join(dir, 'pae.bin'), pae(env.payloadType, envelopePayload(env)));
  writeFileSync(join(dir, 'sig.bin'), Buffer.from(env.signatures[0]!.sig, 'base64'));
  assert.match(openssl('dgst', '-sha256', '-verify', join(dir, 'k.pub'), '-signature', join(dir, 'sig.bin'), join(dir, 'pae.bin')), /Verified OK/);
  // Signed by OpenSSL over PAE → verifies here; a changed payload type → does not.
  openssl('dgst', '-sha256', '-sign', join(dir, 'k.pem'), '-out', join(dir, 'osig.bin'), join(dir, 'pae.bin'));
  const theirs = { ...env, signatures: [{ keyid: '', sig: readFileSync(join(dir, 'osig.bin')).toString('base64') }] };
  assert.equal(verifyEnvelope(theirs, pub), true);
  assert.equal(verifyEnvelope({ ...theirs, payloadType: 'application/json' }, pub), false, 'the payload type is signed too');
  assert.equal(verifyEnvelope({ ...theirs, payload: Buffer.from(statement.toString().replace('CycloneDX', 'SPDX')).toString('base64') }, pub), false);
  assert.equal(verifyEnvelope({ ...env, payload: env.payload.replace(/\+/g, '-').replace(/\//g, '_') }, pub), true, 'URL-safe base64 is read');
  assert.deepEqual(parseStatement(envelopePayload(env)), { type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'registry.example.com/team/app', digest: DIGEST }], predicateType: 'https://cyclonedx.org/bom', predicate: { bomFormat: 'CycloneDX' } });
  const v01 = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ name: 'x', digest: { sha256: 'ab'.repeat(32) } }], predicateType: 'https://slsa.dev/provenance/v0.2', predicate: {} }));
  assert.equal(parseStatement(v01).subject[0]?.digest, DIGEST, 'what older Cosign wrote');
  for (const bad of ['{}', '{"payloadType":"x","payload":"eA==","signatures":[{}]}', 'nope']) assert.throws(() => parseEnvelope(Buffer.from(bad)), (e: unknown) => e instanceof SignError && e.code === 'PAYLOAD_INVALID', bad);
  assert.throws(() => parseStatement(Buffer.from('{"_type":"other"}')), (e: unknown) => e instanceof SignError && e.code === 'PAYLOAD_INVALID');
});

test('--type names map to Cosign predicate types; URIs pass; anything else is refused', () => {
  assert.equal(predicateTypeOf('spdx'), 'https://spdx.dev/Document');
  assert.equal(predicateTypeOf('spdxjson'), 'https://spdx.dev/Document');
  assert.equal(predicateTypeOf('cyclonedx'), 'https://cyclonedx.org/bom');
  assert.equal(predicateTypeOf('vuln'), 'https://cosign.sigstore.dev/attestation/vuln/v1');
  assert.equal(predicateTypeOf('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
  assert.equal(predicateTypeOf('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
  assert.equal(predicateTypeOf('https://example.com/my-predicate/v1'), 'https://example.com/my-predicate/v1');
  assert.equal(predicateTypeOf('sbom'), undefined);
});
