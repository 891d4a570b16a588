/**
 * Where a package is judged: the DB ecosystem of a distribution release or a language, the name
 * it is looked up by, and that ecosystem's version order. Pure. A new distribution or language is
 * added here (and in feeds/names.ts, where the importers spell the same keys).
 */
import type { Distro, Package, PackageType } from '../sbom/index.js';
import { normalizePackageName } from './feeds/names.js';
import {
  compareApk,
  compareCargo,
  compareComposer,
  compareConan,
  compareDpkg,
  compareGem,
  compareGo,
  compareHex,
  compareMaven,
  compareNpm,
  compareNuget,
  comparePep440,
  comparePub,
  compareRpmEvrString,
  compareSwift,
  isValidSwift,
} from './version/index.js';

/** A version order: negative, zero or positive, as Array.prototype.sort wants. */
export type Compare = (a: string, b: string) => number;

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

const DISTRO_FEEDS: Readonly<Record<string, string>> = { debian: 'debian-tracker', alpine: 'alpine-secdb' };

/** The distribution's own feed, whose records alone decide for its packages when it has any; null when it has none. */
export function distroFeedOf(distro: Distro | undefined): string | null {
  return distro !== undefined ? (DISTRO_FEEDS[distro.id.toLowerCase()] ?? null) : null;
}

/** Whether a package is a language ecosystem's (matched by OSV ranges), not a distribution's. */
export function isLanguagePackage(pkg: Package): boolean {
  return pkg.type in LANGUAGE_ECOSYSTEMS;
}

/** Debian-family releases without VERSION_ID (testing) are named by codename. */
const DEBIAN_CODENAMES: Readonly<Record<string, string>> = { buster: '10', bullseye: '11', bookworm: '12', trixie: '13', forky: '14' };

/** The DB ecosystem of the distribution's packages: `debian:12`, `ubuntu:22.04`, `alpine:3.19`; undefined when unknown. */
export function distroEcosystem(distro: Distro | undefined): string | undefined {
  if (distro === undefined) return undefined;
  const id = distro.id.toLowerCase();
  const version = distro.versionId;
  switch (id) {
    case 'debian': {
      const major = version?.split('.')[0] ?? (distro.versionCodename !== undefined ? DEBIAN_CODENAMES[distro.versionCodename] : undefined);
      return major === undefined ? undefined : `debian:${major}`;
    }
    case 'ubuntu':
      return version === undefined ? undefined : `ubuntu:${version}`;
    case 'alpine': {
      const m = /^(\d+)\.(\d+)/.exec(version ?? '');
      return m === null ? undefined : `alpine:${m[1]}.${m[2]}`;
    }
    default:
      return version === undefined ? undefined : `${id}:${version}`;
  }
}

/** The version order of an ecosystem (DB key, with or without release). */
export function comparatorOf(ecosystem: string): Compare | undefined {
  const kind = ecosystem.split(':')[0]!;
  switch (kind) {
    case 'debian':
    case 'ubuntu':
      return compareDpkg;
    case 'alpine':
      return compareApk;
    case 'rhel':
    case 'rocky':
    case 'almalinux':
    case 'centos':
    case 'fedora':
    case 'amzn':
    case 'ol':
    case 'opensuse':
    case 'sles':
      return compareRpmEvrString;
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

/** Where a package is looked up: ecosystem and normalized name (the source package for OS packages). */
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
  const name = pkg.source?.name ?? pkg.name;
  // Debian's source version differs from the binary's for binNMUs and some renamed builds; the
  // tracker speaks of source versions. Fall back to the binary's when the source's is unknown.
  let version = pkg.source?.version ?? pkg.version;
  if (pkg.type === 'rpm' && pkg.epoch !== undefined && pkg.epoch > 0 && !version.includes(':')) version = `${pkg.epoch}:${version}`;
  return { ecosystem: osEcosystem, name: normalizePackageName(osEcosystem, name), version };
}
