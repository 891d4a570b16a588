/**
 * The SBOM writers (`formatInventory`): CycloneDX 1.6 checked by the CycloneDX library's own
 * strict JSON-schema validator, SPDX 2.3 checked against the official SPDX 2.3 JSON schema
 * (test/fixtures/schemas/spdx-2.3.schema.json, from spdx/spdx-spec), and then what no schema can
 * check: every package once with its purl, the dependency graph equal to the inventory's,
 * no dangling references, unique ids, license expressions that parse and LicenseRefs that are
 * declared. The inventories are built here by hand, with purls written as the purl spec shows them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import Ajv2019 from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import parseSpdxExpression from 'spdx-expression-parse';
import { formatInventory, INVENTORY_SCHEMA, type ImageSubject, type Inventory, type Location, type Package, type PackageType } from '../../src/sbom/index.js';

const require = createRequire(import.meta.url);
const SPDX_IDS = new Set<string>([...(require('spdx-license-ids/index.json') as string[]), ...(require('spdx-license-ids/deprecated.json') as string[])]);
const SPDX_EXCEPTIONS = new Set<string>(require('spdx-exceptions/index.json') as string[]);

const TIMESTAMP = new Date('2024-05-06T07:08:09.123Z');
const SERIAL = 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79';
const NAMESPACE_ID = '0b4f6c2e-6f55-4d8e-9c43-1f6f0c1e2d3a';
const OPTIONS = { toolVersion: '0.1.0', timestamp: TIMESTAMP, serialNumber: SERIAL, namespaceId: NAMESPACE_ID } as const;

// ---------------------------------------------------------------------------------------------
// Inventories

const hex = (seed: string): string => createHash('sha256').update(seed).digest('hex');
const LAYER_1 = `sha256:${hex('layer-1')}`;
const LAYER_2 = `sha256:${hex('layer-2')}`;
const LAYER_3 = `sha256:${hex('layer-3')}`;
const IMAGE_DIGEST = `sha256:${hex('manifest')}`;

/** An id as the assembler makes them: `<type>-<name>-<12 hex of sha256(purl)>`. */
function idOf(type: PackageType, name: string, purl: string): string {
  return `${`${type}-${name}`.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 60)}-${hex(purl).slice(0, 12)}`;
}

interface PkgInput extends Omit<Package, 'id' | 'licenses' | 'locations' | 'dependsOn'> {
  readonly licenses?: readonly string[];
  readonly locations?: readonly Location[];
}

function pkg(input: PkgInput): Package {
  return { ...input, id: idOf(input.type, input.name, input.purl), licenses: input.licenses ?? [], locations: input.locations ?? [], dependsOn: [] };
}

function withDeps(p: Package, deps: readonly Package[]): Package {
  return { ...p, dependsOn: deps.map((d) => d.id).sort() };
}

const at = (path: string, layer?: string): Location => (layer === undefined ? { path } : { path, layer });

// OS packages: deb (source, arch, epoch, binNMU source version), apk, rpm with epoch.
const libc6 = pkg({
  type: 'deb',
  name: 'libc6',
  version: '2.36-9+deb12u4',
  arch: 'amd64',
  source: { name: 'glibc', version: '2.36-9+deb12u4' },
  purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc',
  licenses: ['LGPL-2.1-or-later', 'GPL-2.0-or-later'],
  locations: [at('var/lib/dpkg/status', LAYER_1)],
  properties: { maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>' },
});
const attr = pkg({
  type: 'deb',
  name: 'attr',
  version: '1:2.5.1-4+b1',
  epoch: 1,
  arch: 'amd64',
  source: { name: 'attr', version: '1:2.5.1-4' },
  purl: 'pkg:deb/debian/attr@1:2.5.1-4%2Bb1?arch=amd64&distro=debian-12&upstream=attr%401%3A2.5.1-4',
  licenses: ['GPL-2.0-or-later', 'LGPL-2.1-or-later'],
  locations: [at('var/lib/dpkg/status', LAYER_1)],
});
const tzdata = pkg({
  type: 'deb',
  name: 'tzdata',
  version: '2024a-0+deb12u1',
  arch: 'all',
  source: { name: 'tzdata', version: '2024a-0+deb12u1' },
  purl: 'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12',
  locations: [at('var/lib/dpkg/status', LAYER_2)],
});
const musl = pkg({
  type: 'apk',
  name: 'musl',
  version: '1.2.4-r2',
  arch: 'x86_64',
  source: { name: 'musl' },
  purl: 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1',
  licenses: ['MIT'],
  locations: [at('lib/apk/db/installed', LAYER_2)],
});
const opensslLibs = pkg({
  type: 'rpm',
  name: 'openssl-libs',
  version: '3.0.7-27.el9',
  epoch: 1,
  arch: 'x86_64',
  source: { name: 'openssl', version: '3.0.7-27.el9' },
  purl: 'pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1&upstream=openssl',
  licenses: ['Apache-2.0'],
  locations: [at('var/lib/rpm/rpmdb.sqlite', LAYER_2)],
});

// npm: a root project, scoped packages depending on each other, shared dependencies.
const tslib = pkg({ type: 'npm', name: 'tslib', version: '2.6.2', purl: 'pkg:npm/tslib@2.6.2', licenses: ['0BSD'], locations: [at('app/package-lock.json', LAYER_3)] });
const rxjs = withDeps(pkg({ type: 'npm', name: 'rxjs', version: '7.8.1', purl: 'pkg:npm/rxjs@7.8.1', licenses: ['Apache-2.0'], locations: [at('app/package-lock.json', LAYER_3)] }), [tslib]);
const angularCore = withDeps(
  pkg({
    type: 'npm',
    namespace: '@angular',
    name: 'core',
    version: '17.3.0',
    purl: 'pkg:npm/%40angular/core@17.3.0',
    licenses: ['MIT'],
    locations: [at('app/package-lock.json', LAYER_3), at('app/node_modules/@angular/core/package.json', LAYER_3)],
  }),
  [rxjs, tslib],
);
const angularCommon = withDeps(
  pkg({ type: 'npm', namespace: '@angular', name: 'common', version: '17.3.0', purl: 'pkg:npm/%40angular/common@17.3.0', licenses: ['MIT'], locations: [at('app/package-lock.json', LAYER_3)] }),
  [angularCore, tslib],
);
// Several licenses of which one is an expression.
const multiLicensed = pkg({
  type: 'npm',
  name: 'multi-licensed',
  version: '1.0.0',
  purl: 'pkg:npm/multi-licensed@1.0.0',
  licenses: ['MIT OR Apache-2.0', 'BSD-2-Clause'],
  locations: [at('app/package-lock.json', LAYER_3)],
});
// A dependency on an id that is not in the inventory: the writers must not emit a dangling reference.
const app = withDeps(
  pkg({ type: 'npm', name: 'my-app', version: '1.0.0', purl: 'pkg:npm/my-app@1.0.0', root: true, licenses: ['UNLICENSED-but-not-spdx'], locations: [at('app/package-lock.json', LAYER_3)] }),
  [angularCommon, angularCore, multiLicensed],
);
const appWithDangling: Package = { ...app, dependsOn: [...app.dependsOn, 'npm-not-in-inventory-000000000000'].sort() };

// pypi: a name that needs normalization in the purl, unknown licenses, no licenses.
const djangoRest = pkg({ type: 'pypi', name: 'Django_Rest', version: '3.14.0', purl: 'pkg:pypi/django-rest@3.14.0', licenses: ['BSD-3-Clause'], locations: [at('usr/lib/python3/dist-packages/Django_Rest-3.14.0.dist-info/METADATA', LAYER_3)] });
const urllib3 = pkg({ type: 'pypi', name: 'urllib3', version: '2.2.1', purl: 'pkg:pypi/urllib3@2.2.1', licenses: ['MIT'], locations: [at('usr/lib/python3/dist-packages/urllib3-2.2.1.dist-info/METADATA', LAYER_3)] });
const requests = withDeps(pkg({ type: 'pypi', name: 'requests', version: '2.31.0', purl: 'pkg:pypi/requests@2.31.0', licenses: ['Apache-2.0'], locations: [at('usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA', LAYER_3)] }), [urllib3]);
const customOnly = pkg({ type: 'pypi', name: 'inhouse', version: '0.1', purl: 'pkg:pypi/inhouse@0.1', licenses: ['Some Custom License'], locations: [at('opt/inhouse/METADATA')] });
const customAndMit = pkg({ type: 'pypi', name: 'mixed', version: '0.2', purl: 'pkg:pypi/mixed@0.2', licenses: ['Some Custom License', 'MIT', 'Another (c) Licence v2'], locations: [at('opt/mixed/METADATA')] });
const noLicense = pkg({ type: 'pypi', name: 'nolicense', version: '1.0', purl: 'pkg:pypi/nolicense@1.0', locations: [at('opt/nolicense/METADATA')] });
// What normalizeLicense('public domain') gives: a LicenseRef that is not on the SPDX list.
const publicDomain = pkg({ type: 'pypi', name: 'pd-package', version: '1.0', purl: 'pkg:pypi/pd-package@1.0', licenses: ['LicenseRef-public-domain'], locations: [at('opt/pd/METADATA')] });

// golang: a module and the standard library.
const gorillaMux = pkg({ type: 'golang', namespace: 'github.com/gorilla', name: 'mux', version: 'v1.8.1', purl: 'pkg:golang/github.com/gorilla/mux@v1.8.1', licenses: ['BSD-3-Clause'], locations: [at('usr/local/bin/server', LAYER_3)] });
const stdlib = pkg({ type: 'golang', name: 'stdlib', version: 'go1.22.1', purl: 'pkg:golang/stdlib@1.22.1', licenses: ['BSD-3-Clause'], locations: [at('usr/local/bin/server', LAYER_3)] });
const server = withDeps(pkg({ type: 'golang', namespace: 'example.com/acme', name: 'server', version: '(devel)', purl: 'pkg:golang/example.com/acme/server@%28devel%29', root: true, locations: [at('usr/local/bin/server', LAYER_3)] }), [gorillaMux, stdlib]);

// maven (group), gem, cargo (expression alone), composer, nuget, an SPDX expression WITH an exception, a deprecated id.
const log4j = pkg({ type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.17.1', purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1', licenses: ['Apache-2.0'], locations: [at('opt/app/lib/log4j-core-2.17.1.jar', LAYER_3)] });
const rake = pkg({ type: 'gem', name: 'rake', version: '13.1.0', purl: 'pkg:gem/rake@13.1.0', licenses: ['MIT'], locations: [at('usr/lib/ruby/gems/3.1.0/specifications/rake-13.1.0.gemspec', LAYER_3)] });
const serde = pkg({ type: 'cargo', name: 'serde', version: '1.0.197', purl: 'pkg:cargo/serde@1.0.197', licenses: ['MIT OR Apache-2.0'], locations: [at('usr/local/bin/rust-tool', LAYER_3)] });
const laravel = pkg({ type: 'composer', namespace: 'laravel', name: 'framework', version: 'v10.48.4', purl: 'pkg:composer/laravel/framework@v10.48.4', licenses: ['MIT'], locations: [at('var/www/composer.lock', LAYER_3)] });
const newtonsoft = pkg({ type: 'nuget', name: 'Newtonsoft.Json', version: '13.0.3', purl: 'pkg:nuget/Newtonsoft.Json@13.0.3', licenses: ['MIT'], locations: [at('app/app.deps.json', LAYER_3)] });
const withException = pkg({ type: 'maven', namespace: 'org.openjdk', name: 'jdk-lib', version: '21', purl: 'pkg:maven/org.openjdk/jdk-lib@21', licenses: ['GPL-2.0-only WITH Classpath-exception-2.0'], locations: [at('opt/jdk/release')] });
const deprecatedId = pkg({ type: 'deb', name: 'oldlib', version: '1.0-1', source: { name: 'oldlib' }, purl: 'pkg:deb/debian/oldlib@1.0-1?distro=debian-12', licenses: ['GPL-2.0'], locations: [at('var/lib/dpkg/status', LAYER_1)] });

// The lockfile ecosystems: hex (with an organization), pub, swift (URL namespace), conan (user/channel),
// cocoapods, conda and julia (purl qualifiers), as purlOf writes them.
const plug = pkg({ type: 'hex', name: 'plug', version: '1.14.2', purl: 'pkg:hex/plug@1.14.2', locations: [at('app/mix.lock', LAYER_3)] });
const privateHex = pkg({ type: 'hex', namespace: 'acme', name: 'private_lib', version: '0.3.0-rc.1', purl: 'pkg:hex/acme/private_lib@0.3.0-rc.1', locations: [at('app/mix.lock', LAYER_3)] });
const pubHttp = pkg({ type: 'pub', name: 'http', version: '1.2.2', purl: 'pkg:pub/http@1.2.2', properties: { dependency: 'direct main' }, locations: [at('app/pubspec.lock', LAYER_3)] });
const swiftNio = pkg({ type: 'swift', namespace: 'github.com/apple', name: 'swift-nio', version: '2.40.0', purl: 'pkg:swift/github.com/apple/swift-nio@2.40.0', locations: [at('app/Package.resolved', LAYER_3)] });
const conanFmt = pkg({ type: 'conan', namespace: 'corp', name: 'fmt', version: '10.2.1', qualifiers: { channel: 'stable' }, purl: 'pkg:conan/corp/fmt@10.2.1?channel=stable', locations: [at('src/conan.lock', LAYER_3)] });
const pod = pkg({ type: 'cocoapods', name: 'Alamofire', version: '5.6.4', purl: 'pkg:cocoapods/Alamofire@5.6.4', locations: [at('ios/Podfile.lock', LAYER_3)] });
const condaZstd = pkg({
  type: 'conda',
  name: 'zstd',
  version: '1.4.4',
  qualifiers: { build: 'h3b9ef0a_1', channel: 'conda-forge', subdir: 'linux-64', type: 'tar.bz2' },
  purl: 'pkg:conda/zstd@1.4.4?build=h3b9ef0a_1&channel=conda-forge&subdir=linux-64&type=tar.bz2',
  licenses: ['BSD-3-Clause'],
  locations: [at('opt/conda/conda-meta/zstd-1.4.4-h3b9ef0a_1.json', LAYER_3)],
});
const juliaJson = pkg({ type: 'julia', name: 'JSON', version: '0.21.4', qualifiers: { uuid: '682c06a0-de6a-54ab-a142-c8b1cf79cde6' }, purl: 'pkg:julia/JSON@0.21.4?uuid=682c06a0-de6a-54ab-a142-c8b1cf79cde6', locations: [at('app/Manifest.toml', LAYER_3)] });

const IMAGE_SUBJECT: ImageSubject = {
  reference: 'registry.example.com/team/app:1.2.3',
  name: 'registry.example.com/team/app',
  tag: '1.2.3',
  digest: IMAGE_DIGEST,
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  layers: [
    { digest: LAYER_1, diffId: `sha256:${hex('diff-1')}`, size: 29_000_000 },
    { digest: LAYER_2, diffId: `sha256:${hex('diff-2')}`, size: 1_000 },
    { digest: LAYER_3, size: 52_431 },
  ],
};

const FULL: Inventory = {
  subject: IMAGE_SUBJECT,
  distro: { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  packages: [
    libc6, attr, tzdata, musl, opensslLibs, deprecatedId,
    tslib, rxjs, angularCore, angularCommon, multiLicensed, appWithDangling,
    djangoRest, urllib3, requests, customOnly, customAndMit, noLicense,
    gorillaMux, stdlib, server,
    log4j, rake, serde, laravel, newtonsoft, withException,
    plug, privateHex, pubHttp, swiftNio, conanFmt, pod, condaZstd, juliaJson,
  ],
  warnings: ['var/lib/rpm/Packages: not a Berkeley DB file'],
};

/** FULL plus a package licensed `LicenseRef-public-domain` (what normalizeLicense makes of "public domain"). */
const FULL_WITH_PUBLIC_DOMAIN: Inventory = { ...FULL, packages: [...FULL.packages, publicDomain] };

/**
 * A package whose licenses are what normalizeLicense makes of `MIT or Apache-2.0` (kept as is:
 * spdx-expression-parse accepts lower-case operators) next to a second license, and one with the
 * lone lower-case expression.
 */
const lowerOr = pkg({ type: 'npm', name: 'lower-or', version: '1.0.0', purl: 'pkg:npm/lower-or@1.0.0', licenses: ['MIT or Apache-2.0', 'BSD-2-Clause'], locations: [at('app/package-lock.json')] });
const lowerOrAlone = pkg({ type: 'npm', name: 'lower-or-alone', version: '1.0.0', purl: 'pkg:npm/lower-or-alone@1.0.0', licenses: ['MIT or Apache-2.0'], locations: [at('app/package-lock.json')] });
const LOWER_CASE_OPERATORS: Inventory = { subject: { reference: 'dir:/tmp/lower', layers: [] }, packages: [lowerOr, lowerOrAlone], warnings: [] };

const DIR: Inventory = {
  subject: { reference: 'dir:/tmp/rootfs', layers: [] },
  packages: [withDeps(pkg({ type: 'npm', name: 'left-pad', version: '1.3.0', purl: 'pkg:npm/left-pad@1.3.0', licenses: ['WTFPL'], locations: [at('srv/package-lock.json')] }), []), rake, customOnly],
  warnings: [],
};

const EMPTY: Inventory = { subject: { reference: 'oci-dir:/tmp/empty', layers: [] }, packages: [], warnings: [] };

const INVENTORIES: Readonly<Record<string, Inventory>> = { full: FULL, dir: DIR, empty: EMPTY };
/** Inventories that each carry one license edge case, for the schema and license checks. */
const LICENSE_EDGES: Readonly<Record<string, Inventory>> = { publicDomain: FULL_WITH_PUBLIC_DOMAIN, lowerCaseOperators: LOWER_CASE_OPERATORS };

// ---------------------------------------------------------------------------------------------
// Helpers

const OS_TYPES = new Set<PackageType>(['deb', 'apk', 'rpm']);

function idsIn(p: Package, inv: Inventory): string[] {
  const known = new Set(inv.packages.map((x) => x.id));
  return p.dependsOn.filter((d) => known.has(d));
}

/** The leaf license ids, exceptions and LicenseRefs of a parsed SPDX expression. */
function leaves(node: parseSpdxExpression.Info): { licenses: string[]; exceptions: string[] } {
  if ('license' in node) return { licenses: [node.license], exceptions: node.exception !== undefined ? [node.exception] : [] };
  const l = leaves(node.left);
  const r = leaves(node.right);
  return { licenses: [...l.licenses, ...r.licenses], exceptions: [...l.exceptions, ...r.exceptions] };
}

/** One validator for all tests: it compiles the CycloneDX 1.6 schema (with ajv) on first use. */
const CDX_VALIDATOR = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

let ajvValidate: ((data: unknown) => boolean) & { errors?: unknown } | undefined;
function spdxSchemaValidator(): ((data: unknown) => boolean) & { errors?: unknown } {
  if (ajvValidate === undefined) {
    const schema = JSON.parse(readFileSync(new URL('../../../test/fixtures/schemas/spdx-2.3.schema.json', import.meta.url), 'utf8')) as object;
    const ajv = new Ajv2019.default({ allErrors: true, strict: false });
    addFormats.default(ajv);
    ajvValidate = ajv.compile(schema);
  }
  return ajvValidate;
}

// CycloneDX JSON, as much of it as the checks read.
interface CdxLicenseChoice {
  license?: { id?: string; name?: string };
  expression?: string;
}
interface CdxComponent {
  'bom-ref'?: string;
  type: string;
  name: string;
  group?: string;
  version?: string;
  purl?: string;
  description?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: CdxLicenseChoice[];
  properties?: { name: string; value: string }[];
}
interface CdxBom {
  bomFormat: string;
  specVersion: string;
  serialNumber?: string;
  metadata: { timestamp: string; component: CdxComponent; tools?: { components?: CdxComponent[] } };
  components?: CdxComponent[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

// SPDX JSON, likewise.
interface SpdxPkg {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  licenseDeclared: string;
  licenseConcluded: string;
  primaryPackagePurpose?: string;
  sourceInfo?: string;
  comment?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}
interface SpdxDoc {
  spdxVersion: string;
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPkg[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string; name?: string }[];
}

const cdxOf = (inv: Inventory): { text: string; bom: CdxBom } => {
  const text = formatInventory(inv, 'cyclonedx-json', OPTIONS);
  return { text, bom: JSON.parse(text) as CdxBom };
};
const spdxOf = (inv: Inventory): { text: string; doc: SpdxDoc } => {
  const text = formatInventory(inv, 'spdx-json', OPTIONS);
  return { text, doc: JSON.parse(text) as SpdxDoc };
};
const purlOfSpdx = (p: SpdxPkg): string[] => (p.externalRefs ?? []).filter((r) => r.referenceType === 'purl').map((r) => r.referenceLocator);

// ---------------------------------------------------------------------------------------------
// The fixture itself

test('fixture: the hand-built inventories are consistent (unique ids and purls, deps point inside)', () => {
  for (const [label, inv] of Object.entries({ ...INVENTORIES, ...LICENSE_EDGES })) {
    const ids = inv.packages.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${label}: ids unique`);
    const purls = inv.packages.map((p) => p.purl);
    assert.equal(new Set(purls).size, purls.length, `${label}: purls unique`);
  }
  assert.ok(FULL.packages.some((p) => p.dependsOn.length > 0));
});

// ---------------------------------------------------------------------------------------------
// CycloneDX 1.6

for (const [label, inv] of Object.entries({ ...INVENTORIES, ...LICENSE_EDGES })) {
  test(`cyclonedx-json (${label}): valid against the CycloneDX 1.6 schema (library's strict validator)`, async () => {
    const { text, bom } = cdxOf(inv);
    const errors = await CDX_VALIDATOR.validate(text);
    assert.equal(errors, null, `schema errors: ${JSON.stringify(errors, null, 2)}`);
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.6');
    assert.equal(bom.serialNumber, SERIAL);
    assert.equal(new Date(bom.metadata.timestamp).getTime(), TIMESTAMP.getTime());
    assert.ok(bom.metadata.tools?.components?.some((c) => c.name === 'portcullis' && c.version === '0.1.0'), 'the tool is named with its version');
  });
}

for (const [label, inv] of Object.entries(INVENTORIES)) {
  test(`cyclonedx-json (${label}): every package once, with its purl, bom-ref, group and locations`, () => {
    const { bom } = cdxOf(inv);
    const components = bom.components ?? [];
    const libraries = components.filter((c) => c.type === 'library');
    assert.equal(libraries.length, inv.packages.length);
    for (const p of inv.packages) {
      const found = components.filter((c) => c.purl === p.purl);
      assert.equal(found.length, 1, `${p.purl} appears once`);
      const c = found[0]!;
      assert.equal(c['bom-ref'], p.id);
      assert.equal(c.name, p.name);
      assert.equal(c.version, p.version);
      if (p.type === 'maven' || p.type === 'composer' || (p.type === 'npm' && p.namespace !== undefined)) assert.equal(c.group, p.namespace, `${p.purl}: group`);
      const props = new Map((c.properties ?? []).map((x) => [x.name, x.value]));
      assert.equal(props.get('portcullis:package:type'), p.type);
      p.locations.forEach((l, i) => {
        assert.equal(props.get(`portcullis:location:${i}:path`), `/${l.path}`, `${p.purl}: location ${i}`);
        assert.equal(props.get(`portcullis:location:${i}:layer`), l.layer, `${p.purl}: layer of location ${i}`);
      });
      if (p.source !== undefined) assert.equal(props.get('portcullis:package:source'), p.source.name);
      if (p.arch !== undefined) assert.equal(props.get('portcullis:package:arch'), p.arch);
      if (p.epoch !== undefined) assert.equal(props.get('portcullis:package:epoch'), String(p.epoch));
    }
    const refs = [bom.metadata.component['bom-ref'], ...components.map((c) => c['bom-ref'])].filter((r) => r !== undefined);
    assert.equal(new Set(refs).size, refs.length, 'bom-refs are unique');
  });

  test(`cyclonedx-json (${label}): the dependency graph is the inventory's, with no dangling refs`, () => {
    const { bom } = cdxOf(inv);
    const components = bom.components ?? [];
    const refs = new Set([bom.metadata.component['bom-ref']!, ...components.map((c) => c['bom-ref']!)]);
    const deps = new Map((bom.dependencies ?? []).map((d) => [d.ref, d.dependsOn ?? []]));
    assert.equal(deps.size, (bom.dependencies ?? []).length, 'one dependency entry per ref');
    for (const [ref, on] of deps) {
      assert.ok(refs.has(ref), `dependency ref ${ref} names a component`);
      for (const d of on) assert.ok(refs.has(d), `${ref} dependsOn ${d}: names a component`);
    }
    for (const p of inv.packages) {
      assert.deepEqual([...(deps.get(p.id) ?? [])].sort(), idsIn(p, inv).sort(), `${p.purl}: dependsOn`);
    }
    // The image is the root: the OS and every package are reachable from it.
    const root = bom.metadata.component['bom-ref']!;
    const seen = new Set<string>();
    const stack = [root];
    while (stack.length > 0) {
      const r = stack.pop()!;
      if (seen.has(r)) continue;
      seen.add(r);
      stack.push(...(deps.get(r) ?? []));
    }
    for (const p of inv.packages) assert.ok(seen.has(p.id), `${p.purl} is reachable from the image`);
  });
}

test('cyclonedx-json: the image component carries digest, tag, platform, layers and an oci purl', () => {
  const { bom } = cdxOf(FULL);
  const image = bom.metadata.component;
  assert.equal(image.type, 'container');
  assert.equal(image.name, IMAGE_SUBJECT.name);
  assert.equal(image.version, IMAGE_DIGEST);
  assert.deepEqual(image.hashes, [{ alg: 'SHA-256', content: IMAGE_DIGEST.slice('sha256:'.length) }]);
  assert.equal(image.purl, `pkg:oci/app@sha256%3A${IMAGE_DIGEST.slice(7)}?repository_url=registry.example.com%2Fteam%2Fapp&tag=1.2.3`);
  const props = new Map((image.properties ?? []).map((x) => [x.name, x.value]));
  assert.equal(props.get('portcullis:image:tag'), '1.2.3');
  assert.equal(props.get('portcullis:image:platform'), 'linux/arm64/v8');
  IMAGE_SUBJECT.layers.forEach((l, i) => assert.equal(props.get(`portcullis:image:layer:${i}`), l.digest));
});

test('cyclonedx-json: the distro is an operating-system component that holds the OS packages', () => {
  const { bom } = cdxOf(FULL);
  const os = (bom.components ?? []).filter((c) => c.type === 'operating-system');
  assert.equal(os.length, 1);
  assert.equal(os[0]!.name, 'debian');
  assert.equal(os[0]!.version, '12');
  assert.equal(os[0]!.description, 'Debian GNU/Linux 12 (bookworm)');
  const deps = new Map((bom.dependencies ?? []).map((d) => [d.ref, new Set(d.dependsOn ?? [])]));
  const osRef = os[0]!['bom-ref']!;
  assert.ok(deps.get(bom.metadata.component['bom-ref']!)?.has(osRef), 'the image depends on the OS');
  for (const p of FULL.packages.filter((x) => OS_TYPES.has(x.type))) assert.ok(deps.get(osRef)?.has(p.id), `${p.purl} under the OS`);
  // No distro, no OS component.
  assert.equal((cdxOf(DIR).bom.components ?? []).filter((c) => c.type === 'operating-system').length, 0);
});

test('cyclonedx-json: a dir: subject has no digest, hash or purl', () => {
  const { bom } = cdxOf(DIR);
  const image = bom.metadata.component;
  assert.equal(image.type, 'container');
  assert.equal(image.name, 'dir:/tmp/rootfs');
  assert.equal(image.version, undefined);
  assert.equal(image.hashes, undefined);
  assert.equal(image.purl, undefined);
});

test('cyclonedx-json: licenses keep every statement: ids as id, a lone expression as expression, others by name', () => {
  const { bom } = cdxOf(FULL_WITH_PUBLIC_DOMAIN);
  const byRef = new Map((bom.components ?? []).map((c) => [c['bom-ref'], c]));
  for (const p of FULL_WITH_PUBLIC_DOMAIN.packages) {
    const c = byRef.get(p.id)!;
    const choices = c.licenses ?? [];
    if (p.licenses.length === 0) {
      assert.equal(choices.length, 0, `${p.purl}: no licenses`);
      continue;
    }
    const texts = choices.map((x) => x.expression ?? x.license?.id ?? x.license?.name);
    assert.deepEqual([...texts].sort(), [...p.licenses].sort(), `${p.purl}: every license statement, none invented`);
    for (const x of choices) {
      if (x.license?.id !== undefined) assert.ok(SPDX_IDS.has(x.license.id), `${x.license.id} is on the SPDX list`);
      if (x.expression !== undefined) {
        assert.equal(choices.length, 1, 'an expression stands alone');
        assert.doesNotThrow(() => parseSpdxExpression(x.expression!), x.expression);
      }
    }
  }
  assert.deepEqual(byRef.get(serde.id)!.licenses, [{ expression: 'MIT OR Apache-2.0' }]);
  assert.deepEqual(byRef.get(withException.id)!.licenses, [{ expression: 'GPL-2.0-only WITH Classpath-exception-2.0' }]);
  assert.deepEqual(byRef.get(tslib.id)!.licenses, [{ license: { id: '0BSD' } }]);
  assert.deepEqual(byRef.get(customOnly.id)!.licenses, [{ license: { name: 'Some Custom License' } }]);
});

// ---------------------------------------------------------------------------------------------
// SPDX 2.3

for (const [label, inv] of Object.entries({ ...INVENTORIES, ...LICENSE_EDGES })) {
  test(`spdx-json (${label}): valid against the official SPDX 2.3 JSON schema`, () => {
    const { doc } = spdxOf(inv);
    const validate = spdxSchemaValidator();
    assert.ok(validate(doc), `schema errors: ${JSON.stringify(validate.errors, null, 2)}`);
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
    assert.equal(doc.creationInfo.created, '2024-05-06T07:08:09Z');
    assert.deepEqual(doc.creationInfo.creators, ['Tool: portcullis-0.1.0']);
    // documentNamespace: an absolute URI without a fragment, unique per document (our namespaceId).
    const ns = new URL(doc.documentNamespace);
    assert.equal(ns.hash, '');
    assert.ok(doc.documentNamespace.endsWith(NAMESPACE_ID), doc.documentNamespace);
  });
}

for (const [label, inv] of Object.entries(INVENTORIES)) {
  test(`spdx-json (${label}): every package once with its purl; ids unique; relationships point at elements`, () => {
    const { doc } = spdxOf(inv);
    const ids = doc.packages.map((p) => p.SPDXID);
    assert.equal(new Set(ids).size, ids.length, 'SPDX ids unique');
    const elements = new Set(['SPDXRef-DOCUMENT', ...ids]);
    for (const r of doc.relationships) {
      assert.ok(elements.has(r.spdxElementId), `${r.spdxElementId} (${r.relationshipType}) exists`);
      assert.ok(elements.has(r.relatedSpdxElement), `${r.relatedSpdxElement} (${r.relationshipType}) exists`);
    }
    const byPurl = new Map<string, SpdxPkg[]>();
    for (const p of doc.packages) for (const purl of purlOfSpdx(p)) byPurl.set(purl, [...(byPurl.get(purl) ?? []), p]);
    const spdxIdOf = new Map<string, string>();
    for (const p of inv.packages) {
      const found = byPurl.get(p.purl) ?? [];
      assert.equal(found.length, 1, `${p.purl} appears once`);
      const s = found[0]!;
      assert.equal(s.name, p.name);
      assert.equal(s.versionInfo, p.version);
      spdxIdOf.set(p.id, s.SPDXID);
      if (p.source !== undefined) assert.match(s.sourceInfo ?? '', new RegExp(`\\b${p.source.name}\\b`));
      for (const l of p.locations) assert.ok(s.comment?.includes(`/${l.path}`), `${p.purl}: location ${l.path} in the comment`);
    }
    // The document describes the image, which contains every package (and the OS).
    const image = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER');
    assert.ok(image !== undefined);
    assert.deepEqual(
      doc.relationships.filter((r) => r.relationshipType === 'DESCRIBES'),
      [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID }],
    );
    const contained = new Set(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS' && r.spdxElementId === image.SPDXID).map((r) => r.relatedSpdxElement));
    for (const p of inv.packages) assert.ok(contained.has(spdxIdOf.get(p.id)!), `image CONTAINS ${p.purl}`);
    // DEPENDS_ON is exactly the inventory's graph.
    const expected = inv.packages.flatMap((p) => idsIn(p, inv).map((d) => `${spdxIdOf.get(p.id)} -> ${spdxIdOf.get(d)}`)).sort();
    const actual = doc.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON').map((r) => `${r.spdxElementId} -> ${r.relatedSpdxElement}`).sort();
    assert.deepEqual(actual, expected);
    assert.equal(new Set(actual).size, actual.length, 'no duplicate DEPENDS_ON');
  });
}

for (const [label, inv] of Object.entries({ ...INVENTORIES, ...LICENSE_EDGES })) {
  test(`spdx-json (${label}): licenseDeclared is a valid expression; every LicenseRef is declared in hasExtractedLicensingInfos`, () => {
    const { doc } = spdxOf(inv);
    const extracted = new Map((doc.hasExtractedLicensingInfos ?? []).map((e) => [e.licenseId, e.extractedText]));
    assert.equal(extracted.size, (doc.hasExtractedLicensingInfos ?? []).length, 'extracted licenseIds unique');
    const used = new Set<string>();
    for (const p of doc.packages) {
      for (const field of ['licenseDeclared', 'licenseConcluded'] as const) {
        const value = p[field];
        if (value === 'NOASSERTION' || value === 'NONE') continue;
        let tree: parseSpdxExpression.Info;
        try {
          tree = parseSpdxExpression(value);
        } catch {
          assert.fail(`${p.name}: ${field} ${JSON.stringify(value)} is not an SPDX expression`);
        }
        const { licenses, exceptions } = leaves(tree);
        for (const e of exceptions) assert.ok(SPDX_EXCEPTIONS.has(e), `${e} is an SPDX exception`);
        for (const l of licenses) {
          if (l.startsWith('LicenseRef-')) {
            assert.match(l, /^LicenseRef-[A-Za-z0-9.-]+$/);
            assert.ok(extracted.has(l), `${p.name}: ${field} uses ${l}, which hasExtractedLicensingInfos does not declare`);
            used.add(l);
          } else {
            assert.ok(SPDX_IDS.has(l), `${p.name}: ${l} is on the SPDX license list`);
          }
        }
      }
    }
    for (const id of extracted.keys()) assert.ok(used.has(id), `${id} is declared but never used`);
    // Each package's licenses map one to one onto its licenseDeclared.
    for (const p of inv.packages) {
      const s = doc.packages.find((x) => purlOfSpdx(x).includes(p.purl))!;
      if (p.licenses.length === 0) {
        assert.equal(s.licenseDeclared, 'NOASSERTION', `${p.purl}: no licenses → NOASSERTION`);
        continue;
      }
      for (const l of p.licenses) {
        if (SPDX_IDS.has(l) || /^LicenseRef-[A-Za-z0-9.-]+$/.test(l)) assert.ok(s.licenseDeclared.split(/[ ()]+/).includes(l), `${p.purl}: ${l} in ${s.licenseDeclared}`);
      }
      // Semantics: licenseDeclared means "all of the package's licenses": the AND of each one
      // (an unknown name standing as its LicenseRef). Compared as the multiset of AND operands.
      const refFor = new Map([...extracted].map(([id, text]) => [text, id]));
      const expectedAnd = p.licenses.flatMap((l) => (isExpression(l) ? andOperands(parseSpdxExpression(l)) : [JSON.stringify({ license: refFor.get(l) ?? `<no LicenseRef for ${l}>` })])).sort();
      if (isExpression(s.licenseDeclared)) assert.deepEqual(andOperands(parseSpdxExpression(s.licenseDeclared)).sort(), expectedAnd, `${p.purl}: ${JSON.stringify(p.licenses)} → ${JSON.stringify(s.licenseDeclared)} means something else`);
      const unknown = p.licenses.filter((l) => !SPDX_IDS.has(l) && !isExpression(l));
      for (const name of unknown) {
        const ref = [...extracted].find(([, text]) => text === name)?.[0];
        assert.ok(ref !== undefined, `${p.purl}: "${name}" has an extracted licensing info`);
        assert.ok(s.licenseDeclared.split(/[ ()]+/).includes(ref), `${p.purl}: licenseDeclared uses ${ref} for "${name}"`);
      }
    }
  });
}

/** The operands of a top-level AND chain, each as a canonical string (operator case folded by the parser). */
function andOperands(node: parseSpdxExpression.Info): string[] {
  if ('conjunction' in node && node.conjunction === 'and') return [...andOperands(node.left), ...andOperands(node.right)];
  return [JSON.stringify(node)];
}

function isExpression(text: string): boolean {
  try {
    parseSpdxExpression(text);
    return true;
  } catch {
    return false;
  }
}

test('spdx-json: expected licenseDeclared values', () => {
  const { doc } = spdxOf(FULL);
  const declared = (p: Package): string => doc.packages.find((x) => purlOfSpdx(x).includes(p.purl))!.licenseDeclared;
  assert.equal(declared(serde), 'MIT OR Apache-2.0');
  assert.equal(declared(multiLicensed), '(MIT OR Apache-2.0) AND BSD-2-Clause');
  assert.equal(declared(libc6), 'LGPL-2.1-or-later AND GPL-2.0-or-later');
  assert.equal(declared(withException), 'GPL-2.0-only WITH Classpath-exception-2.0');
  assert.equal(declared(noLicense), 'NOASSERTION');
  assert.match(declared(customOnly), /^LicenseRef-[0-9a-f]{12}$/);
  // The same unknown name in two packages is one LicenseRef.
  const refs = (doc.hasExtractedLicensingInfos ?? []).filter((e) => e.extractedText === 'Some Custom License');
  assert.equal(refs.length, 1);
  assert.ok(declared(customAndMit).split(' AND ').includes(refs[0]!.licenseId));
  assert.ok(declared(customAndMit).split(' AND ').includes('MIT'));
});

test('spdx-json: a lower-case `or` expression next to another license keeps its meaning (parenthesized)', () => {
  const { doc } = spdxOf(LOWER_CASE_OPERATORS);
  const declared = doc.packages.find((x) => purlOfSpdx(x).includes(lowerOr.purl))!.licenseDeclared;
  // AND binds tighter than OR (SPDX Annex D.4.5): without parentheses this reads MIT OR (Apache-2.0 AND BSD-2-Clause).
  assert.deepEqual(parseSpdxExpression(declared), parseSpdxExpression('(MIT OR Apache-2.0) AND BSD-2-Clause'), declared);
});

test('cyclonedx-json: a lone lower-case `or` expression is carried as an expression', () => {
  const { bom } = cdxOf(LOWER_CASE_OPERATORS);
  const c = (bom.components ?? []).find((x) => x['bom-ref'] === lowerOrAlone.id)!;
  assert.equal(c.licenses?.length, 1);
  const expression = c.licenses![0]!.expression;
  assert.ok(expression !== undefined, `licenses: ${JSON.stringify(c.licenses)}`);
  assert.deepEqual(parseSpdxExpression(expression), parseSpdxExpression('MIT OR Apache-2.0'));
});

test('spdx-json: the image package carries the digest (versionInfo, SHA256 checksum, oci purl); the OS package exists', () => {
  const { doc } = spdxOf(FULL);
  const image = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER')!;
  assert.equal(image.name, IMAGE_SUBJECT.name);
  assert.equal(image.versionInfo, IMAGE_DIGEST);
  assert.deepEqual(image.checksums, [{ algorithm: 'SHA256', checksumValue: IMAGE_DIGEST.slice(7) }]);
  assert.deepEqual(purlOfSpdx(image), [`pkg:oci/app@sha256%3A${IMAGE_DIGEST.slice(7)}?repository_url=registry.example.com%2Fteam%2Fapp&tag=1.2.3`]);
  const os = doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM');
  assert.equal(os.length, 1);
  assert.equal(os[0]!.name, 'debian');
  assert.equal(os[0]!.versionInfo, '12');
  assert.ok(doc.relationships.some((r) => r.spdxElementId === image.SPDXID && r.relationshipType === 'CONTAINS' && r.relatedSpdxElement === os[0]!.SPDXID));
});

test('spdx-json: a dir: subject has no digest; no distro, no OS package; the empty inventory has only the image', () => {
  const dir = spdxOf(DIR).doc;
  const image = dir.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER')!;
  assert.equal(image.name, 'dir:/tmp/rootfs');
  assert.equal(image.versionInfo, undefined);
  assert.equal(image.checksums, undefined);
  assert.equal(image.externalRefs, undefined);
  assert.equal(dir.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM').length, 0);
  const empty = spdxOf(EMPTY).doc;
  assert.equal(empty.packages.length, 1);
  assert.equal(empty.relationships.length, 1);
  assert.equal(empty.hasExtractedLicensingInfos, undefined);
});

test('writers are deterministic given timestamp, serial number and namespace id', () => {
  for (const format of ['cyclonedx-json', 'spdx-json'] as const) assert.equal(formatInventory(FULL, format, OPTIONS), formatInventory(FULL, format, OPTIONS), format);
});

// ---------------------------------------------------------------------------------------------
// json and table

for (const [label, inv] of Object.entries(INVENTORIES)) {
  test(`json (${label}): round-trips the inventory under a schema key`, () => {
    const parsed = JSON.parse(formatInventory(inv, 'json', OPTIONS)) as { schema: string } & Inventory;
    const { schema, ...rest } = parsed;
    assert.equal(schema, INVENTORY_SCHEMA);
    assert.deepEqual(rest, JSON.parse(JSON.stringify(inv)));
    assert.deepEqual(rest.packages, inv.packages);
    assert.deepEqual(rest.subject, inv.subject);
    assert.deepEqual(rest.distro, inv.distro);
    assert.deepEqual(rest.warnings, inv.warnings);
  });

  test(`table (${label}): a header and one row per package`, () => {
    const out = formatInventory(inv, 'table', OPTIONS);
    assert.ok(out.endsWith('\n'));
    const lines = out.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(/\s+/), ['NAME', 'VERSION', 'TYPE']);
    if (inv.packages.length === 0) {
      assert.deepEqual(lines.slice(1), ['(no packages found)']);
      return;
    }
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    assert.equal(rows.length, inv.packages.length);
    const expected = inv.packages.map((p) => [p.name, p.version, p.type].join('\t')).sort();
    assert.deepEqual(rows.map((r) => r.join('\t')).sort(), expected);
  });
}
