import { MediaType } from '../oci/index.js';
import type { ScanReport } from '../scan/index.js';
import type { ArtifactRecord, ScanSummary, SeverityCounts } from '../storage/index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const none = (): Mutable<SeverityCounts> => ({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });

function count(into: Mutable<SeverityCounts>, severity: string): void {
  const k = severity.toLowerCase();
  if (k === 'critical' || k === 'high' || k === 'medium' || k === 'low') into[k] += 1;
  else into.unknown += 1;
}

/** Counts a report's findings per class and severity; the vulnerability ids, sorted and distinct. */
export function summarize(report: ScanReport): { summary: ScanSummary; vulnerabilityIds: string[] } {
  const vulnerabilities = { ...none(), fixable: 0 };
  const secrets = none();
  const misconfigurations = none();
  const ids = new Set<string>();
  for (const r of report.results) {
    for (const v of r.vulnerabilities ?? []) {
      ids.add(v.id);
      count(vulnerabilities, v.severity);
      if (v.fixedVersion !== undefined && v.fixedVersion !== '') vulnerabilities.fixable += 1;
    }
    for (const x of r.secrets ?? []) count(secrets, x.severity);
    for (const x of r.misconfigurations ?? []) count(misconfigurations, x.severity);
  }
  return { summary: { vulnerabilities, secrets, misconfigurations }, vulnerabilityIds: [...ids].sort() };
}

const SEVERITY_KEYS = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

/** The summaries of several images added up (a multi-platform index's roll-up, as Harbor adds its children's). */
export function addSummaries(summaries: readonly ScanSummary[]): ScanSummary {
  const sum = { vulnerabilities: { ...none(), fixable: 0 }, secrets: none(), misconfigurations: none() };
  for (const s of summaries) {
    for (const k of SEVERITY_KEYS) {
      sum.vulnerabilities[k] += s.vulnerabilities[k];
      sum.secrets[k] += s.secrets[k];
      sum.misconfigurations[k] += s.misconfigurations[k];
    }
    sum.vulnerabilities.fixable += s.vulnerabilities.fixable;
  }
  return sum;
}

const total = (c: SeverityCounts): number => SEVERITY_KEYS.reduce((n, k) => n + c[k], 0);

/** Whether a re-evaluation's vulnerability counts are those stored. */
export const sameCounts = (a: ScanSummary['vulnerabilities'], b: ScanSummary['vulnerabilities']): boolean => SEVERITY_KEYS.every((k) => a[k] === b[k]) && a.fixable === b.fixable;

/**
 * The summary as the API shows it: findings of every class by severity (an image whose only
 * critical finding is a missing entrypoint reads `critical: 1`), how many vulnerabilities have a
 * fix, each class's total, and each class by severity.
 */
export function summaryJson(s: ScanSummary): Record<string, unknown> {
  const classes = { vulnerabilities: s.vulnerabilities, secrets: s.secrets, misconfigurations: s.misconfigurations };
  const bySeverity = Object.fromEntries(SEVERITY_KEYS.map((k) => [k, s.vulnerabilities[k] + s.secrets[k] + s.misconfigurations[k]]));
  return {
    ...bySeverity,
    fixable: s.vulnerabilities.fixable,
    vulnerabilities: total(s.vulnerabilities),
    secrets: total(s.secrets),
    misconfigurations: total(s.misconfigurations),
    byClass: Object.fromEntries(Object.entries(classes).map(([c, counts]) => [c, Object.fromEntries(SEVERITY_KEYS.map((k) => [k, counts[k]]))])),
  };
}

/** The artifact types of container images (their config's media type): what is scanned. */
export const IMAGE_CONFIG_TYPES: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig];

export function isImageArtifact(a: Pick<ArtifactRecord, 'artifactType'>): boolean {
  return a.artifactType !== null && a.artifactType !== undefined && IMAGE_CONFIG_TYPES.includes(a.artifactType);
}
