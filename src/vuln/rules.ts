/**
 * What one advisory record says of one version (OSV's range semantics), and which severity a
 * finding shows (Trivy's order). Pure.
 */
import type { Compare } from './ecosystems.js';
import type { AffectedRange, AffectedRecord, CvssScore, MergedVulnerability, Severity } from './model.js';
import { severityOfScore } from './severity.js';

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

/**
 * Whether one record says this version is affected, and when it is, every fixed version the record
 * names (each range's `fixed` events, or the one a distribution states), as Trivy lists them: a
 * version matched through the record's explicit `versions` list has the same fixes as one matched
 * through its ranges.
 */
export function recordAffects(record: AffectedRecord, version: string, compare: Compare): { affected: boolean; fixes?: readonly string[] } {
  if (record.status === 'not_affected') return { affected: false };
  const affected = record.versions.includes(version) || affectedByRanges(record, version, compare);
  if (!affected) return { affected: false };
  const fixes = fixesOf(record);
  return fixes.length > 0 ? { affected, fixes } : { affected };
}

function affectedByRanges(record: AffectedRecord, version: string, compare: Compare): boolean {
  if (record.ranges.length > 0) return record.ranges.some((r) => inRange(r, version, compare).affected);
  if (record.fixedVersion !== undefined) return compare(version, record.fixedVersion) < 0;
  // An open issue with no version stated: every version of this release is affected.
  return record.status !== 'fixed' && record.versions.length === 0;
}

/** Every fixed version a record names. */
function fixesOf(record: AffectedRecord): string[] {
  const out = new Set<string>();
  for (const r of record.ranges) for (const e of r.events) if ('fixed' in e) out.add(e.fixed);
  if (out.size === 0 && record.fixedVersion !== undefined) out.add(record.fixedVersion);
  return [...out];
}

/**
 * Rating sources in order of trust, after the distribution's own for an OS package (Trivy's
 * order): for a language package GitHub's advisory rating first, then the NVD; for an OS package
 * the NVD first. Then a CVE record's CNA, then everything else by name.
 */
const LANGUAGE_ORDER = ['ghsa', 'nvd', 'cna', 'osv', 'go', 'pysec', 'redhat'];
const OS_ORDER = ['nvd', 'cna', 'ghsa', 'osv', 'redhat'];

/**
 * The severity shown, as Trivy chooses it: for OS packages the distribution's own rating when it
 * has one (`vendorFirst`); else the first rated source in the order above (a CVSS score before a
 * stated word from the same source); else UNKNOWN. Every source's rating is in `vendor`.
 */
export function chooseSeverity(vuln: MergedVulnerability, vendorFirst: readonly { source: string; severity: Severity | undefined }[], os = vendorFirst.length > 0): { severity: Severity; source: string; vendor: Record<string, Severity> } {
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
  const ordered = [...(os ? OS_ORDER : LANGUAGE_ORDER), ...Object.keys(vendor).sort()];
  for (const source of ordered) {
    const s = vendor[source];
    if (s !== undefined) return { severity: s, source, vendor };
  }
  return { severity: 'UNKNOWN', source: '', vendor };
}

function rankVersion(v: CvssScore['version']): number {
  return v === '4.0' ? 3 : v === '3.1' ? 2 : v === '3.0' ? 1 : 0;
}
