/**
 * The inventory model shared by catalogers, the SBOM writers and the scanner. Pure data: what a
 * cataloger found in one file (a `Finding`), and what an image holds once its layers are squashed
 * (an `Inventory`).
 */

/** Package ecosystems, named as their purl types are. */
export const PACKAGE_TYPES = [
  'deb',
  'apk',
  'rpm',
  'npm',
  'pypi',
  'golang',
  'maven',
  'gem',
  'cargo',
  'composer',
  'nuget',
  'hex',
  'pub',
  'swift',
  'conan',
  'cocoapods',
  'conda',
  'julia',
] as const;
export type PackageType = (typeof PACKAGE_TYPES)[number];

/** Where a package was found: a path in the image (no leading slash) and the layer that added it. */
export interface Location {
  readonly path: string;
  /** Digest of the layer (as in the manifest) that holds this file in the squashed image. */
  readonly layer?: string;
}

/**
 * A package as one file states it. Catalogers fill what the file says; the purl and the distro
 * qualifier are added later, once the whole image (and its os-release) is known.
 */
export interface RawPackage {
  readonly type: PackageType;
  readonly name: string;
  readonly version: string;
  /** Maven group, npm scope (with the @), Go module path prefix: the purl namespace, when the ecosystem has one. */
  readonly namespace?: string;
  /** SPDX license ids or expressions where the file names a known license; other names as given. */
  readonly licenses?: readonly string[];
  /** OS packages: the source package they were built from (dpkg Source:, apk origin, rpm SOURCERPM). */
  readonly source?: { readonly name: string; readonly version?: string };
  /** Ecosystem facts that belong in the purl qualifiers or the SBOM properties: arch, epoch, release, ... */
  readonly arch?: string;
  readonly epoch?: number;
  /**
   * Purl qualifiers the ecosystem's purl type defines and the file states, for language packages
   * (conda `channel`/`subdir`/`build`, julia `uuid`, conan `channel`): part of the package's identity.
   */
  readonly qualifiers?: Readonly<Record<string, string>>;
  /** Extra facts, shown as SBOM properties (`portcullis:<key>`). Keys are stable, lower-case. */
  readonly properties?: Readonly<Record<string, string>>;
  /**
   * Keys (see `packageKey`) of the packages this one depends on, as the same file states them
   * (lockfiles); resolved to SBOM references when the inventory is assembled.
   */
  readonly dependsOn?: readonly string[];
  /** True for a lockfile's root project or a binary's main module (not a dependency). */
  readonly root?: boolean;
  /** Set by the assembler from the file the package came from; catalogers may add more (a nested jar). */
  readonly locations?: readonly Location[];
}

/** The distribution, from `etc/os-release` (or `usr/lib/os-release`, alpine-release, ...). */
export interface Distro {
  /** os-release ID, lower case: debian, ubuntu, alpine, rhel, rocky, ... */
  readonly id: string;
  /** VERSION_ID: 12, 22.04, 3.19.1. */
  readonly versionId?: string;
  readonly versionCodename?: string;
  readonly prettyName?: string;
  /** ID_LIKE, split on spaces. */
  readonly idLike?: readonly string[];
}

/** What a cataloger found in one file. */
export type Finding =
  | { readonly kind: 'package'; readonly package: RawPackage }
  | { readonly kind: 'distro'; readonly distro: Distro }
  /** A license stated apart from the package record (dpkg's usr/share/doc/<pkg>/copyright). */
  | { readonly kind: 'license'; readonly type: PackageType; readonly name: string; readonly licenses: readonly string[] };

/** A package of the assembled inventory: the raw facts plus its identity in the SBOM. */
export interface Package extends RawPackage {
  /** Stable reference inside one SBOM (CycloneDX bom-ref, SPDX id suffix). */
  readonly id: string;
  readonly purl: string;
  readonly licenses: readonly string[];
  readonly locations: readonly Location[];
  readonly dependsOn: readonly string[];
}

/** The image an inventory describes. */
export interface ImageSubject {
  /** The reference as the user gave it (`registry/repo:tag`, `oci-dir:path`, ...). */
  readonly reference: string;
  /** Repository name without tag or digest, when the source has one. */
  readonly name?: string;
  readonly tag?: string;
  /** Manifest digest, when the source has one (a `dir:` source has none). */
  readonly digest?: string;
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
  readonly layers: readonly { readonly digest: string; readonly diffId?: string; readonly size?: number }[];
}

export interface Inventory {
  readonly subject: ImageSubject;
  readonly distro?: Distro;
  readonly packages: readonly Package[];
  /** Non-fatal problems met while reading (a corrupt layer, a file over a size limit), for the user. */
  readonly warnings: readonly string[];
}

/** The key a package is known by inside one file's findings, for `dependsOn`. */
export function packageKey(p: { readonly type: PackageType; readonly namespace?: string; readonly name: string; readonly version: string }): string {
  return `${p.type}:${p.namespace === undefined ? '' : `${p.namespace}/`}${p.name}@${p.version}`;
}
