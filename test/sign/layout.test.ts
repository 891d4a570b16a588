/** Cosign's storage layout: tags, the `.sig`/`.att` manifest with appended layers, the OCI 1.1 referrer form. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, MediaType, parseManifest, type Descriptor, type Digest } from '../../src/oci/index.js';
import { attachmentLayers, attachmentTag, referrerManifest, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, tagManifest } from '../../src/sign/index.js';

const IMAGE = `sha256:${'97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36'}` as Digest;
const layer = (payload: string, sig: string): Descriptor => ({ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(Buffer.from(payload)), size: Buffer.byteLength(payload), annotations: { [SIGNATURE_ANNOTATION]: sig } });

test("tags follow Cosign's spec example", () => {
  assert.equal(attachmentTag(IMAGE, 'sig'), 'sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.sig');
  assert.equal(attachmentTag(IMAGE, 'att'), 'sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.att');
});

test('the .sig manifest appends a signature, never the same one twice, and lists its layers in the config', () => {
  const a = layer('payload-a', 'MEUCIQ==');
  const b = layer('payload-a', 'MEYCIQ==');
  const first = tagManifest([], a);
  const parsed = parseManifest(first.manifest, MediaType.OciManifest);
  assert.ok('layers' in parsed);
  assert.deepEqual(parsed.layers, [a]);
  assert.equal(parsed.config.mediaType, MediaType.OciConfig);
  assert.equal(parsed.config.digest, first.configDigest);
  assert.equal(digestOf(first.config), first.configDigest);
  assert.deepEqual((JSON.parse(first.config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids, [a.digest]);
  // A second signature of the same payload (another key) is a second layer.
  const second = tagManifest(attachmentLayers(first.manifest), b);
  assert.deepEqual(attachmentLayers(second.manifest), [a, b]);
  assert.deepEqual(tagManifest(attachmentLayers(second.manifest), a).manifest, second.manifest, 'the same signature again changes nothing');
  assert.match(second.manifest.toString(), /^\{"schemaVersion":2,"mediaType":"application\/vnd\.oci\.image\.manifest\.v1\+json","config":\{"mediaType":"application\/vnd\.oci\.image\.config\.v1\+json","size":\d+,"digest":"sha256:[0-9a-f]{64}"\},"layers":\[\{"mediaType":"application\/vnd\.dev\.cosign\.simplesigning\.v1\+json","size":9,"digest":"sha256:/);
});

test('the referrer form: artifactType, the empty config, one layer, the image as subject', () => {
  const a = layer('payload-a', 'MEUCIQ==');
  const subject: Descriptor = { mediaType: MediaType.OciManifest, digest: IMAGE, size: 1234 };
  const built = referrerManifest('sig', a, subject);
  const parsed = parseManifest(built.manifest, MediaType.OciManifest);
  assert.ok('layers' in parsed);
  assert.equal(parsed.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  assert.deepEqual(parsed.config, { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' });
  assert.deepEqual(parsed.subject, subject);
  assert.deepEqual(parsed.layers, [a]);
  assert.equal(parseManifest(referrerManifest('att', a, subject).manifest, MediaType.OciManifest).artifactType, 'application/vnd.dev.cosign.artifact.att.v1+json');
});

test("layers are read once each, as skopeo may repeat a blob; an index or garbage is PAYLOAD_INVALID", () => {
  const a = layer('payload-a', 'MEUCIQ==');
  const repeated = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: digestOf(Buffer.from('{}')) }, layers: [a, a] }));
  assert.deepEqual(attachmentLayers(repeated), [a]);
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
  assert.throws(() => attachmentLayers(index), { code: 'PAYLOAD_INVALID' });
  assert.throws(() => attachmentLayers(Buffer.from('nope')), { code: 'PAYLOAD_INVALID' });
});
