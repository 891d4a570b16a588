/**
 * Where a package is judged: the DB ecosystem of a distribution release or a language, the name
 * it is looked up by, and that ecosystem's version order. Pure. A new distribution is added to the
 * table in distros.ts, a new language here (and both in feeds/names.ts, where the importers spell
 * the same keys).
 */
import type { Distro, Package, PackageType } from '../sbom/index.js';
import { distroFamily, familyOfEcosystem, type Compare } from './distros.js';
import { normalizePackageName } from './feeds/names.js';
import { modularName, moduleStream } from './rpm-builds.js';
import {
  compareCargo,
  compareComposer,
  compareConan,
  compareGem,
  compareGo,
  compareHex,
  compareMaven,
  compareNpm,
  compareNuget,
  comparePep440,
  comparePub,
  compareSwift,
  isValidSwift,
} from './version/index.js';

export type { Compare } from './distros.js';

const LANGUAGE_ECOSYSTEMS: Partial<Record<PackageType, string>> = {
  npm: 'npm',
  pypi: 'pypi',
  golang: 'go',
  maven: 'maven',
  cargo: 'crates.io',
  gem: 'rubygems',
  composer: 'packagist',
  nuget: 'nuget',
  hex: 'hex',
  pub: 'pub',
  swift: 'swifturl',
  conan: 'conancenter',
};

/** The distribution's own feed, whose records alone decide for its packages when it has any; null when it has none. */
export function distroFeedOf(distro: Distro | undefined): string | null {
  return distroFamily(distro)?.feed ?? null;
}

/** Whether a package is a language ecosystem's (matched by OSV ranges), not a distribution's. */
export function isLanguagePackage(pkg: Package): boolean {
  return pkg.type in LANGUAGE_ECOSYSTEMS;
}

/**
 * The DB ecosystem of the distribution's packages: `debian:12`, `ubuntu:22.04`, `alpine:3.19`,
 * `rhel:9` (RHEL, UBI and CentOS), `sles:15.5`, `wolfi`; undefined when the release cannot be
 * told. A distribution missing from the table keeps `id:VERSION_ID`, which no feed fills: the
 * coverage warning then names it.
 */
export function distroEcosystem(distro: Distro | undefined): string | undefined {
  if (distro === undefined) return undefined;
  const family = distroFamily(distro);
  if (family === undefined) return distro.versionId === undefined ? undefined : `${distro.id.toLowerCase()}:${distro.versionId}`;
  const release = family.release(distro);
  if (release === undefined) return undefined;
  return release === null ? family.ecosystem : `${family.ecosystem}:${release}`;
}

/** The version order of an ecosystem (DB key, with or without release). */
export function comparatorOf(ecosystem: string): Compare | undefined {
  const os = familyOfEcosystem(ecosystem);
  if (os !== undefined) return os.compare;
  switch (ecosystem.split(':')[0]!) {
    case 'npm':
      return compareNpm;
    case 'pypi':
      return comparePep440;
    case 'go':
      return (a, b) => compareGo(goVersion(a), goVersion(b));
    case 'maven':
      return compareMaven;
    case 'crates.io':
      return compareCargo;
    case 'rubygems':
      return compareGem;
    case 'packagist':
      return compareComposer;
    case 'nuget':
      return compareNuget;
    case 'hex':
      return compareHex;
    case 'pub':
      return comparePub;
    case 'swifturl':
      return compareSwift;
    case 'conancenter':
      return compareConan;
    default:
      return undefined;
  }
}

/** OSV's Go ranges are written without the `v` Go itself requires. */
function goVersion(v: string): string {
  return v.startsWith('v') ? v : `v${v}`;
}

/**
 * Where a package is looked up: ecosystem and normalized name. An OS package is named as its
 * distribution's feeds key it (distros.ts): by its source package (Debian, Ubuntu, Alpine, Wolfi,
 * Mageia, openEuler, Azure Linux) or by its own name (the RPM distributions whose errata list
 * binary packages). An RPM from a module stream (its MODULARITYLABEL) is looked up as
 * `stream/name` (`nodejs:18/nodejs`): see rpm-builds.ts.
 */
export function lookupKey(pkg: Package, osEcosystem: string | undefined): { ecosystem: string; name: string; version: string } | undefined {
  const lang = LANGUAGE_ECOSYSTEMS[pkg.type];
  // A Swift package pinned to a branch or commit carries the revision in place of a version: no range can place it.
  if (lang === 'swifturl' && !isValidSwift(pkg.version)) return undefined;
  if (lang !== undefined) {
    const full =
      pkg.type === 'maven' ? `${pkg.namespace ?? ''}:${pkg.name}` : pkg.namespace !== undefined && pkg.namespace !== '' ? `${pkg.namespace}/${pkg.name}` : pkg.name;
    return { ecosystem: lang, name: normalizePackageName(lang, full), version: pkg.version };
  }
  if (osEcosystem === undefined) return undefined;
  if (pkg.type !== 'deb' && pkg.type !== 'apk' && pkg.type !== 'rpm') return undefined;
  const byBinary = familyOfEcosystem(osEcosystem)?.name === 'binary';
  let name = byBinary ? pkg.name : (pkg.source?.name ?? pkg.name);
  // Debian's source version differs from the binary's for binNMUs and some renamed builds; the
  // tracker speaks of source versions. Fall back to the binary's when the source's is unknown. An
  // RPM's source has the binary's version and release; its epoch is the binary's own.
  let version = pkg.type === 'rpm' ? pkg.version : (pkg.source?.version ?? pkg.version);
  if (pkg.type === 'rpm') {
    if (pkg.epoch !== undefined && pkg.epoch > 0 && !version.includes(':')) version = `${pkg.epoch}:${version}`;
    const stream = moduleStream(pkg.properties?.['modularitylabel']);
    if (stream !== undefined) name = modularName(stream, name);
  }
  return { ecosystem: osEcosystem, name: normalizePackageName(osEcosystem, name), version };
}
