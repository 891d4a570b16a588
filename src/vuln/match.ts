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
 * What matching reads of an inventory, reduced to lookup keys: per distinct (ecosystem, name,
 * version, OS or not) the number of packages that have it. Small enough to keep beside every scan
 * result, so that a registry re-evaluates its images after a DB update without parsing SBOMs.
 * Flat (a string per key, then its count) so that reading it back is one cheap JSON.parse and the
 * key string is itself the Matcher's memo key.
 */
export interface MatchKeys {
  readonly v: typeof MATCH_KEYS_VERSION;
  /** The distribution's own feed (debian-tracker, alpine-secdb) that takes precedence for OS packages. */
  readonly distroFeed: string | null;
  /** `[key, packages, key, packages, ...]`; a key is made by `packageMatchKey`. */
  readonly keys: readonly (string | number)[];
}

/** Bump when lookupKey, distroEcosystem, name normalization or the key encoding change; older stored keys are converted or rebuilt. */
export const MATCH_KEYS_VERSION = 2;

/** Separates a key's fields: printable to JSON (no escaping), and in no ecosystem, name or version. */
const SEP = '\u007f';

/**
 * The key of one package version: `os SEP ecosystem SEP name SEP version` (os `1` for OS
 * packages, `0` for language ones). A field holding SEP itself (never seen in real data) is
 * encoded as SEP + the JSON of the fields, so two packages never share a key by accident.
 */
export function packageMatchKey(ecosystem: string, name: string, version: string, os: 0 | 1): string {
  if (ecosystem.includes(SEP) || name.includes(SEP) || version.includes(SEP)) return `${SEP}${JSON.stringify([os, ecosystem, name, version])}`;
  return `${os}${SEP}${ecosystem}${SEP}${name}${SEP}${version}`;
}

function splitMatchKey(key: string): { os: 0 | 1; ecosystem: string; name: string; version: string } {
  if (key.startsWith(SEP)) {
    const [os, ecosystem, name, version] = JSON.parse(key.slice(1)) as [0 | 1, string, string, string];
    return { os, ecosystem, name, version };
  }
  const [os, ecosystem = '', name = '', version = ''] = key.split(SEP);
  return { os: os === '1' ? 1 : 0, ecosystem, name, version };
}

export function matchKeys(inventory: Pick<Inventory, 'distro' | 'packages'>): MatchKeys {
  const osEcosystem = distroEcosystem(inventory.distro);
  const distroFeed = inventory.distro !== undefined ? (DISTRO_FEEDS[inventory.distro.id.toLowerCase()] ?? null) : null;
  const byKey = new Map<string, number>();
  for (const pkg of inventory.packages) {
    const key = lookupKey(pkg, osEcosystem);
    if (key === undefined) continue;
    const k = packageMatchKey(key.ecosystem, key.name, key.version, pkg.type in LANGUAGE_ECOSYSTEMS ? 0 : 1);
    byKey.set(k, (byKey.get(k) ?? 0) + 1);
  }
  const keys: (string | number)[] = [];
  for (const [k, n] of byKey) keys.push(k, n);
  return { v: MATCH_KEYS_VERSION, distroFeed, keys };
}

/**
 * Stored match keys read back; keys of version 1 (`[ecosystem, name, version, os, n]` tuples) are
 * converted (`converted` says so: store them again). Undefined for anything else: rebuild them
 * from the SBOM then.
 */
export function parseMatchKeys(text: string): { keys: MatchKeys; converted: boolean } | undefined {
  let doc: { v?: unknown; distroFeed?: unknown; keys?: unknown } | null;
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const distroFeed = typeof doc.distroFeed === 'string' ? doc.distroFeed : null;
  if (!Array.isArray(doc.keys)) return undefined;
  if (doc.v === MATCH_KEYS_VERSION) {
    const keys = doc.keys as unknown[];
    if (keys.length % 2 !== 0) return undefined;
    for (let i = 0; i < keys.length; i += 2) if (typeof keys[i] !== 'string' || typeof keys[i + 1] !== 'number') return undefined;
    return { keys: { v: MATCH_KEYS_VERSION, distroFeed, keys: keys as (string | number)[] }, converted: false };
  }
  if (doc.v === 1) {
    const keys: (string | number)[] = [];
    for (const t of doc.keys as unknown[]) {
      if (!Array.isArray(t) || t.length !== 5) return undefined;
      const [ecosystem, name, version, os, n] = t as unknown[];
      if (typeof ecosystem !== 'string' || typeof name !== 'string' || typeof version !== 'string' || (os !== 0 && os !== 1) || typeof n !== 'number') return undefined;
      keys.push(packageMatchKey(ecosystem, name, version, os), n);
    }
    return { keys: { v: MATCH_KEYS_VERSION, distroFeed, keys }, converted: true };
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
 * Matches inventories against one DB, remembering what each (ecosystem, name, version) matched:
 * images share most of their packages, so re-evaluating a whole registry after a DB update looks
 * each distinct package version up once. Hold one Matcher per DB; drop it when the DB changes.
 */
export class Matcher {
  /** Language packages by key; OS packages by distribution feed, then key (the feed decides precedence). */
  private readonly memo = new Map<string, Memo>();
  private readonly osMemo = new Map<string, Map<string, Memo>>();
  private memoSize = 0;
  /** Vulnerability ids as numbers, for counting distinct ids without hashing strings. */
  private readonly idNumbers = new Map<string, number>();
  private readonly idNames: string[] = [];
  private idRanks: Uint32Array | undefined;
  private readonly sortedIds: number[] = [];
  /** One bit per id rank: the ids one `count` found (cleared as they are read out). */
  private bits = new Uint32Array(32);
  private readonly pending: Memo[] = [];

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
      for (const t of this.memoOf(packageMatchKey(key.ecosystem, key.name, key.version, os), distroFeed).templates) out.push({ package: pkg, ...t });
    }
    return out.sort((a, b) => byCodePoint(a.package.name, b.package.name) || severityRank(b.severity) - severityRank(a.severity) || byCodePoint(a.vulnerability.id, b.vulnerability.id));
  }

  /**
   * What `match` would find, counted: findings per severity, those with a fix, and the distinct
   * ids (sorted). Builds no match objects: this is the inner loop of a registry re-evaluation.
   */
  count(input: Pick<Inventory, 'distro' | 'packages'> | MatchKeys): { counts: VulnerabilityCounts; ids: string[] } {
    const mk = 'keys' in input ? input : matchKeys(input);
    const counts: VulnerabilityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 };
    // First the lookups (they may number new ids, which re-ranks), then the ids as bits by rank.
    const hits = this.pending;
    hits.length = 0;
    const keys = mk.keys;
    for (let i = 0; i < keys.length; i += 2) {
      const m = this.memoOf(keys[i] as string, mk.distroFeed);
      if (m.ids.length === 0) continue;
      const n = keys[i + 1] as number;
      counts.critical += m.counts.critical * n;
      counts.high += m.counts.high * n;
      counts.medium += m.counts.medium * n;
      counts.low += m.counts.low * n;
      counts.unknown += m.counts.unknown * n;
      counts.fixable += m.counts.fixable * n;
      hits.push(m);
    }
    const ranks = this.ranks();
    const bits = this.bits;
    for (const m of hits) {
      for (const id of m.ids) {
        const r = ranks[id]!;
        bits[r >>> 5]! |= 1 << (r & 31);
      }
    }
    hits.length = 0;
    const ids: string[] = [];
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w]!;
      if (word === 0) continue;
      bits[w] = 0;
      while (word !== 0) {
        const low = word & -word;
        ids.push(this.idNames[this.sortedIds[(w << 5) + 31 - Math.clz32(low)]!]!);
        word ^= low;
      }
    }
    return { counts, ids };
  }

  private memoOf(key: string, distroFeed: string | null): Memo {
    let table = this.memo;
    if (key.charCodeAt(0) !== 48 /* '0': a language package, whatever the distribution */) {
      const feed = distroFeed ?? '';
      table = this.osMemo.get(feed) ?? new Map<string, Memo>();
      if (table.size === 0) this.osMemo.set(feed, table);
    }
    let m = table.get(key);
    if (m === undefined) {
      // A bound on memory in a long-lived registry process: start over rather than grow.
      if (this.memoSize >= MEMO_LIMIT) {
        this.memo.clear();
        for (const t of this.osMemo.values()) t.clear();
        this.memoSize = 0;
      }
      const { os, ecosystem, name, version } = splitMatchKey(key);
      const templates = this.lookup({ ecosystem, name, version }, os === 1, distroFeed ?? undefined);
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
      table.set(key, m);
      this.memoSize += 1;
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
