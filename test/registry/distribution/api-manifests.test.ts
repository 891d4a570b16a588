/**
 * Manifest validation, Docker formats, indexes and the OCI 1.1 referrers API over HTTP (SQLite).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  bytesOf,
  descriptor,
  digestOf,
  errorsOf,
  makeImage,
  makeIndex,
  pushBlob,
  pushImage,
  pushManifest,
  putManifest,
  randomBlob,
  request,
  sharedServer,
  type Target,
} from '../../helpers/push.js';
import { createProject, type TestServer } from '../../helpers/server.js';

async function codes(res: Response): Promise<string[]> {
  return (await errorsOf(res)).map((e) => e.code);
}

describe('distribution API manifests', () => {
  const server = sharedServer();
  let s: TestServer;
  let admin: Target;

  before(async () => {
    s = server();
    admin = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'man');
  });

  test('MANIFEST_BLOB_UNKNOWN lists every missing blob as its own error', async () => {
    const image = makeImage({ layers: 3 });
    const none = await putManifest(admin, 'man/missing', 'v1', image.manifest, OCI_MANIFEST);
    assert.equal(none.status, 400);
    const all = await errorsOf(none);
    assert.ok(all.every((e) => e.code === 'MANIFEST_BLOB_UNKNOWN'), JSON.stringify(all));
    const digestsIn = (errors: typeof all) => errors.map((e) => (e.detail as { digest?: string } | undefined)?.digest).sort();
    assert.deepEqual(digestsIn(all), [image.config.digest, ...image.layers.map((l) => l.digest)].sort());

    // With the config and the first layer pushed, exactly the other two are reported.
    await pushBlob(admin, 'man/missing', image.config.data);
    await pushBlob(admin, 'man/missing', image.layers[0]!.data);
    const some = await putManifest(admin, 'man/missing', 'v1', image.manifest, OCI_MANIFEST);
    assert.equal(some.status, 400);
    const two = await errorsOf(some);
    assert.deepEqual(digestsIn(two), [image.layers[1]!.digest, image.layers[2]!.digest].sort());
    assert.ok(two.every((e) => e.code === 'MANIFEST_BLOB_UNKNOWN'));
    assert.equal((await request(admin, 'HEAD', '/v2/man/missing/manifests/v1')).status, 404);
  });

  test('an index whose child manifest is missing is MANIFEST_BLOB_UNKNOWN', async () => {
    const present = makeImage();
    const absent = makeImage();
    await pushImage(admin, 'man/index', 'present', present);
    const index = makeIndex([present, absent]);
    const res = await putManifest(admin, 'man/index', 'multi', index.manifest, OCI_INDEX);
    assert.equal(res.status, 400);
    const errors = await errorsOf(res);
    assert.deepEqual(
      errors.map((e) => [e.code, (e.detail as { digest?: string } | undefined)?.digest]),
      [['MANIFEST_BLOB_UNKNOWN', absent.digest]],
    );
    await pushImage(admin, 'man/index', absent.digest, absent);
    assert.equal((await putManifest(admin, 'man/index', 'multi', index.manifest, OCI_INDEX)).status, 201);
  });

  test('malformed manifests are MANIFEST_INVALID', async () => {
    const image = makeImage();
    await pushImage(admin, 'man/bad', 'ok', image);
    const cases: [string, string | Buffer, string | undefined][] = [
      ['broken JSON', '{"schemaVersion": 2, "mediaType": ', OCI_MANIFEST],
      ['not an object', '[1, 2]', OCI_MANIFEST],
      ['schemaVersion 3', image.manifest.toString().replace('"schemaVersion":2', '"schemaVersion":3'), OCI_MANIFEST],
      ['missing layers', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(image.config) }), OCI_MANIFEST],
      ['bad layer digest', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(image.config), layers: [{ mediaType: 'a/b', digest: 'sha256:xyz', size: 1 }] }), OCI_MANIFEST],
      ['Content-Type disagrees with mediaType', image.manifest.toString(), OCI_INDEX],
      ['Docker schema 1', JSON.stringify({ schemaVersion: 1, name: 'man/bad', tag: 'x', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
      ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), OCI_MANIFEST],
    ];
    for (const [what, body, type] of cases) {
      const res = await putManifest(admin, 'man/bad', 'x', body, type);
      assert.equal(res.status, 400, what);
      assert.deepEqual(await codes(res), ['MANIFEST_INVALID'], what);
    }
    await errorsOf(await request(admin, 'GET', '/v2/man/bad/manifests/x')).then((e) => assert.equal(e[0]?.code, 'MANIFEST_UNKNOWN'));
  });

  test('a manifest over 4 MiB is 413', async () => {
    const image = makeImage();
    await pushBlob(admin, 'man/big', image.config.data);
    await pushBlob(admin, 'man/big', image.layers[0]!.data);
    const doc = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
    doc['annotations'] = { padding: 'x'.repeat(4 * 1024 * 1024) };
    const body = Buffer.from(JSON.stringify(doc));
    assert.ok(body.byteLength > 4 * 1024 * 1024);
    const res = await putManifest(admin, 'man/big', 'big', body, OCI_MANIFEST);
    assert.equal(res.status, 413);
    await res.arrayBuffer();
    // Just under the limit is fine.
    doc['annotations'] = { padding: 'x'.repeat(4 * 1024 * 1024 - image.manifest.byteLength - 64) };
    const fits = Buffer.from(JSON.stringify(doc));
    assert.ok(fits.byteLength <= 4 * 1024 * 1024);
    assert.equal((await putManifest(admin, 'man/big', 'fits', fits, OCI_MANIFEST)).status, 201);
  });

  test('Docker v2 schema 2 manifests and manifest lists round-trip byte for byte', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const layer = randomBlob(700);
    await pushBlob(admin, 'man/docker', config);
    await pushBlob(admin, 'man/docker', layer);
    // Indented as docker writes it, keys out of the usual order, trailing newline.
    const manifest = `{
   "schemaVersion": 2,
   "mediaType": "${DOCKER_MANIFEST}",
   "config": {
      "size": ${config.byteLength},
      "digest": "${digestOf(config)}",
      "mediaType": "${DOCKER_CONFIG}"
   },
   "layers": [
      {
         "digest": "${digestOf(layer)}",
         "size": ${layer.byteLength},
         "mediaType": "${DOCKER_LAYER}"
      }
   ]
}
`;
    const digest = await pushManifest(admin, 'man/docker', 'amd64', manifest, DOCKER_MANIFEST);
    assert.equal(digest, digestOf(manifest));
    for (const ref of ['amd64', digest]) {
      const res = await request(admin, 'GET', `/v2/man/docker/manifests/${ref}`, { headers: { Accept: `${DOCKER_MANIFEST}, ${DOCKER_LIST}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), DOCKER_MANIFEST);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      assert.equal((await bytesOf(res)).toString(), manifest);
    }

    const second = makeImage({ format: 'docker' });
    await pushImage(admin, 'man/docker', 'arm64', second);
    const list = `{"manifests":[{"platform":{"os":"linux","architecture":"amd64"},"digest":"${digest}","size":${Buffer.byteLength(manifest)},"mediaType":"${DOCKER_MANIFEST}"},
 {"mediaType":"${DOCKER_MANIFEST}","size":${second.manifest.byteLength},"digest":"${second.digest}","platform":{"architecture":"arm64","os":"linux","variant":"v8"}}],
 "mediaType":"${DOCKER_LIST}",   "schemaVersion":2}`;
    const listDigest = await pushManifest(admin, 'man/docker', 'multi', list, DOCKER_LIST);
    assert.equal(listDigest, digestOf(list));
    const res = await request(admin, 'GET', '/v2/man/docker/manifests/multi', { headers: { Accept: DOCKER_LIST } });
    assert.equal(res.headers.get('content-type'), DOCKER_LIST);
    assert.equal(res.headers.get('docker-content-digest'), listDigest);
    assert.equal((await bytesOf(res)).toString(), list);
  });

  test('OCI manifests and indexes without mediaType (as umoci writes them) are accepted using Content-Type', async () => {
    const image = makeImage({ omitMediaType: true });
    assert.ok(!image.manifest.toString().includes('mediaType":"application/vnd.oci.image.manifest'));
    const digest = await pushImage(admin, 'man/umoci', 'v1', image);
    assert.equal(digest, image.digest);
    const res = await request(admin, 'GET', '/v2/man/umoci/manifests/v1', { headers: { Accept: OCI_MANIFEST } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
    assert.ok((await bytesOf(res)).equals(image.manifest));

    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, digest, size: image.manifest.byteLength }] }));
    assert.equal(await pushManifest(admin, 'man/umoci', 'index', index, OCI_INDEX), digestOf(index));
    const got = await request(admin, 'HEAD', '/v2/man/umoci/manifests/index');
    assert.equal(got.headers.get('content-type'), OCI_INDEX);
  });

  test('deleting a manifest an index references is 409 DENIED; after the index goes it can be deleted', async () => {
    const child = makeImage();
    await pushImage(admin, 'man/ref', 'child', child);
    const index = makeIndex([child]);
    await pushManifest(admin, 'man/ref', 'index', index.manifest, OCI_INDEX);
    const res = await request(admin, 'DELETE', `/v2/man/ref/manifests/${child.digest}`);
    assert.equal(res.status, 409);
    assert.deepEqual(await codes(res), ['DENIED']);
    assert.equal((await request(admin, 'HEAD', `/v2/man/ref/manifests/${child.digest}`)).status, 200);
    assert.equal((await request(admin, 'DELETE', `/v2/man/ref/manifests/${index.digest}`)).status, 202);
    assert.equal((await request(admin, 'DELETE', `/v2/man/ref/manifests/${child.digest}`)).status, 202);
  });
});

describe('distribution API referrers (OCI 1.1)', () => {
  const server = sharedServer();
  let admin: Target;
  const SBOM = 'application/vnd.example.sbom.v1';
  const SIG_CONFIG = 'application/vnd.example.signature.config.v1+json';
  const BUNDLE = 'application/vnd.example.bundle.v1';
  const empty = Buffer.from('{}');
  let subject: ReturnType<typeof makeImage>;
  let sbom: { digest: string; manifest: Buffer };
  let sig: { digest: string; manifest: Buffer };
  let bundle: { digest: string; manifest: Buffer };

  before(async () => {
    const s = server();
    admin = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'ref');
    subject = makeImage();
    await pushImage(admin, 'ref/app', 'v1', subject);
    await pushBlob(admin, 'ref/app', empty);
  });

  function artifact(extra: Record<string, unknown>, config = { mediaType: OCI_EMPTY, digest: digestOf(empty), size: 2 }): Buffer {
    const layer = randomBlob(64);
    pending.push(layer);
    return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [{ mediaType: 'application/json', digest: digestOf(layer), size: layer.byteLength }], ...extra }));
  }
  const pending: Buffer[] = [];
  async function pushPending(): Promise<void> {
    for (const b of pending.splice(0)) await pushBlob(admin, 'ref/app', b);
  }

  test('a manifest with a subject is 201 with OCI-Subject', async () => {
    const subjectDescriptor = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.byteLength };
    const sbomBody = artifact({ artifactType: SBOM, subject: subjectDescriptor, annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', kind: 'sbom' } });
    const sigConfig = Buffer.from('{"sig":true}');
    await pushBlob(admin, 'ref/app', sigConfig);
    const sigBody = artifact({ subject: subjectDescriptor, annotations: { kind: 'signature' } }, { mediaType: SIG_CONFIG, digest: digestOf(sigConfig), size: sigConfig.byteLength });
    const bundleBody = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, artifactType: BUNDLE, manifests: [], subject: subjectDescriptor }));
    await pushPending();
    for (const [body, type] of [
      [sbomBody, OCI_MANIFEST],
      [sigBody, OCI_MANIFEST],
      [bundleBody, OCI_INDEX],
    ] as const) {
      const res = await putManifest(admin, 'ref/app', digestOf(body), body, type);
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), subject.digest);
      assert.equal(res.headers.get('docker-content-digest'), digestOf(body));
    }
    sbom = { digest: digestOf(sbomBody), manifest: sbomBody };
    sig = { digest: digestOf(sigBody), manifest: sigBody };
    bundle = { digest: digestOf(bundleBody), manifest: bundleBody };
    // Without a subject there is no OCI-Subject.
    const plain = makeImage();
    for (const b of [plain.config, ...plain.layers]) await pushBlob(admin, 'ref/app', b.data);
    const res = await putManifest(admin, 'ref/app', 'plain', plain.manifest, OCI_MANIFEST);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-subject'), null);
  });

  test('GET referrers lists descriptors with artifactType and annotations in an OCI index', async () => {
    const res = await request(admin, 'GET', `/v2/ref/app/referrers/${subject.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    assert.equal(res.headers.get('oci-filters-applied'), null);
    const body = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: Record<string, unknown>[] };
    assert.equal(body.schemaVersion, 2);
    assert.equal(body.mediaType, OCI_INDEX);
    const byDigest = new Map(body.manifests.map((m) => [m['digest'], m]));
    assert.equal(body.manifests.length, 3);
    assert.deepEqual(byDigest.get(sbom.digest), {
      mediaType: OCI_MANIFEST,
      digest: sbom.digest,
      size: sbom.manifest.byteLength,
      artifactType: SBOM,
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', kind: 'sbom' },
    });
    assert.deepEqual(byDigest.get(sig.digest), { mediaType: OCI_MANIFEST, digest: sig.digest, size: sig.manifest.byteLength, artifactType: SIG_CONFIG, annotations: { kind: 'signature' } });
    assert.deepEqual(byDigest.get(bundle.digest), { mediaType: OCI_INDEX, digest: bundle.digest, size: bundle.manifest.byteLength, artifactType: BUNDLE });
  });

  test('?artifactType= filters and sets OCI-Filters-Applied', async () => {
    const res = await request(admin, 'GET', `/v2/ref/app/referrers/${subject.digest}?artifactType=${encodeURIComponent(SBOM)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const body = (await res.json()) as { manifests: { digest: string; artifactType: string }[] };
    assert.deepEqual(
      body.manifests.map((m) => [m.digest, m.artifactType]),
      [[sbom.digest, SBOM]],
    );
    const none = await request(admin, 'GET', `/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.none`);
    assert.equal(none.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
  });

  test('a subject that does not exist has an empty referrers list; a referrer may come before its subject', async () => {
    const missing = digestOf('no such manifest');
    const res = await request(admin, 'GET', `/v2/ref/app/referrers/${missing}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    assert.deepEqual(await res.json(), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });

    const later = makeImage();
    const early = artifact({ artifactType: SBOM, subject: { mediaType: OCI_MANIFEST, digest: later.digest, size: later.manifest.byteLength } });
    await pushPending();
    const put = await putManifest(admin, 'ref/app', 'early', early, OCI_MANIFEST);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('oci-subject'), later.digest);
    const list = (await (await request(admin, 'GET', `/v2/ref/app/referrers/${later.digest}`)).json()) as { manifests: { digest: string }[] };
    assert.deepEqual(
      list.manifests.map((m) => m.digest),
      [digestOf(early)],
    );
  });

  test('an invalid digest is 400', async () => {
    for (const bad of ['sha256:abc', 'md5:0123', 'latest']) {
      const res = await request(admin, 'GET', `/v2/ref/app/referrers/${bad}`);
      assert.equal(res.status, 400, bad);
      assert.ok((await errorsOf(res)).length > 0);
    }
  });
});
