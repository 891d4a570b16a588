/**
 * The NVD's CVE API 2.0 feeds (`nvdcve-2.0-YYYY.json.gz`, `-modified`, `-recent`: documents of
 * `{format: "NVD_CVE", vulnerabilities: [{cve}]}`) and CVE JSON 5 records (the CVE list's
 * `containers.cna` and `containers.adp`, CISA's vulnrichment among the ADPs). Both speak of flaws,
 * never of affected package versions: they are enrichment, a source of CVSS v2/v3/v4 vectors, CWE
 * ids, descriptions and dates for the CVEs some package feed names. Pure.
 *
 * - NVD: the NVD's own metrics (`source: nvd@nist.gov`, `type: Primary`) are source `nvd`; a CNA's
 *   (Secondary) are source `cna`. The English description, `published`, `lastModified`, the CWE
 *   ids of `weaknesses` (NVD-CWE-Other / noinfo dropped) and reference URLs. `Rejected` CVEs are skipped.
 * - CVE 5: the CNA's metrics are source `cna`, an ADP's its short name lower-cased, ending in
 *   `-adp` (`cisa-adp`); CWE ids from `problemTypes`. `REJECTED` records are skipped.
 */
import type { CvssScore, VulnerabilityRecord } from '../model.js';
import { cvssScore } from '../severity.js';
import type { FeedCollector } from './osv.js';

const CVE = /^CVE-\d{4}-\d{4,}$/;
const CWE = /^CWE-\d+$/;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.trim() !== '' ? x : undefined);

/** Whether a document is an NVD CVE API 2.0 feed. */
export function isNvdFeed(doc: unknown): boolean {
  return isObject(doc) && doc['format'] === 'NVD_CVE' && Array.isArray(doc['vulnerabilities']);
}

/** Whether a document is one CVE JSON 5 record. */
export function isCve5Record(doc: unknown): boolean {
  return isObject(doc) && doc['dataType'] === 'CVE_RECORD' && isObject(doc['cveMetadata']);
}

/** A CVSS vector as a score of `source`; undefined (and an error line) when it does not parse. */
function scored(vector: unknown, source: string, where: string, out: FeedCollector): CvssScore | undefined {
  const v = str(vector);
  if (v === undefined) return undefined;
  try {
    const s = cvssScore(v);
    return { source, version: s.version, vector: v.trim(), score: s.score };
  } catch {
    out.errors.push(`${where}: CVSS vector ${JSON.stringify(v).slice(0, 120)} of ${source} does not parse: dropped`);
    return undefined;
  }
}

const METRIC_KEYS = ['cvssMetricV40', 'cvssMetricV31', 'cvssMetricV30', 'cvssMetricV2'] as const;

/** One `vulnerabilities[]` item of an NVD feed (`{cve: {...}}`) into `out.vulnerabilities`. */
export function parseNvdItem(item: unknown, where: string, out: FeedCollector): void {
  const cve = isObject(item) ? item['cve'] : undefined;
  if (!isObject(cve) || typeof cve['id'] !== 'string' || !CVE.test(cve['id'])) {
    out.errors.push(`${where}: not an NVD CVE item (no cve.id): skipped`);
    return;
  }
  const id = cve['id'];
  const at = `${where} ${id}`;
  if (cve['vulnStatus'] === 'Rejected') {
    out.skip('rejected');
    return;
  }
  const cvss: CvssScore[] = [];
  const metrics = isObject(cve['metrics']) ? cve['metrics'] : {};
  for (const key of METRIC_KEYS) {
    for (const m of list(metrics[key])) {
      if (!isObject(m) || !isObject(m['cvssData'])) continue;
      const source = m['type'] === 'Primary' || m['source'] === 'nvd@nist.gov' ? 'nvd' : 'cna';
      const s = scored(m['cvssData']['vectorString'], source, at, out);
      if (s !== undefined) cvss.push(s);
    }
  }
  const cwes = new Set<string>();
  for (const w of list(cve['weaknesses'])) for (const d of isObject(w) ? list(w['description']) : []) if (isObject(d) && typeof d['value'] === 'string' && CWE.test(d['value'])) cwes.add(d['value']);
  const details = list(cve['descriptions']).find((d): d is Record<string, unknown> => isObject(d) && d['lang'] === 'en');
  out.vulnerabilities.push(record(id, 'nvd', {
    details: str(details?.['value']),
    published: str(cve['published']),
    modified: str(cve['lastModified']),
    references: list(cve['references']).flatMap((r) => (isObject(r) && typeof r['url'] === 'string' ? [r['url']] : [])),
    cvss,
    cweIds: [...cwes].sort(),
  }));
}

/** One CVE JSON 5 record into `out.vulnerabilities`. */
export function parseCve5Record(doc: unknown, where: string, out: FeedCollector): void {
  const meta = isObject(doc) && isObject(doc['cveMetadata']) ? doc['cveMetadata'] : undefined;
  const id = meta?.['cveId'];
  if (meta === undefined || typeof id !== 'string' || !CVE.test(id)) {
    out.errors.push(`${where}: not a CVE record (no cveMetadata.cveId): skipped`);
    return;
  }
  if (meta['state'] === 'REJECTED') {
    out.skip('rejected');
    return;
  }
  const containers = isObject((doc as Record<string, unknown>)['containers']) ? ((doc as Record<string, unknown>)['containers'] as Record<string, unknown>) : {};
  const cna = isObject(containers['cna']) ? containers['cna'] : {};
  const at = `${where} ${id}`;
  const cvss: CvssScore[] = [];
  const cwes = new Set<string>();
  const fromContainer = (c: Record<string, unknown>, source: string): void => {
    for (const m of list(c['metrics'])) {
      if (!isObject(m)) continue;
      for (const key of ['cvssV4_0', 'cvssV3_1', 'cvssV3_0', 'cvssV2_0']) {
        const data = m[key];
        if (isObject(data)) {
          const s = scored(data['vectorString'], source, at, out);
          if (s !== undefined) cvss.push(s);
        }
      }
    }
    for (const p of list(c['problemTypes'])) {
      for (const d of isObject(p) ? list(p['descriptions']) : []) if (isObject(d) && typeof d['cweId'] === 'string' && CWE.test(d['cweId'])) cwes.add(d['cweId']);
    }
  };
  fromContainer(cna, 'cna');
  for (const adp of list(containers['adp'])) {
    if (!isObject(adp)) continue;
    const provider = isObject(adp['providerMetadata']) ? str(adp['providerMetadata']['shortName']) : undefined;
    const name = (provider ?? 'unknown').toLowerCase();
    fromContainer(adp, name.endsWith('adp') ? name : `${name}-adp`);
  }
  const details = list(cna['descriptions']).find((d): d is Record<string, unknown> => isObject(d) && typeof d['lang'] === 'string' && d['lang'].startsWith('en'));
  out.vulnerabilities.push(record(id, 'cve', {
    summary: str(cna['title']),
    details: str(details?.['value']),
    published: str(meta['datePublished']),
    modified: str(meta['dateUpdated']),
    references: list(cna['references']).flatMap((r) => (isObject(r) && typeof r['url'] === 'string' ? [r['url']] : [])),
    cvss,
    cweIds: [...cwes].sort(),
  }));
}

function record(id: string, source: string, f: { summary?: string | undefined; details?: string | undefined; published?: string | undefined; modified?: string | undefined; references: string[]; cvss: CvssScore[]; cweIds: string[] }): VulnerabilityRecord {
  return {
    id,
    aliases: [],
    ...(f.summary !== undefined ? { summary: f.summary } : {}),
    ...(f.details !== undefined ? { details: f.details } : {}),
    ...(f.published !== undefined ? { published: f.published } : {}),
    ...(f.modified !== undefined ? { modified: f.modified } : {}),
    references: f.references,
    cvss: f.cvss,
    ...(f.cweIds.length > 0 ? { cweIds: f.cweIds } : {}),
    source,
    enrichment: true,
  };
}
