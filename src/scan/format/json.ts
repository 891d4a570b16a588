/**
 * The JSON report in Trivy's shape (SchemaVersion 2), so that what already reads `trivy -f json`
 * (dashboards, DefectDojo's Trivy parser, Harbor's scanner adapter) reads ours unchanged. Field
 * names, nesting, order and the omitted-when-empty rules follow Trivy's Go types
 * (pkg/types/report.go, vulnerability.go, misconfiguration.go; trivy-db's Vulnerability, CVSS and
 * DataSource): Go omits a field tagged `omitempty` when it is "", 0, nil or an empty slice or map,
 * but never a struct (hence `"Layer": {}`). docs/scan-report.md documents every field.
 */
import { SEVERITIES, type CvssScore, type Severity } from '../../vuln/index.js';
import type { ConfigFinding, ScanReport, ScanResult, SecretFinding, VulnerabilityFinding } from '../model.js';

export const TRIVY_SCHEMA_VERSION = 2;

export interface TrivyLayer {
  readonly Digest?: string;
  readonly DiffID?: string;
}

export interface TrivyCvss {
  readonly V2Vector?: string;
  readonly V3Vector?: string;
  readonly V40Vector?: string;
  readonly V2Score?: number;
  readonly V3Score?: number;
  readonly V40Score?: number;
}

export interface TrivyVulnerability {
  readonly VulnerabilityID: string;
  readonly VendorIDs?: readonly string[];
  readonly PkgID: string;
  readonly PkgName: string;
  readonly PkgIdentifier: { readonly PURL?: string; readonly UID?: string };
  readonly InstalledVersion: string;
  readonly FixedVersion?: string;
  readonly Status?: string;
  readonly Layer: TrivyLayer;
  readonly SeveritySource?: string;
  readonly PrimaryURL?: string;
  readonly DataSource?: { readonly ID?: string; readonly Name?: string; readonly URL?: string };
  readonly Title?: string;
  readonly Description?: string;
  readonly Severity: Severity;
  readonly CweIDs?: readonly string[];
  /** Portcullis's, beside Trivy's fields: in CISA's KEV catalogue, and FIRST's EPSS. */
  readonly KnownExploited?: { readonly DateAdded: string; readonly DueDate?: string; readonly KnownRansomwareCampaignUse?: boolean };
  readonly EPSS?: { readonly Score: number; readonly Percentile: number; readonly Date?: string };
  /** Trivy's numbers: 0 UNKNOWN, 1 LOW, 2 MEDIUM, 3 HIGH, 4 CRITICAL. */
  readonly VendorSeverity?: Readonly<Record<string, number>>;
  readonly CVSS?: Readonly<Record<string, TrivyCvss>>;
  readonly References?: readonly string[];
  readonly PublishedDate?: string;
  readonly LastModifiedDate?: string;
}

export interface TrivyCodeLine {
  readonly Number: number;
  readonly Content: string;
  readonly IsCause: boolean;
  readonly Annotation: string;
  readonly Truncated: boolean;
  readonly FirstCause: boolean;
  readonly LastCause: boolean;
}

export interface TrivySecret {
  readonly RuleID: string;
  readonly Category: string;
  readonly Severity: Severity;
  readonly Title: string;
  readonly StartLine: number;
  readonly EndLine: number;
  readonly Code: { readonly Lines: readonly TrivyCodeLine[] | null };
  readonly Match: string;
  readonly Layer: TrivyLayer;
}

export interface TrivyMisconfiguration {
  readonly Type?: string;
  readonly ID: string;
  readonly AVDID?: string;
  readonly Title?: string;
  readonly Description?: string;
  readonly Message?: string;
  readonly Namespace?: string;
  readonly Resolution?: string;
  readonly Severity: Severity;
  readonly PrimaryURL?: string;
  readonly References?: readonly string[];
  readonly Status: 'FAIL';
  readonly Layer: TrivyLayer;
  readonly CauseMetadata: { readonly StartLine?: number; readonly EndLine?: number; readonly Code: { readonly Lines: null } };
}

export interface TrivyResult {
  readonly Target: string;
  readonly Class?: string;
  readonly Type?: string;
  readonly Vulnerabilities?: readonly TrivyVulnerability[];
  readonly Misconfigurations?: readonly TrivyMisconfiguration[];
  readonly Secrets?: readonly TrivySecret[];
  readonly ModifiedFindings?: readonly TrivyModifiedFinding[];
}

/** A finding someone decided about (Trivy's `--show-suppressed`). */
export interface TrivyModifiedFinding {
  readonly Type: 'vulnerability' | 'secret' | 'misconfiguration';
  readonly Status: string;
  readonly Statement: string;
  readonly Source: string;
  readonly Finding: TrivyVulnerability | TrivySecret | TrivyMisconfiguration;
}

export interface TrivyReport {
  readonly SchemaVersion: number;
  readonly CreatedAt?: string;
  readonly ArtifactName?: string;
  readonly ArtifactType?: string;
  readonly Metadata: {
    readonly OS?: { readonly Family: string; readonly Name: string; readonly EOSL?: boolean };
    readonly ImageID?: string;
    readonly DiffIDs?: readonly string[];
    readonly RepoTags?: readonly string[];
    readonly RepoDigests?: readonly string[];
    /** What was not checked, and why (an OS or ecosystem the DB holds no data for): Portcullis's, beside Trivy's fields. */
    readonly Warnings?: readonly string[];
    readonly ImageConfig?: unknown;
  };
  readonly Results?: readonly TrivyResult[];
}

/** Trivy's numeric severity (trivy-db `types.Severity`). */
export function severityNumber(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Go's `<` on strings: by code unit, never by locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Trivy's order of a result's vulnerabilities (types.BySeverity): package name, installed version,
 * severity from CRITICAL down, then id.
 */
export function compareVulnerabilities(a: VulnerabilityFinding, b: VulnerabilityFinding): number {
  return compareStrings(a.pkg.name, b.pkg.name) || compareStrings(a.installedVersion, b.installedVersion) || severityNumber(b.severity) - severityNumber(a.severity) || compareStrings(a.id, b.id);
}

/**
 * The order of `--sort risk`: in CISA's KEV catalogue first, then by EPSS score, then by severity,
 * then Trivy's order.
 */
export function compareRisk(a: VulnerabilityFinding, b: VulnerabilityFinding): number {
  return (
    Number(b.knownExploited !== undefined) - Number(a.knownExploited !== undefined) ||
    (b.epss?.score ?? -1) - (a.epss?.score ?? -1) ||
    severityNumber(b.severity) - severityNumber(a.severity) ||
    compareVulnerabilities(a, b)
  );
}

/** How a result's vulnerabilities are listed: Trivy's order, or by risk (`--sort risk`). */
export type VulnerabilityOrder = 'severity' | 'risk';

export function sortedVulnerabilities(result: ScanResult, order: VulnerabilityOrder = 'severity'): VulnerabilityFinding[] {
  return [...(result.vulnerabilities ?? [])].sort(order === 'risk' ? compareRisk : compareVulnerabilities);
}

/** Spreads `{ [key]: value }` only when Go's `omitempty` would keep it. */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  if (value === undefined || value === '' || value === 0 || value === false) return {};
  if (Array.isArray(value) && value.length === 0) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) return {};
  return { [key]: value } as { [P in K]?: V };
}

function layerOf(layer: { readonly digest?: string; readonly diffId?: string } | undefined): TrivyLayer {
  return { ...opt('Digest', layer?.digest), ...opt('DiffID', layer?.diffId) };
}

/** trivy-db's VendorCVSS: one entry per source, v2 / v3 / v4 side by side; 3.1 wins over 3.0. */
export function cvssBySource(scores: readonly CvssScore[]): Record<string, TrivyCvss> {
  const grouped = new Map<string, { v2?: CvssScore; v3?: CvssScore; v40?: CvssScore }>();
  for (const s of scores) {
    const g = grouped.get(s.source) ?? {};
    if (s.version === '2.0') g.v2 ??= s;
    else if (s.version === '4.0') g.v40 ??= s;
    else if (g.v3 === undefined || (g.v3.version === '3.0' && s.version === '3.1')) g.v3 = s;
    grouped.set(s.source, g);
  }
  const out: Record<string, TrivyCvss> = {};
  for (const source of [...grouped.keys()].sort(compareStrings)) {
    const g = grouped.get(source)!;
    out[source] = {
      ...opt('V2Vector', g.v2?.vector),
      ...opt('V3Vector', g.v3?.vector),
      ...opt('V40Vector', g.v40?.vector),
      ...opt('V2Score', g.v2?.score),
      ...opt('V3Score', g.v3?.score),
      ...opt('V40Score', g.v40?.score),
    };
  }
  return out;
}

export function toTrivyVulnerability(v: VulnerabilityFinding): TrivyVulnerability {
  const vendorSeverity: Record<string, number> = {};
  for (const source of Object.keys(v.vendorSeverity).sort(compareStrings)) vendorSeverity[source] = severityNumber(v.vendorSeverity[source]!);
  return {
    VulnerabilityID: v.id,
    ...opt('VendorIDs', v.aliases),
    PkgID: `${v.pkg.name}@${v.pkg.version}`,
    PkgName: v.pkg.name,
    PkgIdentifier: { ...opt('PURL', v.pkg.purl), ...opt('UID', v.pkg.id) },
    InstalledVersion: v.installedVersion,
    ...opt('FixedVersion', v.fixedVersion),
    // trivy-db's Status is an int whose zero value is "unknown": omitempty drops it.
    ...opt('Status', v.status === 'unknown' ? undefined : v.status),
    Layer: layerOf(v.layer),
    ...opt('SeveritySource', v.severitySource),
    ...opt('PrimaryURL', v.primaryUrl),
    ...opt('DataSource', { ...opt('ID', v.dataSource.id), ...opt('Name', v.dataSource.name), ...opt('URL', v.dataSource.url) }),
    ...opt('Title', v.title),
    ...opt('Description', v.description),
    Severity: v.severity,
    ...opt('CweIDs', v.cweIds),
    ...opt('KnownExploited', v.knownExploited === undefined ? undefined : { DateAdded: v.knownExploited.dateAdded, ...opt('DueDate', v.knownExploited.dueDate), ...opt('KnownRansomwareCampaignUse', v.knownExploited.ransomware) }),
    ...opt('EPSS', v.epss === undefined ? undefined : { Score: v.epss.score, Percentile: v.epss.percentile, ...opt('Date', v.epss.date) }),
    ...opt('VendorSeverity', vendorSeverity),
    ...opt('CVSS', cvssBySource(v.cvss)),
    ...opt('References', v.references),
    ...opt('PublishedDate', v.published),
    ...opt('LastModifiedDate', v.modified),
  };
}

export function toTrivySecret(s: SecretFinding): TrivySecret {
  return {
    RuleID: s.ruleId,
    Category: s.category,
    Severity: s.severity,
    Title: s.title,
    StartLine: s.startLine,
    EndLine: s.endLine,
    // The match is already redacted; it is the one line of code a reader needs.
    Code: { Lines: s.match === '' ? null : [{ Number: s.startLine, Content: s.match, IsCause: true, Annotation: '', Truncated: false, FirstCause: true, LastCause: true }] },
    Match: s.match,
    Layer: layerOf(s.layer),
  };
}

/** DS002 → AVD-DS-0002, as Trivy's Dockerfile checks name themselves. */
export function avdIdOf(id: string): string {
  const m = /^DS(\d+)$/.exec(id);
  return m === null ? id : `AVD-DS-${m[1]!.padStart(4, '0')}`;
}

/** Trivy's check type: its Dockerfile checks (DS*) are "Dockerfile Security Check", wherever they ran. */
export function misconfigTypeOf(id: string, resultType: string): string {
  return resultType === 'dockerfile' || /^DS\d+$/.test(id) ? 'Dockerfile Security Check' : 'Image Config Security Check';
}

export function toTrivyMisconfiguration(m: ConfigFinding, resultType: string): TrivyMisconfiguration {
  const ds = /^DS\d+$/.test(m.id);
  return {
    Type: misconfigTypeOf(m.id, resultType),
    ID: m.id,
    AVDID: avdIdOf(m.id),
    ...opt('Title', m.title),
    ...opt('Description', m.description),
    ...opt('Message', m.message),
    ...opt('Namespace', ds ? `builtin.dockerfile.${m.id}` : undefined),
    ...opt('Resolution', m.resolution),
    Severity: m.severity,
    ...opt('PrimaryURL', m.primaryUrl),
    ...opt('References', m.primaryUrl === undefined ? undefined : [m.primaryUrl]),
    Status: 'FAIL',
    Layer: {},
    CauseMetadata: { ...opt('StartLine', m.lines?.start), ...opt('EndLine', m.lines?.end), Code: { Lines: null } },
  };
}

export function toTrivyResult(r: ScanResult, order: VulnerabilityOrder = 'severity'): TrivyResult {
  return {
    Target: r.target,
    ...opt('Class', r.class),
    ...opt('Type', r.type),
    ...opt('Vulnerabilities', sortedVulnerabilities(r, order).map(toTrivyVulnerability)),
    ...opt('Misconfigurations', (r.misconfigurations ?? []).map((m) => toTrivyMisconfiguration(m, r.type))),
    ...opt('Secrets', (r.secrets ?? []).map(toTrivySecret)),
    ...opt(
      'ModifiedFindings',
      r.modifiedFindings?.map((m) => ({
        Type: m.type,
        Status: m.status,
        Statement: m.statement,
        Source: m.source,
        Finding: m.type === 'vulnerability' ? toTrivyVulnerability(m.finding) : m.type === 'secret' ? toTrivySecret(m.finding) : toTrivyMisconfiguration(m.finding, r.type),
      })),
    ),
  };
}

export function toTrivyReport(report: ScanReport, order: VulnerabilityOrder = 'severity'): TrivyReport {
  const { metadata: md } = report;
  return {
    SchemaVersion: TRIVY_SCHEMA_VERSION,
    ...opt('CreatedAt', report.createdAt),
    ...opt('ArtifactName', report.artifactName),
    ...opt('ArtifactType', report.artifactType),
    Metadata: {
      ...opt('OS', md.os === undefined ? undefined : { Family: md.os.family, Name: md.os.name, ...opt('EOSL', md.os.eosl) }),
      ...opt('ImageID', md.imageId),
      ...opt('DiffIDs', md.diffIds),
      ...opt('RepoTags', md.repoTags),
      ...opt('RepoDigests', md.repoDigests),
      ...opt('Warnings', md.warnings !== undefined && md.warnings.length > 0 ? md.warnings : undefined),
      ...(md.imageConfig === undefined || md.imageConfig === null ? {} : { ImageConfig: md.imageConfig }),
    },
    // Every result is listed, with or without findings: the scanner decides which targets exist.
    ...opt('Results', report.results.map((r) => toTrivyResult(r, order))),
  };
}

export function formatJson(report: ScanReport, order: VulnerabilityOrder = 'severity'): string {
  return `${JSON.stringify(toTrivyReport(report, order), null, 2)}\n`;
}
