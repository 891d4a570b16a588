/**
 * CycloneDX 1.6 with vulnerabilities: the SBOM `portcullis sbom -o cyclonedx-json` writes for the
 * image (sbom's `toCycloneDx`, unchanged: same components, same bom-refs), plus one `vulnerabilities`
 * entry per vulnerability id, normalized by the CycloneDX library. Each entry's `affects` names
 * the bom-refs of the components it was found in, so a reader joins findings to packages without
 * guessing from names.
 */
import type * as EnumsT from '@cyclonedx/cyclonedx-library/Enums';
import type * as ModelsT from '@cyclonedx/cyclonedx-library/Models';
import { cycloneDxLibrary, toCycloneDx, type Inventory, type WriterOptions } from '../../sbom/index.js';
import type { CvssScore, Severity } from '../../vuln/index.js';
import type { ScanReport, VulnerabilityFinding } from '../model.js';
import { compareStrings, sortedVulnerabilities } from './json.js';

export interface CycloneDxReportOptions extends WriterOptions {
  /** The inventory the report was scanned from: its packages are the components. */
  readonly inventory: Inventory;
}

// The library as src/sbom loads it: on first use, by subpath (a table report does not pay for it).
const cdx = cycloneDxLibrary;

function cdxSeverity(s: Severity): EnumsT.Vulnerability.Severity {
  const { Severity: S } = cdx().Enums.Vulnerability;
  switch (s) {
    case 'CRITICAL':
      return S.Critical;
    case 'HIGH':
      return S.High;
    case 'MEDIUM':
      return S.Medium;
    case 'LOW':
      return S.Low;
    case 'UNKNOWN':
      return S.Unknown;
  }
}

/** CVSS qualitative rating of a base score (the same bands in v2's NVD use, v3 and v4). */
function severityOfScore(score: number): Severity {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'UNKNOWN';
}

function ratingMethod(c: CvssScore): EnumsT.Vulnerability.RatingMethod {
  const { RatingMethod: M } = cdx().Enums.Vulnerability;
  switch (c.version) {
    case '2.0':
      return M.CVSSv2;
    case '3.0':
      return M.CVSSv3;
    case '3.1':
      return M.CVSSv31;
    case '4.0':
      return M.CVSSv4;
  }
}

function urlOrUndefined(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  try {
    return new URL(s).href;
  } catch {
    return undefined;
  }
}

function dateOrUndefined(s: string | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function aliasSource(id: string): ModelsT.Vulnerability.Source {
  const { Models } = cdx();
  if (id.startsWith('GHSA-')) return new Models.Vulnerability.Source({ name: 'ghsa', url: `https://github.com/advisories/${id}` });
  if (id.startsWith('CVE-')) return new Models.Vulnerability.Source({ name: 'nvd', url: `https://nvd.nist.gov/vuln/detail/${id}` });
  return new Models.Vulnerability.Source({ name: 'osv', url: `https://osv.dev/vulnerability/${id}` });
}

/** One CycloneDX vulnerability from every finding of one id (the same flaw in several packages). */
function toCdxVulnerability(findings: readonly VulnerabilityFinding[], refs: ReadonlySet<string>): ModelsT.Vulnerability.Vulnerability {
  const { Enums, Models } = cdx();
  const first = findings[0]!;
  const sourceUrl = urlOrUndefined(first.dataSource.url);
  const published = dateOrUndefined(first.published);
  const updated = dateOrUndefined(first.modified);
  const description = first.description ?? first.title;
  const v = new Models.Vulnerability.Vulnerability({
    id: first.id,
    source: new Models.Vulnerability.Source({ name: first.dataSource.id, ...(sourceUrl !== undefined ? { url: sourceUrl } : {}) }),
    ...(description !== undefined ? { description } : {}),
    ...(published !== undefined ? { published } : {}),
    ...(updated !== undefined ? { updated } : {}),
  });
  for (const alias of first.aliases) v.references.add(new Models.Vulnerability.Reference(alias, aliasSource(alias)));

  // Ratings: every source's CVSS vector, and the sources that rate without one (a distro's urgency).
  const rated = new Set<string>();
  for (const c of first.cvss) {
    rated.add(c.source);
    const severity = first.vendorSeverity[c.source] ?? severityOfScore(c.score);
    v.ratings.add(new Models.Vulnerability.Rating({ source: new Models.Vulnerability.Source({ name: c.source }), score: c.score, severity: cdxSeverity(severity), method: ratingMethod(c), vector: c.vector }));
  }
  for (const source of Object.keys(first.vendorSeverity).sort(compareStrings)) {
    if (rated.has(source)) continue;
    rated.add(source);
    v.ratings.add(new Models.Vulnerability.Rating({ source: new Models.Vulnerability.Source({ name: source }), severity: cdxSeverity(first.vendorSeverity[source]!) }));
  }
  if (!rated.has(first.severitySource)) v.ratings.add(new Models.Vulnerability.Rating({ source: new Models.Vulnerability.Source({ name: first.severitySource }), severity: cdxSeverity(first.severity) }));

  for (const ref of first.references) {
    const url = urlOrUndefined(ref);
    if (url !== undefined) v.advisories.add(new Models.Vulnerability.Advisory(url));
  }

  const recommendations = new Set<string>();
  const details: string[] = [];
  const responses = new Set<EnumsT.Vulnerability.AnalysisResponse>();
  const seen = new Set<string>();
  for (const f of findings) {
    if (f.fixedVersion !== undefined && f.fixedVersion !== '') recommendations.add(`Upgrade ${f.pkg.name} to ${f.fixedVersion}`);
    details.push(`${f.pkg.name} ${f.installedVersion}: ${f.status}${f.fixedVersion !== undefined && f.fixedVersion !== '' ? `, fixed in ${f.fixedVersion}` : ''}`);
    if (f.status === 'fixed') responses.add(Enums.Vulnerability.AnalysisResponse.Update);
    if (f.status === 'will_not_fix') responses.add(Enums.Vulnerability.AnalysisResponse.WillNotFix);
    if (f.status === 'end_of_life') responses.add(Enums.Vulnerability.AnalysisResponse.CanNotFix);
    // A finding whose package is not in the inventory cannot be referenced: no dangling refs.
    if (!refs.has(f.pkg.id) || seen.has(f.pkg.id)) continue;
    seen.add(f.pkg.id);
    v.affects.add(
      new Models.Vulnerability.Affect(new Models.BomRef(f.pkg.id), {
        versions: new Models.Vulnerability.AffectedVersionRepository([new Models.Vulnerability.AffectedSingleVersion(f.installedVersion, { status: Enums.Vulnerability.AffectStatus.Affected })]),
      }),
    );
  }
  if (recommendations.size > 0) v.recommendation = [...recommendations].sort(compareStrings).join('; ');
  // The distribution's or the advisory's stance, not an analysis of this image: no `state`.
  v.analysis = new Models.Vulnerability.Analysis({ response: new Enums.Vulnerability.AnalysisResponseRepository(responses), detail: details.sort(compareStrings).join('\n') });
  return v;
}

export function formatCycloneDx(report: ScanReport, options: CycloneDxReportOptions): string {
  const { Models, Serialize, Spec } = cdx();
  const { inventory, ...writerOptions } = options;
  const bom = JSON.parse(toCycloneDx(inventory, writerOptions)) as Record<string, unknown>;

  const refs = new Set(inventory.packages.map((p) => p.id));
  const byId = new Map<string, VulnerabilityFinding[]>();
  for (const r of report.results) for (const f of sortedVulnerabilities(r)) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  if (byId.size > 0) {
    const repo = new Models.Vulnerability.VulnerabilityRepository([...byId.keys()].sort(compareStrings).map((id) => toCdxVulnerability(byId.get(id)!, refs)));
    const normalizer = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6).makeForVulnerability();
    // Through JSON once to drop the normalizer's undefined members, as the library's serializer does.
    bom['vulnerabilities'] = JSON.parse(JSON.stringify(normalizer.normalizeIterable(repo, { sortLists: true }))) as unknown;
  }
  return `${JSON.stringify(bom, null, 2)}\n`;
}
