/**
 * CycloneDX 1.6 JSON through the OWASP CycloneDX library (its models, normalizer and serializer,
 * so the output follows the spec's rules on ordering and escaping). The image is the metadata
 * component; the distro is an operating-system component; every package a library component
 * with its purl, licenses, locations and facts as properties; lockfile dependencies become the
 * dependency graph.
 */
import { createRequire } from 'node:module';
import type * as EnumsT from '@cyclonedx/cyclonedx-library/Enums';
import type * as ModelsT from '@cyclonedx/cyclonedx-library/Models';
import type * as SerializeT from '@cyclonedx/cyclonedx-library/Serialize';
import type * as SpdxT from '@cyclonedx/cyclonedx-library/SPDX';
import type * as SpecT from '@cyclonedx/cyclonedx-library/Spec';
import { isSpdxExpression } from './licenses.js';
import type { Inventory, Package } from './model.js';

export interface WriterOptions {
  readonly toolVersion: string;
  /** Fixed time and serial number for reproducible output (tests, golden files). */
  readonly timestamp?: Date;
  readonly serialNumber?: string;
}

/**
 * The library is loaded on first use, by subpath: its index also loads its validators (ajv), and
 * a warm `portcullis sbom -o table` should not pay for either.
 */
const requireLazy = createRequire(import.meta.url);
let lib: { Enums: typeof EnumsT; Models: typeof ModelsT; Serialize: typeof SerializeT; SPDX: typeof SpdxT; Spec: typeof SpecT } | undefined;
export function cycloneDxLibrary(): NonNullable<typeof lib> {
  lib ??= {
    Enums: requireLazy('@cyclonedx/cyclonedx-library/Enums') as typeof EnumsT,
    Models: requireLazy('@cyclonedx/cyclonedx-library/Models') as typeof ModelsT,
    Serialize: requireLazy('@cyclonedx/cyclonedx-library/Serialize') as typeof SerializeT,
    SPDX: requireLazy('@cyclonedx/cyclonedx-library/SPDX') as typeof SpdxT,
    Spec: requireLazy('@cyclonedx/cyclonedx-library/Spec') as typeof SpecT,
  };
  return lib;
}

const IMAGE_REF = 'image';
const OS_REF = 'os';

export function toCycloneDx(inventory: Inventory, options: WriterOptions): string {
  const { Enums, Models, Serialize, Spec } = cycloneDxLibrary();
  const { subject, distro } = inventory;
  const image = new Models.Component(Enums.ComponentType.Container, subject.name ?? subject.reference, {
    bomRef: IMAGE_REF,
    ...(subject.digest !== undefined ? { version: subject.digest } : {}),
    ...(imagePurl(inventory) !== undefined ? { purl: imagePurl(inventory)! } : {}),
  });
  if (subject.digest?.startsWith('sha256:') === true) image.hashes.set(Enums.HashAlgorithm['SHA-256'], subject.digest.slice(7));
  if (subject.tag !== undefined) image.properties.add(new Models.Property('portcullis:image:tag', subject.tag));
  if (subject.platform !== undefined) image.properties.add(new Models.Property('portcullis:image:platform', `${subject.platform.os}/${subject.platform.architecture}${subject.platform.variant !== undefined ? `/${subject.platform.variant}` : ''}`));
  subject.layers.forEach((l, i) => image.properties.add(new Models.Property(`portcullis:image:layer:${i}`, l.digest)));

  const bom = new Models.Bom({
    metadata: new Models.Metadata({
      timestamp: options.timestamp ?? new Date(),
      component: image,
      tools: new Models.Tools({ components: new Models.ComponentRepository([new Models.Component(Enums.ComponentType.Application, 'portcullis', { version: options.toolVersion })]) }),
    }),
    ...(options.serialNumber !== undefined ? { serialNumber: options.serialNumber } : {}),
  });

  let os: ModelsT.Component | undefined;
  if (distro !== undefined) {
    os = new Models.Component(Enums.ComponentType.OperatingSystem, distro.id, { bomRef: OS_REF, ...(distro.versionId !== undefined ? { version: distro.versionId } : {}), ...(distro.prettyName !== undefined ? { description: distro.prettyName } : {}) });
    bom.components.add(os);
    image.dependencies.add(os.bomRef);
  }

  const components = new Map<string, ModelsT.Component>();
  for (const p of inventory.packages) {
    const c = componentOf(p);
    components.set(p.id, c);
    bom.components.add(c);
  }
  const dependedOn = new Set<string>();
  for (const p of inventory.packages) {
    const c = components.get(p.id)!;
    for (const dep of p.dependsOn) {
      const target = components.get(dep);
      if (target === undefined) continue;
      c.dependencies.add(target.bomRef);
      dependedOn.add(dep);
    }
  }
  // The image holds the OS (which holds its packages) and every package nothing else pulls in.
  for (const p of inventory.packages) {
    const c = components.get(p.id)!;
    if (os !== undefined && isOsPackage(p)) os.dependencies.add(c.bomRef);
    else if (!dependedOn.has(p.id)) image.dependencies.add(c.bomRef);
  }

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

function isOsPackage(p: Package): boolean {
  return p.type === 'deb' || p.type === 'apk' || p.type === 'rpm';
}

function componentOf(p: Package): ModelsT.Component {
  const { Enums, Models } = cycloneDxLibrary();
  const group = p.type === 'maven' || p.type === 'composer' ? p.namespace : p.type === 'npm' ? p.namespace : undefined;
  const c = new Models.Component(Enums.ComponentType.Library, p.name, {
    bomRef: p.id,
    version: p.version,
    purl: p.purl,
    ...(group !== undefined ? { group } : {}),
  });
  // CycloneDX allows one expression or a list of licenses, not both.
  for (const l of p.licenses) c.licenses.add(licenseOf(l, p.licenses.length === 1));
  p.locations.forEach((l, i) => {
    c.properties.add(new Models.Property(`portcullis:location:${i}:path`, `/${l.path}`));
    if (l.layer !== undefined) c.properties.add(new Models.Property(`portcullis:location:${i}:layer`, l.layer));
  });
  c.properties.add(new Models.Property('portcullis:package:type', p.type));
  if (p.source !== undefined) {
    c.properties.add(new Models.Property('portcullis:package:source', p.source.name));
    if (p.source.version !== undefined) c.properties.add(new Models.Property('portcullis:package:source-version', p.source.version));
  }
  if (p.arch !== undefined) c.properties.add(new Models.Property('portcullis:package:arch', p.arch));
  if (p.epoch !== undefined) c.properties.add(new Models.Property('portcullis:package:epoch', String(p.epoch)));
  for (const [k, v] of Object.entries(p.properties ?? {})) c.properties.add(new Models.Property(`portcullis:package:${k}`, v));
  return c;
}

function licenseOf(text: string, alone: boolean): ModelsT.License {
  const { Models, SPDX } = cycloneDxLibrary();
  if (SPDX.isSupportedSpdxId(text)) return new Models.SpdxLicense(text);
  if (alone && /\s(AND|OR|WITH)\s/i.test(text) && isSpdxExpression(text)) return new Models.LicenseExpression(text);
  return new Models.NamedLicense(text);
}

/** pkg:oci/<name>@<digest>?repository_url=<registry/repo>, as the purl spec defines for images. */
export function imagePurl(inventory: Inventory): string | undefined {
  const { subject } = inventory;
  if (subject.digest === undefined) return undefined;
  const repo = subject.name;
  const last = (repo ?? 'image').split('/').pop()!;
  const qualifiers: string[] = [];
  if (repo !== undefined && repo.includes('/')) qualifiers.push(`repository_url=${encodeURIComponent(repo)}`);
  if (subject.tag !== undefined) qualifiers.push(`tag=${encodeURIComponent(subject.tag)}`);
  return `pkg:oci/${encodeURIComponent(last.toLowerCase())}@${encodeURIComponent(subject.digest)}${qualifiers.length > 0 ? `?${qualifiers.join('&')}` : ''}`;
}
