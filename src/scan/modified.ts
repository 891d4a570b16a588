/**
 * Findings a decision took out of a report (the registry's approved waivers): moved from the
 * result's lists to its `modifiedFindings`, each with who decided and why, so every format shows
 * them as decided rather than either hiding or counting them. Pure.
 */
import type { ModifiedFinding, ScanReport, ScanResult } from './model.js';

/** A decision over finding ids (CVE and GHSA ids, secret rule ids, check ids). */
export interface FindingDecision {
  readonly ids: readonly string[];
  /** `portcullis waiver 12`. */
  readonly source: string;
  readonly statement: string;
}

/**
 * The report with every finding a decision names (by its id exactly, as the gates judge) moved to
 * `modifiedFindings`; the first decision naming it wins.
 */
export function applyDecisions(report: ScanReport, decisions: readonly FindingDecision[]): ScanReport {
  if (decisions.length === 0) return report;
  const byId = new Map<string, FindingDecision>();
  for (const d of decisions) for (const id of d.ids) if (!byId.has(id)) byId.set(id, d);
  const results = report.results.map((r): ScanResult => {
    const modified: ModifiedFinding[] = [...(r.modifiedFindings ?? [])];
    const vulnerabilities = (r.vulnerabilities ?? []).filter((v) => {
      const d = byId.get(v.id);
      if (d !== undefined) modified.push({ type: 'vulnerability', status: 'ignored', statement: d.statement, source: d.source, finding: v });
      return d === undefined;
    });
    const secrets = (r.secrets ?? []).filter((x) => {
      const d = byId.get(x.ruleId);
      if (d !== undefined) modified.push({ type: 'secret', status: 'ignored', statement: d.statement, source: d.source, finding: x });
      return d === undefined;
    });
    const misconfigurations = (r.misconfigurations ?? []).filter((x) => {
      const d = byId.get(x.id);
      if (d !== undefined) modified.push({ type: 'misconfiguration', status: 'ignored', statement: d.statement, source: d.source, finding: x });
      return d === undefined;
    });
    if (modified.length === (r.modifiedFindings ?? []).length) return r;
    return {
      ...r,
      ...(r.vulnerabilities !== undefined ? { vulnerabilities } : {}),
      ...(r.secrets !== undefined ? { secrets } : {}),
      ...(r.misconfigurations !== undefined ? { misconfigurations } : {}),
      modifiedFindings: modified,
    };
  });
  return { ...report, results };
}
