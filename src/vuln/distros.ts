/**
 * The distributions Portcullis judges, in one table: for each os-release ID, the DB ecosystem that
 * speaks for its packages (`rhel:9`), the version order, which name of a package the feeds key
 * (the source package or the binary one), and the distribution's own feed, whose records alone
 * decide when it speaks about a package. Pure. The importers spell the same keys in
 * feeds/names.ts (`osvEcosystem`) and in the distribution feeds' parsers.
 */
import type { Distro } from '../sbom/index.js';
import { compareApk, compareDpkg, compareRpmEvrString } from './version/index.js';

/** A version order: negative, zero or positive, as Array.prototype.sort wants. */
export type Compare = (a: string, b: string) => number;

export interface DistroFamily {
  /** The DB ecosystem's kind: `rhel` in `rhel:9`; the whole key for a distribution without releases (`wolfi`). */
  readonly ecosystem: string;
  /**
   * The release part of the key from the image's os-release: `9` for RHEL 9.3, `15.5` for SLES 15
   * SP5; null for a rolling distribution (the key is the kind alone); undefined when it cannot be
   * told (no VERSION_ID): the image is then not judged, and the coverage warning says so.
   */
  readonly release: (d: Distro) => string | null | undefined;
  readonly compare: Compare;
  /**
   * Which name of an OS package the distribution's feeds key: `source` (Debian's source package,
   * Alpine's and Wolfi's origin, a source RPM) or `binary` (the RPM itself: Red Hat's errata and
   * its rebuilds, SUSE, Amazon, Oracle and Photon list the binary packages a fix ships).
   */
  readonly name: 'source' | 'binary';
  /** The distribution's own feed (a `source` of its records), which alone decides for a package it speaks about. */
  readonly feed?: string;
}

const major = (d: Distro): string | undefined => /^(\d+)/.exec(d.versionId ?? '')?.[1];
const majorMinor = (d: Distro): string | undefined => {
  const m = /^(\d+)\.(\d+)/.exec(d.versionId ?? '');
  return m === null ? undefined : `${Number(m[1])}.${Number(m[2])}`;
};
const asIs = (d: Distro): string | undefined => (d.versionId !== undefined && /^\d+(\.\d+)*$/.test(d.versionId) ? d.versionId : undefined);
const rolling = (): null => null;

/** Debian-family releases without VERSION_ID (testing) are named by codename. */
const DEBIAN_CODENAMES: Readonly<Record<string, string>> = { buster: '10', bullseye: '11', bookworm: '12', trixie: '13', forky: '14' };

/**
 * openEuler's release as its advisories name it: `22.03-LTS-SP1` from VERSION_ID `22.03` and the
 * `(LTS-SP1)` its PRETTY_NAME (`openEuler 22.03 (LTS-SP1)`) adds; `23.09` for a release without one.
 */
function openEulerRelease(d: Distro): string | undefined {
  const version = /^\d+\.\d+$/.exec(d.versionId ?? '')?.[0];
  if (version === undefined) return undefined;
  const extra = /\(([A-Za-z0-9-]+)\)\s*$/.exec(d.prettyName ?? '')?.[1];
  return extra === undefined ? version : `${version}-${extra.toUpperCase()}`;
}

const RPM = compareRpmEvrString;
const rhel: DistroFamily = { ecosystem: 'rhel', release: major, compare: RPM, name: 'binary' };
const sles: DistroFamily = { ecosystem: 'sles', release: majorMinorOrMajor, compare: RPM, name: 'binary' };
// CBL-Mariner became Azure Linux: osv.dev files Mariner 1.0 and 2.0 as `Azure Linux:1` and `:2`.
const azure: DistroFamily = { ecosystem: 'azurelinux', release: major, compare: RPM, name: 'source' };

/** SLES 15 GA is VERSION_ID `15`, SP5 `15.5`: SUSE's products are named the same way (`15`, `15 SP5`). */
function majorMinorOrMajor(d: Distro): string | undefined {
  return /^\d+(\.\d+)?$/.test(d.versionId ?? '') ? d.versionId : undefined;
}

/** By os-release ID (lower case). */
export const DISTROS: Readonly<Record<string, DistroFamily>> = {
  debian: {
    ecosystem: 'debian',
    release: (d) => d.versionId?.split('.')[0] ?? (d.versionCodename !== undefined ? DEBIAN_CODENAMES[d.versionCodename] : undefined),
    compare: compareDpkg,
    name: 'source',
    feed: 'debian-tracker',
  },
  ubuntu: { ecosystem: 'ubuntu', release: (d) => d.versionId, compare: compareDpkg, name: 'source' },
  alpine: { ecosystem: 'alpine', release: majorMinor, compare: compareApk, name: 'source', feed: 'alpine-secdb' },
  wolfi: { ecosystem: 'wolfi', release: rolling, compare: compareApk, name: 'source', feed: 'wolfi-secdb' },
  chainguard: { ecosystem: 'chainguard', release: rolling, compare: compareApk, name: 'source', feed: 'chainguard-secdb' },
  // Red Hat's errata speak for RHEL, UBI and CentOS alike (CentOS Linux and Stream rebuild RHEL's sources).
  rhel,
  centos: rhel,
  almalinux: { ecosystem: 'almalinux', release: major, compare: RPM, name: 'binary' },
  rocky: { ecosystem: 'rocky', release: major, compare: RPM, name: 'binary' },
  ol: { ecosystem: 'ol', release: major, compare: RPM, name: 'binary', feed: 'oracle-oval' },
  amzn: { ecosystem: 'amzn', release: asIs, compare: RPM, name: 'binary', feed: 'alas' },
  sles,
  sles_sap: sles,
  sled: sles,
  'sle-micro': { ecosystem: 'sle-micro', release: majorMinor, compare: RPM, name: 'binary' },
  'opensuse-leap': { ecosystem: 'opensuse-leap', release: majorMinor, compare: RPM, name: 'binary' },
  'opensuse-tumbleweed': { ecosystem: 'opensuse-tumbleweed', release: rolling, compare: RPM, name: 'binary' },
  photon: { ecosystem: 'photon', release: majorMinor, compare: RPM, name: 'binary' },
  azurelinux: azure,
  mariner: azure,
  mageia: { ecosystem: 'mageia', release: major, compare: RPM, name: 'source' },
  openeuler: { ecosystem: 'openeuler', release: openEulerRelease, compare: RPM, name: 'source' },
};

const BY_ECOSYSTEM: ReadonlyMap<string, DistroFamily> = new Map(Object.values(DISTROS).map((f) => [f.ecosystem, f]));

/** The family of an image's distribution, by its os-release ID; undefined for one Portcullis does not know. */
export function distroFamily(distro: Distro | undefined): DistroFamily | undefined {
  return distro === undefined ? undefined : DISTROS[distro.id.toLowerCase()];
}

/** The family of a DB ecosystem key (`rhel:9`, `wolfi`), or undefined for a language ecosystem. */
export function familyOfEcosystem(ecosystem: string): DistroFamily | undefined {
  const colon = ecosystem.indexOf(':');
  return BY_ECOSYSTEM.get(colon < 0 ? ecosystem : ecosystem.slice(0, colon));
}

/** Whether a DB ecosystem key is a distribution's (its records name OS packages). */
export function isOsEcosystem(ecosystem: string): boolean {
  return familyOfEcosystem(ecosystem) !== undefined;
}

/** Whether a DB ecosystem's versions are RPM EVRs. */
export function isRpmEcosystem(ecosystem: string): boolean {
  return familyOfEcosystem(ecosystem)?.compare === RPM;
}
