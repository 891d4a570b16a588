/**
 * Matching an inventory against advisories. Pure: the advisories come through `AdvisoryLookup`
 * (the SQLite DB in production, a map in tests).
 *
 * - OS packages match through their source package in their distribution's release (`debian:12`,
 *   `alpine:3.19`): a bookworm package is never judged by bullseye's records. When the
 *   distribution's own feed (Debian's tracker, Alpine's secdb) speaks about a package, only it is
 *   used for that package; OSV's copies of distro data fill in otherwise.
 * - Language packages match OSV ranges (introduced / fixed / last_affected / limit, plus explicit
 *   `versions`) on normalized names, compared with their ecosystem's own version order.
 */
import type { Distro, Inventory, Package, PackageType } from '../sbom/index.js';
import { normalizePackageName } from './feeds/names.js';
import type { AffectedRange, AffectedRecord, CvssScore, Severity, VulnerabilityRecord, VulnStatus } from './model.js';
import { severityOfScore, severityRank } from './severity.js';
import {
  compareApk,
  compareCargo,
  compareComposer,
  compareDpkg,
  compareGem,
  compareGo,
  compareMaven,
  compareNpm,
  compareNuget,
  comparePep440,
  compareRpmEvrString,
} from './version/index.js';

/** A vulnerability as the DB keeps it once the records of every feed about it are merged. */
export interface MergedVulnerability extends Omit<VulnerabilityRecord, 'severity' | 'source'> {
  /** The canonical id: the CVE when the flaw has one. Aliases are every other id of the merged records. */
  readonly id: string;
  /** Ratings stated without a vector, per source (ghsa: HIGH, debian: LOW …). */
  readonly severities: Readonly<Record<string, Severity>>;
  /** The feeds it came from. */
  readonly sources: readonly string[];
}

export interface AdvisoryLookup {
  /** Affected records of one package in one ecosystem, ids already canonical. */
  affected(ecosystem: string, name: string): readonly AffectedRecord[];
  vulnerability(id: string): MergedVulnerability | undefined;
}

export interface VulnerabilityMatch {
  readonly package: Package;
  readonly vulnerability: MergedVulnerability;
  readonly ecosystem: string;
  /** The name looked up: the source package for OS packages. */
  readonly matchedName: string;
  readonly status: VulnStatus;
  /** Versions that fix it above the installed one, comma-separated (Trivy's form). */
  readonly fixedVersion?: string;
  readonly severity: Severity;
  readonly severitySource: string;
  readonly vendorSeverity: Readonly<Record<string, Severity>>;
  /** The feed whose record matched. */
  readonly source: string;
}

type Compare = (a: string, b: string) => number;

const LANGUAGE_ECOSYSTEMS: Partial<Record<PackageType, string>> = {
  npm: 'npm',
  pypi: 'pypi',
  golang: 'go',
  maven: 'maven',
  cargo: 'crates.io',
  gem: 'rubygems',
  composer: 'packagist',
  nuget: 'nuget',
};

const DISTRO_FEEDS: Readonly<Record<string, string>> = { debian: 'debian-tracker', alpine: 'alpine-secdb' };

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

/** Whether `version` is in the range, and the fix above it when there is one. */
export function inRange(range: AffectedRange, version: string, compare: Compare): { affected: boolean; fixed?: string } {
  const minimum = (v: string): boolean => v === '0' || v === '';
  const cmp = (a: string, b: string): number => (minimum(a) ? (minimum(b) ? 0 : -1) : minimum(b) ? 1 : compare(a, b));
  const events = range.events
    .map((e) => ('introduced' in e ? { kind: 0, v: e.introduced } : 'fixed' in e ? { kind: 1, v: e.fixed } : 'limit' in e ? { kind: 3, v: e.limit } : { kind: 2, v: e.last_affected }))
    .sort((a, b) => cmp(a.v, b.v) || a.kind - b.kind);
  // Events in version order: each one at or below the version sets the state; the first above it ends the walk.
  let affected = false;
  let idx = 0;
  for (; idx < events.length; idx++) {
    const e = events[idx]!;
    const c = cmp(version, e.v);
    if (e.kind === 0) {
      if (c < 0) break;
      affected = true;
    } else if (e.kind === 2) {
      if (c <= 0) break;
      affected = false;
    } else {
      if (c < 0) break;
      affected = false;
    }
  }
  if (!affected) return { affected: false };
  const next = events[idx];
  return next !== undefined && next.kind === 1 ? { affected, fixed: next.v } : { affected };
}

/** Whether one record says this version is affected; the fixed version when known. */
export function recordAffects(record: AffectedRecord, version: string, compare: Compare): { affected: boolean; fixed?: string } {
  if (record.status === 'not_affected') return { affected: false };
  if (record.versions.includes(version)) return { affected: true };
  if (record.ranges.length > 0) {
    let hit: { affected: boolean; fixed?: string } = { affected: false };
    for (const r of record.ranges) {
      const x = inRange(r, version, compare);
      if (x.affected) {
        if (x.fixed === undefined) return x;
        if (!hit.affected || (hit.fixed !== undefined && compare(x.fixed, hit.fixed) < 0)) hit = x;
      }
    }
    return hit;
  }
  if (record.fixedVersion !== undefined) {
    return compare(version, record.fixedVersion) < 0 ? { affected: true, fixed: record.fixedVersion } : { affected: false };
  }
  // An open issue with no version stated: every version of this release is affected.
  return { affected: record.status !== 'fixed' && record.versions.length === 0 };
}

/** Rating sources in order of trust for a language package; the distribution comes first for OS packages. */
const SOURCE_ORDER = ['nvd', 'ghsa', 'osv', 'go', 'pysec', 'redhat'];

/**
 * The severity shown, as Trivy chooses it: for OS packages the distribution's own rating when it
 * has one; else the first rated source in SOURCE_ORDER (a CVSS score before a stated word from
 * the same source); else UNKNOWN.
 */
export function chooseSeverity(vuln: MergedVulnerability, vendorFirst: readonly { source: string; severity: Severity | undefined }[]): { severity: Severity; source: string; vendor: Record<string, Severity> } {
  const vendor: Record<string, Severity> = {};
  for (const v of vendorFirst) if (v.severity !== undefined && v.severity !== 'UNKNOWN') vendor[v.source] ??= v.severity;
  const byScore = new Map<string, CvssScore>();
  for (const c of vuln.cvss) {
    const prev = byScore.get(c.source);
    if (prev === undefined || rankVersion(c.version) > rankVersion(prev.version)) byScore.set(c.source, c);
  }
  for (const [source, c] of byScore) vendor[source] ??= severityOfScore(c.version, c.score);
  for (const [source, s] of Object.entries(vuln.severities)) if (s !== 'UNKNOWN') vendor[source] ??= s;
  for (const v of vendorFirst) {
    if (v.severity !== undefined && v.severity !== 'UNKNOWN') return { severity: v.severity, source: v.source, vendor };
  }
  const ordered = [...SOURCE_ORDER, ...Object.keys(vendor).sort()];
  for (const source of ordered) {
    const s = vendor[source];
    if (s !== undefined) return { severity: s, source, vendor };
  }
  return { severity: 'UNKNOWN', source: '', vendor };
}

function rankVersion(v: CvssScore['version']): number {
  return v === '4.0' ? 3 : v === '3.1' ? 2 : v === '3.0' ? 1 : 0;
}

/** What one package version matches, before it is tied to a package: the unit the Matcher memoizes. */
type MatchTemplate = Omit<VulnerabilityMatch, 'package'>;

export type VulnerabilityCounts = Record<'critical' | 'high' | 'medium' | 'low' | 'unknown' | 'fixable', number>;

/**
 * What matching reads of an inventory, reduced to lookup keys: per distinct package version (OS
 * packages with the distribution feed that takes precedence for them) the number of packages
 * that have it. Small enough to keep beside every scan result, so that a registry re-evaluates its
 * images after a DB update without parsing SBOMs. Flat (a string per key, then its count), and
 * the key string is the Matcher's memo key.
 */
export interface MatchKeys {
  readonly v: typeof MATCH_KEYS_VERSION;
  /** `[key, packages, key, packages, ...]`; a key is made by `packageMatchKey`. */
  readonly keys: readonly (string | number)[];
}

/** Bump when lookupKey, distroEcosystem, name normalization or the key encoding change; older stored keys are converted or rebuilt. */
export const MATCH_KEYS_VERSION = 3;

/** Separates a key's fields: printable to JSON (no escaping), and in no ecosystem, name or version. */
const SEP = '\u007f';

/**
 * The key of one package version: `0 SEP ecosystem SEP name SEP version` for a language package,
 * `1 SEP feed SEP ecosystem SEP name SEP version` for an OS package (`feed`: the distribution's
 * own feed, which takes precedence, or empty). A field holding SEP itself (never seen in real
 * data) is encoded as SEP + the JSON of the fields, so two packages never share a key by accident.
 */
export function packageMatchKey(ecosystem: string, name: string, version: string, os: 0 | 1, distroFeed: string | null = null): string {
  const feed = os === 1 ? (distroFeed ?? '') : '';
  if (ecosystem.includes(SEP) || name.includes(SEP) || version.includes(SEP) || feed.includes(SEP)) return `${SEP}${JSON.stringify([os, feed, ecosystem, name, version])}`;
  return os === 1 ? `1${SEP}${feed}${SEP}${ecosystem}${SEP}${name}${SEP}${version}` : `0${SEP}${ecosystem}${SEP}${name}${SEP}${version}`;
}

function splitMatchKey(key: string): { os: 0 | 1; feed: string; ecosystem: string; name: string; version: string } {
  if (key.startsWith(SEP)) {
    const [os, feed, ecosystem, name, version] = JSON.parse(key.slice(1)) as [0 | 1, string, string, string, string];
    return { os, feed, ecosystem, name, version };
  }
  const parts = key.split(SEP);
  if (parts[0] === '1') return { os: 1, feed: parts[1] ?? '', ecosystem: parts[2] ?? '', name: parts[3] ?? '', version: parts[4] ?? '' };
  return { os: 0, feed: '', ecosystem: parts[1] ?? '', name: parts[2] ?? '', version: parts[3] ?? '' };
}

export function matchKeys(inventory: Pick<Inventory, 'distro' | 'packages'>): MatchKeys {
  const osEcosystem = distroEcosystem(inventory.distro);
  const distroFeed = inventory.distro !== undefined ? (DISTRO_FEEDS[inventory.distro.id.toLowerCase()] ?? null) : null;
  const byKey = new Map<string, number>();
  for (const pkg of inventory.packages) {
    const key = lookupKey(pkg, osEcosystem);
    if (key === undefined) continue;
    const k = packageMatchKey(key.ecosystem, key.name, key.version, pkg.type in LANGUAGE_ECOSYSTEMS ? 0 : 1, distroFeed);
    byKey.set(k, (byKey.get(k) ?? 0) + 1);
  }
  const keys: (string | number)[] = [];
  for (const [k, n] of byKey) keys.push(k, n);
  return { v: MATCH_KEYS_VERSION, keys };
}

/**
 * Stored match keys read back, those of earlier versions converted (`converted` says so: store
 * them again): version 1 held `[ecosystem, name, version, os, n]` tuples, version 2 flat keys
 * without the feed. Undefined for anything else: rebuild them from the SBOM then.
 */
export function parseMatchKeys(text: string): { keys: MatchKeys; converted: boolean } | undefined {
  let doc: { v?: unknown; distroFeed?: unknown; keys?: unknown } | null;
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.keys)) return undefined;
  const distroFeed = typeof doc.distroFeed === 'string' ? doc.distroFeed : null;
  const list = doc.keys as unknown[];
  const keys: (string | number)[] = [];
  if (doc.v === MATCH_KEYS_VERSION || doc.v === 2) {
    if (list.length % 2 !== 0) return undefined;
    for (let i = 0; i < list.length; i += 2) {
      const [k, n] = [list[i], list[i + 1]];
      if (typeof k !== 'string' || typeof n !== 'number') return undefined;
      if (doc.v === MATCH_KEYS_VERSION) keys.push(k, n);
      else {
        // Version 2: `os SEP ecosystem SEP name SEP version`, or SEP + JSON [os, ecosystem, name, version].
        const f = k.startsWith(SEP) ? (JSON.parse(k.slice(1)) as unknown[]) : k.split(SEP);
        const os = f[0] === 1 || f[0] === '1' ? 1 : 0;
        keys.push(packageMatchKey(String(f[1] ?? ''), String(f[2] ?? ''), String(f[3] ?? ''), os, distroFeed), n);
      }
    }
    return { keys: { v: MATCH_KEYS_VERSION, keys }, converted: doc.v !== MATCH_KEYS_VERSION };
  }
  if (doc.v === 1) {
    for (const t of list) {
      if (!Array.isArray(t) || t.length !== 5) return undefined;
      const [ecosystem, name, version, os, n] = t as unknown[];
      if (typeof ecosystem !== 'string' || typeof name !== 'string' || typeof version !== 'string' || (os !== 0 && os !== 1) || typeof n !== 'number') return undefined;
      keys.push(packageMatchKey(ecosystem, name, version, os, distroFeed), n);
    }
    return { keys: { v: MATCH_KEYS_VERSION, keys }, converted: true };
  }
  return undefined;
}

/** Package versions remembered per Matcher (each entry holds its few matches). */
const MEMO_LIMIT = 100_000;

/** A memoized lookup: its matches, their ids as numbers, and their counts. */
interface Memo {
  readonly templates: readonly MatchTemplate[];
  readonly ids: Uint32Array;
  readonly counts: VulnerabilityCounts;
}

const NO_MATCH: Memo = { templates: [], ids: new Uint32Array(0), counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 } };

/**
 * Matches inventories against one DB, remembering what each package version matched: images
 * share most of their packages, so re-evaluating a whole registry after a DB update looks each
 * distinct package version up once. Hold one Matcher per DB; drop it when the DB changes.
 */
export class Matcher {
  private readonly memo = new Map<string, Memo>();
  /** The same memos by the number a caller gave each key (a registry's term ids: see `countRefs`). */
  private readonly refMemo = new Map<number, Memo>();
  /** Vulnerability ids as numbers, for counting distinct ids without hashing strings. */
  private readonly idNumbers = new Map<string, number>();
  private readonly idNames: string[] = [];
  private idRanks: Uint32Array | undefined;
  private readonly sortedIds: number[] = [];
  /** One bit per id rank, for ordering (cleared as they are read out). */
  private bits = new Uint32Array(32);
  /** Per id number, the count that last met it; and the ids that count met. */
  private seen = new Uint32Array(1024);
  private generation = 0;
  private found: Uint32Array = new Uint32Array(1024);
  private readonly hits: { memo: Memo; n: number }[] = [];

  constructor(private readonly db: AdvisoryLookup) {}

  /** Every vulnerability of every package, one match per (package, vulnerability), sorted by package name, severity, id. */
  match(inventory: Pick<Inventory, 'distro' | 'packages'>): VulnerabilityMatch[] {
    const osEcosystem = distroEcosystem(inventory.distro);
    const distroFeed = inventory.distro !== undefined ? (DISTRO_FEEDS[inventory.distro.id.toLowerCase()] ?? null) : null;
    const out: VulnerabilityMatch[] = [];
    for (const pkg of inventory.packages) {
      const key = lookupKey(pkg, osEcosystem);
      if (key === undefined) continue;
      const os = pkg.type in LANGUAGE_ECOSYSTEMS ? 0 : 1;
      for (const t of this.memoOf(packageMatchKey(key.ecosystem, key.name, key.version, os, distroFeed)).templates) out.push({ package: pkg, ...t });
    }
    return out.sort((a, b) => byCodePoint(a.package.name, b.package.name) || severityRank(b.severity) - severityRank(a.severity) || byCodePoint(a.vulnerability.id, b.vulnerability.id));
  }

  /**
   * What `match` would find, counted: findings per severity, those with a fix, and the distinct
   * ids (sorted). Builds no match objects: this is the inner loop of a registry re-evaluation.
   */
  count(input: Pick<Inventory, 'distro' | 'packages'> | MatchKeys): { counts: VulnerabilityCounts; ids: string[] } {
    const keys = ('keys' in input ? input : matchKeys(input)).keys;
    for (let i = 0; i < keys.length; i += 2) this.hits.push({ memo: this.memoOf(keys[i] as string), n: keys[i + 1] as number });
    const { counts, ids } = this.tally();
    return { counts, ids: Array.from(this.orderByName(ids), (n) => this.idNames[n]!) };
  }

  /**
   * `count` of keys given as numbers: `[key number, packages, ...]`, where the caller numbers
   * key strings once and for all (a registry's term dictionary); `keyOf` names a number this
   * Matcher has not met yet (`unknownRefs` lists them first, to fetch them in one go). The ids
   * come as this Matcher's numbers for them, distinct, in no particular order (`orderByName`
   * sorts, `idName` names): a caller maps numbers to numbers without touching a string.
   */
  countRefs(keys: Uint32Array, keyOf: (ref: number) => string | undefined): { counts: VulnerabilityCounts; ids: Uint32Array } {
    for (let i = 0; i < keys.length; i += 2) {
      const ref = keys[i]!;
      let m = this.refMemo.get(ref);
      if (m === undefined) {
        const key = keyOf(ref);
        if (key === undefined) {
          this.hits.length = 0;
          throw new Error(`match key number ${ref} is unknown`);
        }
        m = this.memoOf(key);
        this.refMemo.set(ref, m);
      }
      this.hits.push({ memo: m, n: keys[i + 1]! });
    }
    return this.tally();
  }

  /** The vulnerability id of one of this Matcher's id numbers (as `countRefs` gives them). */
  idName(n: number): string {
    const name = this.idNames[n];
    if (name === undefined) throw new RangeError(`no vulnerability id number ${n}`);
    return name;
  }

  /**
   * Distinct id numbers in the code-point order of their ids. Linear (bits by rank); the ranks are
   * rebuilt when ids were numbered since the last call, so order a batch after its lookups.
   */
  orderByName(ids: Uint32Array): Uint32Array {
    const ranks = this.ranks();
    const bits = this.bits;
    for (const id of ids) {
      const r = ranks[id]!;
      bits[r >>> 5]! |= 1 << (r & 31);
    }
    const out = new Uint32Array(ids.length);
    let k = 0;
    for (let w = 0; w < bits.length && k < out.length; w++) {
      let word = bits[w]!;
      if (word === 0) continue;
      bits[w] = 0;
      while (word !== 0) {
        const low = word & -word;
        out[k++] = this.sortedIds[(w << 5) + 31 - Math.clz32(low)]!;
        word ^= low;
      }
    }
    return out;
  }

  /** How many vulnerability ids this Matcher has numbered: its numbers are 0 to this, exclusive. */
  get idCount(): number {
    return this.idNames.length;
  }

  /** The key numbers of `keys` (as `countRefs` takes them) this Matcher has not met yet. */
  unknownRefs(keys: Uint32Array): number[] {
    const out: number[] = [];
    for (let i = 0; i < keys.length; i += 2) if (!this.refMemo.has(keys[i]!)) out.push(keys[i]!);
    return out;
  }

  /** Counts the hits gathered and their distinct ids (a generation stamp per id number: no clearing, no hashing). */
  private tally(): { counts: VulnerabilityCounts; ids: Uint32Array } {
    const counts: VulnerabilityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 };
    if (this.seen.length < this.idNames.length) this.seen = new Uint32Array(Math.max(this.idNames.length, this.seen.length * 2));
    if (this.generation === 0xffffffff) {
      this.seen.fill(0);
      this.generation = 0;
    }
    const generation = ++this.generation;
    const seen = this.seen;
    let found = this.found;
    let k = 0;
    for (const { memo: m, n } of this.hits) {
      if (m.ids.length === 0) continue;
      counts.critical += m.counts.critical * n;
      counts.high += m.counts.high * n;
      counts.medium += m.counts.medium * n;
      counts.low += m.counts.low * n;
      counts.unknown += m.counts.unknown * n;
      counts.fixable += m.counts.fixable * n;
      for (const id of m.ids) {
        if (seen[id] === generation) continue;
        seen[id] = generation;
        found[k++] = id;
        if (k === found.length) found = this.found = this.grownFound();
      }
    }
    this.hits.length = 0;
    return { counts, ids: found.slice(0, k) };
  }

  private grownFound(): Uint32Array {
    const grown = new Uint32Array(this.found.length * 2);
    grown.set(this.found);
    return grown;
  }

  private memoOf(key: string): Memo {
    let m = this.memo.get(key);
    if (m === undefined) {
      // A bound on memory in a long-lived registry process: start over rather than grow.
      if (this.memo.size >= MEMO_LIMIT) {
        this.memo.clear();
        this.refMemo.clear();
      }
      const { os, feed, ecosystem, name, version } = splitMatchKey(key);
      const templates = this.lookup({ ecosystem, name, version }, os === 1, feed === '' ? undefined : feed);
      if (templates.length === 0) m = NO_MATCH;
      else {
        const counts: VulnerabilityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 };
        const ids = new Uint32Array(templates.length);
        templates.forEach((t, i) => {
          ids[i] = this.idNumber(t.vulnerability.id);
          counts[t.severity === 'UNKNOWN' ? 'unknown' : (t.severity.toLowerCase() as 'critical' | 'high' | 'medium' | 'low')] += 1;
          if (t.fixedVersion !== undefined && t.fixedVersion !== '') counts.fixable += 1;
        });
        m = { templates, ids, counts };
      }
      this.memo.set(key, m);
    }
    return m;
  }

  private idNumber(id: string): number {
    let n = this.idNumbers.get(id);
    if (n === undefined) {
      n = this.idNames.length;
      this.idNames.push(id);
      this.idNumbers.set(id, n);
      // Keep the ids in code-point order as they arrive (binary search, one splice).
      let lo = 0;
      let hi = this.sortedIds.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.idNames[this.sortedIds[mid]!]! < id) lo = mid + 1;
        else hi = mid;
      }
      this.sortedIds.splice(lo, 0, n);
      this.idRanks = undefined;
      if (n >= this.bits.length * 32) {
        const grown = new Uint32Array(this.bits.length * 2);
        grown.set(this.bits);
        this.bits = grown;
      }
    }
    return n;
  }

  /** Each id number's place in code-point order of the ids; rebuilt (in linear time) after new ids appear. */
  private ranks(): Uint32Array {
    if (this.idRanks === undefined) {
      const ranks = new Uint32Array(this.idNames.length);
      this.sortedIds.forEach((id, rank) => (ranks[id] = rank));
      this.idRanks = ranks;
    }
    return this.idRanks;
  }

  private lookup(key: { ecosystem: string; name: string; version: string }, isOs: boolean, distroFeed: string | undefined): MatchTemplate[] {
    const compare = comparatorOf(key.ecosystem);
    if (compare === undefined) return [];
    let records = this.db.affected(key.ecosystem, key.name);
    if (records.length === 0) return [];
    if (isOs && distroFeed !== undefined && records.some((r) => r.source === distroFeed)) records = records.filter((r) => r.source === distroFeed);
    const byVuln = new Map<string, AffectedRecord[]>();
    for (const r of records) {
      const list = byVuln.get(r.vulnId);
      if (list === undefined) byVuln.set(r.vulnId, [r]);
      else list.push(r);
    }
    const out: MatchTemplate[] = [];
    for (const [vulnId, recs] of byVuln) {
      // A release the distribution says was never affected silences every record about it.
      if (recs.some((r) => r.status === 'not_affected')) continue;
      const fixes = new Set<string>();
      let hit: AffectedRecord | undefined;
      for (const r of recs) {
        const a = recordAffects(r, key.version, compare);
        if (!a.affected) continue;
        hit ??= r;
        if (a.fixed !== undefined) fixes.add(a.fixed);
      }
      if (hit === undefined) continue;
      // A fixed record proves a fix exists even where an open record says otherwise.
      const fixedList = [...fixes].sort(compare);
      const status: VulnStatus = fixedList.length > 0 ? 'fixed' : hit.status === 'fixed' ? 'affected' : hit.status;
      const vulnerability = this.db.vulnerability(vulnId) ?? { id: vulnId, aliases: [], references: [], cvss: [], severities: {}, sources: [hit.source] };
      const vendorFirst = isOs ? recs.map((r) => ({ source: vendorName(r.source), severity: r.severity })) : [];
      const sev = chooseSeverity(vulnerability, vendorFirst);
      out.push({
        vulnerability,
        ecosystem: key.ecosystem,
        matchedName: key.name,
        status,
        ...(fixedList.length > 0 ? { fixedVersion: fixedList.join(', ') } : {}),
        severity: sev.severity,
        severitySource: sev.source,
        vendorSeverity: sev.vendor,
        source: hit.source,
      });
    }
    return out;
  }
}

/** Every vulnerability of every package of the inventory, one match per (package, vulnerability). */
export function matchInventory(inventory: Pick<Inventory, 'distro' | 'packages'>, db: AdvisoryLookup): VulnerabilityMatch[] {
  return new Matcher(db).match(inventory);
}

/** Plain code-point order (Go's string order, as Trivy sorts): locale-independent and fast. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Feed names as Trivy names the vendors in VendorSeverity. */
function vendorName(source: string): string {
  return source === 'debian-tracker' ? 'debian' : source === 'alpine-secdb' ? 'alpine' : source;
}
