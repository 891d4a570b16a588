import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  MAX_MANIFEST_BYTES,
  MediaType,
  OciError,
  artifactTypeOf,
  blobReferences,
  digestOf,
  manifestReferences,
  parseManifest,
  type Digest,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
} from '../../src/oci/index.js';
import { requireTools, tempDir } from '../helpers/env.js';

// ---------------------------------------------------------------- helpers

const d = (s: string): Digest => digestOf(Buffer.from(s));
const CONFIG = { mediaType: MediaType.OciConfig, digest: d('config'), size: 123 };
const LAYER1 = { mediaType: MediaType.OciLayerGzip, digest: d('layer1'), size: 1000 };
const LAYER2 = { mediaType: MediaType.OciLayerGzip, digest: d('layer2'), size: 2000 };
const CHILD_AMD64 = { mediaType: MediaType.OciManifest, digest: d('amd64'), size: 500, platform: { architecture: 'amd64', os: 'linux' } };
const CHILD_ARM64 = { mediaType: MediaType.OciManifest, digest: d('arm64'), size: 501, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } };

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function ociManifest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MediaType.OciManifest, config: CONFIG, layers: [LAYER1, LAYER2], ...extra };
}

function without(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _drop, ...rest } = obj;
  return rest;
}

function asImage(m: Manifest): ImageManifest {
  assert.equal(m.kind, 'image');
  return m as ImageManifest;
}

function asIndex(m: Manifest): ImageIndex {
  assert.equal(m.kind, 'index');
  return m as ImageIndex;
}

/** Asserts parseManifest fails with MANIFEST_INVALID (status 400 unless told), message matching `re`. */
function rejects(body: Uint8Array, contentType: string | undefined, re?: RegExp, status = 400): OciError {
  let caught: unknown;
  assert.throws(() => parseManifest(body, contentType), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof OciError, `expected OciError, got ${String(caught)}`);
  assert.equal(caught.code, 'MANIFEST_INVALID', caught.message);
  assert.equal(caught.status, status, caught.message);
  if (re !== undefined) assert.match(caught.message, re);
  return caught;
}

// ---------------------------------------------------------------- media type selection

describe('parseManifest: media type from body, Content-Type and shape', () => {
  test('OCI image manifest with mediaType', () => {
    const m = asImage(parseManifest(json(ociManifest()), MediaType.OciManifest));
    assert.equal(m.mediaType, MediaType.OciManifest);
    assert.deepEqual(m.config, CONFIG);
    assert.deepEqual(m.layers, [LAYER1, LAYER2]);
    assert.equal(m.subject, undefined);
    assert.equal(m.artifactType, undefined);
    assert.equal(m.annotations, undefined);
  });

  const ociTable: [string, Record<string, unknown>, string | undefined, string][] = [
    ['body mediaType, no Content-Type', ociManifest(), undefined, MediaType.OciManifest],
    ['no mediaType, no Content-Type (umoci)', without(ociManifest(), 'mediaType'), undefined, MediaType.OciManifest],
    ['no mediaType, Content-Type OCI manifest', without(ociManifest(), 'mediaType'), MediaType.OciManifest, MediaType.OciManifest],
    ['no mediaType, Content-Type with parameters and upper case', without(ociManifest(), 'mediaType'), 'Application/VND.OCI.image.manifest.v1+JSON; charset=utf-8', MediaType.OciManifest],
    ['no mediaType, Content-Type application/json', without(ociManifest(), 'mediaType'), 'application/json', MediaType.OciManifest],
    ['body mediaType, Content-Type application/json (not a manifest type: ignored)', ociManifest(), 'application/json', MediaType.OciManifest],
    ['body mediaType, empty Content-Type', ociManifest(), '', MediaType.OciManifest],
    ['body and Content-Type agree', ociManifest(), `${MediaType.OciManifest}`, MediaType.OciManifest],
  ];
  for (const [why, doc, ct, expected] of ociTable) {
    test(`image: ${why}`, () => {
      const m = asImage(parseManifest(json(doc), ct));
      assert.equal(m.mediaType, expected);
      assert.equal(m.layers.length, 2);
    });
  }

  test('no mediaType and a manifests array: an OCI index by shape', () => {
    const m = asIndex(parseManifest(json({ schemaVersion: 2, manifests: [CHILD_AMD64] }), undefined));
    assert.equal(m.mediaType, MediaType.OciIndex);
    assert.deepEqual(m.manifests, [CHILD_AMD64]);
  });

  test('no mediaType and Content-Type OCI index', () => {
    const m = asIndex(parseManifest(json({ schemaVersion: 2, manifests: [] }), MediaType.OciIndex));
    assert.equal(m.mediaType, MediaType.OciIndex);
    assert.deepEqual(m.manifests, []);
  });

  test('body mediaType conflicting with a manifest Content-Type is rejected, naming both', () => {
    rejects(json(ociManifest()), MediaType.OciIndex, /application\/vnd\.oci\.image\.index\.v1\+json.*application\/vnd\.oci\.image\.manifest\.v1\+json/);
    rejects(json(ociManifest()), MediaType.DockerManifest, /does not match/);
  });

  test('Content-Type says index but the body is shaped like an image manifest', () => {
    rejects(json(without(ociManifest(), 'mediaType')), MediaType.OciIndex, /manifests array/);
  });

  test('Content-Type says image manifest but the body is an index', () => {
    rejects(json({ schemaVersion: 2, manifests: [CHILD_AMD64] }), MediaType.OciManifest, /must not have a manifests array/);
  });

  test('unsupported body mediaType is rejected, listing the supported ones', () => {
    rejects(json(ociManifest({ mediaType: MediaType.OciConfig })), undefined, /unsupported manifest media type.*application\/vnd\.oci\.image\.manifest\.v1\+json/);
    rejects(json(ociManifest({ mediaType: '' })), undefined, /unsupported manifest media type/);
    rejects(json(ociManifest({ mediaType: 'application/vnd.cncf.helm.config.v1+json' })), undefined);
  });

  test('a non-string mediaType is rejected', () => {
    rejects(json(ociManifest({ mediaType: 2 })), undefined, /mediaType must be a string/);
  });
});

// ---------------------------------------------------------------- Docker formats

describe('parseManifest: Docker formats', () => {
  const dockerManifest = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, size: 7023, digest: d('docker-config') },
    layers: [{ mediaType: MediaType.DockerLayerGzip, size: 32654, digest: d('docker-layer') }],
  };

  test('schema 2 manifest', () => {
    const m = asImage(parseManifest(json(dockerManifest), MediaType.DockerManifest));
    assert.equal(m.mediaType, MediaType.DockerManifest);
    assert.equal(m.config.mediaType, MediaType.DockerConfig);
    assert.deepEqual(blobReferences(m), [d('docker-config'), d('docker-layer')]);
  });

  test('schema 2 manifest without its mediaType field is rejected even with the Content-Type', () => {
    rejects(json(without(dockerManifest, 'mediaType')), MediaType.DockerManifest, /must carry its mediaType/);
  });

  const list = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifestList,
    manifests: [
      { mediaType: MediaType.DockerManifest, size: 7143, digest: d('ppc'), platform: { architecture: 'ppc64le', os: 'linux' } },
      { mediaType: MediaType.DockerManifest, size: 7682, digest: d('win'), platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.14393.1066', 'os.features': ['win32k'] } },
    ],
  };

  test('manifest list with platforms', () => {
    const m = asIndex(parseManifest(json(list), MediaType.DockerManifestList));
    assert.equal(m.mediaType, MediaType.DockerManifestList);
    assert.deepEqual(m.manifests[1]?.platform, { architecture: 'amd64', os: 'windows', 'os.version': '10.0.14393.1066', 'os.features': ['win32k'] });
    assert.deepEqual(manifestReferences(m), [d('ppc'), d('win')]);
  });

  test('manifest list entries need a platform (naming the entry); OCI index entries do not', () => {
    const noPlatform = { ...list, manifests: [list.manifests[0], without(list.manifests[1]!, 'platform')] };
    rejects(json(noPlatform), undefined, /manifests\[1\].*platform/);
    const asOci = { ...noPlatform, mediaType: MediaType.OciIndex };
    assert.equal(asIndex(parseManifest(json(asOci), undefined)).manifests.length, 2);
  });

  test('manifest list without its mediaType field is rejected', () => {
    rejects(json(without(list, 'mediaType')), MediaType.DockerManifestList, /must carry its mediaType/);
  });

  const schema1Cases: [string, Record<string, unknown>, string | undefined][] = [
    ['schemaVersion 1 body', { schemaVersion: 1, name: 'team/app', tag: 'latest', architecture: 'amd64', fsLayers: [], history: [] }, undefined],
    ['schemaVersion 1 body with a v2 Content-Type', { schemaVersion: 1, name: 'team/app', fsLayers: [] }, MediaType.OciManifest],
    ['schema 1 mediaType in the body', { ...dockerManifest, mediaType: MediaType.DockerSchema1 }, undefined],
    ['signed schema 1 Content-Type', { schemaVersion: 1, fsLayers: [] }, MediaType.DockerSchema1Signed],
    ['schema 1 Content-Type over a v2-looking body', ociManifest({ mediaType: undefined }), MediaType.DockerSchema1],
  ];
  for (const [why, doc, ct] of schema1Cases) {
    test(`Docker schema 1 rejected, pointing at skopeo: ${why}`, () => {
      rejects(json(doc), ct, /schema 1.*skopeo/);
    });
  }
});

// ---------------------------------------------------------------- malformed documents

describe('parseManifest: malformed documents', () => {
  const bodies: [string, Uint8Array, RegExp | undefined][] = [
    ['not JSON', Buffer.from('this is not json'), /not valid UTF-8 JSON/],
    ['empty body', new Uint8Array(0), /not valid UTF-8 JSON/],
    ['truncated JSON', json(ociManifest()).subarray(0, 40), /not valid UTF-8 JSON/],
    ['invalid UTF-8 inside a string', Buffer.concat([Buffer.from('{"schemaVersion":2,"annotations":{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]), /UTF-8/],
    ['overlong UTF-8 encoding of "/"', Buffer.concat([Buffer.from('{"schemaVersion":2,"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), /UTF-8/],
    ['top-level array', json([ociManifest()]), /JSON object/],
    ['top-level null', Buffer.from('null'), /JSON object/],
    ['top-level string', Buffer.from('"manifest"'), /JSON object/],
    ['top-level number', Buffer.from('2'), /JSON object/],
    ['schemaVersion 3', json(ociManifest({ schemaVersion: 3 })), /schemaVersion must be 2/],
    ['schemaVersion "2" as a string', json(ociManifest({ schemaVersion: '2' })), /schemaVersion must be 2/],
    ['schemaVersion missing', json(without(ociManifest(), 'schemaVersion')), /schemaVersion must be 2/],
    ['schemaVersion 0', json(ociManifest({ schemaVersion: 0 })), /schemaVersion must be 2/],
    ['config missing', json(without(ociManifest(), 'config')), /config must be a descriptor/],
    ['config is an array', json(ociManifest({ config: [CONFIG] })), /config must be a descriptor/],
    ['config is a string', json(ociManifest({ config: CONFIG.digest })), /config must be a descriptor/],
    ['layers missing', json(without(ociManifest(), 'layers')), /layers array/],
    ['layers is an object', json(ociManifest({ layers: { 0: LAYER1 } })), /layers array/],
    ['layer is an array', json(ociManifest({ layers: [[LAYER1]] })), /layers\[0\] must be a descriptor/],
    ['layer is null', json(ociManifest({ layers: [LAYER1, null] })), /layers\[1\] must be a descriptor/],
    ['index manifests is an object', json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: { a: CHILD_AMD64 } }), /manifests array/],
    ['index with config', json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], config: CONFIG }), /must not have config or layers/],
    ['index with layers', json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], layers: [] }), /must not have config or layers/],
    ['annotations is an array', json(ociManifest({ annotations: ['a'] })), /annotations must be an object/],
    ['annotation value is a number', json(ociManifest({ annotations: { 'org.example': 1 } })), /annotations\["org\.example"\] must be a string/],
    ['artifactType is not a media type', json(ociManifest({ artifactType: 'sbom' })), /artifactType must be a media type/],
    ['subject is a string', json(ociManifest({ subject: CHILD_AMD64.digest })), /subject must be a descriptor/],
  ];
  for (const [why, body, re] of bodies) {
    test(why, () => {
      rejects(body, undefined, re);
    });
  }
});

describe('parseManifest: descriptors', () => {
  const badLayer = (patch: Record<string, unknown>) => json(ociManifest({ layers: [LAYER1, { ...LAYER2, ...patch }] }));
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['upper-case digest', { digest: LAYER2.digest.toUpperCase() }, /layers\[1\]\.digest is not a valid digest/],
    ['short digest', { digest: LAYER2.digest.slice(0, 70) }, /layers\[1\]\.digest/],
    ['unknown digest algorithm', { digest: `md5:${'0'.repeat(32)}` }, /layers\[1\]\.digest/],
    ['digest missing', { digest: undefined }, /layers\[1\]\.digest/],
    ['digest is a number', { digest: 5 }, /layers\[1\]\.digest/],
    ['negative size', { size: -1 }, /layers\[1\]\.size must be a non-negative integer/],
    ['fractional size', { size: 1.5 }, /layers\[1\]\.size/],
    ['string size', { size: '2000' }, /layers\[1\]\.size/],
    ['size beyond 2^53', { size: 2 ** 53 }, /layers\[1\]\.size/],
    ['size missing', { size: undefined }, /layers\[1\]\.size/],
    ['mediaType missing', { mediaType: undefined }, /layers\[1\]\.mediaType must be a media type/],
    ['mediaType without subtype', { mediaType: 'application' }, /layers\[1\]\.mediaType/],
    ['mediaType with spaces', { mediaType: 'application/ x' }, /layers\[1\]\.mediaType/],
    ['mediaType starting with a symbol', { mediaType: '+application/x' }, /layers\[1\]\.mediaType/],
    ['urls not an array', { urls: 'https://example.com/layer' }, /layers\[1\]\.urls must be an array of strings/],
    ['urls with a number', { urls: ['https://example.com/layer', 1] }, /layers\[1\]\.urls/],
    ['descriptor annotations with a boolean', { annotations: { a: true } }, /layers\[1\]\.annotations\["a"\]/],
    ['platform without os', { platform: { architecture: 'amd64' } }, /layers\[1\]\.platform needs string architecture and os/],
    ['platform os.features not strings', { platform: { architecture: 'amd64', os: 'windows', 'os.features': [1] } }, /os\.features/],
    ['platform variant not a string', { platform: { architecture: 'arm', os: 'linux', variant: 7 } }, /variant must be a string/],
  ];
  for (const [why, patch, re] of cases) {
    test(why, () => {
      const e = rejects(badLayer(patch), undefined, re);
      assert.equal(e.status, 400);
    });
  }

  test('a bad digest carries the field in detail', () => {
    const e = rejects(badLayer({ digest: 'sha256:nope' }), undefined);
    assert.deepEqual(e.detail, { field: 'layers[1].digest' });
  });

  test('size 0 and size 2^53-1 are fine', () => {
    const m = asImage(parseManifest(json(ociManifest({ layers: [{ ...LAYER1, size: 0 }, { ...LAYER2, size: Number.MAX_SAFE_INTEGER }] })), undefined));
    assert.deepEqual(m.layers.map((l) => l.size), [0, Number.MAX_SAFE_INTEGER]);
  });

  test('sha512 descriptor digests are accepted', () => {
    const digest = digestOf(Buffer.from('x'), 'sha512');
    const m = asImage(parseManifest(json(ociManifest({ layers: [{ ...LAYER1, digest }] })), undefined));
    assert.equal(m.layers[0]?.digest, digest);
  });

  test('urls, annotations, artifactType and platform of a descriptor are kept', () => {
    const layer = { ...LAYER2, urls: ['https://mcr.example/layer'], annotations: { k: 'v' }, artifactType: 'application/vnd.example+type', platform: { architecture: 'arm', os: 'linux', variant: 'v7' } };
    const m = asImage(parseManifest(json(ociManifest({ layers: [layer] })), undefined));
    assert.deepEqual(m.layers[0], layer);
  });
});

// ---------------------------------------------------------------- size limit

describe('parseManifest: size limit', () => {
  /** A valid manifest padded with an annotation to exactly `size` bytes. */
  function padded(size: number): Buffer {
    const base = json(ociManifest({ annotations: { pad: '' } }));
    const body = json(ociManifest({ annotations: { pad: 'x'.repeat(size - base.byteLength) } }));
    assert.equal(body.byteLength, size);
    return body;
  }

  test('the limit is 4 MiB', () => {
    assert.equal(MAX_MANIFEST_BYTES, 4 * 1024 * 1024);
  });

  test('exactly 4 MiB is accepted', () => {
    const m = parseManifest(padded(4 * 1024 * 1024), undefined);
    assert.equal(m.kind, 'image');
  });

  test('4 MiB + 1 byte is MANIFEST_INVALID with status 413', () => {
    rejects(padded(4 * 1024 * 1024 + 1), undefined, /limit/, 413);
  });

  test('an oversized body is refused before it is parsed (even if it is not JSON)', () => {
    rejects(new Uint8Array(4 * 1024 * 1024 + 1), undefined, /limit/, 413);
  });
});

// ---------------------------------------------------------------- artifacts

describe('parseManifest: artifacts, subject, annotations', () => {
  const EMPTY = { mediaType: MediaType.OciEmpty, digest: digestOf(Buffer.from('{}')), size: 2 };

  test('empty config without artifactType is rejected', () => {
    rejects(json(ociManifest({ config: EMPTY })), undefined, /artifactType is required/);
  });

  test('empty config with artifactType is accepted', () => {
    const m = asImage(parseManifest(json(ociManifest({ config: EMPTY, artifactType: 'application/vnd.example.sbom+json' })), undefined));
    assert.equal(m.artifactType, 'application/vnd.example.sbom+json');
    assert.equal(artifactTypeOf(m), 'application/vnd.example.sbom+json');
  });

  test('subject, artifactType and annotations are parsed', () => {
    const subject = { mediaType: MediaType.OciManifest, digest: d('subject'), size: 321 };
    const annotations = { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.empty': '' };
    const m = asImage(parseManifest(json(ociManifest({ subject, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', annotations })), undefined));
    assert.deepEqual(m.subject, subject);
    assert.equal(m.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    assert.deepEqual(m.annotations, annotations);
  });

  test('an index may carry subject, artifactType and annotations', () => {
    const subject = { mediaType: MediaType.OciIndex, digest: d('subject-index'), size: 9 };
    const m = asIndex(parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [CHILD_AMD64], subject, artifactType: 'application/vnd.example+json', annotations: { a: 'b' } }), undefined));
    assert.deepEqual(m.subject, subject);
    assert.equal(m.artifactType, 'application/vnd.example+json');
    assert.deepEqual(m.annotations, { a: 'b' });
  });

  test('a subject with a bad digest is rejected, naming subject', () => {
    rejects(json(ociManifest({ subject: { ...CONFIG, digest: 'sha256:abc' } })), undefined, /subject\.digest/);
  });
});

// ---------------------------------------------------------------- references

describe('blobReferences, manifestReferences, artifactTypeOf', () => {
  test('blobReferences: config then layers, in order', () => {
    const m = parseManifest(json(ociManifest()), undefined);
    assert.deepEqual(blobReferences(m), [CONFIG.digest, LAYER1.digest, LAYER2.digest]);
    assert.deepEqual(manifestReferences(m), []);
  });

  test('blobReferences excludes foreign layers (with urls) but keeps layers with an empty urls list', () => {
    const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('foreign'), size: 5, urls: ['https://mcr.microsoft.com/v2/windows/blobs/x'] };
    const emptyUrls = { ...LAYER2, urls: [] };
    const m = parseManifest(json(ociManifest({ layers: [foreign, LAYER1, emptyUrls] })), undefined);
    assert.deepEqual(blobReferences(m), [CONFIG.digest, LAYER1.digest, LAYER2.digest]);
  });

  test('blobReferences dedupes (a layer repeated, a layer equal to the config)', () => {
    const m = parseManifest(json(ociManifest({ layers: [LAYER1, LAYER1, { ...LAYER2, digest: CONFIG.digest }, LAYER1] })), undefined);
    assert.deepEqual(blobReferences(m), [CONFIG.digest, LAYER1.digest]);
  });

  test('an index references no blobs, and its children deduped', () => {
    const m = parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [CHILD_AMD64, CHILD_ARM64, { ...CHILD_AMD64, platform: { architecture: 'amd64', os: 'freebsd' } }] }), undefined);
    assert.deepEqual(blobReferences(m), []);
    assert.deepEqual(manifestReferences(m), [CHILD_AMD64.digest, CHILD_ARM64.digest]);
  });

  test('artifactTypeOf: an image without artifactType falls back to config.mediaType', () => {
    assert.equal(artifactTypeOf(parseManifest(json(ociManifest()), undefined)), MediaType.OciConfig);
    const helm = ociManifest({ config: { ...CONFIG, mediaType: 'application/vnd.cncf.helm.config.v1+json' } });
    assert.equal(artifactTypeOf(parseManifest(json(helm), undefined)), 'application/vnd.cncf.helm.config.v1+json');
  });

  test('artifactTypeOf: the field wins over config.mediaType', () => {
    assert.equal(artifactTypeOf(parseManifest(json(ociManifest({ artifactType: 'application/vnd.example+json' })), undefined)), 'application/vnd.example+json');
  });

  test('artifactTypeOf: an index without artifactType has none; with one, it is reported', () => {
    assert.equal(artifactTypeOf(parseManifest(json({ schemaVersion: 2, manifests: [CHILD_AMD64] }), undefined)), undefined);
    assert.equal(artifactTypeOf(parseManifest(json({ schemaVersion: 2, manifests: [], artifactType: 'application/vnd.x+json' }), undefined)), 'application/vnd.x+json');
  });
});

// ---------------------------------------------------------------- real tools

/** Runs a tool in `cwd`, failing the test with its stderr when it fails. */
function run(cwd: string, cmd: string, args: string[]): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg!, hex!);
}

/** An OCI layout written by umoci with one image, tag `latest`, with one layer. */
function umociLayout(t: TestContext): { dir: string; layout: string; indexJson: Buffer; manifest: Buffer; manifestDigest: string } {
  const dir = tempDir(t, 'portcullis-umoci-');
  const layout = join(dir, 'img');
  run(dir, 'umoci', ['init', '--layout', layout]);
  run(dir, 'umoci', ['new', '--image', `${layout}:latest`]);
  run(dir, 'umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, join(dir, 'bundle')]);
  execFileSync('sh', ['-c', 'echo hello > "$1"/rootfs/hello.txt', 'sh', join(dir, 'bundle')]);
  run(dir, 'umoci', ['repack', '--image', `${layout}:latest`, join(dir, 'bundle')]);
  const indexJson = readFileSync(join(layout, 'index.json'));
  const top = JSON.parse(indexJson.toString()) as { manifests: { digest: string }[] };
  const manifestDigest = top.manifests[0]!.digest;
  return { dir, layout, indexJson, manifest: readFileSync(blobPath(layout, manifestDigest)), manifestDigest };
}

describe('parseManifest against documents written by real tools', () => {
  test('umoci image manifest (no mediaType field) and its index.json', (t) => {
    if (!requireTools(t, 'umoci')) return;
    const { layout, indexJson, manifest, manifestDigest } = umociLayout(t);
    assert.equal(digestOf(manifest), manifestDigest, 'umoci names blobs by their sha256');
    const raw = JSON.parse(manifest.toString()) as { mediaType?: string; config: { digest: string }; layers: { digest: string }[] };
    assert.equal(raw.mediaType, undefined, 'this umoci writes manifests without mediaType; the test relies on it');

    const m = asImage(parseManifest(manifest, undefined));
    assert.equal(m.mediaType, MediaType.OciManifest);
    assert.equal(m.layers.length, 1);
    assert.deepEqual(blobReferences(m), [raw.config.digest, raw.layers[0]!.digest]);
    // Every referenced blob exists in the layout and hashes to its digest.
    for (const ref of blobReferences(m)) assert.equal(digestOf(readFileSync(blobPath(layout, ref))), ref);
    assert.equal(artifactTypeOf(m), MediaType.OciConfig);

    const idx = asIndex(parseManifest(indexJson, undefined));
    assert.equal(idx.mediaType, MediaType.OciIndex);
    assert.deepEqual(manifestReferences(idx), [manifestDigest]);
  });

  test('skopeo conversion to Docker schema 2 parses as a Docker manifest with the same blobs', (t) => {
    if (!requireTools(t, 'umoci', 'skopeo')) return;
    const { dir, layout, manifest } = umociLayout(t);
    run(dir, 'skopeo', ['copy', '--quiet', '--format', 'v2s2', `oci:${layout}:latest`, `dir:${join(dir, 'v2s2')}`]);
    const docker = readFileSync(join(dir, 'v2s2', 'manifest.json'));
    const m = asImage(parseManifest(docker, MediaType.DockerManifest));
    assert.equal(m.mediaType, MediaType.DockerManifest);
    assert.equal(m.config.mediaType, MediaType.DockerConfig);
    assert.equal(m.layers.length, 1);
    const oci = asImage(parseManifest(manifest, undefined));
    // skopeo keeps the compressed layer; the config is rewritten only in media type.
    assert.equal(m.layers[0]!.digest, oci.layers[0]!.digest);
  });

  test('skopeo conversion to Docker schema 1 is rejected with the skopeo hint', (t) => {
    if (!requireTools(t, 'umoci', 'skopeo')) return;
    const { dir, layout } = umociLayout(t);
    run(dir, 'skopeo', ['copy', '--quiet', '--format', 'v2s1', `oci:${layout}:latest`, `dir:${join(dir, 'v2s1')}`]);
    const schema1 = readFileSync(join(dir, 'v2s1', 'manifest.json'));
    assert.equal((JSON.parse(schema1.toString()) as { schemaVersion: number }).schemaVersion, 1);
    rejects(schema1, undefined, /skopeo/);
    rejects(schema1, MediaType.DockerSchema1Signed, /skopeo/);
  });
});
