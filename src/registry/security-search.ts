/**
 * "Which images hold CVE-X?" and "which hold this package?", answered from the store's index of
 * scan results (storage/sql/scan-index.ts) and the advisory DB as it is now:
 *
 * - a vulnerability → the packages its records name (the DB) → the versions of them stored images
 *   hold (the index of match keys) → those the DB says are affected, with their fixed versions
 *   (the Matcher, one lookup per distinct version) → the images holding them, a page at a time.
 *   Answered from the current DB, so a CVE that arrived with the last update is found before the
 *   re-evaluation has gone through every image.
 * - a package (purl, or name and version) → its match keys → the images holding them.
 * - the security summary (Harbor's Security Hub): counts by severity over the caller's images, the
 *   most dangerous vulnerabilities and images, those in CISA's KEV catalogue.
 *
 * Every answer is limited to the projects the caller may pull from (the store's Visibility).
 */
import type { Digest } from '../oci/index.js';
import { readSbom } from '../sbom/index.js';
import type { ImageHit, MetadataStore, PackageTerm, SeverityCounts, Visibility } from '../storage/index.js';
import { chooseSeverity, matchKeys, severityRank, splitMatchKey, type AdvisoryDb, type KeyMatch, type Matcher, type MergedVulnerability, type Severity } from '../vuln/index.js';
import { ApiError } from './management/errors.js';
import type { DbLease } from './scan-db-file.js';
import { IMAGE_CONFIG_TYPES } from './scan-summary.js';

/** Package versions a query looks at, at most: a package held in more versions than this is a query to narrow. */
const MAX_VERSIONS = 500;

export interface SearchDeps {
  readonly meta: MetadataStore;
  /** The advisory DB as it is now, and the Matcher kept for it (shared with re-evaluation). */
  acquireDb(): DbLease;
  matcherFor(db: AdvisoryDb): Matcher;
}

export interface Page {
  readonly page: number;
  readonly pageSize: number;
}

export interface HeldPackage {
  readonly ecosystem: string;
  /** The name looked up: the source package of an OS package. */
  readonly name: string;
  readonly installedVersion: string;
  /** How many packages of the image have this name and version. */
  readonly count: number;
  readonly fixedVersion?: string;
  readonly status?: string;
  readonly severity?: Severity;
}

export interface ArtifactHit {
  readonly project: string;
  readonly repository: string;
  readonly digest: Digest;
  readonly tags: readonly string[];
  readonly pushedAt: string;
  readonly scannedAt: string;
  readonly vulnerabilities: SeverityCounts & { readonly fixable: number };
  readonly packages: readonly HeldPackage[];
}

export interface VulnerabilityInfo {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly summary?: string;
  readonly severity: Severity;
  readonly cvssScore?: number;
  readonly knownExploited?: MergedVulnerability['knownExploited'];
  readonly epss?: MergedVulnerability['epss'];
  readonly fixable: boolean;
}

export class SecuritySearch {
  constructor(private readonly deps: SearchDeps) {}

  /** The images in scope that hold a version of a package the vulnerability affects. */
  async artifactsOf(id: string, scope: Visibility, page: Page): Promise<{ vulnerability: VulnerabilityInfo; total: number; artifacts: ArtifactHit[] }> {
    return this.withDb(async (db, matcher) => {
      const vuln = db.vulnerability(id) ?? (/^cve-/i.test(id) ? db.vulnerability(id.toUpperCase()) : undefined);
      if (vuln === undefined) throw new ApiError('NOT_FOUND', `${id} is not in the advisory DB (built ${db.info.builtAt}): check the id, or update the DB (portcullis db update)`);
      // The versions stored images hold of each package the records name, and what the DB says of each.
      const affected = new Map<number, KeyMatch & { pkg: PackageTerm }>();
      const candidates: PackageTerm[] = [];
      for (const p of db.packagesOf(vuln.id)) candidates.push(...(await this.deps.meta.scans.findPackages({ names: [p.name], ecosystem: p.ecosystem }, MAX_VERSIONS)));
      const keys = await this.deps.meta.scans.terms(candidates.map((c) => c.term));
      candidates.forEach((c, i) => {
        const key = keys[i];
        if (key === undefined) return;
        const m = matcher.matchKey(key).find((x) => x.vulnerability.id === vuln.id);
        if (m !== undefined) affected.set(c.term, { ...m, pkg: c });
      });
      const info = describe(db, vuln, [...affected.values()]);
      const terms = [...affected.keys()].slice(0, MAX_VERSIONS);
      const { total, items } = await this.deps.meta.scans.imagesWithKeys(terms, scope, window(page));
      return {
        vulnerability: info,
        total,
        artifacts: items.map((hit) =>
          toArtifact(
            hit,
            hit.terms.map((t, i) => {
              const a = affected.get(t)!;
              return {
                ecosystem: a.pkg.ecosystem,
                name: a.pkg.name,
                installedVersion: a.pkg.version,
                count: hit.packages[i] ?? 1,
                ...(a.fixedVersion !== undefined && a.fixedVersion !== '' ? { fixedVersion: a.fixedVersion } : {}),
                status: a.status,
                severity: a.severity,
              };
            }),
          ),
        ),
      };
    });
  }

  /**
   * The images in scope that hold a package: by purl (`pkg:npm/lodash@4.17.20`, `pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12`:
   * read as an SBOM would read it, so OS packages are looked up by their source package), or by
   * name (as the ecosystem normalizes it), optionally ecosystem (`npm`, `debian:12`) and version.
   */
  async imagesWithPackage(q: { purl: string } | { name: string; version?: string; ecosystem?: string }, scope: Visibility, page: Page): Promise<{ total: number; packages: PackageTerm[]; artifacts: ArtifactHit[] }> {
    const query = 'purl' in q ? packageOfPurl(q.purl) : { names: spellings(q.name), ...(q.version !== undefined ? { version: q.version } : {}), ...(q.ecosystem !== undefined ? { ecosystem: q.ecosystem } : {}) };
    const packages = await this.deps.meta.scans.findPackages(query, MAX_VERSIONS);
    const byTerm = new Map(packages.map((p) => [p.term, p]));
    const { total, items } = await this.deps.meta.scans.imagesWithKeys([...byTerm.keys()], scope, window(page));
    return {
      total,
      packages,
      artifacts: items.map((hit) =>
        toArtifact(
          hit,
          hit.terms.map((t, i) => {
            const p = byTerm.get(t)!;
            return { ecosystem: p.ecosystem, name: p.name, installedVersion: p.version, count: hit.packages[i] ?? 1 };
          }),
        ),
      ),
    };
  }

  /** Harbor's Security Hub over the caller's images: totals, the `top` most dangerous vulnerabilities and images, KEV hits. */
  async summary(scope: Visibility, top: number): Promise<SecuritySummary> {
    const { meta } = this.deps;
    const totals = await meta.scans.securityTotals(scope, IMAGE_CONFIG_TYPES);
    const artifacts = await meta.scans.mostVulnerable(scope, top);
    const v = totals.vulnerabilities;
    const base = {
      totalArtifacts: totals.images,
      scanned: totals.scanned,
      unscanned: Math.max(0, totals.images - totals.scanned),
      vulnerabilities: { ...v, total: v.critical + v.high + v.medium + v.low + v.unknown },
      dangerousArtifacts: artifacts.map((a) => ({ project: a.project, repository: a.repository, digest: a.digest, tags: a.tags, ...a.summary.vulnerabilities })),
    };
    const lease = this.deps.acquireDb();
    if (lease.db === undefined) return { ...base, dbBuiltAt: null, dangerousVulnerabilities: [], knownExploited: { vulnerabilities: 0, artifacts: 0, top: [] } };
    try {
      const db = lease.db;
      const ids = await meta.scans.terms([...totals.byVulnerability.keys()]);
      const ranked: (VulnerabilityInfo & { artifacts: number })[] = [];
      [...totals.byVulnerability.values()].forEach((n, i) => {
        const id = ids[i];
        const vuln = id === undefined ? undefined : db.vulnerability(id);
        if (vuln !== undefined) ranked.push({ ...describe(db, vuln, []), artifacts: n });
      });
      const danger = (a: VulnerabilityInfo & { artifacts: number }, b: VulnerabilityInfo & { artifacts: number }): number =>
        severityRank(b.severity) - severityRank(a.severity) || (b.cvssScore ?? 0) - (a.cvssScore ?? 0) || b.artifacts - a.artifacts || (a.id < b.id ? -1 : 1);
      const kev = ranked.filter((r) => r.knownExploited !== undefined).sort(danger);
      return {
        ...base,
        dbBuiltAt: db.info.builtAt,
        dangerousVulnerabilities: ranked.sort(danger).slice(0, top),
        // An image counted once per KEV entry it holds: the sum says how much work the catalogue asks, not how many images.
        knownExploited: { vulnerabilities: kev.length, artifacts: kev.reduce((n, r) => n + r.artifacts, 0), top: kev.slice(0, top) },
      };
    } finally {
      lease.release();
    }
  }

  private async withDb<T>(fn: (db: AdvisoryDb, matcher: Matcher) => Promise<T>): Promise<T> {
    const lease = this.deps.acquireDb();
    if (lease.db === undefined) throw new ApiError('CONFLICT', `no advisory DB to search (${lease.reason}): make one with portcullis db update, or pull one`);
    try {
      return await fn(lease.db, this.deps.matcherFor(lease.db));
    } finally {
      lease.release();
    }
  }
}

export interface SecuritySummary {
  readonly dbBuiltAt: string | null;
  readonly totalArtifacts: number;
  readonly scanned: number;
  readonly unscanned: number;
  readonly vulnerabilities: SeverityCounts & { readonly fixable: number; readonly total: number };
  readonly dangerousVulnerabilities: readonly (VulnerabilityInfo & { readonly artifacts: number })[];
  readonly dangerousArtifacts: readonly { project: string; repository: string; digest: Digest; tags: readonly string[]; critical: number; high: number; medium: number; low: number; unknown: number; fixable: number }[];
  readonly knownExploited: { readonly vulnerabilities: number; readonly artifacts: number; readonly top: readonly (VulnerabilityInfo & { readonly artifacts: number })[] };
}

function window(p: Page): { offset: number; limit: number } {
  return { offset: (p.page - 1) * p.pageSize, limit: p.pageSize };
}

/**
 * The severity a vulnerability's findings have at most: per package its records name, rated as a
 * match is (a distribution's own rating on its records first, then the CVSS and stated ratings).
 */
function ratedSeverity(db: AdvisoryDb, v: MergedVulnerability): Severity {
  let best: Severity | undefined;
  for (const p of db.packagesOf(v.id)) {
    const recs = db.affected(p.ecosystem, p.name).filter((r) => r.vulnId === v.id);
    const vendor = recs.filter((r) => r.severity !== undefined).map((r) => ({ source: r.source, severity: r.severity }));
    const s = chooseSeverity(v, vendor, vendor.length > 0).severity;
    if (best === undefined || severityRank(s) > severityRank(best)) best = s;
  }
  return best ?? chooseSeverity(v, [], false).severity;
}

/** A vulnerability as the answers show it: its severity the highest any held package has (or as its records rate it). */
function describe(db: AdvisoryDb, v: MergedVulnerability, matches: readonly KeyMatch[]): VulnerabilityInfo {
  let severity: Severity | undefined;
  for (const m of matches) if (severity === undefined || severityRank(m.severity) > severityRank(severity)) severity = m.severity;
  severity ??= ratedSeverity(db, v);
  const score = v.cvss.reduce<number | undefined>((best, c) => (best === undefined || c.score > best ? c.score : best), undefined);
  return {
    id: v.id,
    aliases: v.aliases,
    ...(v.summary !== undefined ? { summary: v.summary } : {}),
    severity,
    ...(score !== undefined ? { cvssScore: score } : {}),
    ...(v.knownExploited !== undefined ? { knownExploited: v.knownExploited } : {}),
    ...(v.epss !== undefined ? { epss: v.epss } : {}),
    fixable: matches.some((m) => m.fixedVersion !== undefined && m.fixedVersion !== ''),
  };
}

function toArtifact(hit: ImageHit, packages: HeldPackage[]): ArtifactHit {
  return {
    project: hit.project,
    repository: hit.repository,
    digest: hit.digest,
    tags: hit.tags,
    pushedAt: new Date(hit.pushedAt).toISOString(),
    scannedAt: new Date(hit.scannedAt).toISOString(),
    vulnerabilities: hit.summary.vulnerabilities,
    packages,
  };
}

/** A name as ecosystems store it: as given, lower case (NuGet, Composer, Swift), and PEP 503 (PyPI). */
function spellings(name: string): string[] {
  const n = name.trim();
  return [...new Set([n, n.toLowerCase(), n.toLowerCase().replace(/[-_.]+/g, '-')])];
}

/** The match key of a purl, read the way an SBOM's component is (one way to turn a purl into a package). */
function packageOfPurl(purl: string): { names: string[]; ecosystem: string; version?: string } {
  let keys: readonly (string | number)[];
  try {
    const doc = readSbom({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [{ type: 'library', name: 'query', purl }] }, 'the purl');
    keys = matchKeys(doc.inventory).keys;
  } catch (err) {
    throw new ApiError('BAD_REQUEST', `purl "${purl.slice(0, 200)}" cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const key = keys[0];
  if (typeof key !== 'string') throw new ApiError('BAD_REQUEST', `purl "${purl.slice(0, 200)}" names no package Portcullis matches (an OS package needs its distro qualifier, e.g. ?distro=debian-12)`);
  const { ecosystem, name, version } = splitMatchKey(key);
  // A purl without a version asks for every version.
  return { names: [name], ecosystem, ...(version !== '' && /@/.test(purl) ? { version } : {}) };
}
