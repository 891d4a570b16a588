/**
 * Reading SBOMs back into inventories (`readSbom`): inventories written by Portcullis's own
 * writers come back with every fact the matcher needs; documents in the shapes Trivy and Syft
 * emit (test/fixtures/sbom/read/, see its README) give the packages, sources, epochs, distro and
 * layers those tools state; bad input fails with a typed error.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AppError } from '../../src/shared/index.js';
import { formatInventory, purlOf, readSbom, SbomError, type Distro, type ImageSubject, type Inventory, type Package, type RawPackage, type SbomErrorCode } from '../../src/sbom/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/sbom/read/${name}`, import.meta.url), 'utf8');
const hex = (seed: string): string => createHash('sha256').update(seed).digest('hex');
const LAYER_1 = `sha256:${hex('layer-1')}`;
const LAYER_2 = `sha256:${hex('layer-2')}`;
const OPTIONS = { toolVersion: 'test', timestamp: new Date('2024-05-06T07:08:09Z'), serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79', namespaceId: 'ns' } as const;

// ---------------------------------------------------------------------------------------------
// Round trip through Portcullis's own writers

/** A package as the assembler makes it: purl from purlOf, id `<type>-<name>-<12 hex>`. */
function pkg(raw: RawPackage, distro: Distro, extra: { id?: string; dependsOn?: readonly string[] } = {}): Package {
  const purl = purlOf(raw, distro);
  const { root, ...facts } = raw;
  void root;
  return {
    ...facts,
    id: extra.id ?? `${`${raw.type}-${raw.name}`.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 60)}-${hex(purl).slice(0, 12)}`,
    purl,
    licenses: raw.licenses ?? [],
    locations: raw.locations ?? [],
    dependsOn: [...(extra.dependsOn ?? [])].sort(),
  };
}

const SUBJECT: ImageSubject = {
  reference: 'registry.example.com/team/app:1.2.3',
  name: 'registry.example.com/team/app',
  tag: '1.2.3',
  digest: `sha256:${hex('manifest')}`,
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  layers: [{ digest: LAYER_1, diffId: `sha256:${hex('diff-1')}`, size: 100 }, { digest: LAYER_2, size: 200 }],
};

function debianInventory(): Inventory {
  const distro: Distro = { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' };
  const status = [{ path: 'var/lib/dpkg/status', layer: LAYER_1 }];
  const libc6 = pkg({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64', source: { name: 'glibc', version: '2.36-9+deb12u4' }, licenses: ['LGPL-2.1-or-later', 'GPL-2.0-or-later'], locations: status, properties: { maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>' } }, distro);
  // A binNMU: epoch in the version, the source at another version.
  const attr = pkg({ type: 'deb', name: 'attr', version: '1:2.5.1-4+b1', epoch: 1, arch: 'amd64', source: { name: 'attr', version: '1:2.5.1-4' }, locations: status }, distro);
  const tzdata = pkg({ type: 'deb', name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all', source: { name: 'tzdata', version: '2024a-0+deb12u1' }, locations: status }, distro);
  const tslib = pkg({ type: 'npm', name: 'tslib', version: '2.6.2', licenses: ['0BSD'], locations: [{ path: 'app/package-lock.json', layer: LAYER_2 }] }, distro);
  const core = pkg(
    { type: 'npm', namespace: '@angular', name: 'core', version: '17.3.0', licenses: ['MIT'], locations: [{ path: 'app/package-lock.json', layer: LAYER_2 }, { path: 'app/node_modules/@angular/core/package.json', layer: LAYER_2 }] },
    distro,
    { dependsOn: [tslib.id] },
  );
  const django = pkg({ type: 'pypi', name: 'Django_Rest', version: '3.14.0', locations: [{ path: 'usr/lib/python3/dist-packages/Django_Rest-3.14.0.dist-info/METADATA', layer: LAYER_2 }] }, distro);
  const mux = pkg({ type: 'golang', name: 'github.com/gorilla/mux', version: 'v1.8.1', locations: [{ path: 'usr/local/bin/server', layer: LAYER_2 }] }, distro);
  const stdlib = pkg({ type: 'golang', name: 'stdlib', version: 'go1.22.1', locations: [{ path: 'usr/local/bin/server', layer: LAYER_2 }] }, distro);
  const log4j = pkg({ type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.17.1', licenses: ['Apache-2.0'], locations: [{ path: 'opt/app/lib/log4j-core-2.17.1.jar' }] }, distro);
  return { subject: SUBJECT, distro, packages: [libc6, attr, tzdata, tslib, core, django, mux, stdlib, log4j], warnings: [] };
}

function alpineInventory(): Inventory {
  const distro: Distro = { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19' };
  const installed = [{ path: 'lib/apk/db/installed', layer: LAYER_1 }];
  const musl = pkg({ type: 'apk', name: 'musl', version: '1.2.4_git20230717-r4', arch: 'x86_64', source: { name: 'musl', version: '1.2.4_git20230717-r4' }, licenses: ['MIT'], locations: installed }, distro);
  const libcrypto = pkg({ type: 'apk', name: 'libcrypto3', version: '3.1.4-r5', arch: 'x86_64', source: { name: 'openssl', version: '3.1.4-r5' }, licenses: ['Apache-2.0'], locations: installed }, distro, { dependsOn: [musl.id] });
  const binsh = pkg({ type: 'apk', name: 'busybox-binsh', version: '1.36.1-r15', arch: 'x86_64', source: { name: 'busybox', version: '1.36.1-r15' }, locations: installed }, distro);
  return { subject: { reference: 'alpine:3.19', name: 'alpine', tag: '3.19', layers: [{ digest: LAYER_1 }] }, distro, packages: [musl, libcrypto, binsh], warnings: [] };
}

function rhelInventory(): Inventory {
  const distro: Distro = { id: 'rhel', versionId: '9.4' };
  const db = [{ path: 'var/lib/rpm/rpmdb.sqlite', layer: LAYER_1 }];
  const ssl = pkg({ type: 'rpm', name: 'openssl-libs', version: '3.0.7-27.el9', epoch: 1, arch: 'x86_64', source: { name: 'openssl', version: '3.0.7-27.el9' }, licenses: ['Apache-2.0'], locations: db }, distro);
  const bash = pkg({ type: 'rpm', name: 'bash', version: '5.1.8-9.el9', arch: 'x86_64', source: { name: 'bash', version: '5.1.8-9.el9' }, locations: db }, distro);
  return { subject: { reference: 'ubi9:latest', name: 'ubi9', tag: 'latest', digest: `sha256:${hex('ubi9')}`, layers: [{ digest: LAYER_1 }] }, distro, packages: [ssl, bash], warnings: [] };
}

/** Packages of the lockfile ecosystems, with the purl qualifiers their catalogers set (conda, julia, conan, pub). */
function lockfileInventory(): Inventory {
  const distro: Distro = { id: 'debian', versionId: '12' };
  const at = (path: string): { path: string; layer: string }[] => [{ path, layer: LAYER_2 }];
  const mime = pkg({ type: 'hex', name: 'mime', version: '2.0.3', locations: at('app/mix.lock') }, distro);
  const plug = pkg({ type: 'hex', name: 'plug', version: '1.14.2', locations: at('app/mix.lock') }, distro, { dependsOn: [mime.id] });
  const kit = pkg({ type: 'pub', name: 'internal_kit', version: '1.10.0', qualifiers: { repository_url: 'https://dart.example.com/api/packages' }, properties: { dependency: 'direct main' }, locations: at('app/pubspec.lock') }, distro);
  const nio = pkg({ type: 'swift', namespace: 'github.com/apple', name: 'swift-nio', version: '2.40.0', properties: { revision: '124119f0bb12384cef35aa041d7c3a686108722d' }, locations: at('app/Package.resolved') }, distro);
  const fmt = pkg({ type: 'conan', namespace: 'corp', name: 'fmt', version: '10.2.1', qualifiers: { channel: 'stable' }, locations: at('src/conan.lock') }, distro);
  const pod = pkg({ type: 'cocoapods', name: 'Firebase', version: '10.3.0', properties: { subspecs: 'Analytics,Core' }, locations: at('ios/Podfile.lock') }, distro);
  const zstd = pkg({ type: 'conda', name: 'zstd', version: '1.4.4', qualifiers: { build: 'h3b9ef0a_1', channel: 'conda-forge', subdir: 'linux-64', type: 'tar.bz2' }, licenses: ['BSD-3-Clause'], locations: at('opt/conda/conda-meta/zstd-1.4.4-h3b9ef0a_1.json') }, distro);
  const json = pkg({ type: 'julia', name: 'JSON', version: '0.21.4', qualifiers: { uuid: '682c06a0-de6a-54ab-a142-c8b1cf79cde6' }, locations: at('app/Manifest.toml') }, distro);
  return { subject: SUBJECT, distro, packages: [mime, plug, kit, nio, fmt, pod, zstd, json], warnings: [] };
}

const byPurl = (a: Package, b: Package): number => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0);

/** What the matcher and the report need of a package. */
function matcherFacts(p: Package): Record<string, unknown> {
  return {
    id: p.id,
    type: p.type,
    namespace: p.namespace,
    name: p.name,
    version: p.version,
    source: p.source,
    arch: p.arch,
    epoch: p.epoch,
    purl: p.purl,
    locations: p.locations,
    dependsOn: p.dependsOn,
    licenses: [...p.licenses].sort(),
  };
}

for (const [label, make] of [['debian', debianInventory], ['alpine', alpineInventory], ['rhel', rhelInventory], ['lockfiles', lockfileInventory]] as const) {
  test(`round trip through Portcullis's CycloneDX (${label}): every package fact comes back`, () => {
    const inventory = make();
    const doc = readSbom(formatInventory(inventory, 'cyclonedx-json', OPTIONS));
    assert.equal(doc.format, 'cyclonedx-json');
    assert.equal(doc.specVersion, '1.6');
    const { inventory: read } = doc;
    assert.deepEqual(read.warnings, []);
    assert.deepEqual(read.distro, inventory.distro);
    // Everything but licenses (which the CycloneDX library may reorder) is equal as written.
    const normalize = (p: Package): Package => ({ ...p, licenses: [...p.licenses].sort() });
    assert.deepEqual(read.packages.map(normalize), [...inventory.packages].sort(byPurl).map(normalize));
    const s = inventory.subject;
    assert.deepEqual(read.subject, {
      reference: s.reference,
      ...(s.name !== undefined ? { name: s.name } : {}),
      ...(s.tag !== undefined ? { tag: s.tag } : {}),
      ...(s.digest !== undefined ? { digest: s.digest } : {}),
      ...(s.platform !== undefined ? { platform: s.platform } : {}),
      layers: s.layers.map((l) => ({ digest: l.digest })),
    });
  });

  test(`round trip through Portcullis's SPDX (${label}): the matcher's facts come back`, () => {
    const inventory = make();
    const doc = readSbom(formatInventory(inventory, 'spdx-json', OPTIONS));
    assert.equal(doc.format, 'spdx-json');
    assert.equal(doc.specVersion, '2.3');
    const { inventory: read } = doc;
    assert.deepEqual(read.warnings, []);
    assert.deepEqual(read.distro, inventory.distro);
    assert.deepEqual(read.packages.map(matcherFacts), [...inventory.packages].sort(byPurl).map(matcherFacts));
    assert.equal(read.subject.name, inventory.subject.name);
    // SPDX keeps the tag only in the image's pkg:oci purl, which needs a digest.
    assert.equal(read.subject.tag, inventory.subject.digest !== undefined ? inventory.subject.tag : undefined);
    assert.equal(read.subject.digest, inventory.subject.digest);
    assert.equal(read.subject.reference, inventory.subject.digest !== undefined ? inventory.subject.reference : inventory.subject.name);
  });
}

test('the parsed document is accepted as well as its text, and the result is stable', () => {
  const text = formatInventory(debianInventory(), 'cyclonedx-json', OPTIONS);
  assert.deepEqual(readSbom(JSON.parse(text) as object), readSbom(text));
});

// ---------------------------------------------------------------------------------------------
// Foreign shapes

function find(inventory: Inventory, name: string): Package {
  const p = inventory.packages.find((x) => x.name === name);
  assert.ok(p, `no package ${name} in ${inventory.packages.map((x) => x.name).join(', ')}`);
  return p;
}

test('Trivy CycloneDX of a Debian image: Src* properties, epoch, OS component, layer digests', () => {
  const { format, specVersion, inventory } = readSbom(fixture('trivy-debian.cdx.json'), 'trivy-debian.cdx.json');
  assert.equal(format, 'cyclonedx-json');
  assert.equal(specVersion, '1.6');
  assert.deepEqual(inventory.distro, { id: 'debian', versionId: '12.5' });
  assert.deepEqual(inventory.subject, {
    reference: 'registry.example.com/team/app:1.0',
    name: 'registry.example.com/team/app',
    tag: '1.0',
    digest: 'sha256:6c635d72a22dd3eebd44a9483349d1a52419a334167c38aebdd9cb3ac13097c6',
    layers: [],
  });
  // The application component (no purl) groups the Go packages: not a package, not a warning.
  assert.deepEqual(inventory.warnings, []);
  assert.deepEqual(inventory.packages.map((p) => `${p.type}:${p.namespace ?? ''}:${p.name}@${p.version}`).sort(), [
    'deb::libc6@2.36-9+deb12u4',
    'deb::libssl3@3.0.11-1~deb12u2',
    'deb::login@1:4.13+dfsg1-1+b1',
    'golang::github.com/gorilla/mux@v1.8.1',
    'golang::stdlib@v1.22.1',
    'maven:org.apache.logging.log4j:log4j-core@2.17.1',
  ]);
  const os = 'sha256:74069005f0496b9a3dd6f8665bc0931ee74b0fc8ca1073cd76107765bd71313d';
  const libssl = find(inventory, 'libssl3');
  assert.deepEqual(libssl.source, { name: 'openssl', version: '3.0.11-1~deb12u2' });
  assert.equal(libssl.arch, 'amd64');
  assert.deepEqual(libssl.locations, [{ path: '', layer: os }]);
  assert.deepEqual(find(inventory, 'libc6').source, { name: 'glibc', version: '2.36-9+deb12u4' });
  // Licenses normalized as the catalogers' are (GPL-2.0+ is deprecated SPDX).
  assert.deepEqual(find(inventory, 'libc6').licenses, ['LGPL-2.1-or-later', 'GPL-2.0-or-later']);
  const login = find(inventory, 'login');
  assert.equal(login.epoch, 1);
  assert.deepEqual(login.source, { name: 'shadow', version: '1:4.13+dfsg1-1' });
  assert.equal(login.purl, 'pkg:deb/debian/login@4.13+dfsg1-1+b1?arch=amd64&distro=debian-12.5&epoch=1');
  assert.deepEqual(find(inventory, 'log4j-core').locations, [{ path: 'opt/app/lib/log4j-core-2.17.1.jar', layer: 'sha256:9d2c46a22ef1b41cf05de0a7008966ce0900f7c0dc2782f47b0bd6813852a7c5' }]);
  // Dependencies between packages survive; the OS and application components are not packages.
  const libc6 = find(inventory, 'libc6');
  assert.deepEqual(libssl.dependsOn, [libc6.id]);
  assert.deepEqual(login.dependsOn, [libc6.id]);
  assert.deepEqual(find(inventory, 'github.com/gorilla/mux').dependsOn, []);
  // Ids are unique and usable as SPDX ids even though Trivy's bom-refs are purls.
  assert.equal(new Set(inventory.packages.map((p) => p.id)).size, inventory.packages.length);
  for (const p of inventory.packages) assert.match(p.id, /^[A-Za-z0-9.-]+$/);
});

test('Syft CycloneDX of a Debian image: upstream and distro qualifiers, locations, duplicates merged', () => {
  const { inventory } = readSbom(fixture('syft-debian.cdx.json'));
  assert.deepEqual(inventory.distro, { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  assert.deepEqual(inventory.subject, { reference: 'debian:12', name: 'debian', tag: '12', digest: 'sha256:cfee6be739c5de4a1916dd11b15401fcdf3d1decf462d2c1f0dcc178d27fb2bd', layers: [] });
  const layer1 = 'sha256:7345905e5529a516f3c763e70b9769fb2537aa67cc3155973b3af66d93a88647';
  const layer2 = 'sha256:52c1c0f54a2e01f61c034227ac82fae99445d72fc83ffc8e80e97c62e24d3c25';
  const libc6 = find(inventory, 'libc6');
  assert.deepEqual(libc6.source, { name: 'glibc', version: '2.36-9+deb12u4' });
  assert.deepEqual(libc6.locations, [{ path: 'usr/share/doc/libc6/copyright', layer: layer1 }, { path: 'var/lib/dpkg/status', layer: layer1 }]);
  // The purl as packageurl-js writes it (as purlOf does): qualifiers sorted, Syft's package-id gone.
  assert.equal(libc6.purl, 'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12&upstream=glibc');
  const login = find(inventory, 'login');
  assert.equal(login.version, '1:4.13+dfsg1-1+b1');
  assert.equal(login.epoch, 1);
  assert.deepEqual(login.source, { name: 'shadow', version: '1:4.13+dfsg1-1' });
  assert.deepEqual(login.dependsOn, [libc6.id]);
  // The same npm package in two node_modules trees: one package, both locations.
  const cliui = inventory.packages.filter((p) => p.type === 'npm');
  assert.equal(cliui.length, 1);
  assert.equal(cliui[0]!.namespace, '@isaacs');
  assert.equal(cliui[0]!.name, 'cliui');
  assert.deepEqual(cliui[0]!.locations, [
    { path: 'usr/local/lib/node_modules/npm/node_modules/@isaacs/cliui/package.json', layer: layer2 },
    { path: 'app/node_modules/@isaacs/cliui/package.json', layer: layer2 },
  ]);
  assert.deepEqual(
    inventory.packages.filter((p) => p.type === 'golang').map((p) => [p.name, p.namespace, p.version]),
    [['github.com/gorilla/mux', undefined, 'v1.8.1'], ['stdlib', undefined, 'go1.22.1']],
  );
  // The binary found by Syft's classifier (pkg:generic) is not matchable: counted, not read.
  assert.deepEqual(inventory.warnings, ['1 package of purl types Portcullis does not match skipped (generic ×1)']);
  assert.equal(inventory.packages.length, 5);
});

test('Syft SPDX 2.3 of a UBI 9 image: rpm epoch and source rpm, distro from the purls, DEPENDENCY_OF', () => {
  const { format, specVersion, inventory } = readSbom(fixture('syft-ubi9.spdx.json'));
  assert.equal(format, 'spdx-json');
  assert.equal(specVersion, '2.3');
  assert.deepEqual(inventory.distro, { id: 'rhel', versionId: '9.4' });
  assert.deepEqual(inventory.subject, {
    reference: 'registry.access.redhat.com/ubi9/ubi-minimal:9.4',
    name: 'registry.access.redhat.com/ubi9/ubi-minimal',
    tag: '9.4',
    digest: 'sha256:3165380a4cd7a4f995ddf753ba9bd09871cca3d0dd19d724146950df6c260340',
    layers: [],
  });
  assert.deepEqual(inventory.warnings, []);
  const ssl = find(inventory, 'openssl-libs');
  assert.equal(ssl.version, '3.0.7-27.el9');
  assert.equal(ssl.epoch, 1);
  assert.equal(ssl.arch, 'x86_64');
  assert.equal(ssl.namespace, undefined);
  assert.deepEqual(ssl.source, { name: 'openssl', version: '3.0.7-27.el9' });
  assert.deepEqual(ssl.locations, [{ path: 'var/lib/rpm/rpmdb.sqlite' }]);
  assert.deepEqual(ssl.licenses, ['Apache-2.0']);
  const curl = find(inventory, 'libcurl-minimal');
  assert.deepEqual(curl.source, { name: 'curl', version: '7.76.1-29.el9_4' });
  assert.equal(curl.epoch, undefined);
  // openssl-libs DEPENDENCY_OF libcurl-minimal: curl depends on openssl; the file relation is not a dependency.
  assert.deepEqual(curl.dependsOn, [ssl.id]);
  assert.deepEqual(ssl.dependsOn, []);
  assert.equal(ssl.id, 'rpm-openssl-libs-3c4a6b2e1f0d9a88');
  const yaml = find(inventory, 'PyYAML');
  assert.equal(yaml.type, 'pypi');
  assert.equal(yaml.purl, 'pkg:pypi/pyyaml@6.0.1');
  assert.deepEqual(yaml.locations, [{ path: 'usr/lib64/python3.9/site-packages/PyYAML-6.0.1.dist-info/METADATA' }, { path: 'usr/lib64/python3.9/site-packages/PyYAML-6.0.1.dist-info/RECORD' }]);
  assert.equal(inventory.packages.length, 3);
});

test('Syft CycloneDX of an Alpine image: apk origin from upstream (or the package itself)', () => {
  const { specVersion, inventory } = readSbom(fixture('syft-alpine.cdx.json'));
  assert.equal(specVersion, '1.5');
  assert.deepEqual(inventory.distro, { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19' });
  const sources = Object.fromEntries(inventory.packages.map((p) => [p.name, p.source]));
  assert.deepEqual(sources, {
    busybox: { name: 'busybox', version: '1.36.1-r15' },
    libcrypto3: { name: 'openssl', version: '3.1.4-r5' },
    ssl_client: { name: 'busybox', version: '1.36.1-r15' },
  });
  assert.deepEqual(find(inventory, 'ssl_client').dependsOn, [find(inventory, 'libcrypto3').id]);
  assert.deepEqual(find(inventory, 'libcrypto3').locations, [{ path: 'lib/apk/db/installed', layer: 'sha256:8c4018066c1d0dfde081b294dabfc6aecfd12c443fb930d4294ad8f9e5872623' }]);
});

test('without an OS component the distro comes from the purl qualifier, also in Trivy’s bare-version apk form', () => {
  const doc = (purl: string): object => ({ bomFormat: 'CycloneDX', specVersion: '1.4', components: [{ type: 'library', name: 'x', version: '1', purl }] });
  const cases: [string, Distro][] = [
    ['pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.19.1', { id: 'alpine', versionId: '3.19.1' }],
    ['pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1', { id: 'alpine', versionId: '3.19.1' }],
    ['pkg:deb/ubuntu/bash@5.1-6ubuntu1?distro=ubuntu-22.04', { id: 'ubuntu', versionId: '22.04' }],
    ['pkg:rpm/redhat/bash@5.1.8-9.el9?distro=redhat-9.4', { id: 'rhel', versionId: '9.4' }],
    ['pkg:rpm/opensuse/bash@5.2.15-150500.3.2?distro=opensuse-leap-15.5', { id: 'opensuse-leap', versionId: '15.5' }],
  ];
  for (const [purl, distro] of cases) assert.deepEqual(readSbom(doc(purl)).inventory.distro, distro, purl);
  assert.equal(readSbom(doc('pkg:npm/left-pad@1.3.0')).inventory.distro, undefined);
});

test('nested CycloneDX components are read; an identical package twice is one package with one location', () => {
  const component = {
    type: 'library',
    name: 'lodash',
    version: '4.17.21',
    purl: 'pkg:npm/lodash@4.17.21',
    properties: [{ name: 'syft:location:0:path', value: '/app/package-lock.json' }],
  };
  const { inventory } = readSbom({
    bomFormat: 'CycloneDX',
    specVersion: '1.2',
    components: [{ type: 'application', name: 'app', components: [component, { ...component, components: [{ type: 'library', name: 'ms', version: '2.1.3', purl: 'pkg:npm/ms@2.1.3' }] }] }],
  });
  assert.deepEqual(
    inventory.packages.map((p) => [p.name, p.locations]),
    [['lodash', [{ path: 'app/package-lock.json' }]], ['ms', []]],
  );
  assert.equal(inventory.subject.reference, 'sbom');
});

// ---------------------------------------------------------------------------------------------
// Bad input

function assertSbomError(fn: () => unknown, code: SbomErrorCode, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SbomError);
    assert.ok(err instanceof AppError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

test('bad input fails with a typed error naming what is wrong and what is supported', () => {
  assertSbomError(() => readSbom('this is { not json', 'x.json'), 'SBOM_INVALID', /^x\.json: not JSON .*CycloneDX JSON/);
  assertSbomError(() => readSbom(''), 'SBOM_INVALID', /not JSON/);
  assertSbomError(() => readSbom('{"artifacts": [], "schema": {"url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.0.json"}}'), 'SBOM_UNSUPPORTED', /neither CycloneDX .* nor SPDX.*SPDX 2\.2\/2\.3 JSON/);
  assertSbomError(() => readSbom('[1, 2]'), 'SBOM_UNSUPPORTED', /not an object/);
  assertSbomError(
    () => readSbom('<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.5" serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version="1">\n  <components/>\n</bom>\n'),
    'SBOM_UNSUPPORTED',
    /CycloneDX XML is not supported; Portcullis reads CycloneDX JSON/,
  );
  assertSbomError(
    () => readSbom('SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: alpine\n\nPackageName: musl\nSPDXID: SPDXRef-Package-musl\nPackageVersion: 1.2.4-r2\n'),
    'SBOM_UNSUPPORTED',
    /SPDX tag-value is not supported; Portcullis reads .*SPDX 2\.2\/2\.3 JSON/,
  );
  assertSbomError(() => readSbom({ bomFormat: 'CycloneDX', components: [] }), 'SBOM_INVALID', /without specVersion/);
  assertSbomError(() => readSbom({ bomFormat: 'CycloneDX', specVersion: '1.6', components: {} }), 'SBOM_INVALID', /components is not an array/);
  assertSbomError(() => readSbom({ bomFormat: 'CycloneDX', specVersion: '2.0' }), 'SBOM_UNSUPPORTED', /CycloneDX 2\.0 is not supported/);
  assertSbomError(() => readSbom({ spdxVersion: 'SPDX-3.0', packages: [] }), 'SBOM_UNSUPPORTED', /SPDX-3\.0 is not supported/);
  assertSbomError(() => readSbom({ '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld', '@graph': [] }), 'SBOM_UNSUPPORTED', /SPDX 3 JSON-LD/);
});

test('a component with a broken purl is skipped with a warning naming it; the rest is read', () => {
  const { inventory } = readSbom({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    components: [
      { type: 'library', name: 'good', version: '1.0.0', purl: 'pkg:npm/good@1.0.0' },
      { type: 'library', name: 'broken', version: '2.0.0', purl: 'npm/broken@2.0.0' },
      { type: 'library', name: 'nameless', version: '3.0.0', purl: 'pkg:npm/' },
      { type: 'library', name: 'no-purl', version: '4.0.0' },
      { type: 'library', name: 'cran-thing', version: '1.0', purl: 'pkg:cran/zlib@1.3' },
    ],
  });
  assert.deepEqual(inventory.packages.map((p) => p.name), ['good']);
  assert.equal(inventory.warnings.length, 4);
  assert.equal(inventory.warnings[0], '1 package has no purl: skipped');
  assert.equal(inventory.warnings[1], '1 package of purl types Portcullis does not match skipped (cran ×1)');
  assert.match(inventory.warnings[2]!, /^skipped "broken": purl "npm\/broken@2\.0\.0" does not parse/);
  assert.match(inventory.warnings[3]!, /^skipped "nameless": purl "pkg:npm\/" does not parse/);
});
