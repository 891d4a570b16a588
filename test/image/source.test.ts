/**
 * Local image sources end to end: `parseSource` for every syntax, and `openImageSource` on an OCI
 * layout built by real umoci (including layers umoci writes without end blocks), the same layout
 * tarred by GNU tar (oci-archive, gnu and posix formats), a multi-platform index and platform
 * selection, a docker-archive written by skopeo, and digest verification of tampered blobs.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  decompressed,
  FileTree,
  formatPlatform,
  ImageError,
  indexLayer,
  openImageSource,
  parsePlatform,
  parseSource,
  readTar,
  verified,
  walkLayer,
  type Image,
  type SourceSpec,
} from '../../src/image/index.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { writeOciLayout } from '../helpers/images.js';
import { chunked, drain, END, fileEntry, prng, rejection, runOk, sha256hex } from './helpers.js';

// ------------------------------------------------------------------ parseSource

describe('parseSource', () => {
  test('every syntax: kinds, paths and tags', (t) => {
    const dir = tempDir(t);
    const colonDir = join(dir, 'dir:with:colons');
    mkdirSync(colonDir);
    const colonFile = join(dir, 'img:v0.tar');
    writeFileSync(colonFile, '');
    const cases: [string, Record<string, string>][] = [
      ['oci-dir:/srv/layout', { kind: 'oci-dir', path: '/srv/layout' }],
      ['oci-dir:/srv/layout:v1', { kind: 'oci-dir', path: '/srv/layout', tag: 'v1' }],
      ['oci-dir:relative/layout:1.2.3', { kind: 'oci-dir', path: 'relative/layout', tag: '1.2.3' }],
      ['oci:/srv/layout:latest', { kind: 'oci-dir', path: '/srv/layout', tag: 'latest' }],
      ['oci-dir:/srv/layout:', { kind: 'oci-dir', path: '/srv/layout' }],
      [`oci-dir:${colonDir}`, { kind: 'oci-dir', path: colonDir }],
      [`oci-dir:${colonDir}:v2`, { kind: 'oci-dir', path: colonDir, tag: 'v2' }],
      [`oci-dir:${dir}:sha256:${'a'.repeat(64)}`, { kind: 'oci-dir', path: dir, tag: `sha256:${'a'.repeat(64)}` }],
      ['oci-archive:/tmp/img.tar', { kind: 'oci-archive', path: '/tmp/img.tar' }],
      ['oci-archive:img.tar:v1', { kind: 'oci-archive', path: 'img.tar', tag: 'v1' }],
      [`oci-archive:${colonFile}`, { kind: 'oci-archive', path: colonFile }],
      [`oci-archive:${colonFile}:v1`, { kind: 'oci-archive', path: colonFile, tag: 'v1' }],
      ['docker-archive:/tmp/d.tar', { kind: 'docker-archive', path: '/tmp/d.tar' }],
      ['docker-archive:d.tar:app:v1', { kind: 'docker-archive', path: 'd.tar', tag: 'app:v1' }],
      [`docker-archive:${colonFile}:example.com/team/app:v1`, { kind: 'docker-archive', path: colonFile, tag: 'example.com/team/app:v1' }],
      [`docker-archive:${colonFile}:localhost:5000/app:v1`, { kind: 'docker-archive', path: colonFile, tag: 'localhost:5000/app:v1' }],
      ['dir:/srv/rootfs', { kind: 'dir', path: '/srv/rootfs' }],
      ['dir:/srv/root:fs', { kind: 'dir', path: '/srv/root:fs' }],
      ['localhost:5000/a/b:tag', { kind: 'registry', reference: 'localhost:5000/a/b:tag' }],
      ['localhost:5000/a', { kind: 'registry', reference: 'localhost:5000/a' }],
      ['ubuntu:22.04', { kind: 'registry', reference: 'ubuntu:22.04' }],
      ['ubuntu', { kind: 'registry', reference: 'ubuntu' }],
      ['ghcr.io/org/app@sha256:' + 'b'.repeat(64), { kind: 'registry', reference: 'ghcr.io/org/app@sha256:' + 'b'.repeat(64) }],
      ['registry:ghcr.io/org/app:1', { kind: 'registry', reference: 'ghcr.io/org/app:1' }],
      ['docker://ubuntu:22.04', { kind: 'registry', reference: 'ubuntu:22.04' }],
      ['docker://localhost:5000/x:y', { kind: 'registry', reference: 'localhost:5000/x:y' }],
    ];
    for (const [text, expected] of cases) assert.deepEqual(parseSource(text), { text, ...expected }, text);
  });

  test('a kind with nothing after it is SOURCE_INVALID, with the syntax in the message', () => {
    for (const [text, hint] of [
      ['oci-dir:', /oci-dir:PATH\[:TAG\]/],
      ['oci-archive:', /oci-archive:FILE\[:TAG\]/],
      ['docker-archive:', /docker-archive:FILE\[:NAME:TAG\]/],
      ['dir:', /dir:PATH/],
    ] as const) {
      assert.throws(
        () => parseSource(text),
        (err: unknown) => err instanceof ImageError && err.code === 'SOURCE_INVALID' && hint.test(err.message),
        text,
      );
    }
  });

  test('an unknown KIND: before a path is a typo, not an image: SOURCE_INVALID naming the kinds', () => {
    for (const text of ['oci-layout:/srv/layout', 'ocidir:./layout', 'archive:~/img.tar']) {
      assert.throws(
        () => parseSource(text),
        (err: unknown) => err instanceof ImageError && err.code === 'SOURCE_INVALID' && /oci-dir:/.test(err.message),
        text,
      );
    }
  });

  test("Docker Hub's official `docker` image is an image, not the docker transport (skopeo's transport is docker://)", () => {
    assert.deepEqual(parseSource('docker:27-dind'), { kind: 'registry', text: 'docker:27-dind', reference: 'docker:27-dind' });
  });
});

describe('parsePlatform / formatPlatform', () => {
  test('OS/ARCH[/VARIANT] round-trips; anything else is SOURCE_INVALID', () => {
    for (const p of ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'windows/amd64']) assert.equal(formatPlatform(parsePlatform(p)), p);
    assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' });
    for (const bad of ['linux', 'linux/', '/amd64', 'linux/arm64/', 'linux/arm/v7/extra', '']) {
      assert.throws(() => parsePlatform(bad), (err: unknown) => err instanceof ImageError && err.code === 'SOURCE_INVALID', bad);
    }
  });
});

// ------------------------------------------------------------------ an image built by umoci

interface UmociImage {
  readonly dir: string;
  readonly layout: string;
  readonly tag: string;
}

/**
 * umoci init/new, a first layer from GNU tar (raw add-layer), then `umoci insert` of a file and of
 * a whiteout (both written without end-of-archive blocks by umoci 0.4.7), and a second tag.
 */
async function umociImage(t: TestContext): Promise<UmociImage> {
  const dir = tempDir(t, 'portcullis-umoci-');
  const layout = join(dir, 'layout');
  const env = { ...process.env, LC_ALL: 'C.UTF-8' };
  await runOk('umoci', ['init', '--layout', layout], { env });
  await runOk('umoci', ['new', '--image', `${layout}:v1`], { env });
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'greeting'), 'hello from umoci\n');
  writeFileSync(join(rootfs, 'etc', 'os-release'), 'ID=umoci-test\n');
  writeFileSync(join(rootfs, 'usr', 'bin', 'tool'), 'tool\n');
  symlinkSync('tool', join(rootfs, 'usr', 'bin', 'alias'));
  const layerTar = join(dir, 'layer.tar');
  await runOk('tar', ['--sort=name', '-C', rootfs, '-cf', layerTar, '.']);
  await runOk('umoci', ['raw', 'add-layer', '--image', `${layout}:v1`, layerTar], { env });
  const inserted = join(dir, 'inserted.txt');
  writeFileSync(inserted, 'inserted by umoci insert\n');
  await runOk('umoci', ['insert', '--image', `${layout}:v1`, inserted, '/opt/inserted.txt'], { env });
  await runOk('umoci', ['insert', '--image', `${layout}:v1`, '--whiteout', '/etc/greeting'], { env });
  await runOk('umoci', ['new', '--image', `${layout}:empty`], { env });
  return { dir, layout, tag: 'v1' };
}

/** Reads every layer of an image into a squashed tree; returns it with the layers' warnings and contents. */
async function squash(image: Image, t: TestContext): Promise<{ tree: FileTree; warnings: string[]; files: Map<string, string> }> {
  const tree = new FileTree();
  const warnings: string[] = [];
  const files = new Map<string, string>();
  const tmp = tempDir(t);
  for (const [i, layer] of image.layers.entries()) {
    const index = await indexLayer(
      await layer.open(),
      {
        want: () => ({ maxBytes: 1 << 20 }),
        visit: async (f) => void files.set(f.path, Buffer.from(await f.read(0, f.size)).toString()),
        warn: (m) => void warnings.push(`layer ${i}: ${m}`),
      },
      tmp,
    );
    tree.apply(i, index);
  }
  return { tree, warnings, files };
}

function treePaths(tree: FileTree): string[] {
  return [...tree.values()].map((n) => `${n.path}@${n.layer}`).sort();
}

describe('openImageSource on an OCI layout built by umoci', () => {
  test('oci-dir:DIR:TAG: manifest, config, layers (two without end blocks), the squashed tree', async (t) => {
    if (!requireTools(t, 'umoci', 'tar')) return;
    const u = await umociImage(t);
    const index = JSON.parse(readFileSync(join(u.layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    const v1 = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'v1')!;
    const image = await openImageSource(parseSource(`oci-dir:${u.layout}:v1`) as Exclude<SourceSpec, { kind: 'dir' }>);
    t.after(() => image.close());
    assert.equal(image.digest, v1.digest);
    assert.equal(image.reference, `oci-dir:${u.layout}:v1`);
    assert.equal(image.tag, 'v1');
    assert.equal(image.indexDigest, undefined);
    assert.equal(sha256hex(image.manifestBytes), v1.digest.slice(7));
    assert.equal(image.manifest.kind, 'image');
    assert.deepEqual(image.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(image.layers.length, 3);
    assert.deepEqual(image.layers.map((l) => l.diffId), image.config.rootfs?.diff_ids);
    const { tree, warnings, files } = await squash(image, t);
    assert.deepEqual(treePaths(tree), ['etc/os-release@0', 'etc@0', 'opt/inserted.txt@1', 'opt@1', 'usr/bin/alias@0', 'usr/bin/tool@0', 'usr/bin@0', 'usr@0']);
    assert.equal(files.get('opt/inserted.txt'), 'inserted by umoci insert\n');
    assert.equal(files.get('etc/greeting'), 'hello from umoci\n', 'captured from layer 0 before the whiteout hid it');
    assert.equal(tree.resolve('usr/bin/alias').path, 'usr/bin/tool');
    assert.equal(warnings.filter((w) => /end-of-archive/.test(w)).length, 2, `umoci insert layers end without end blocks: ${warnings.join('; ')}`);
    // The diff_ids are the digests of the uncompressed layers.
    for (const l of image.layers) assert.equal(`sha256:${sha256hex(await drain(decompressed(await l.open())))}`, l.diffId);
  });

  test('choosing the image: by tag, by digest, the only one without a tag; errors list the tags', async (t) => {
    if (!requireTools(t, 'umoci', 'tar')) return;
    const u = await umociImage(t);
    const v1 = await openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout, tag: 'v1' });
    await v1.close();
    const byDigest = await openImageSource(parseSource(`oci-dir:${u.layout}:${v1.digest}`) as Exclude<SourceSpec, { kind: 'dir' }>);
    assert.equal(byDigest.digest, v1.digest);
    await byDigest.close();
    const empty = await openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout, tag: 'empty' });
    assert.equal(empty.layers.length, 0);
    await empty.close();

    const noTag = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout }));
    assert.equal(noTag.code, 'SOURCE_INVALID');
    assert.match(noTag.message, /v1/);
    assert.match(noTag.message, /empty/);
    const unknown = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout, tag: 'v9' }));
    assert.equal(unknown.code, 'NOT_FOUND');
    assert.match(unknown.message, /v9/);
    assert.match(unknown.message, /v1, empty|empty, v1/);

    const missing = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: join(u.dir, 'nope') }));
    assert.equal(missing.code, 'NOT_FOUND');
    const notLayout = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: join(u.dir, 'rootfs') }));
    assert.equal(notLayout.code, 'SOURCE_INVALID');
  });

  test('oci-archive: the layout tarred by GNU tar (gnu and posix formats) reads as the directory does', async (t) => {
    if (!requireTools(t, 'umoci', 'tar')) return;
    const u = await umociImage(t);
    const fromDir = await openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout, tag: 'v1' });
    const dirTree = treePaths((await squash(fromDir, t)).tree);
    const dirLayers = await Promise.all(fromDir.layers.map(async (l) => sha256hex(await drain(await l.open()))));
    for (const [format, args] of [
      ['gnu', ['--format=gnu', '-C', u.layout, '.']],
      ['posix', ['--format=posix', '-C', u.layout, '.']],
      ['no ./ prefix', ['-C', u.layout, 'oci-layout', 'index.json', 'blobs']],
    ] as const) {
      const archive = join(u.dir, `layout-${format.replace(/\W/g, '')}.tar`);
      await runOk('tar', ['-cf', archive, ...args]);
      const image = await openImageSource(parseSource(`oci-archive:${archive}:v1`) as Exclude<SourceSpec, { kind: 'dir' }>);
      t.after(() => image.close());
      assert.equal(image.digest, fromDir.digest, format);
      assert.ok(Buffer.from(image.configBytes).equals(Buffer.from(fromDir.configBytes)), format);
      const layers = await Promise.all(image.layers.map(async (l) => sha256hex(await drain(await l.open()))));
      assert.deepEqual(layers, dirLayers, `${format}: every layer streams byte-identical from the archive`);
      assert.deepEqual(layers, image.layers.map((l) => l.digest.slice(7)));
      assert.deepEqual(treePaths((await squash(image, t)).tree), dirTree, format);
    }
    const missing = await rejection(openImageSource({ kind: 'oci-archive', text: 'x', path: join(u.dir, 'nope.tar') }));
    assert.equal(missing.code, 'NOT_FOUND');
    const notTar = join(u.dir, 'not-a.tar');
    writeFileSync(notTar, Buffer.alloc(2048, 0x41));
    const bad = await rejection(openImageSource({ kind: 'oci-archive', text: 'x', path: notTar }));
    assert.equal(bad.code, 'SOURCE_INVALID');
  });

  test('a docker-archive written by skopeo: layers by diff_id, NAME:TAG lookup, verified as they stream', async (t) => {
    if (!requireTools(t, 'umoci', 'tar', 'skopeo')) return;
    const u = await umociImage(t);
    const fromDir = await openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout, tag: 'v1' });
    const dirTree = treePaths((await squash(fromDir, t)).tree);
    const archive = join(u.dir, 'docker.tar');
    await runOk('skopeo', ['copy', '-q', `oci:${u.layout}:v1`, `docker-archive:${archive}:example.com/team/app:v1`]);
    for (const text of [`docker-archive:${archive}`, `docker-archive:${archive}:example.com/team/app:v1`]) {
      const image = await openImageSource(parseSource(text) as Exclude<SourceSpec, { kind: 'dir' }>);
      t.after(() => image.close());
      assert.equal(image.name, 'example.com/team/app', text);
      assert.equal(image.tag, 'v1', text);
      assert.equal(image.reference, text);
      assert.deepEqual(image.layers.map((l) => l.digest), fromDir.config.rootfs?.diff_ids, 'each layer is named by its diff_id');
      assert.ok(Buffer.from(image.configBytes).equals(Buffer.from(fromDir.configBytes)), 'the same config');
      const { tree, warnings } = await squash(image, t);
      assert.deepEqual(treePaths(tree), dirTree, text);
      assert.equal(warnings.filter((w) => /end-of-archive/.test(w)).length, 2);
    }
    const unknown = await rejection(openImageSource(parseSource(`docker-archive:${archive}:other/app:v1`) as Exclude<SourceSpec, { kind: 'dir' }>));
    assert.equal(unknown.code, 'NOT_FOUND');
    assert.match(unknown.message, /example\.com\/team\/app:v1/, 'the message lists what the archive has');

    // A Docker Hub short name: skopeo stores docker.io/library/app:v1; app:v1 finds it.
    const short = join(u.dir, 'short.tar');
    await runOk('skopeo', ['copy', '-q', `oci:${u.layout}:v1`, `docker-archive:${short}:app:v1`]);
    const s = await openImageSource(parseSource(`docker-archive:${short}:app:v1`) as Exclude<SourceSpec, { kind: 'dir' }>);
    assert.equal(s.tag, 'v1');
    await s.close();

    // Tampering with a layer member (same size, still a valid tar): DIGEST_MISMATCH at its end.
    const bytes = readFileSync(archive);
    const at = bytes.indexOf('hello from umoci');
    assert.ok(at > 0, 'fixture: the greeting is stored uncompressed');
    bytes.write('HELLO', at, 'latin1');
    const tampered = join(u.dir, 'tampered.tar');
    writeFileSync(tampered, bytes);
    const image = await openImageSource({ kind: 'docker-archive', text: 'x', path: tampered });
    t.after(() => image.close());
    const err = await rejection(indexLayer(await image.layers[0]!.open(), { want: () => undefined, visit: async () => {}, warn: () => {} }, tempDir(t)));
    assert.ok(err instanceof ImageError);
    assert.equal(err.code, 'DIGEST_MISMATCH');
  });
});

describe('openImageSource on a gzip-compressed docker save archive', () => {
  test('skopeo docker-archive | gzip reads as the plain archive does (Trivy --input image.tar.gz)', async (t) => {
    if (!requireTools(t, 'umoci', 'tar', 'skopeo', 'gzip')) return;
    const u = await umociImage(t);
    const plain = join(u.dir, 'docker.tar');
    await runOk('skopeo', ['copy', '-q', `oci:${u.layout}:v1`, `docker-archive:${plain}:example.com/team/app:v1`]);
    await runOk('gzip', ['-k', '-9', plain]);
    const fromPlain = await openImageSource(parseSource(`docker-archive:${plain}`) as Exclude<SourceSpec, { kind: 'dir' }>);
    t.after(() => fromPlain.close());
    const expected = treePaths((await squash(fromPlain, t)).tree);
    for (const text of [`docker-archive:${plain}.gz`, `docker-archive:${plain}.gz:example.com/team/app:v1`]) {
      const image = await openImageSource(parseSource(text) as Exclude<SourceSpec, { kind: 'dir' }>);
      t.after(() => image.close());
      assert.equal(image.tag, 'v1', text);
      assert.equal(image.digest, fromPlain.digest, 'the same synthesized manifest');
      assert.deepEqual(image.layers.map((l) => l.digest), fromPlain.layers.map((l) => l.digest));
      assert.deepEqual(treePaths((await squash(image, t)).tree), expected, text);
    }
  });

  test('a layer too large to keep is read by inflating the archive again, twice if asked, and verified', async (t) => {
    // A hand-made `docker save` archive (legacy layout) with a 6 MiB incompressible layer.
    const random = prng(7);
    const big = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = Math.floor(random() * 256);
    const layer = Buffer.concat([fileEntry('etc/os-release', 'ID=gzip-test\n'), fileEntry('opt/big.bin', big), END]);
    const diffId = `sha256:${sha256hex(layer)}`;
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: {} }));
    const configName = `${sha256hex(config)}.json`;
    const manifest = JSON.stringify([{ Config: configName, RepoTags: ['gz/app:1'], Layers: ['0123abcd/layer.tar'] }]);
    const archive = Buffer.concat([fileEntry('0123abcd/layer.tar', layer), fileEntry(configName, config), fileEntry('manifest.json', manifest), END]);
    const dir = tempDir(t);
    const file = join(dir, 'image.tar.gz');
    writeFileSync(file, gzipSync(archive));
    const image = await openImageSource({ kind: 'docker-archive', text: `docker-archive:${file}`, path: file });
    t.after(() => image.close());
    assert.equal(image.tag, '1');
    assert.deepEqual(image.layers.map((l) => l.digest), [diffId]);
    for (let round = 0; round < 2; round++) {
      const { files } = await squash(image, t);
      assert.equal(files.get('etc/os-release'), 'ID=gzip-test\n', `round ${round}`);
      assert.equal(files.has('opt/big.bin'), false, 'over the 1 MiB read limit of the squash helper');
    }
    const bytes = await drain(await image.layers[0]!.open());
    assert.equal(`sha256:${sha256hex(bytes)}`, diffId);

    // The same archive cut short: it is not readable, and says so as the plain one does.
    const cut = join(dir, 'cut.tar.gz');
    writeFileSync(cut, gzipSync(archive).subarray(0, 3 * 1024 * 1024));
    const err = await rejection(openImageSource({ kind: 'docker-archive', text: 'x', path: cut }));
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.code, 'SOURCE_INVALID');
  });
});

describe('openImageSource on a docker save archive of the containerd image store', () => {
  test('layers stored compressed (blobs/sha256/<digest of the gzip>) read and verify', async (t) => {
    // Docker with the containerd image store (the default of fresh Docker 29 installs) saves the
    // original, gzip-compressed layer blobs, and manifest.json lists them by blob path.
    if (!requireTools(t, 'umoci', 'tar')) return;
    const u = await umociImage(t);
    const oci = await openImageSource({ kind: 'oci-dir', text: 'x', path: u.layout, tag: 'v1' });
    const expected = treePaths((await squash(oci, t)).tree);
    await oci.close();
    const stage = join(u.dir, 'save');
    cpSync(u.layout, stage, { recursive: true });
    const blob = (d: string): string => `blobs/sha256/${d.slice(7)}`;
    writeFileSync(join(stage, 'manifest.json'), JSON.stringify([{ Config: blob(oci.manifest.config.digest), RepoTags: ['example.com/app:v1'], Layers: oci.manifest.layers.map((l) => blob(l.digest)) }]));
    const archive = join(u.dir, 'containerd-save.tar');
    await runOk('tar', ['-cf', archive, '-C', stage, '.']);
    const image = await openImageSource(parseSource(`docker-archive:${archive}`) as Exclude<SourceSpec, { kind: 'dir' }>);
    t.after(() => image.close());
    assert.equal(image.tag, 'v1');
    assert.deepEqual(treePaths((await squash(image, t)).tree), expected);
  });
});

// ------------------------------------------------------------------ multi-platform

describe('openImageSource on a multi-platform index', () => {
  test('the default linux/amd64, --platform choices, arm64 variant defaults, PLATFORM_NOT_FOUND listing what is offered', async (t) => {
    const dir = tempDir(t);
    const layout = await writeOciLayout(join(dir, 'layout'), { scale: 0.02 });
    const spec = parseSource(`oci-dir:${layout.dir}:${layout.index.tag}`) as Exclude<SourceSpec, { kind: 'dir' }>;
    const [amd64, arm64] = layout.index.manifests;
    const def = await openImageSource(spec);
    assert.equal(def.digest, amd64!.digest);
    assert.equal(def.indexDigest, layout.index.digest);
    assert.deepEqual(def.platform, { os: 'linux', architecture: 'amd64' });
    await def.close();
    for (const p of ['linux/arm64', 'linux/arm64/v8']) {
      const img = await openImageSource(spec, { platform: parsePlatform(p) });
      assert.equal(img.digest, arm64!.digest, p);
      assert.deepEqual(img.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' }, p);
      const { files } = await squash(img, t);
      assert.equal(files.get('opt/ARCH'), 'arm64\n');
      await img.close();
    }
    for (const p of ['linux/arm/v7', 'linux/arm64/v9', 'windows/amd64']) {
      const err = await rejection(openImageSource(spec, { platform: parsePlatform(p) }));
      assert.ok(err instanceof ImageError);
      assert.equal(err.code, 'PLATFORM_NOT_FOUND', p);
      assert.match(err.message, new RegExp(p.replace(/\//g, '\\/')));
      assert.match(err.message, /linux\/amd64, linux\/arm64\/v8/, 'the offered platforms are listed');
    }
  });

  test('an index and a single image from an oci-archive', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const layout = await writeOciLayout(join(dir, 'layout'), { scale: 0.02 });
    const archive = join(dir, 'layout.tar');
    await runOk('tar', ['-cf', archive, '-C', layout.dir, '.']);
    const img = await openImageSource(parseSource(`oci-archive:${archive}:${layout.index.tag}`) as Exclude<SourceSpec, { kind: 'dir' }>, { platform: parsePlatform('linux/arm64') });
    assert.equal(img.digest, layout.index.manifests[1]!.digest);
    await img.close();
    const single = await openImageSource(parseSource(`oci-archive:${archive}:${layout.image.tag}`) as Exclude<SourceSpec, { kind: 'dir' }>);
    assert.equal(single.digest, layout.image.digest);
    assert.equal(single.layers.length, 3);
    const { tree } = await squash(single, t);
    assert.equal(tree.get('etc/motd'), undefined, 'whited out by the top layer');
    assert.equal(tree.get('app/VERSION')?.layer, 2);
    await single.close();
  });
});

// ------------------------------------------------------------------ digests

const blobFile = (layout: string, digest: string): string => join(layout, 'blobs', 'sha256', digest.slice(7));

describe('digest verification', () => {
  test('verified(): passes every byte through, rejects with DIGEST_MISMATCH at the end, sha512 too', async () => {
    const data = Buffer.from('some blob content\n'.repeat(1000));
    const good = `sha256:${sha256hex(data)}`;
    assert.ok((await drain(verified(chunked(data, 333), good))).equals(data));
    const { createHash } = await import('node:crypto');
    const sha512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    assert.ok((await drain(verified(chunked(data, 333), sha512))).equals(data));
    const seen: number[] = [];
    const err = await rejection(
      (async () => {
        for await (const c of verified(chunked(data, 1000), `sha256:${'0'.repeat(64)}`)) seen.push(c.length);
      })(),
    );
    assert.ok(err instanceof ImageError);
    assert.equal(err.code, 'DIGEST_MISMATCH');
    assert.equal(seen.reduce((a, b) => a + b, 0), data.length, 'all bytes came through before the rejection');
  });

  async function tamperedCopy(t: TestContext): Promise<{ layout: string; digestOfTag: string }> {
    const u = await umociImage(t);
    const layout = join(u.dir, 'copy');
    cpSync(u.layout, layout, { recursive: true });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    return { layout, digestOfTag: index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'v1')!.digest };
  }

  function flipByte(file: string, at: number): void {
    const b = readFileSync(file);
    const i = at < 0 ? b.length + at : at;
    b[i] = b[i]! ^ 0x01;
    writeFileSync(file, b);
  }

  test('a tampered layer blob: the image opens, the layer stream rejects with DIGEST_MISMATCH once consumed', async (t) => {
    if (!requireTools(t, 'umoci', 'tar')) return;
    const { layout } = await tamperedCopy(t);
    const clean = await openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' });
    const layer = clean.layers[0]!;
    await clean.close();
    flipByte(blobFile(layout, layer.digest), -10);
    const image = await openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' });
    t.after(() => image.close());
    const err = await rejection(drain(await image.layers[0]!.open()));
    assert.ok(err instanceof ImageError);
    assert.equal(err.code, 'DIGEST_MISMATCH');
    assert.match(err.message, new RegExp(layer.digest));
    // The untouched layers still read.
    await drain(await image.layers[1]!.open());
  });

  test('a tampered config or manifest: DIGEST_MISMATCH when the image is opened; a missing blob: NOT_FOUND', async (t) => {
    if (!requireTools(t, 'umoci', 'tar')) return;
    {
      const { layout } = await tamperedCopy(t);
      const clean = await openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' });
      await clean.close();
      const configFile = blobFile(layout, clean.manifest.config.digest);
      const config = readFileSync(configFile, 'utf8');
      writeFileSync(configFile, config.replace('"amd64"', '"arm64"'));
      const err = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' }));
      assert.equal(err.code, 'DIGEST_MISMATCH', err.message);
    }
    {
      const { layout, digestOfTag } = await tamperedCopy(t);
      const file = blobFile(layout, digestOfTag);
      writeFileSync(file, `${readFileSync(file, 'utf8')} `);
      const err = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' }));
      assert.equal(err.code, 'DIGEST_MISMATCH', err.message);
    }
    {
      const { layout } = await tamperedCopy(t);
      const clean = await openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' });
      await clean.close();
      const { rmSync } = await import('node:fs');
      rmSync(blobFile(layout, clean.layers[2]!.digest));
      const image = await openImageSource({ kind: 'oci-dir', text: 'x', path: layout, tag: 'v1' });
      const err = await rejection(image.layers[2]!.open());
      assert.equal(err.code, 'NOT_FOUND');
      await image.close();
    }
  });

  test('a tampered platform manifest under an index: DIGEST_MISMATCH', async (t) => {
    const dir = tempDir(t);
    const layout = await writeOciLayout(join(dir, 'layout'), { scale: 0.02 });
    const amd64 = layout.index.manifests[0]!;
    const file = blobFile(layout.dir, amd64.digest);
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n`);
    const err = await rejection(openImageSource({ kind: 'oci-dir', text: 'x', path: layout.dir, tag: layout.index.tag }));
    assert.equal(err.code, 'DIGEST_MISMATCH', err.message);
  });
});

describe('oci-archive member offsets', () => {
  test('every blob streamed from a GNU tar archive equals the file it was made from (pax headers and long names before it)', async (t) => {
    if (!requireTools(t, 'tar')) return;
    const dir = tempDir(t);
    const layout = await writeOciLayout(join(dir, 'layout'), { scale: 0.02 });
    // A pax archive with an extra long-named member before the blobs shifts every offset.
    writeFileSync(join(layout.dir, `${'z'.repeat(150)}.txt`), 'padding member\n');
    const archive = join(dir, 'layout.tar');
    await runOk('tar', ['--format=posix', '--sort=name', '-cf', archive, '-C', layout.dir, '.']);
    const offsets = new Map<string, number>();
    await readTar(chunked(readFileSync(archive), 65536), (h) => void offsets.set(h.name, h.offset));
    assert.ok([...offsets.keys()].some((n) => n.includes('zzzz')));
    const img = await openImageSource({ kind: 'oci-archive', text: 'x', path: archive, tag: layout.image.tag });
    for (const l of img.layers) {
      const got = await drain(await l.open());
      assert.ok(got.equals(readFileSync(blobFile(layout.dir, l.digest))), l.digest);
    }
    await img.close();
    // And a walk of each layer succeeds (gzip inflates, tar parses).
    for (const l of img.layers) await walkLayer(decompressed(await l.open()), () => undefined);
  });
});
