/**
 * Severity: CVSS base scores (the arithmetic is {metæffekt}'s `ae-cvss-calculator`, which covers
 * v2.0, v3.0, v3.1 and v4.0), the FIRST rating bands, and the words feeds use for severity.
 */
import { createRequire } from 'node:module';
import type { CvssScore, Severity } from './model.js';
import { VulnError } from './errors.js';

interface CvssVectorLike {
  calculateScores(): { base?: number | undefined };
  getVectorName(): string;
}
interface CvssLibrary {
  fromVector(vector: string): CvssVectorLike | null | undefined;
}

let library: CvssLibrary | undefined;
/** The library ships as one CommonJS bundle; required on first use (a scan with no vector never loads it). */
function cvssLibrary(): CvssLibrary {
  library ??= createRequire(import.meta.url)('ae-cvss-calculator') as CvssLibrary;
  return library;
}

const VERSIONS = { 'CVSS:2.0': '2.0', 'CVSS:3.0': '3.0', 'CVSS:3.1': '3.1', 'CVSS:4.0': '4.0' } as const;

/**
 * The base score of a CVSS vector (v2 vectors may come with or without a `CVSS:2.0/` prefix) and
 * its rating. Throws CVSS_INVALID for a vector that does not parse or lacks base metrics.
 */
export function cvssScore(vector: string): { version: CvssScore['version']; score: number; severity: Severity } {
  const text = vector.trim();
  let parsed: CvssVectorLike | null | undefined;
  try {
    parsed = cvssLibrary().fromVector(text.startsWith('CVSS:2.0/') ? text.slice('CVSS:2.0/'.length) : text);
  } catch (err) {
    throw new VulnError('CVSS_INVALID', `not a CVSS vector: ${JSON.stringify(vector)}`, { cause: err });
  }
  const version = parsed === null || parsed === undefined ? undefined : VERSIONS[parsed.getVectorName() as keyof typeof VERSIONS];
  const base = parsed?.calculateScores().base;
  if (parsed === null || parsed === undefined || version === undefined || typeof base !== 'number' || !Number.isFinite(base)) {
    throw new VulnError('CVSS_INVALID', `not a complete CVSS vector (base metrics missing or unknown): ${JSON.stringify(vector)}`);
  }
  return { version, score: base, severity: severityOfScore(version, base) };
}

/**
 * FIRST's qualitative rating of a base score. v3/v4: 0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9 high,
 * 9.0–10 critical; v2 has no critical band (7.0–10 high). A score of 0.0 ("none") rates UNKNOWN:
 * the report has no "none" severity, and a 0.0 vector is almost always a data error.
 */
export function severityOfScore(version: CvssScore['version'], score: number): Severity {
  if (!(score > 0)) return 'UNKNOWN';
  if (version === '2.0') return score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
  return score >= 9 ? 'CRITICAL' : score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
}

const WORDS: Readonly<Record<string, Severity>> = {
  negligible: 'LOW',
  unimportant: 'LOW',
  low: 'LOW',
  minor: 'LOW',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  important: 'HIGH',
  high: 'HIGH',
  critical: 'CRITICAL',
  unknown: 'UNKNOWN',
  untriaged: 'UNKNOWN',
  'not yet assigned': 'UNKNOWN',
};

/** A severity word as feeds write it (GHSA MODERATE, Red Hat Important, Ubuntu negligible, Debian `low**`); undefined when unknown. */
export function severityOfWord(word: string): Severity | undefined {
  return WORDS[word.trim().replace(/\*+$/, '').toLowerCase()];
}

const RANK: Readonly<Record<Severity, number>> = { UNKNOWN: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

/** Trivy's numeric severity (0 UNKNOWN … 4 CRITICAL), also the sort order. */
export function severityRank(s: Severity): number {
  return RANK[s];
}
