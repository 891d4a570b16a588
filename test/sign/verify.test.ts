/**
 * The one verifier, from real bytes: a payload or envelope signed with a generated key (and, in
 * the last tests, by OpenSSL), then tampered with one way at a time. Every code of VERIFY_CODES is
 * produced by a case of the table and asserted with its message; the table, the code list and
 * docs/errors.md must agree.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestOf, type Descriptor } from '../../src/oci/index.js';
import {
  DSSE_MEDIA_TYPE,
  fetchAttestationEnvelope,
  fetchSignaturePayload,
  generateKeyPair,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V01,
  inTotoStatement,
  loadPublicKey,
  MAX_PAYLOAD,
  pae,
  PREDICATE_TYPE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  signBytes,
  signEnvelope,
  SIMPLE_SIGNING_MEDIA_TYPE,
  simpleSigningPayload,
  VERIFY_CODES,
  verifyAttestation,
  verifySignature,
  type AttestationPolicy,
  type SignaturePolicy,
  type VerifyCode,
  type VerifyResult,
} from '../../src/sign/index.js';
import { requireTools, tempDir } from '../helpers/env.js';

const DIGEST = digestOf(Buffer.from('the image'));
const OTHER = digestOf(Buffer.from('another image'));
const REF = 'registry.example.com/team/app';
const ELSEWHERE = 'registry.example.com/other/app';
const CDX = 'https://cyclonedx.org/bom';
const { privateKey, publicKey } = generateKeyPair();
const stranger = generateKeyPair();

// ---- signatures -----------------------------------------------------------------------------

const SIG_POLICY: SignaturePolicy = { digest: DIGEST, allowedReferences: new Set([REF]) };

/** A signature layer for `payload`: its digest and size, and `signature` (by default the key's over the payload; null: none). */
function sigLayer(payload: Uint8Array, signature: string | null = signBytes(privateKey, payload).toString('base64')): Descriptor {
  return { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(payload), size: payload.byteLength, annotations: signature === null ? { other: 'x' } : { [SIGNATURE_ANNOTATION]: signature } };
}

/** A simple-signing payload of any content, as another tool might write it. */
function payloadOf(critical: { reference?: string; digest?: string; type?: string }, optional: unknown = null): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': critical.reference ?? REF }, image: { 'docker-manifest-digest': critical.digest ?? DIGEST }, type: critical.type ?? 'cosign container image signature' },
      optional,
    }),
  );
}

const GOOD = simpleSigningPayload({ dockerReference: REF, digest: DIGEST, annotations: { team: 'payments' } });
const MIXED = payloadOf({}, { n: 42, list: ['a'], s: 'x' });

/** Verifies `payload` as signed by the key, with the policy changed by `policy`. */
function sig(payload: Buffer, policy: Partial<SignaturePolicy> = {}, layer: Descriptor = sigLayer(payload)): VerifyResult<unknown> {
  return verifySignature(payload, layer, publicKey, { ...SIG_POLICY, ...policy });
}

// ---- attestations ---------------------------------------------------------------------------

const ATT_POLICY: AttestationPolicy = { digest: DIGEST, allowedReferences: new Set([REF]) };
const STATEMENT = inTotoStatement([{ name: REF, digest: DIGEST }], CDX, { bomFormat: 'CycloneDX' });

function attLayer(envelope: Uint8Array): Descriptor {
  return { mediaType: DSSE_MEDIA_TYPE, digest: digestOf(envelope), size: envelope.byteLength, annotations: { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: CDX } };
}

/** An envelope's bytes: the key's signature over `statement`, or the JSON given (by default SIGNED). */
function envelope(statement: Uint8Array | object = SIGNED, payloadType = IN_TOTO_PAYLOAD_TYPE): Buffer {
  return Buffer.from(JSON.stringify(statement instanceof Uint8Array ? signEnvelope(privateKey, payloadType, statement) : statement));
}

function att(bytes: Buffer, policy: Partial<AttestationPolicy> = {}, layer: Descriptor = attLayer(bytes)): VerifyResult<unknown> {
  return verifyAttestation(bytes, layer, publicKey, { ...ATT_POLICY, ...policy });
}

const SIGNED = signEnvelope(privateKey, IN_TOTO_PAYLOAD_TYPE, STATEMENT);
const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
const unreadable = { blobBytes: (): Promise<Uint8Array> => Promise.reject(new Error('HTTP 500 from the registry\u001b[2J')) };

interface Case {
  readonly name: string;
  readonly code: VerifyCode;
  readonly message: string | RegExp;
  readonly result: () => VerifyResult<unknown> | Promise<VerifyResult<unknown>>;
}

const CASES: readonly Case[] = [
  // Signatures, in the order the verifier checks.
  { name: 'a layer of another media type', code: 'NOT_A_SIGNATURE', message: 'a application/vnd.oci.image.layer.v1.tar layer, not a simple-signing payload', result: () => sig(GOOD, {}, { ...sigLayer(GOOD), mediaType: 'application/vnd.oci.image.layer.v1.tar' }) },
  { name: 'a media type with terminal escapes, printed safely', code: 'NOT_A_SIGNATURE', message: 'a text/plain?[31m layer, not a simple-signing payload', result: () => sig(GOOD, {}, { ...sigLayer(GOOD), mediaType: 'text/plain\u001b[31m' }) },
  { name: 'no signature annotation', code: 'SIGNATURE_MISSING', message: `no base64 ${SIGNATURE_ANNOTATION} annotation`, result: () => sig(GOOD, {}, sigLayer(GOOD, null)) },
  { name: 'an empty signature annotation', code: 'SIGNATURE_MISSING', message: `no base64 ${SIGNATURE_ANNOTATION} annotation`, result: () => sig(GOOD, {}, sigLayer(GOOD, '')) },
  { name: 'a signature annotation that is not base64', code: 'SIGNATURE_MISSING', message: `no base64 ${SIGNATURE_ANNOTATION} annotation`, result: () => sig(GOOD, {}, sigLayer(GOOD, 'MEUC IQ!=')) },
  { name: 'a descriptor over 1 MiB', code: 'PAYLOAD_TOO_LARGE', message: `a payload of ${MAX_PAYLOAD + 1} bytes is not a signature payload`, result: () => sig(GOOD, {}, { ...sigLayer(GOOD), size: MAX_PAYLOAD + 1 }) },
  {
    name: 'bytes over 1 MiB under a descriptor that says less',
    code: 'PAYLOAD_TOO_LARGE',
    message: `a payload of ${MAX_PAYLOAD + 1} bytes is not a signature payload`,
    result: () => {
      const big = Buffer.alloc(MAX_PAYLOAD + 1, 0x20);
      return sig(big, {}, { ...sigLayer(big), size: 10 });
    },
  },
  { name: 'a payload blob the registry cannot give', code: 'PAYLOAD_UNREADABLE', message: 'the payload blob cannot be read: HTTP 500 from the registry?[2J', result: () => fetchSignaturePayload(unreadable, sigLayer(GOOD)) },
  {
    name: 'a registry that throws instead of rejecting, and not an Error',
    code: 'PAYLOAD_UNREADABLE',
    message: 'the payload blob cannot be read: gone',
    result: () =>
      fetchSignaturePayload(
        {
          blobBytes: () => {
            throw 'gone';
          },
        },
        sigLayer(GOOD),
      ),
  },
  { name: 'bytes altered under the signed layer', code: 'PAYLOAD_DIGEST_MISMATCH', message: 'the payload blob does not match its digest', result: () => sig(Buffer.from(GOOD.toString().replace('payments', 'billing!')), {}, sigLayer(GOOD)) },
  {
    name: 'a sha512 layer digest is checked with sha512',
    code: 'PAYLOAD_DIGEST_MISMATCH',
    message: 'the payload blob does not match its digest',
    result: () => sig(GOOD, {}, { ...sigLayer(GOOD), digest: digestOf(Buffer.from('something else'), 'sha512') }),
  },
  { name: 'another key signed it', code: 'SIGNATURE_MISMATCH', message: 'the signature does not verify with this key (another key, or the payload or signature was altered)', result: () => sig(GOOD, {}, sigLayer(GOOD, b64(signBytes(stranger.privateKey, GOOD)))) },
  {
    name: 'the payload altered, its digest recomputed, the signature kept',
    code: 'SIGNATURE_MISMATCH',
    message: /^the signature does not verify with this key/,
    result: () => {
      const altered = payloadOf({ reference: ELSEWHERE });
      return sig(altered, {}, sigLayer(altered, b64(signBytes(privateKey, GOOD))));
    },
  },
  { name: 'a signature of the right length with one bit flipped', code: 'SIGNATURE_MISMATCH', message: /^the signature does not verify with this key/, result: () => sig(GOOD, {}, sigLayer(GOOD, b64(flipLastBit(signBytes(privateKey, GOOD))))) },
  { name: 'a signed payload that is not JSON', code: 'PAYLOAD_INVALID', message: 'the signed payload is not JSON', result: () => sig(Buffer.from('not json')) },
  { name: 'a signed payload without docker-reference', code: 'PAYLOAD_INVALID', message: 'the signed payload has no critical.identity.docker-reference', result: () => sig(Buffer.from(`{"critical":{"identity":{},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"t"}}`)) },
  { name: 'a signed payload with a malformed digest', code: 'PAYLOAD_INVALID', message: 'the signed payload has no valid critical.image.docker-manifest-digest', result: () => sig(payloadOf({ digest: 'sha256:12' })) },
  { name: 'another critical.type', code: 'WRONG_TYPE', message: 'critical.type is "atomic container signature", not "cosign container image signature"', result: () => sig(payloadOf({ type: 'atomic container signature' })) },
  { name: 'a valid signature of another image', code: 'WRONG_DIGEST', message: `it signs ${DIGEST}, not this image (${OTHER})`, result: () => sig(GOOD, { digest: OTHER }) },
  {
    name: 'another repository',
    code: 'REFERENCE_NOT_ALLOWED',
    message: `it names ${ELSEWHERE}, not ${REF} or registry.example.com/third/app (--allowed-reference ${ELSEWHERE} accepts it)`,
    result: () => sig(payloadOf({ reference: ELSEWHERE }), { allowedReferences: new Set([REF, 'registry.example.com/third/app']) }),
  },
  { name: 'a claim not in optional (null)', code: 'CLAIM_MISSING', message: 'no annotation team', result: () => sig(payloadOf({}), { claims: { team: 'payments' } }) },
  { name: 'an inherited member is no claim (__proto__)', code: 'CLAIM_MISSING', message: 'no annotation __proto__', result: () => sig(MIXED, { claims: { ['__proto__']: '[object Object]' } }) },
  { name: 'an inherited member is no claim (toString)', code: 'CLAIM_MISSING', message: 'no annotation toString', result: () => sig(MIXED, { claims: { toString: 'x' } }) },
  { name: 'a claim of another value', code: 'CLAIM_MISMATCH', message: 'annotation team is "payments", not "billing"', result: () => sig(GOOD, { claims: { team: 'billing' } }) },
  { name: 'a number is not the string of its digits', code: 'CLAIM_MISMATCH', message: 'annotation n is 42, not "42"', result: () => sig(MIXED, { claims: { n: '42' } }) },
  { name: 'an array is not its one element', code: 'CLAIM_MISMATCH', message: 'annotation list is ["a"], not "a"', result: () => sig(MIXED, { claims: { list: 'a' } }) },

  // Attestations, in the order the verifier checks.
  { name: 'a simple-signing layer offered as an attestation', code: 'NOT_AN_ENVELOPE', message: `a ${SIMPLE_SIGNING_MEDIA_TYPE} layer, not a DSSE envelope`, result: () => att(envelope(), {}, { ...attLayer(envelope()), mediaType: SIMPLE_SIGNING_MEDIA_TYPE }) },
  { name: 'an envelope descriptor over the limit', code: 'ENVELOPE_TOO_LARGE', message: 'an envelope of 1001 bytes is over the limit of 1000', result: () => att(envelope(), { maxBytes: 1000 }, { ...attLayer(envelope()), size: 1001 }) },
  {
    name: 'envelope bytes over the limit under a descriptor that says less',
    code: 'ENVELOPE_TOO_LARGE',
    message: /^an envelope of \d+ bytes is over the limit of 100$/,
    result: () => att(envelope(), { maxBytes: 100 }, { ...attLayer(envelope()), size: 10 }),
  },
  { name: 'an envelope blob the registry cannot give', code: 'PAYLOAD_UNREADABLE', message: 'the blob cannot be read: HTTP 500 from the registry?[2J', result: () => fetchAttestationEnvelope(unreadable, attLayer(envelope())) },
  { name: 'envelope bytes altered under the layer', code: 'PAYLOAD_DIGEST_MISMATCH', message: 'the blob does not match its digest', result: () => att(Buffer.from(`${envelope().toString()} `), {}, attLayer(envelope())) },
  { name: 'an envelope that is not JSON', code: 'ENVELOPE_INVALID', message: 'the DSSE envelope is not JSON', result: () => att(Buffer.from('{"payloadType":')) },
  { name: 'an envelope without a payload', code: 'ENVELOPE_INVALID', message: 'a DSSE envelope needs payloadType, payload and signatures', result: () => att(envelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: SIGNED.signatures })) },
  { name: 'a DSSE signature without sig', code: 'ENVELOPE_INVALID', message: 'a DSSE signature needs sig', result: () => att(envelope({ ...SIGNED, signatures: [{ keyid: '' }] })) },
  { name: 'a signed envelope of another payload type', code: 'PAYLOAD_TYPE_MISMATCH', message: `payload type text/plain, not ${IN_TOTO_PAYLOAD_TYPE}`, result: () => att(envelope(STATEMENT, 'text/plain')) },
  { name: 'an envelope with no signatures', code: 'SIGNATURE_MISSING', message: 'the envelope has no signatures', result: () => att(envelope({ ...SIGNED, signatures: [] })) },
  { name: 'an envelope signed by another key', code: 'SIGNATURE_MISMATCH', message: 'the envelope signature does not verify with this key (another key, or the statement was altered)', result: () => att(envelope(signEnvelope(stranger.privateKey, IN_TOTO_PAYLOAD_TYPE, STATEMENT))) },
  {
    name: 'the statement swapped, the signature kept',
    code: 'SIGNATURE_MISMATCH',
    message: /^the envelope signature does not verify with this key/,
    result: () => att(envelope({ ...SIGNED, payload: b64(inTotoStatement([{ name: REF, digest: OTHER }], CDX, {})) })),
  },
  {
    name: 'the payload type changed after signing (PAE covers it)',
    code: 'SIGNATURE_MISMATCH',
    message: /^the envelope signature does not verify with this key/,
    result: () => att(envelope({ ...signEnvelope(privateKey, 'application/json', STATEMENT), payloadType: IN_TOTO_PAYLOAD_TYPE })),
  },
  { name: 'a signature that is not base64', code: 'SIGNATURE_MISMATCH', message: /^the envelope signature does not verify with this key/, result: () => att(envelope({ ...SIGNED, signatures: [{ keyid: '', sig: '***' }] })) },
  { name: 'a signed payload that is not JSON', code: 'STATEMENT_INVALID', message: 'the attestation payload is not JSON', result: () => att(envelope(Buffer.from('predicate, not a statement'))) },
  {
    name: 'a signed payload that is not an in-toto statement',
    code: 'STATEMENT_INVALID',
    message: 'the attestation payload is not an in-toto Statement (https://in-toto.io/Statement/v1 or https://in-toto.io/Statement/v0.1)',
    result: () => att(envelope(Buffer.from(JSON.stringify({ _type: 'https://example.com/Statement', subject: [], predicateType: CDX })))),
  },
  { name: 'a statement without predicateType', code: 'STATEMENT_INVALID', message: 'an in-toto Statement needs subject and predicateType', result: () => att(envelope(Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [] })))) },
  { name: 'a statement about another image', code: 'WRONG_DIGEST', message: `the statement is about ${DIGEST}, not this image (${OTHER})`, result: () => att(envelope(), { digest: OTHER }) },
  { name: 'a statement about nothing', code: 'WRONG_DIGEST', message: `the statement is about nothing, not this image (${DIGEST})`, result: () => att(envelope(inTotoStatement([], CDX, {}))) },
  {
    name: 'a statement naming another repository',
    code: 'REFERENCE_NOT_ALLOWED',
    message: `the statement names ${ELSEWHERE}, not ${REF} (--allowed-reference ${ELSEWHERE} accepts it)`,
    result: () => att(envelope(inTotoStatement([{ name: ELSEWHERE, digest: DIGEST }], CDX, {}))),
  },
  {
    name: 'a statement naming no repository',
    code: 'REFERENCE_NOT_ALLOWED',
    message: `the statement names , not ${REF} (--allowed-reference REPO accepts it)`,
    result: () => att(envelope(inTotoStatement([{ name: '', digest: DIGEST }], CDX, {}))),
  },
  { name: 'another predicate type than asked for', code: 'PREDICATE_TYPE_MISMATCH', message: `predicate type ${CDX}, not https://spdx.dev/Document`, result: () => att(envelope(), { predicateType: 'https://spdx.dev/Document' }) },
];

function flipLastBit(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out[out.length - 1]! ^= 1;
  return out;
}

for (const c of CASES) {
  test(`${c.code}: ${c.name}`, async () => {
    const result = await c.result();
    assert.equal(result.ok, false, 'refused');
    if (result.ok) return;
    assert.equal(result.code, c.code);
    if (typeof c.message === 'string') assert.equal(result.message, c.message);
    else assert.match(result.message, c.message);
  });
}

test('every code is produced by a case above, and the list has no duplicates', () => {
  assert.equal(new Set(VERIFY_CODES).size, VERIFY_CODES.length);
  assert.deepEqual([...new Set(CASES.map((c) => c.code))].sort(), [...VERIFY_CODES].sort());
});

test('docs/errors.md lists every code, once, in its Verification section; docs/sign.md names each', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const start = doc.indexOf('\n## Verification');
  assert.ok(start >= 0, 'docs/errors.md has a Verification section');
  const end = doc.indexOf('\n## ', start + 1);
  const rows = [...doc.slice(start, end < 0 ? undefined : end).matchAll(/^\| `([A-Z_]+)` \| \S/gm)].map((m) => m[1]!);
  assert.deepEqual(rows, [...VERIFY_CODES]);
  const sign = readFileSync(new URL('../../../docs/sign.md', import.meta.url), 'utf8');
  assert.deepEqual(VERIFY_CODES.filter((c) => !sign.includes(`\`${c}\``)), [], 'codes docs/sign.md does not name');
});

test('what passes: the payload, with claims, normalized references and any reference', () => {
  const ok = sig(GOOD, { claims: { team: 'payments' } });
  assert.deepEqual(ok, { ok: true, value: { dockerReference: REF, digest: DIGEST, type: 'cosign container image signature', optional: { team: 'payments' } } });
  assert.equal(sig(MIXED, { claims: { s: 'x' } }).ok, true);
  // `normalize` is applied to what the payload names, as the CLI does for docker.io.
  const hub = payloadOf({ reference: 'index.docker.io/library/app' });
  assert.equal(sig(hub, { allowedReferences: new Set(['docker.io/library/app']) }).ok, false);
  assert.equal(sig(hub, { allowedReferences: new Set(['docker.io/library/app']), normalize: (r) => r.replace(/^index\.docker\.io\//, 'docker.io/') }).ok, true);
  // `any`: the digest binds (the gates' rule: a promoted image keeps its signatures).
  assert.equal(sig(payloadOf({ reference: ELSEWHERE }), { allowedReferences: 'any' }).ok, true);
  // A sha512 layer digest is checked with sha512.
  assert.equal(sig(GOOD, {}, { ...sigLayer(GOOD), digest: digestOf(GOOD, 'sha512') }).ok, true);
});

test('what passes: the envelope and its statement, of v1 or v0.1, one subject of several', () => {
  const ok = att(envelope(), { predicateType: CDX });
  assert.equal(ok.ok, true);
  if (!ok.ok) return;
  const value = ok.value as { envelope: unknown; statement: { predicateType: string; subject: unknown } };
  assert.deepEqual(value.envelope, SIGNED);
  assert.equal(value.statement.predicateType, CDX);
  const v01 = Buffer.from(JSON.stringify({ _type: IN_TOTO_STATEMENT_V01, subject: [{ name: REF, digest: { sha256: DIGEST.slice(7) } }], predicateType: CDX, predicate: {} }));
  assert.equal(att(envelope(v01)).ok, true);
  const several = inTotoStatement([{ name: ELSEWHERE, digest: OTHER }, { name: REF, digest: DIGEST }], CDX, {});
  assert.equal(att(envelope(several)).ok, true);
  // The subject under another name is the one about this digest: refused, though another subject names REF.
  const crossed = inTotoStatement([{ name: REF, digest: OTHER }, { name: ELSEWHERE, digest: DIGEST }], CDX, {});
  const refused = att(envelope(crossed));
  assert.equal(!refused.ok && refused.code, 'REFERENCE_NOT_ALLOWED');
  // Of several signatures, one by the key is enough (DSSE allows many signers).
  const two = { ...SIGNED, signatures: [...signEnvelope(stranger.privateKey, IN_TOTO_PAYLOAD_TYPE, STATEMENT).signatures, ...SIGNED.signatures] };
  assert.equal(att(envelope(two)).ok, true);
  assert.equal(att(envelope(), { allowedReferences: 'any' }).ok, true);
});

test('the verifier is synchronous: a plain value, never a promise', () => {
  const result: unknown = verifySignature(GOOD, sigLayer(GOOD), publicKey, SIG_POLICY);
  assert.equal(result instanceof Promise, false);
  assert.equal((result as { ok: boolean }).ok, true);
});

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('what OpenSSL signs in Cosign’s layout passes, for every key kind; with another key it is SIGNATURE_MISMATCH', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const dir = tempDir(t);
  // Written here byte for byte as Cosign writes them, not by the code under test.
  const payload = Buffer.from(`{"critical":{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":{"team":"payments"}}`);
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: REF, digest: { sha256: DIGEST.slice(7) } }], predicateType: CDX, predicate: {} }));
  const paeBytes = Buffer.concat([Buffer.from(`DSSEv1 ${IN_TOTO_PAYLOAD_TYPE.length} ${IN_TOTO_PAYLOAD_TYPE} ${statement.length} `), statement]);
  assert.deepEqual(pae(IN_TOTO_PAYLOAD_TYPE, statement), paeBytes, 'PAE as the DSSE spec builds it');
  writeFileSync(join(dir, 'payload.json'), payload);
  writeFileSync(join(dir, 'pae.bin'), paeBytes);
  const kinds: [string, string[]][] = [
    ['p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
    ['ed25519', ['-algorithm', 'ED25519']],
  ];
  for (const [kind, args] of kinds) {
    const keyFile = join(dir, `${kind}.pem`);
    openssl('genpkey', ...args, '-out', keyFile);
    const pub = loadPublicKey(openssl('pkey', '-in', keyFile, '-pubout'), kind);
    const signWith = (input: string): Buffer => {
      const out = join(dir, `${kind}.${input}.sig`);
      openssl(...(kind === 'ed25519' ? ['pkeyutl', '-sign', '-inkey', keyFile, '-rawin', '-in', join(dir, input), '-out', out] : ['dgst', '-sha256', '-sign', keyFile, '-out', out, join(dir, input)]));
      return readFileSync(out);
    };
    const layer = sigLayer(payload, b64(signWith('payload.json')));
    const passed = verifySignature(payload, layer, pub, { ...SIG_POLICY, claims: { team: 'payments' } });
    assert.equal(passed.ok, true, `${kind}: ${passed.ok ? '' : passed.message}`);
    const other = verifySignature(payload, layer, publicKey, SIG_POLICY);
    assert.equal(!other.ok && other.code, 'SIGNATURE_MISMATCH', kind);

    const env = Buffer.from(JSON.stringify({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: b64(statement), signatures: [{ keyid: '', sig: b64(signWith('pae.bin')) }] }));
    const attested = verifyAttestation(env, attLayer(env), pub, { ...ATT_POLICY, predicateType: CDX });
    assert.equal(attested.ok, true, `${kind}: ${attested.ok ? '' : attested.message}`);
    const otherAtt = verifyAttestation(env, attLayer(env), publicKey, ATT_POLICY);
    assert.equal(!otherAtt.ok && otherAtt.code, 'SIGNATURE_MISMATCH', kind);
  }
});
