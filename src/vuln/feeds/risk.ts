/**
 * Risk beyond severity: CISA's Known Exploited Vulnerabilities catalogue (its JSON, as
 * `known_exploited_vulnerabilities.json` is published) and FIRST's EPSS scores (the daily CSV,
 * `epss_scores-YYYY-MM-DD.csv.gz`: a `#model_version:…,score_date:…` line, then `cve,epss,percentile`).
 * Both are enrichment: kept for the CVEs package feeds name. Pure.
 */
import type { VulnerabilityRecord } from '../model.js';
import type { FeedCollector } from './osv.js';

const CVE = /^CVE-\d{4}-\d{4,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}/;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const enrichment = (id: string, source: string, extra: Partial<VulnerabilityRecord>): VulnerabilityRecord => ({ id, aliases: [], references: [], cvss: [], source, enrichment: true, ...extra });

/** Whether a document is CISA's KEV catalogue. */
export function isKevCatalog(doc: unknown): boolean {
  return isObject(doc) && typeof doc['catalogVersion'] === 'string' && Array.isArray(doc['vulnerabilities']);
}

export function parseKev(doc: unknown, label: string, out: FeedCollector): void {
  const list = isObject(doc) && Array.isArray(doc['vulnerabilities']) ? doc['vulnerabilities'] : [];
  list.forEach((v, i) => {
    const id = isObject(v) ? v['cveID'] : undefined;
    const added = isObject(v) ? v['dateAdded'] : undefined;
    if (typeof id !== 'string' || !CVE.test(id) || typeof added !== 'string' || !DATE.test(added)) {
      out.errors.push(`${label}[${i}]: a KEV entry without a cveID or dateAdded: skipped`);
      return;
    }
    const e = v as Record<string, unknown>;
    const due = typeof e['dueDate'] === 'string' && DATE.test(e['dueDate']) ? e['dueDate'] : undefined;
    out.vulnerabilities.push(
      enrichment(id, 'kev', {
        ...(typeof e['vulnerabilityName'] === 'string' ? { summary: e['vulnerabilityName'] } : {}),
        knownExploited: { dateAdded: added, ...(due !== undefined ? { dueDate: due } : {}), ...(e['knownRansomwareCampaignUse'] === 'Known' ? { ransomware: true } : {}) },
      }),
    );
  });
}

/** Whether a text's first line is EPSS's (the model line, or the header). */
export function isEpssCsv(head: string): boolean {
  return /^(#model_version:|cve,epss,percentile\b)/.test(head.replace(/^\uFEFF/, ''));
}

export function parseEpssCsv(text: string, label: string, out: FeedCollector): void {
  let date: string | undefined;
  let header = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line.startsWith('#')) {
      date = /score_date:(\d{4}-\d{2}-\d{2})/.exec(line)?.[1] ?? date;
      continue;
    }
    if (!header) {
      if (!/^cve,epss,percentile\s*$/.test(line)) {
        out.errors.push(`${label}:${i + 1}: not EPSS's header (cve,epss,percentile): the file is skipped`);
        return;
      }
      header = true;
      continue;
    }
    const [id, epss, percentile] = line.split(',');
    const score = Number(epss);
    const pct = Number(percentile);
    if (id === undefined || !CVE.test(id) || !(score >= 0 && score <= 1) || !(pct >= 0 && pct <= 1)) {
      out.errors.push(`${label}:${i + 1}: not an EPSS row (CVE, score and percentile in 0..1): skipped`);
      continue;
    }
    out.vulnerabilities.push(enrichment(id, 'epss', { epss: { score, percentile: pct, ...(date !== undefined ? { date } : {}) } }));
  }
}
