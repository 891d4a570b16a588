/**
 * What `portcullis scan` leaves out of a report, in Trivy's order and with Trivy's meaning:
 * `--severity` (all four kinds of findings), `--ignore-unfixed` (only vulnerabilities whose status
 * is `fixed` stay: Trivy's shorthand for ignoring every other status), an ignore file
 * (`.trivyignore` lines or `.trivyignore.yaml`) and OpenVEX statements. Pure: the caller reads the
 * files and passes their text; `now` decides which ignore entries have expired.
 *
 * Results stay listed when their findings are all filtered out, as Trivy keeps them.
 */
import type { Severity } from '../vuln/index.js';
import { avdIdOf } from './format/json.js';
import { globToRegExp, type IgnoreEntry, type IgnoreRules } from './ignore-file.js';
import type { ConfigFinding, ScanReport, ScanResult, SecretFinding, VulnerabilityFinding } from './model.js';
import { parsePurl, purlMatches, purlObjectsMatch, type Purl } from './purl-match.js';
import type { VexProduct, VexStatement, VexStatements } from './vex.js';

export interface ReportFilter {
  /** Keep only findings of these severities (all kinds). Absent: all. */
  readonly severities?: readonly Severity[];
  /** Keep only vulnerabilities whose status is `fixed` (a fixed version exists), as Trivy's --ignore-unfixed. */
  readonly ignoreUnfixed?: boolean;
  /** Keep only vulnerabilities in CISA's Known Exploited Vulnerabilities catalogue (--known-exploited). */
  readonly knownExploitedOnly?: boolean;
  /** Keep only vulnerabilities whose EPSS score is at least this (0..1; --epss-threshold); one without a score goes. */
  readonly epssThreshold?: number;
  readonly ignore?: IgnoreRules;
  readonly vex?: VexStatements;
  /** When "now" is, for ignore entries' expiry. Defaults to the current time. */
  readonly now?: Date;
}

export type FindingKind = 'vulnerability' | 'secret' | 'misconfiguration';

/** A finding the ignore file or a VEX statement took out, with the stated reason. */
export interface Suppression {
  readonly kind: FindingKind;
  readonly id: string;
  readonly target: string;
  /** Vulnerabilities: the package. */
  readonly pkg?: { readonly name: string; readonly version: string; readonly purl: string };
  readonly by: 'ignore-file' | 'vex';
  /** The ignore file's or VEX document's name, and the line of the entry or statement. */
  readonly source: string;
  readonly line: number;
  /** VEX: not_affected or fixed. */
  readonly status?: 'not_affected' | 'fixed';
  /** The ignore entry's statement, or the VEX justification / impact statement. */
  readonly statement?: string;
}

export interface FilterOutcome {
  readonly report: ScanReport;
  /** Findings taken out by the ignore file or VEX (what `--show-suppressed` would list in Trivy). */
  readonly suppressed: number;
  /** Every finding taken out, by the first rule that took it. */
  readonly removed: { readonly severity: number; readonly unfixed: number; readonly risk: number; readonly ignoreFile: number; readonly vex: number };
  readonly suppressions: readonly Suppression[];
}

/** The image's purls (`pkg:oci/<name>@<digest>?repository_url=...&tag=...`) and references, for VEX products. */
function imageIdentities(report: ScanReport): { purls: Purl[]; refs: Set<string> } {
  const refs = new Set<string>([report.artifactName, ...(report.metadata.repoTags ?? []), ...(report.metadata.repoDigests ?? [])]);
  if (report.metadata.imageId !== undefined) refs.add(report.metadata.imageId);
  const purls: Purl[] = [];
  if (report.artifactType !== 'container_image') return { purls, refs };
  const normalizeRepo = (r: string): string => r.toLowerCase().replace(/^(?:index\.)?docker\.io\//, 'docker.io/');
  // The tag is after a colon in the last path segment (a registry port sits in the first).
  const tagOf = (ref: string): string | undefined => /:([\w][\w.-]{0,127})$/.exec(ref.split('@')[0]!.split('/').pop()!)?.[1];
  const tags = [...(report.metadata.repoTags ?? []), report.artifactName].map(tagOf).filter((t): t is string => t !== undefined);
  for (const rd of report.metadata.repoDigests ?? []) {
    const at = rd.lastIndexOf('@');
    if (at < 0) continue;
    const repo = rd.slice(0, at);
    const qualifiers = new Map([['repository_url', normalizeRepo(repo)]]);
    if (tags[0] !== undefined) qualifiers.set('tag', tags[0]);
    purls.push({ type: 'oci', namespace: '', name: repo.split('/').pop()!.toLowerCase(), version: rd.slice(at + 1), qualifiers });
  }
  return { purls, refs };
}

function matchesImage(productId: string, image: { purls: Purl[]; refs: Set<string> }): boolean {
  if (image.refs.has(productId)) return true;
  const p = parsePurl(productId);
  if (p === undefined || p.type !== 'oci') return false;
  const repoUrl = p.qualifiers.get('repository_url');
  const normalized: Purl = repoUrl === undefined ? p : { ...p, qualifiers: new Map([...p.qualifiers, ['repository_url', repoUrl.toLowerCase().replace(/^(?:index\.)?docker\.io\//, 'docker.io/')]]) };
  return image.purls.some((t) => purlObjectsMatch(normalized, t));
}

function vexVerdict(v: VulnerabilityFinding, vex: VexStatements, image: { purls: Purl[]; refs: Set<string> }): VexStatement | undefined {
  const ids = new Set([v.id, ...v.aliases]);
  const matching = vex.statements
    .map((s, index) => ({ s, index }))
    .filter(({ s }) => (ids.has(s.vulnerability) || s.aliases.some((a) => ids.has(a))) && s.products.some((p) => productCovers(p, v, image)));
  if (matching.length === 0) return undefined;
  // The latest statement wins (OpenVEX: statements are a history); equal times keep document order.
  matching.sort((a, b) => {
    const ta = a.s.timestamp === undefined ? 0 : Date.parse(a.s.timestamp) || 0;
    const tb = b.s.timestamp === undefined ? 0 : Date.parse(b.s.timestamp) || 0;
    return ta - tb || a.index - b.index;
  });
  return matching[matching.length - 1]!.s;
}

/** A product covers a package when it is the package, or the image with the package as a subcomponent (or no subcomponents: all of it). */
function productCovers(p: VexProduct, v: VulnerabilityFinding, image: { purls: Purl[]; refs: Set<string> }): boolean {
  if (p.subcomponents.length === 0 && purlMatches(p.id, v.pkg.purl)) return true;
  if (!matchesImage(p.id, image)) return false;
  return p.subcomponents.length === 0 || p.subcomponents.some((sc) => purlMatches(sc, v.pkg.purl));
}

function active(entries: readonly IgnoreEntry[], now: Date): IgnoreEntry[] {
  return entries.filter((e) => e.expiresAt === undefined || e.expiresAt.getTime() > now.getTime());
}

function pathMatches(patterns: readonly string[] | undefined, paths: readonly string[]): boolean {
  if (patterns === undefined || patterns.length === 0) return true;
  return patterns.some((pattern) => {
    const re = globToRegExp(pattern);
    return re !== undefined && paths.some((p) => re.test(p));
  });
}

function findIgnore(entries: readonly IgnoreEntry[], ids: readonly string[], paths: readonly string[], purl: string | undefined): IgnoreEntry | undefined {
  return entries.find(
    (e) =>
      (e.id === undefined || ids.includes(e.id)) &&
      pathMatches(e.paths, paths) &&
      (e.purls === undefined || e.purls.length === 0 || (purl !== undefined && e.purls.some((p) => purlMatches(p, purl)))),
  );
}

export function filterReport(report: ScanReport, filter: ReportFilter): FilterOutcome {
  const now = filter.now ?? new Date();
  const keep = filter.severities === undefined ? undefined : new Set<Severity>(filter.severities);
  const ignore = filter.ignore;
  const rules = ignore === undefined ? undefined : { vulnerabilities: active(ignore.vulnerabilities, now), secrets: active(ignore.secrets, now), misconfigurations: active(ignore.misconfigurations, now) };
  const image = imageIdentities(report);
  const removed = { severity: 0, unfixed: 0, risk: 0, ignoreFile: 0, vex: 0 };
  const suppressions: Suppression[] = [];

  const ignored = (r: ScanResult, kind: FindingKind, id: string, entry: IgnoreEntry, pkg?: VulnerabilityFinding['pkg']): void => {
    removed.ignoreFile++;
    suppressions.push({
      kind,
      id,
      target: r.target,
      ...(pkg !== undefined ? { pkg: { name: pkg.name, version: pkg.version, purl: pkg.purl } } : {}),
      by: 'ignore-file',
      source: ignore!.source,
      line: entry.line,
      ...(entry.statement !== undefined ? { statement: entry.statement } : {}),
    });
  };

  const results = report.results.map((r): ScanResult => {
    const vulnerabilities = r.vulnerabilities?.filter((v) => {
      if (keep !== undefined && !keep.has(v.severity)) {
        removed.severity++;
        return false;
      }
      if (filter.ignoreUnfixed === true && v.status !== 'fixed') {
        removed.unfixed++;
        return false;
      }
      if ((filter.knownExploitedOnly === true && v.knownExploited === undefined) || (filter.epssThreshold !== undefined && (v.epss?.score ?? -1) < filter.epssThreshold)) {
        removed.risk++;
        return false;
      }
      const entry = rules === undefined ? undefined : findIgnore(rules.vulnerabilities, [v.id, ...v.aliases], [r.target], v.pkg.purl);
      if (entry !== undefined) {
        ignored(r, 'vulnerability', v.id, entry, v.pkg);
        return false;
      }
      const statement = filter.vex === undefined ? undefined : vexVerdict(v, filter.vex, image);
      if (statement === undefined || (statement.status !== 'not_affected' && statement.status !== 'fixed')) return true;
      removed.vex++;
      const reason = [statement.justification, statement.impactStatement].filter((x) => x !== undefined).join(': ');
      suppressions.push({
        kind: 'vulnerability',
        id: v.id,
        target: r.target,
        pkg: { name: v.pkg.name, version: v.pkg.version, purl: v.pkg.purl },
        by: 'vex',
        source: filter.vex!.source,
        line: statement.line,
        status: statement.status,
        ...(reason !== '' ? { statement: reason } : {}),
      });
      return false;
    });
    const secrets = r.secrets?.filter((s: SecretFinding) => {
      if (keep !== undefined && !keep.has(s.severity)) {
        removed.severity++;
        return false;
      }
      const entry = rules === undefined ? undefined : findIgnore(rules.secrets, [s.ruleId], [r.target, s.path], undefined);
      if (entry === undefined) return true;
      ignored(r, 'secret', s.ruleId, entry);
      return false;
    });
    const misconfigurations = r.misconfigurations?.filter((m: ConfigFinding) => {
      if (keep !== undefined && !keep.has(m.severity)) {
        removed.severity++;
        return false;
      }
      const entry = rules === undefined ? undefined : findIgnore(rules.misconfigurations, [m.id, avdIdOf(m.id)], [r.target], undefined);
      if (entry === undefined) return true;
      ignored(r, 'misconfiguration', m.id, entry);
      return false;
    });
    return {
      ...r,
      ...(vulnerabilities !== undefined ? { vulnerabilities } : {}),
      ...(secrets !== undefined ? { secrets } : {}),
      ...(misconfigurations !== undefined ? { misconfigurations } : {}),
    };
  });

  return { report: { ...report, results }, suppressed: removed.ignoreFile + removed.vex, removed, suppressions };
}
