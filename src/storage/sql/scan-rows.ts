/** Scan result rows as both SQL backends return them, read into the store's types. */
import type { Digest } from '../../oci/index.js';
import type { ScanResultRecord, ScanSummary, SeverityCounts } from '../metadata-store.js';

export interface ScanRow {
  repository: string;
  digest: string;
  db_built_at: string | null;
  scanned_at: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
  fixable: number;
  secrets: number;
  misconfigurations: number;
  class_counts: string | null;
  report_digest: string;
  warnings: string | null;
}

export const toScan = (r: ScanRow & { repository: string }): ScanResultRecord => ({
  repository: r.repository,
  digest: r.digest as Digest,
  dbBuiltAt: r.db_built_at,
  scannedAt: Number(r.scanned_at),
  summary: summaryOf(r),
  reportDigest: r.report_digest as Digest,
  warnings: r.warnings === null ? [] : stringArray(r.warnings),
});

const NO_FINDINGS: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };

/**
 * The columns hold the vulnerabilities by severity (what a re-evaluation updates) and the totals of
 * secrets and misconfigurations; `class_counts` those two by severity. A result stored before
 * `class_counts` existed knows their totals only: they read as of unknown severity.
 */
export function summaryOf(r: ScanRow): ScanSummary {
  const vulnerabilities = { critical: Number(r.critical), high: Number(r.high), medium: Number(r.medium), low: Number(r.low), unknown: Number(r.unknown), fixable: Number(r.fixable) };
  if (r.class_counts !== null) {
    const c = JSON.parse(r.class_counts) as { secrets?: SeverityCounts; misconfigurations?: SeverityCounts };
    return { vulnerabilities, secrets: { ...NO_FINDINGS, ...c.secrets }, misconfigurations: { ...NO_FINDINGS, ...c.misconfigurations } };
  }
  return { vulnerabilities, secrets: { ...NO_FINDINGS, unknown: Number(r.secrets) }, misconfigurations: { ...NO_FINDINGS, unknown: Number(r.misconfigurations) } };
}

/** A JSON array of strings as stored; anything else reads as none. */
export function stringArray(text: string): string[] {
  try {
    const items = JSON.parse(text) as unknown;
    return Array.isArray(items) ? items.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
