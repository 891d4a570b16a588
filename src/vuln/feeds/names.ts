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
      return rpmDistroEcosystem(parts[0]!, parts.slice(1));
  }
}

/** `9`, `9.3` → `9`; undefined for anything else. */
const majorOf = (release: string | undefined): string | undefined => /^(\d+)(?:\.\d+)?$/.exec(release ?? '')?.[1];

/**
 * The RPM and Wolfi-family distributions osv.dev carries (see `osvEcosystem`):
 * - `Red Hat:enterprise_linux:9::appstream` (any repository suffix) → `rhel:9`. The other Red Hat
 *   products (`rhel_eus`, `rhel_aus`, `rhel_tus`, `rhel_e4s` streams of a minor release, `rhel_els`,
 *   layered products) ship other builds for other subscriptions: undefined (skipped).
 * - `AlmaLinux:8` → `almalinux:8`, `Rocky Linux:9` → `rocky:9`, `Mageia:9` → `mageia:9`.
 * - `SUSE:Linux Enterprise Server 15 SP5` and every other SUSE Linux Enterprise 15 SP5 product
 *   or module (Server for SAP Applications, Desktop, Module for Basesystem, LTSS, …) → `sles:15.5`:
 *   one code stream, one set of builds, whichever product an image installed from;
 *   `SUSE:Linux Enterprise Micro 5.5` → `sle-micro:5.5`. Other SUSE products (Storage, Manager,
 *   SL Micro 6) are skipped.
 * - `openSUSE:Leap 15.5` → `opensuse-leap:15.5`, `openSUSE:Tumbleweed` → `opensuse-tumbleweed`.
 * - `Photon OS:5.0` → `photon:5.0`; `Azure Linux:3` → `azurelinux:3` (CBL-Mariner 2.0 is
 *   `Azure Linux:2` at osv.dev); `openEuler:22.03-LTS-SP1` → `openeuler:22.03-LTS-SP1`.
 * - `Wolfi` → `wolfi`, `Chainguard` → `chainguard` (rolling: no release).
 */
function rpmDistroEcosystem(name: string, rest: readonly string[]): { ecosystem: Ecosystem } | undefined {
  const release = rest.length === 1 ? rest[0]! : undefined;
  const keyed = (kind: string, r: string | undefined): { ecosystem: Ecosystem } | undefined => (r === undefined ? undefined : { ecosystem: `${kind}:${r}` });
  switch (name) {
    case 'Red Hat':
      return rest[0] === 'enterprise_linux' && /^\d+$/.test(rest[1] ?? '') ? { ecosystem: `rhel:${Number(rest[1])}` } : undefined;
    case 'AlmaLinux':
      return keyed('almalinux', majorOf(release));
    case 'Rocky Linux':
      return keyed('rocky', majorOf(release));
    case 'Mageia':
      return keyed('mageia', majorOf(release));
    case 'Azure Linux':
      return keyed('azurelinux', majorOf(release));
    case 'Photon OS':
      return keyed('photon', /^\d+\.\d+$/.test(release ?? '') ? release : undefined);
    case 'openEuler':
      return keyed('openeuler', /^\d+\.\d+(?:-[A-Za-z0-9]+)*$/.test(release ?? '') ? release : undefined);
    case 'SUSE': {
      const micro = /^Linux Enterprise Micro (\d+\.\d+)$/.exec(release ?? '');
      if (micro !== null) return { ecosystem: `sle-micro:${micro[1]}` };
      const m = /^Linux Enterprise (?:[A-Za-z][\w ]*? )?(\d+)(?: SP(\d+))?(?:[ -]LTSS)?$/.exec(release ?? '');
      return m === null ? undefined : { ecosystem: `sles:${m[1]}${m[2] !== undefined ? `.${m[2]}` : ''}` };
    }
    case 'openSUSE': {
      if (release === 'Tumbleweed') return { ecosystem: 'opensuse-tumbleweed' };
      const leap = /^Leap (\d+\.\d+)$/.exec(release ?? '');
      return leap === null ? undefined : { ecosystem: `opensuse-leap:${leap[1]}` };
    }
    case 'Wolfi':
      return rest.length === 0 ? { ecosystem: 'wolfi' } : undefined;
    case 'Chainguard':
      return rest.length === 0 ? { ecosystem: 'chainguard' } : undefined;
    default:
      return undefined;
  }
}

/**
 * The vendor a feed's ratings are filed under in a finding's VendorSeverity, as Trivy names them:
 * `debian-tracker` → debian, `alas` → amazon, `suse` → suse-cvrf, …; other sources as they are.
 */
export function vendorName(source: string): string {
  return VENDORS[source] ?? source;
}

const VENDORS: Readonly<Record<string, string>> = {
  'debian-tracker': 'debian',
  'alpine-secdb': 'alpine',
  'wolfi-secdb': 'wolfi',
  'chainguard-secdb': 'chainguard',
  alas: 'amazon',
  suse: 'suse-cvrf',
};

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
