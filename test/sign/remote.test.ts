/**
 * Signing, fetching and verifying through the registry port, on an in-memory registry: signing
 * twice adds nothing, one unreadable attachment hides no good one (and is a typed refusal, not an
 * exception), a layer the verifier refuses on its descriptor is never read, an attestation names
 * an allowed repository, and hostile manifests stay cheap to read. What the verifier decides
 * about the bytes is test/sign/verify.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, MediaType, type Descriptor, type Digest } from '../../src/oci/index.js';
import {
  attachedLayers,
  attachmentLayers,
  attachmentTag,
  attestImage,
  fetchAndVerifyAttestation,
  fetchAndVerifySignature,
  fetchSignaturePayload,
  generateKeyPair,
  SIGNATURE_ANNOTATION,
  SIGNATURE_ARTIFACT_TYPE,
  signImage,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type AttachmentRegistry,
} from '../../src/sign/index.js';

/** A registry of one repository in memory: blobs, manifests by tag and digest, referrers by subject. */
function memoryRegistry(): AttachmentRegistry & { blobs: Map<string, Buffer>; manifests: Map<string, Buffer>; referrerList: Descriptor[] } {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>();
  const referrerList: Descriptor[] = [];
  return {
    blobs,
    manifests,
    referrerList,
    findManifest: (reference) => Promise.resolve(manifests.has(reference) ? { bytes: manifests.get(reference)!, mediaType: MediaType.OciManifest } : undefined),
    pushBlob: async (digest, body) => void blobs.set(digest, Buffer.from(await body.arrayBuffer())),
    putManifest: (reference, bytes) => {
      const b = Buffer.from(bytes);
      manifests.set(reference, b);
      manifests.set(digestOf(b), b);
      const doc = JSON.parse(b.toString()) as { subject?: Descriptor; artifactType?: string };
      if (doc.subject !== undefined) referrerList.push({ mediaType: MediaType.OciManifest, digest: digestOf(b) as Digest, size: b.length, ...(doc.artifactType !== undefined ? { artifactType: doc.artifactType } : {}) });
      return Promise.resolve(digestOf(b));
    },
    referrers: (_digest, artifactType) => Promise.resolve(referrerList.filter((r) => r.artifactType === artifactType)),
    blobBytes: (digest, limit) => {
      const b = blobs.get(digest);
      if (b === undefined) return Promise.reject(new Error(`blob ${digest} is missing`));
      if (b.length > limit) return Promise.reject(new Error('too large'));
      return Promise.resolve(b);
    },
  };
}

const TARGET: Descriptor = { mediaType: MediaType.OciManifest, digest: digestOf(Buffer.from('the image')) as Digest, size: 9 };
const REF = 'registry.example.com/team/app';

test('signing the same claims with the same key twice adds nothing; another claim or key adds a layer', async () => {
  const r = memoryRegistry();
  const { privateKey } = generateKeyPair();
  await signImage(r, privateKey, { dockerReference: REF, target: TARGET, annotations: { run: '1' } });
  await signImage(r, privateKey, { dockerReference: REF, target: TARGET, annotations: { run: '1' } });
  const tag = attachmentTag(TARGET.digest, 'sig');
  assert.equal(attachmentLayers(r.manifests.get(tag)!).length, 1);
  await signImage(r, privateKey, { dockerReference: REF, target: TARGET, annotations: { run: '2' } });
  await signImage(r, generateKeyPair().privateKey, { dockerReference: REF, target: TARGET, annotations: { run: '1' } });
  assert.equal(attachmentLayers(r.manifests.get(tag)!).length, 3);
});

test('an unreadable referrer or a missing payload blob is one refused signature, not a failed verification', async () => {
  const r = memoryRegistry();
  const { privateKey, publicKey } = generateKeyPair();
  await signImage(r, privateKey, { dockerReference: REF, target: TARGET });
  // A "signature" referrer that is an index, and one whose payload blob is gone.
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
  r.manifests.set(digestOf(index), index);
  r.referrerList.unshift({ mediaType: MediaType.OciIndex, digest: digestOf(index) as Digest, size: index.length, artifactType: SIGNATURE_ARTIFACT_TYPE });
  r.referrerList.push({ mediaType: MediaType.OciManifest, digest: 'not-a-digest' as Digest, size: 1, artifactType: SIGNATURE_ARTIFACT_TYPE });
  const gone = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(Buffer.from('gone')) as Digest, size: 4, annotations: { [SIGNATURE_ANNOTATION]: 'MEUCIQ==' } };
  const layers = [...(await attachedLayers(r, TARGET.digest, 'sig')), gone];
  const outcomes = await Promise.all(layers.map((l) => fetchAndVerifySignature(r, l, publicKey, { digest: TARGET.digest, allowedReferences: new Set([REF]) })));
  assert.deepEqual(outcomes.map((o) => o.ok), [true, false]);
  const refused = outcomes[1]!;
  assert.equal(!refused.ok && refused.code, 'PAYLOAD_UNREADABLE');
  assert.match(!refused.ok ? refused.message : '', /^the payload blob cannot be read: blob sha256:[0-9a-f]{64} is missing$/);
});

test('the fetch step reads nothing the verifier refuses on the descriptor alone, and never past the limit', async () => {
  const r = memoryRegistry();
  const asked: [string, number][] = [];
  const counting: AttachmentRegistry = { ...r, blobBytes: (digest, limit) => (asked.push([digest, limit]), r.blobBytes(digest, limit)) };
  const blob = Buffer.from('{}');
  await r.pushBlob(digestOf(blob), new Blob([blob]));
  const base: Descriptor = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(blob) as Digest, size: blob.length, annotations: { [SIGNATURE_ANNOTATION]: 'MEUCIQ==' } };
  const codes = [];
  for (const layer of [{ ...base, mediaType: 'text/plain' }, { ...base, annotations: {} }, { ...base, size: 1024 * 1024 + 1 }]) {
    const fetched = await fetchSignaturePayload(counting, layer);
    codes.push(fetched.ok ? 'ok' : fetched.code);
  }
  assert.deepEqual(codes, ['NOT_A_SIGNATURE', 'SIGNATURE_MISSING', 'PAYLOAD_TOO_LARGE']);
  assert.deepEqual(asked, [], 'no blob was read');
  const fetched = await fetchSignaturePayload(counting, base);
  assert.equal(fetched.ok && fetched.value.toString(), '{}');
  assert.deepEqual(asked, [[base.digest, 1024 * 1024]]);
});

test('an attestation must name an allowed repository as well as the digest', async () => {
  const r = memoryRegistry();
  const { privateKey, publicKey } = generateKeyPair();
  await attestImage(r, privateKey, { dockerReference: 'registry.example.com/other/app', target: TARGET, predicateType: 'https://cyclonedx.org/bom', predicate: {} });
  const [layer] = await attachedLayers(r, TARGET.digest, 'att');
  const refused = await fetchAndVerifyAttestation(r, layer!, publicKey, { digest: TARGET.digest, allowedReferences: new Set([REF]) });
  assert.equal(!refused.ok && refused.code, 'REFERENCE_NOT_ALLOWED');
  assert.match(!refused.ok ? refused.message : '', /names registry\.example\.com\/other\/app, not registry\.example\.com\/team\/app/);
  const allowed = await fetchAndVerifyAttestation(r, layer!, publicKey, { digest: TARGET.digest, allowedReferences: new Set([REF, 'registry.example.com/other/app']), predicateType: 'https://cyclonedx.org/bom' });
  assert.equal(allowed.ok && allowed.value.statement.predicateType, 'https://cyclonedx.org/bom');
  // Over the caller's limit: refused on the descriptor, before a byte is read.
  const small = await fetchAndVerifyAttestation(r, layer!, publicKey, { digest: TARGET.digest, allowedReferences: 'any', maxBytes: layer!.size - 1 });
  assert.equal(!small.ok && small.code, 'ENVELOPE_TOO_LARGE');
});

test('hostile .sig manifests: repeated layers are read once each, more than a thousand layers are refused', () => {
  const layer = (i: number): Descriptor => ({ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(Buffer.from('p')) as Digest, size: 1, annotations: { [SIGNATURE_ANNOTATION]: `sig${i % 7}`, x: String(i % 3) } });
  const manifest = (n: number) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, size: 2, digest: digestOf(Buffer.from('{}')) }, layers: Array.from({ length: n }, (_, i) => layer(i)) }));
  assert.equal(attachmentLayers(manifest(1000)).length, 21, 'each distinct layer once');
  assert.throws(() => attachmentLayers(manifest(1001)), { code: 'PAYLOAD_INVALID' });
});
