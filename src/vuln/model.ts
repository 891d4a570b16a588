/**
 * The advisory model: what every feed is turned into, what the advisory DB stores and what the
 * matcher reads. Pure data.
 *
 * A feed yields two kinds of record: a `VulnerabilityRecord` (one id, its aliases, text, CVSS) and
 * `AffectedRecord`s (one package in one ecosystem, the versions it is affected in and its status).
 * Records of several feeds about the same flaw (CVE-2024-1 from Debian, GHSA-xxxx with alias
 * CVE-2024-1 from GitHub) merge in the DB under one canonical id.
 */

export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Where a package stands with respect to one vulnerability, Trivy's statuses: `fixed` (a fixed
 * version exists), `affected` (no fix yet), `will_not_fix` (the distribution decided not to fix),
 * `fix_deferred`, `end_of_life` (the release is no longer supported), `under_investigation`
 * (undetermined), `not_affected` (the feed says this release never had it: no finding).
 */
export const VULN_STATUSES = ['fixed', 'affected', 'will_not_fix', 'fix_deferred', 'end_of_life', 'under_investigation', 'not_affected', 'unknown'] as const;
export type VulnStatus = (typeof VULN_STATUSES)[number];

/**
 * Ecosystems, as the DB keys them. OS ecosystems carry the release: `debian:12`, `ubuntu:22.04`,
 * `alpine:3.19` (major.minor). Language ecosystems are OSV's names, lower-cased: npm, pypi, go,
 * maven, crates.io, rubygems, packagist, nuget, hex, pub, swifturl, conancenter.
 */
export type Ecosystem = string;

/** An OSV range event. `limit` is kept for completeness; matching treats it as `fixed`. */
export type RangeEvent = { readonly introduced: string } | { readonly fixed: string } | { readonly last_affected: string } | { readonly limit: string };

export interface AffectedRange {
  /** ECOSYSTEM and SEMVER ranges compare versions; GIT ranges are dropped at import. */
  readonly type: 'ECOSYSTEM' | 'SEMVER';
  readonly events: readonly RangeEvent[];
}

/** A CVSS vector from one source, with its base score (computed at import when the feed omits it). */
export interface CvssScore {
  /** Who scored it: nvd, ghsa, debian, osv, redhat, ... */
  readonly source: string;
  readonly version: '2.0' | '3.0' | '3.1' | '4.0';
  readonly vector: string;
  readonly score: number;
}

export interface KnownExploited {
  readonly dateAdded: string;
  readonly dueDate?: string;
  /** CISA's knownRansomwareCampaignUse: `Known` → true. */
  readonly ransomware?: boolean;
}

export interface EpssScore {
  readonly score: number;
  readonly percentile: number;
  readonly date?: string;
}

export interface VulnerabilityRecord {
  /** The feed's id: CVE-2024-1234, GHSA-xxxx-xxxx-xxxx, GO-2024-0001, PYSEC-..., ALPINE-CVE-... */
  readonly id: string;
  /** Other ids for the same flaw (OSV `aliases`; for a CVE record, the GHSA ids that name it). */
  readonly aliases: readonly string[];
  readonly summary?: string;
  readonly details?: string;
  readonly published?: string;
  readonly modified?: string;
  readonly references: readonly string[];
  readonly cvss: readonly CvssScore[];
  /** A severity the source states without a vector (GHSA's database_specific.severity, a distro urgency). */
  readonly severity?: { readonly source: string; readonly severity: Severity };
  /** The feed this came from: osv, ghsa, alpine-secdb, debian-tracker, nvd, cve ... */
  readonly source: string;
  /** CWE ids (CWE-79), from the NVD's weaknesses or a CVE record's problem types. */
  readonly cweIds?: readonly string[];
  /** In CISA's Known Exploited Vulnerabilities catalogue: since when, and the date agencies must remediate by. */
  readonly knownExploited?: KnownExploited;
  /** FIRST's EPSS: the probability of exploitation in the next 30 days and its percentile, as of `date`. */
  readonly epss?: EpssScore;
  /**
   * Describes a flaw without naming any package (the NVD, CVE records): kept only for flaws that a
   * package feed names, so a DB built with the whole NVD holds no CVE nothing can match.
   */
  readonly enrichment?: true;
}

export interface AffectedRecord {
  /** The id of the `VulnerabilityRecord` this belongs to (before merging). */
  readonly vulnId: string;
  readonly ecosystem: Ecosystem;
  /**
   * The package name, normalized (see `normalizePackageName`): for OS packages the source package
   * (Debian's source, Alpine's origin); Maven `group:artifact`; PyPI PEP 503-normalized.
   */
  readonly name: string;
  readonly ranges: readonly AffectedRange[];
  /** Explicitly listed affected versions (OSV `versions`). */
  readonly versions: readonly string[];
  readonly status: VulnStatus;
  /** The first fixed version, for OS feeds that state one version rather than ranges. */
  readonly fixedVersion?: string;
  /** The distribution's own rating of this flaw for this package (Debian urgency, Ubuntu priority). */
  readonly severity?: Severity;
  readonly source: string;
}

/** What parsing one feed file yields. Bad records are reported, never fatal to the rest. */
export interface FeedRecords {
  readonly vulnerabilities: readonly VulnerabilityRecord[];
  readonly affected: readonly AffectedRecord[];
  /** One line per record that was skipped or partly read, naming the file and the record. */
  readonly errors: readonly string[];
}

/** A vulnerability as the DB keeps it once the records of every feed about it are merged. */
export interface MergedVulnerability extends Omit<VulnerabilityRecord, 'severity' | 'source' | 'enrichment'> {
  /** The canonical id: the CVE when the flaw has one. Aliases are every other id of the merged records. */
  readonly id: string;
  /** Ratings stated without a vector, per source (ghsa: HIGH, debian: LOW …). */
  readonly severities: Readonly<Record<string, Severity>>;
  /** The feeds it came from. */
  readonly sources: readonly string[];
}
