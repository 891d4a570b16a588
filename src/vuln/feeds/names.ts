/**
 * Ecosystem keys and package names as the advisory DB stores them. The importers and the matcher
 * both go through these functions, so a feed's name and an inventory's name meet in one spelling.
 * Pure.
 */
import type { Ecosystem } from '../model.js';

/** The language ecosystems the DB knows, keyed by OSV's spelling of their names. */
const LANGUAGE_ECOSYSTEMS: ReadonlyMap<string, Ecosystem> = new Map([
  ['npm', 'npm'],
  ['PyPI', 'pypi'],
  ['Go', 'go'],
  ['Maven', 'maven'],
  ['crates.io', 'crates.io'],
  ['RubyGems', 'rubygems'],
  ['Packagist', 'packagist'],
  ['NuGet', 'nuget'],
  ['Hex', 'hex'],
  ['Pub', 'pub'],
  ['SwiftURL', 'swifturl'],
  ['ConanCenter', 'conancenter'],
]);

/**
 * Debian release codenames and their version numbers. `sid` and `experimental` have none (they
 * are not releases an image can pin) and are skipped by the importers. The old releases stay
 * because the tracker still carries them and images built on them are still pulled.
 */
const DEBIAN_RELEASES: ReadonlyMap<string, string> = new Map([
  ['wheezy', '7'],
  ['jessie', '8'],
  ['stretch', '9'],
  ['buster', '10'],
  ['bullseye', '11'],
  ['bookworm', '12'],
  ['trixie', '13'],
  ['forky', '14'],
  ['duke', '15'],
]);

/** The Debian version number of a release codename (`bookworm` → `12`); undefined for sid, experimental and unknown names. */
export function debianReleaseVersion(codename: string): string | undefined {
  return DEBIAN_RELEASES.get(codename) ?? DEBIAN_RELEASES.get(codename.trim().toLowerCase());
}

/** An Alpine release as major.minor: `v3.19` → `3.19`, `3.19.1` → `3.19`; undefined for `edge` or garbage. */
export function alpineRelease(version: string): string | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)*$/.exec(version.trim());
  return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}

/**
 * The DB ecosystem of an OSV `affected[].package.ecosystem` string, or undefined for one the DB
 * does not store (the caller skips and counts it).
 *
 * - `Debian:12` → `debian:12`; `Alpine:v3.19` → `alpine:3.19`.
 * - `Ubuntu:22.04:LTS`, `Ubuntu:23.10` → `ubuntu:22.04`, `ubuntu:23.10`.
 * - `Ubuntu:Pro:18.04:LTS` → `ubuntu:18.04`: Ubuntu Pro (ESM) ships the same source packages for
 *   the same release, and for releases past standard support its fixes are the only ones; an
 *   image on such a release is affected whether or not it has Pro attached, and the `+esmN` fixed
 *   version tells the reader where the fix is. The FIPS, Realtime and other Pro streams
 *   (`Ubuntu:Pro:FIPS:...`, `Ubuntu:FIPS:...`) are different package builds: undefined (skipped).
 * - Language ecosystems by their exact OSV name (`PyPI` → `pypi`, `crates.io`, ...).
 */
export function osvEcosystem(osvName: string): { ecosystem: Ecosystem } | undefined {
  const lang = LANGUAGE_ECOSYSTEMS.get(osvName);
  if (lang !== undefined) return { ecosystem: lang };
  const parts = osvName.split(':');
  switch (parts[0]) {
    case 'Debian': {
      const release = parts.length === 2 ? parts[1]! : '';
      return /^\d+$/.test(release) ? { ecosystem: `debian:${Number(release)}` } : undefined;
    }
    case 'Alpine': {
      const release = parts.length === 2 ? alpineRelease(parts[1]!) : undefined;
      return release === undefined ? undefined : { ecosystem: `alpine:${release}` };
    }
    case 'Ubuntu': {
      const rest = parts[1] === 'Pro' ? parts.slice(2) : parts.slice(1);
      const [release, lts, ...more] = rest;
      if (release === undefined || !/^\d{2}\.\d{2}$/.test(release) || more.length > 0) return undefined;
      if (lts !== undefined && lts !== 'LTS') return undefined;
      return { ecosystem: `ubuntu:${release}` };
    }
    default:
      return undefined;
  }
}

/**
 * A package name as the DB stores it, for feed records and inventory packages alike:
 * - pypi: PEP 503 (lower case, every run of `-`, `_`, `.` becomes one `-`);
 * - packagist (Composer) and nuget: lower case (both registries treat names case-insensitively);
 * - swifturl (`github.com/apple/swift-nio`): lower case, as the hosts that serve Swift packages
 *   (GitHub, GitLab) treat repository paths, and a Package.resolved spells the URL as the
 *   project's manifest did, not always as the advisory does; a trailing `.git` or `/` is dropped;
 * - maven `group:artifact`, npm, go (module paths are case-sensitive), crates.io, rubygems, hex,
 *   pub, conancenter (all three lower case by their registries' rules) and the OS ecosystems
 *   (source or origin package names): as given.
 * Surrounding white space is dropped everywhere.
 */
export function normalizePackageName(ecosystem: Ecosystem, name: string): string {
  const n = name.trim();
  switch (ecosystem) {
    case 'pypi':
      return n.toLowerCase().replace(/[-_.]+/g, '-');
    case 'packagist':
    case 'nuget':
      return n.toLowerCase();
    case 'swifturl':
      return n.toLowerCase().replace(/\/+$/, '').replace(/\.git$/, '');
    default:
      return n;
  }
}
