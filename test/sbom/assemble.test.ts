/**
 * `purlOf` and `assembleInventory`. Purls are checked against the examples of the purl spec
 * (package-url/purl-spec, PURL-TYPES.rst): exactly where our qualifiers agree with the example,
 * component by component (parsed with packageurl-js) where the spec leaves the encoding or the
 * qualifier order open ("It is OK to percent-encode purl components otherwise").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PackageURL } from 'packageurl-js';
import { assembleInventory, packageKey, purlOf, type Distro, type Finding, type ImageSubject, type LocatedFindings, type RawPackage } from '../../src/sbom/index.js';

const DEBIAN_12: Distro = { id: 'debian', versionId: '12', versionCodename: 'bookworm' };
const ALPINE: Distro = { id: 'alpine', versionId: '3.19.1' };
const FEDORA_25: Distro = { id: 'fedora', versionId: '25' };

/** The parsed components of a purl, qualifiers as a sorted list: equal iff the purls are the same package. */
function components(purl: string): unknown {
  const p = PackageURL.fromString(purl);
  return {
    type: p.type,
    namespace: p.namespace ?? undefined,
    name: p.name,
    version: p.version ?? undefined,
    qualifiers: Object.entries(p.qualifiers ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)),
    subpath: p.subpath ?? undefined,
  };
}

function assertSamePurl(actual: string, expected: string): void {
  assert.deepEqual(components(actual), components(expected), `${actual} vs ${expected}`);
}

/** Qualifier keys in canonical (sorted) order, as the spec's "How to build" requires. */
function assertCanonicalQualifierOrder(purl: string): void {
  const q = purl.split('?')[1];
  if (q === undefined) return;
  const keys = q.split('#')[0]!.split('&').map((kv) => kv.split('=')[0]!);
  assert.deepEqual(keys, [...keys].sort(), `${purl}: qualifiers sorted`);
}

// ---------------------------------------------------------------------------------------------
// purlOf, ecosystem by ecosystem

test('purlOf deb: the spec examples', () => {
  // pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie — our distro qualifier is <id>-<VERSION_ID>.
  assert.equal(purlOf({ type: 'deb', name: 'curl', version: '7.50.3-1', arch: 'i386' }, { id: 'debian', versionId: '8' }), 'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=debian-8');
  assert.equal(purlOf({ type: 'deb', name: 'curl', version: '7.50.3-1', arch: 'i386' }, DEBIAN_12), 'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=debian-12');
  // pkg:deb/ubuntu/dpkg@1.19.0.4?arch=amd64: the namespace is the distro's id.
  assert.equal(purlOf({ type: 'deb', name: 'dpkg', version: '1.19.0.4', arch: 'amd64' }, { id: 'ubuntu', versionId: '22.04' }), 'pkg:deb/ubuntu/dpkg@1.19.0.4?arch=amd64&distro=ubuntu-22.04');
  // Without a distro: debian, and no distro qualifier.
  assert.equal(purlOf({ type: 'deb', name: 'dpkg', version: '1.19.0.4', arch: 'amd64' }, undefined), 'pkg:deb/debian/dpkg@1.19.0.4?arch=amd64');
  // A distro without VERSION_ID: the id alone.
  assert.equal(purlOf({ type: 'deb', name: 'dpkg', version: '1.19.0.4', arch: 'amd64' }, { id: 'debian' }), 'pkg:deb/debian/dpkg@1.19.0.4?arch=amd64&distro=debian');
  // pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64 — the epoch stays in the deb version (it is part of it).
  const attr = purlOf({ type: 'deb', name: 'attr', version: '1:2.4.47-2+b1', epoch: 1, arch: 'amd64', source: { name: 'attr', version: '1:2.4.47-2+b1' } }, undefined);
  assertSamePurl(attr, 'pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64');
  assert.equal(PackageURL.fromString(attr).version, '1:2.4.47-2+b1');
  // No epoch qualifier for deb: dpkg versions carry it.
  assert.equal(PackageURL.fromString(attr).qualifiers?.['epoch'], undefined);
});

test('purlOf apk: the spec examples, with our distro qualifier', () => {
  assert.equal(purlOf({ type: 'apk', name: 'curl', version: '7.83.0-r0', arch: 'x86' }, undefined), 'pkg:apk/alpine/curl@7.83.0-r0?arch=x86');
  assert.equal(purlOf({ type: 'apk', name: 'apk', version: '2.12.9-r3', arch: 'x86' }, undefined), 'pkg:apk/alpine/apk@2.12.9-r3?arch=x86');
  assert.equal(purlOf({ type: 'apk', name: 'curl', version: '7.83.0-r0', arch: 'x86' }, ALPINE), 'pkg:apk/alpine/curl@7.83.0-r0?arch=x86&distro=alpine-3.19.1');
  assert.equal(purlOf({ type: 'apk', name: 'curl', version: '8.5.0-r0', arch: 'aarch64' }, { id: 'wolfi' }), 'pkg:apk/wolfi/curl@8.5.0-r0?arch=aarch64&distro=wolfi');
});

test('purlOf rpm: the spec examples, epoch as a qualifier (only when not 0)', () => {
  assert.equal(purlOf({ type: 'rpm', name: 'curl', version: '7.50.3-1.fc25', arch: 'i386' }, FEDORA_25), 'pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25');
  // pkg:rpm/centerim@4.22.10-1.el6?arch=i686&epoch=1&distro=fedora-25 (the example's qualifiers are not in canonical order).
  const centerim = purlOf({ type: 'rpm', name: 'centerim', version: '4.22.10-1.el6', arch: 'i686', epoch: 1 }, undefined);
  assertSamePurl(centerim, 'pkg:rpm/centerim@4.22.10-1.el6?arch=i686&epoch=1');
  const withDistro = purlOf({ type: 'rpm', name: 'centerim', version: '4.22.10-1.el6', arch: 'i686', epoch: 1 }, FEDORA_25);
  assert.equal(withDistro, 'pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1');
  assertCanonicalQualifierOrder(withDistro);
  assert.equal(purlOf({ type: 'rpm', name: 'bash', version: '5.1.8-9.el9', arch: 'x86_64', epoch: 0 }, { id: 'rhel', versionId: '9.4' }), 'pkg:rpm/rhel/bash@5.1.8-9.el9?arch=x86_64&distro=rhel-9.4');
  // The rpm name is case sensitive.
  assert.equal(purlOf({ type: 'rpm', name: 'NetworkManager', version: '1.46.0-1.el9', arch: 'x86_64', epoch: 1 }, { id: 'rhel', versionId: '9.4' }), 'pkg:rpm/rhel/NetworkManager@1.46.0-1.el9?arch=x86_64&distro=rhel-9.4&epoch=1');
});

test('purlOf npm: the spec examples, scope encoded as %40', () => {
  assert.equal(purlOf({ type: 'npm', name: 'foobar', version: '12.3.1' }, undefined), 'pkg:npm/foobar@12.3.1');
  assert.equal(purlOf({ type: 'npm', namespace: '@angular', name: 'animation', version: '12.3.1' }, undefined), 'pkg:npm/%40angular/animation@12.3.1');
  // The distro plays no part for language packages.
  assert.equal(purlOf({ type: 'npm', namespace: '@angular', name: 'animation', version: '12.3.1' }, DEBIAN_12), 'pkg:npm/%40angular/animation@12.3.1');
});

test('purlOf pypi: names lowercased, _ replaced by -', () => {
  assert.equal(purlOf({ type: 'pypi', name: 'django', version: '1.11.1' }, undefined), 'pkg:pypi/django@1.11.1');
  assert.equal(purlOf({ type: 'pypi', name: 'Django', version: '1.11.1' }, undefined), 'pkg:pypi/django@1.11.1');
  assert.equal(purlOf({ type: 'pypi', name: 'django_allauth', version: '12.23' }, undefined), 'pkg:pypi/django-allauth@12.23');
  assert.equal(purlOf({ type: 'pypi', name: 'Django_Rest', version: '3.14.0' }, undefined), 'pkg:pypi/django-rest@3.14.0');
});

test('purlOf golang: module path split into namespace and name; stdlib', () => {
  assert.equal(purlOf({ type: 'golang', name: 'github.com/gorilla/context', version: 'v1.1.1' }, undefined), 'pkg:golang/github.com/gorilla/context@v1.1.1');
  assert.equal(purlOf({ type: 'golang', namespace: 'github.com/gorilla', name: 'context', version: 'v1.1.1' }, undefined), 'pkg:golang/github.com/gorilla/context@v1.1.1');
  assert.equal(purlOf({ type: 'golang', name: 'github.com/gorilla/context', version: '234fd47e07d1004f0aed9c' }, undefined), 'pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c');
  const p = PackageURL.fromString(purlOf({ type: 'golang', name: 'google.golang.org/genproto', version: 'v0.0.0-20240205150955-31a09d347014' }, undefined));
  assert.equal(p.namespace, 'google.golang.org');
  assert.equal(p.name, 'genproto');
  // The standard library: go1.22.1 → 1.22.1; a module named stdlib elsewhere keeps its version.
  assert.equal(purlOf({ type: 'golang', name: 'stdlib', version: 'go1.22.1' }, undefined), 'pkg:golang/stdlib@1.22.1');
  assert.equal(purlOf({ type: 'golang', name: 'example.com/stdlib', version: 'go1' }, undefined), 'pkg:golang/example.com/stdlib@go1');
});

test('purlOf maven, gem, cargo, composer, nuget: the spec examples', () => {
  assert.equal(purlOf({ type: 'maven', namespace: 'org.apache.xmlgraphics', name: 'batik-anim', version: '1.9.1' }, undefined), 'pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1');
  assert.equal(purlOf({ type: 'gem', name: 'ruby-advisory-db-check', version: '0.12.4' }, undefined), 'pkg:gem/ruby-advisory-db-check@0.12.4');
  assert.equal(purlOf({ type: 'cargo', name: 'rand', version: '0.7.2' }, undefined), 'pkg:cargo/rand@0.7.2');
  assert.equal(purlOf({ type: 'composer', namespace: 'laravel', name: 'laravel', version: '5.5.0' }, undefined), 'pkg:composer/laravel/laravel@5.5.0');
  assert.equal(purlOf({ type: 'nuget', name: 'EnterpriseLibrary.Common', version: '6.0.1304' }, undefined), 'pkg:nuget/EnterpriseLibrary.Common@6.0.1304');
});

test('purlOf hex, pub, swift, conan, cocoapods, conda, julia: the spec examples, qualifiers from the cataloger', () => {
  const cases: [RawPackage, string][] = [
    [{ type: 'hex', name: 'jason', version: '1.1.2' }, 'pkg:hex/jason@1.1.2'],
    [{ type: 'hex', namespace: 'acme', name: 'foo', version: '2.3.0' }, 'pkg:hex/acme/foo@2.3.0'],
    [{ type: 'pub', name: 'characters', version: '1.2.0' }, 'pkg:pub/characters@1.2.0'],
    [{ type: 'pub', name: 'internal_kit', version: '1.0.0', qualifiers: { repository_url: 'https://dart.example.com' } }, 'pkg:pub/internal_kit@1.0.0?repository_url=https%3A%2F%2Fdart.example.com'],
    [{ type: 'swift', namespace: 'github.com/Alamofire', name: 'Alamofire', version: '5.4.3' }, 'pkg:swift/github.com/Alamofire/Alamofire@5.4.3'],
    [{ type: 'conan', name: 'openssl', version: '3.0.3' }, 'pkg:conan/openssl@3.0.3'],
    [{ type: 'conan', namespace: 'openssl.org', name: 'openssl', version: '3.0.3', qualifiers: { channel: 'stable' } }, 'pkg:conan/openssl.org/openssl@3.0.3?channel=stable'],
    [{ type: 'cocoapods', name: 'AFNetworking', version: '4.0.1' }, 'pkg:cocoapods/AFNetworking@4.0.1'],
    [
      { type: 'conda', name: 'absl-py', version: '0.4.1', qualifiers: { build: 'py36h06a4308_0', channel: 'main', subdir: 'linux-64', type: 'tar.bz2' } },
      'pkg:conda/absl-py@0.4.1?build=py36h06a4308_0&channel=main&subdir=linux-64&type=tar.bz2',
    ],
    [{ type: 'julia', name: 'Dates', version: '1.9.0', qualifiers: { uuid: 'ade2ca70-3891-5945-98fb-dc099432e06a' } }, 'pkg:julia/Dates@1.9.0?uuid=ade2ca70-3891-5945-98fb-dc099432e06a'],
  ];
  for (const [raw, want] of cases) assert.equal(purlOf(raw, { id: 'debian', versionId: '12' }), want, want);
});

test('purlOf: an empty version is no version; an empty name is no purl', () => {
  assert.equal(purlOf({ type: 'npm', name: 'foobar', version: '' }, undefined), 'pkg:npm/foobar');
  assert.throws(() => purlOf({ type: 'npm', name: '', version: '1.0.0' }, undefined));
});

test('purlOf: the upstream qualifier appears only when the source differs in name or version', () => {
  const upstream = (p: RawPackage, d: Distro | undefined = DEBIAN_12): string | undefined => PackageURL.fromString(purlOf(p, d)).qualifiers?.['upstream'];
  // Same name, same version (dpkg states its own source so): none.
  assert.equal(upstream({ type: 'deb', name: 'curl', version: '7.88.1-10', source: { name: 'curl', version: '7.88.1-10' } }), undefined);
  // Same name, no version: none.
  assert.equal(upstream({ type: 'deb', name: 'curl', version: '7.88.1-10', source: { name: 'curl' } }), undefined);
  // Other name, same version: the name only.
  assert.equal(upstream({ type: 'deb', name: 'libc6', version: '2.36-9', source: { name: 'glibc', version: '2.36-9' } }), 'glibc');
  assert.equal(upstream({ type: 'deb', name: 'libc6', version: '2.36-9', source: { name: 'glibc' } }), 'glibc');
  // Same name, other version (a binNMU): name@version.
  assert.equal(upstream({ type: 'deb', name: 'attr', version: '1:2.4.47-2+b1', source: { name: 'attr', version: '1:2.4.47-2' } }), 'attr@1:2.4.47-2');
  // Other name and version.
  assert.equal(upstream({ type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2+b1', source: { name: 'openssl', version: '3.0.11-1~deb12u2' } }), 'openssl@3.0.11-1~deb12u2');
  // apk origin, rpm source rpm.
  assert.equal(upstream({ type: 'apk', name: 'libcrypto3', version: '3.1.4-r5', source: { name: 'openssl' } }, ALPINE), 'openssl');
  assert.equal(upstream({ type: 'apk', name: 'busybox', version: '1.36.1-r15', source: { name: 'busybox' } }, ALPINE), undefined);
  assert.equal(upstream({ type: 'rpm', name: 'openssl-libs', version: '3.0.7-27.el9', source: { name: 'openssl', version: '3.0.7-27.el9' } }, { id: 'rhel', versionId: '9.4' }), 'openssl');
  // Only OS packages get it.
  assert.equal(upstream({ type: 'npm', name: 'x', version: '1.0.0', source: { name: 'y' } }), undefined);
  // The qualifier keeps canonical order among the others.
  assertCanonicalQualifierOrder(purlOf({ type: 'deb', name: 'libc6', version: '2.36-9', arch: 'amd64', source: { name: 'glibc' } }, DEBIAN_12));
});

// ---------------------------------------------------------------------------------------------
// assembleInventory

const SUBJECT: ImageSubject = { reference: 'example.com/app:1', name: 'example.com/app', tag: '1', digest: `sha256:${'1'.repeat(64)}`, layers: [{ digest: `sha256:${'a'.repeat(64)}` }, { digest: `sha256:${'b'.repeat(64)}` }] };
const LAYER_A = `sha256:${'a'.repeat(64)}`;
const LAYER_B = `sha256:${'b'.repeat(64)}`;

const pkgFinding = (p: RawPackage): Finding => ({ kind: 'package', package: p });
const file = (path: string, findings: readonly Finding[], layer?: string): LocatedFindings => ({ location: layer === undefined ? { path } : { path, layer }, findings });
const osRelease = (path: string, distro: Distro, layer?: string): LocatedFindings => file(path, [{ kind: 'distro', distro }], layer);

test('assemble: purls get the distro of os-release; the subject and warnings pass through', () => {
  const inv = assembleInventory(
    SUBJECT,
    [
      file('var/lib/dpkg/status', [pkgFinding({ type: 'deb', name: 'libc6', version: '2.36-9', arch: 'amd64', source: { name: 'glibc', version: '2.36-9' } })], LAYER_A),
      osRelease('etc/os-release', DEBIAN_12, LAYER_A),
    ],
    ['a warning'],
  );
  assert.deepEqual(inv.distro, DEBIAN_12);
  assert.equal(inv.subject, SUBJECT);
  assert.deepEqual(inv.warnings, ['a warning']);
  assert.equal(inv.packages.length, 1);
  assert.equal(inv.packages[0]!.purl, 'pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12&upstream=glibc');
  assert.deepEqual(inv.packages[0]!.locations, [{ path: 'var/lib/dpkg/status', layer: LAYER_A }]);
});

test('assemble: os-release at etc/ wins over usr/lib/, whatever the input order', () => {
  const ubuntu: Distro = { id: 'ubuntu', versionId: '22.04' };
  for (const files of [
    [osRelease('usr/lib/os-release', ubuntu), osRelease('etc/os-release', DEBIAN_12)],
    [osRelease('etc/os-release', DEBIAN_12), osRelease('usr/lib/os-release', ubuntu)],
  ]) {
    assert.deepEqual(assembleInventory(SUBJECT, files, []).distro, DEBIAN_12);
  }
  // usr/lib/os-release wins over other distro findings (alpine-release, ...), and is used alone.
  assert.deepEqual(assembleInventory(SUBJECT, [osRelease('etc/alpine-release', ALPINE), osRelease('usr/lib/os-release', ubuntu)], []).distro, ubuntu);
  assert.deepEqual(assembleInventory(SUBJECT, [osRelease('usr/lib/os-release', ubuntu)], []).distro, ubuntu);
  assert.equal(assembleInventory(SUBJECT, [], []).distro, undefined);
  assert.equal('distro' in assembleInventory(SUBJECT, [], []), false);
});

test('assemble: the same purl from two files is one package with both locations and the union of licenses', () => {
  const lodash = (licenses: string[]): RawPackage => ({ type: 'npm', name: 'lodash', version: '4.17.21', licenses });
  const inv = assembleInventory(
    SUBJECT,
    [
      file('app/package-lock.json', [pkgFinding(lodash([]))], LAYER_A),
      file('app/node_modules/lodash/package.json', [pkgFinding(lodash(['MIT']))], LAYER_B),
      // The same file seen again (same path and layer) adds no location.
      file('app/node_modules/lodash/package.json', [pkgFinding(lodash(['mit']))], LAYER_B),
    ],
    [],
  );
  assert.equal(inv.packages.length, 1);
  const p = inv.packages[0]!;
  assert.equal(p.purl, 'pkg:npm/lodash@4.17.21');
  assert.deepEqual(
    [...p.locations].sort((a, b) => (a.path < b.path ? -1 : 1)),
    [
      { path: 'app/node_modules/lodash/package.json', layer: LAYER_B },
      { path: 'app/package-lock.json', layer: LAYER_A },
    ],
  );
  assert.deepEqual(p.licenses, ['MIT']);
  // Packages that differ (version, pypi name normalization aside) stay apart; pypi spellings of one name merge.
  const two = assembleInventory(
    SUBJECT,
    [
      file('a/METADATA', [pkgFinding({ type: 'pypi', name: 'Django_Rest', version: '3.14.0' })]),
      file('b/METADATA', [pkgFinding({ type: 'pypi', name: 'django-rest', version: '3.14.0' })]),
      file('c/METADATA', [pkgFinding({ type: 'pypi', name: 'django-rest', version: '3.15.0' })]),
    ],
    [],
  );
  assert.deepEqual(two.packages.map((x) => x.purl), ['pkg:pypi/django-rest@3.14.0', 'pkg:pypi/django-rest@3.15.0']);
  assert.equal(two.packages[0]!.locations.length, 2);
});

test('assemble: a cataloger-given location replaces the file location', () => {
  const inv = assembleInventory(SUBJECT, [file('app/app.jar', [pkgFinding({ type: 'maven', namespace: 'org.x', name: 'inner', version: '1', locations: [{ path: 'app/app.jar!/BOOT-INF/lib/inner-1.jar', layer: LAYER_B }] })], LAYER_B)], []);
  assert.deepEqual(inv.packages[0]!.locations, [{ path: 'app/app.jar!/BOOT-INF/lib/inner-1.jar', layer: LAYER_B }]);
});

test('assemble: dependsOn keys resolve to ids within one file only', () => {
  const app: RawPackage = { type: 'npm', name: 'app', version: '1.0.0', root: true, dependsOn: ['npm:lodash@4.17.21', 'npm:@scope/util@2.0.0', 'npm:left-pad@1.3.0', 'npm:app@1.0.0'] };
  const lodash: RawPackage = { type: 'npm', name: 'lodash', version: '4.17.21' };
  const util: RawPackage = { type: 'npm', namespace: '@scope', name: 'util', version: '2.0.0', dependsOn: ['npm:lodash@4.17.21'] };
  const leftPad: RawPackage = { type: 'npm', name: 'left-pad', version: '1.3.0' };
  // The keys the lockfile uses are packageKey's.
  assert.equal(packageKey(util), 'npm:@scope/util@2.0.0');
  const inv = assembleInventory(
    SUBJECT,
    [
      file('app/package-lock.json', [pkgFinding(app), pkgFinding(lodash), pkgFinding(util)]),
      // left-pad is in another file: app's dependency on it does not resolve.
      file('other/package-lock.json', [pkgFinding(leftPad)]),
    ],
    [],
  );
  const byName = new Map(inv.packages.map((p) => [p.name, p]));
  const id = (name: string): string => byName.get(name)!.id;
  assert.deepEqual(byName.get('app')!.dependsOn, [id('lodash'), id('util')].sort(), 'resolved in-file deps; no self-dependency; none from other files');
  assert.deepEqual(byName.get('util')!.dependsOn, [id('lodash')]);
  assert.deepEqual(byName.get('lodash')!.dependsOn, []);
  assert.deepEqual(byName.get('left-pad')!.dependsOn, []);
  assert.equal(byName.get('app')!.root, true);
  assert.equal('root' in byName.get('lodash')!, false);
  // Every dependsOn id names a package of the inventory.
  const ids = new Set(inv.packages.map((p) => p.id));
  for (const p of inv.packages) for (const d of p.dependsOn) assert.ok(ids.has(d));
});

test('assemble: ids are unique, stable for a purl and safe for bom-refs and SPDX ids; packages sorted by purl', () => {
  const raws: RawPackage[] = [
    { type: 'npm', namespace: '@angular', name: 'core', version: '17.3.0' },
    { type: 'npm', name: 'angular-core', version: '17.3.0' },
    { type: 'npm', namespace: '@angular', name: 'core', version: '17.3.1' },
    { type: 'golang', name: 'github.com/gorilla/mux', version: 'v1.8.1' },
    { type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.17.1' },
    { type: 'deb', name: 'libstdc++6', version: '12.2.0-14', arch: 'amd64' },
    { type: 'deb', name: 'libstdc--6', version: '12.2.0-14', arch: 'amd64' },
    { type: 'pypi', name: 'x'.repeat(200), version: '1' },
  ];
  const once = assembleInventory(SUBJECT, [file('f', raws.map(pkgFinding))], []);
  const again = assembleInventory(SUBJECT, [file('g', [...raws].reverse().map(pkgFinding))], []);
  assert.equal(once.packages.length, raws.length);
  const ids = once.packages.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9.-]+$/);
  assert.deepEqual(again.packages.map((p) => [p.purl, p.id]), once.packages.map((p) => [p.purl, p.id]));
  const purls = once.packages.map((p) => p.purl);
  assert.deepEqual(purls, [...purls].sort());
});

test('assemble: a package no purl can hold (empty name) is dropped', () => {
  const inv = assembleInventory(SUBJECT, [file('f', [pkgFinding({ type: 'npm', name: '', version: '1' }), pkgFinding({ type: 'npm', name: 'ok', version: '1' })])], []);
  assert.deepEqual(inv.packages.map((p) => p.name), ['ok']);
});

test('assemble: dpkg copyright licenses attach to the deb package of that name, normalized', () => {
  const inv = assembleInventory(
    SUBJECT,
    [
      osRelease('etc/os-release', DEBIAN_12),
      file('var/lib/dpkg/status', [
        pkgFinding({ type: 'deb', name: 'curl', version: '7.88.1-10', arch: 'amd64', source: { name: 'curl', version: '7.88.1-10' } }),
        pkgFinding({ type: 'deb', name: 'libc6', version: '2.36-9', arch: 'amd64', source: { name: 'glibc', version: '2.36-9' }, licenses: ['LGPL-2.1+'] }),
        pkgFinding({ type: 'deb', name: 'base-files', version: '12.4', arch: 'amd64' }),
      ]),
      file('usr/share/doc/curl/copyright', [{ kind: 'license', type: 'deb', name: 'curl', licenses: ['curl', 'BSD-3-clause', 'ISC'] }]),
      file('usr/share/doc/libc6/copyright', [{ kind: 'license', type: 'deb', name: 'libc6', licenses: ['GPL-2+', 'LGPL-2.1+'] }]),
      // A copyright file of a package that is not installed: attaches to nothing.
      file('usr/share/doc/ghost/copyright', [{ kind: 'license', type: 'deb', name: 'ghost', licenses: ['MIT'] }]),
      // An npm package of the same name as a deb: copyright files are dpkg's, not npm's.
      file('app/package-lock.json', [pkgFinding({ type: 'npm', name: 'curl', version: '1.0.0' })]),
    ],
    [],
  );
  const get = (type: string, name: string) => inv.packages.find((p) => p.type === type && p.name === name)!;
  assert.deepEqual(get('deb', 'curl').licenses, ['curl', 'BSD-3-Clause', 'ISC']);
  assert.deepEqual(get('deb', 'libc6').licenses, ['LGPL-2.1-or-later', 'GPL-2.0-or-later'], 'package-record licenses first, then the copyright file, de-duplicated');
  assert.deepEqual(get('deb', 'base-files').licenses, []);
  assert.deepEqual(get('npm', 'curl').licenses, []);
  assert.equal(inv.packages.some((p) => p.name === 'ghost'), false);
});

test('assemble: an inventory with no files is empty', () => {
  const inv = assembleInventory({ reference: 'dir:/tmp/x', layers: [] }, [], []);
  assert.deepEqual(inv, { subject: { reference: 'dir:/tmp/x', layers: [] }, packages: [], warnings: [] });
});
