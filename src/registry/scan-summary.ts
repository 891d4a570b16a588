import { MediaType } from '../oci/index.js';
import type { ScanReport } from '../scan/index.js';
import type { ArtifactRecord, ScanSummary } from '../storage/index.js';

/** Counts a report's findings; the vulnerability ids, sorted and distinct. */
export function summarize(report: ScanReport): { summary: ScanSummary; vulnerabilityIds: string[] } {
  const s = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0, secrets: 0, misconfigurations: 0 };
  const ids = new Set<string>();
  for (const r of report.results) {
    for (const v of r.vulnerabilities ?? []) {
      ids.add(v.id);
      switch (v.severity) {
        case 'CRITICAL':
          s.critical += 1;
          break;
        case 'HIGH':
          s.high += 1;
          break;
        case 'MEDIUM':
          s.medium += 1;
          break;
        case 'LOW':
          s.low += 1;
          break;
        case 'UNKNOWN':
          s.unknown += 1;
          break;
      }
      if (v.fixedVersion !== undefined && v.fixedVersion !== '') s.fixable += 1;
    }
    s.secrets += r.secrets?.length ?? 0;
    s.misconfigurations += r.misconfigurations?.length ?? 0;
  }
  return { summary: s, vulnerabilityIds: [...ids].sort() };
}

export const sameSummary = (a: ScanSummary, b: ScanSummary): boolean => (Object.keys(a) as (keyof ScanSummary)[]).every((k) => a[k] === b[k]);

export function isImageArtifact(a: Pick<ArtifactRecord, 'artifactType'>): boolean {
  return a.artifactType === MediaType.OciConfig || a.artifactType === MediaType.DockerConfig;
}
