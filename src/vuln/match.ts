/**
 * Matching an inventory against advisories. Pure: the advisories come through `AdvisoryLookup`
 * (the SQLite DB in production, a map in tests).
 *
 * - OS packages match in their distribution's release (`debian:12`, `alpine:3.19`, `rhel:9`),
 *   named as its feeds key them (the source package, or the binary RPM: distros.ts): a bookworm
 *   package is never judged by bullseye's records. When the distribution's own feed (Debian's
 *   tracker, Alpine's, Wolfi's and Chainguard's secdb, ALAS, Oracle's OVAL) speaks about a
 *   package, only it is used for that package; OSV's copies of distro data fill in otherwise. An
 *   RPM is judged only by records of its kind of build (modular, Ksplice, plain: rpm-builds.ts).
 * - Language packages match OSV ranges (introduced / fixed / last_affected / limit, plus explicit
 *   `versions`) on normalized names, compared with their ecosystem's own version order.
 */
import type { Inventory, Package } from '../sbom/index.js';
import { isRpmEcosystem } from './distros.js';
import { comparatorOf } from './ecosystems.js';
import { vendorName } from './feeds/names.js';
import { keyedPackages, matchKeys, splitMatchKey, type MatchKeys } from './match-keys.js';
import type { AffectedRecord, MergedVulnerability, Severity, VulnStatus } from './model.js';
import { chooseSeverity, recordAffects } from './rules.js';
import { rpmRecords } from './rpm-builds.js';
import { severityRank } from './severity.js';

export interface AdvisoryLookup {
  /** Affected records of one package in one ecosystem, ids already canonical. */
  affected(ecosystem: string, name: string): readonly AffectedRecord[];
  vulnerability(id: string): MergedVulnerability | undefined;
  /** Whether the DB holds any record of an ecosystem: what it cannot speak about is said (coverage.ts). */
  holds(ecosystem: string): boolean;
}

export interface VulnerabilityMatch {
  readonly package: Package;
  readonly vulnerability: MergedVulnerability;
  readonly ecosystem: string;
  /** The name looked up: the source package for OS packages. */
  readonly matchedName: string;
  readonly status: VulnStatus;
  /** Every version the advisories name as fixing it, in version order, comma-separated (Trivy's form: `2.1.3, 3.1.0` when two release lines are fixed). */
  readonly fixedVersion?: string;
  readonly severity: Severity;
  readonly severitySource: string;
  readonly vendorSeverity: Readonly<Record<string, Severity>>;
  /** The feed whose record matched. */
  readonly source: string;
}

/** What one package version matches, before it is tied to a package: the unit the Matcher memoizes. */
export type KeyMatch = Omit<VulnerabilityMatch, 'package'>;
type MatchTemplate = KeyMatch;

export type VulnerabilityCounts = Record<'critical' | 'high' | 'medium' | 'low' | 'unknown' | 'fixable', number>;

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
    const out: VulnerabilityMatch[] = [];
    for (const { pkg, key } of keyedPackages(inventory)) for (const t of this.memoOf(key).templates) out.push({ package: pkg, ...t });
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

  /** What one match key (`packageMatchKey`) matches: a package version's vulnerabilities, without the package. */
  matchKey(key: string): readonly KeyMatch[] {
    return this.memoOf(key).templates;
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
    // An RPM is judged only by records of its kind of build (modular, Ksplice, plain): rpm-builds.ts.
    let records = isRpmEcosystem(key.ecosystem) ? rpmRecords(this.db, key.ecosystem, key.name, key.version) : this.db.affected(key.ecosystem, key.name);
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
        for (const f of a.fixes ?? []) fixes.add(f);
      }
      if (hit === undefined) continue;
      // A fixed record proves a fix exists even where an open record says otherwise.
      const fixedList = [...fixes].sort(compare);
      const status: VulnStatus = fixedList.length > 0 ? 'fixed' : hit.status === 'fixed' ? 'affected' : hit.status;
      const vulnerability = this.db.vulnerability(vulnId) ?? { id: vulnId, aliases: [], references: [], cvss: [], severities: {}, sources: [hit.source] };
      const vendorFirst = isOs ? recs.map((r) => ({ source: vendorName(r.source), severity: r.severity })) : [];
      const sev = chooseSeverity(vulnerability, vendorFirst, isOs);
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

