/**
 * The Debian security tracker's JSON dump (https://security-tracker.debian.org/tracker/data/json):
 * `{ "<source package>": { "<CVE-… or TEMP-…>": { description?, scope?, debianbug?, releases: {
 * "<codename>": { status, repositories: {"<suite>": "<version>"}, fixed_version?, urgency, nodsa?,
 * nodsa_reason? } } } } }`. Pure; given the parsed object (the dump is ~80 MB, so the work per
 * (package, id, release) stays a few property reads).
 *
 * One AffectedRecord per (id, source package, release), in ecosystem `debian:<n>` (see
 * `debianReleaseVersion`; sid, experimental and unknown codenames are skipped and counted).
 * Status, in this order:
 * - `resolved` with `fixed_version` "0" → `not_affected` (the release never had the flaw);
 * - `resolved` with a version → `fixed`, fixedVersion and the range [introduced 0, fixed v];
 * - `open` with urgency `end-of-life` → `end_of_life` (the package is unsupported in the release);
 * - `open` with nodsa_reason `ignored` → `will_not_fix`, `postponed` → `fix_deferred`;
 * - other `open` → `affected` (a no-DSA "minor issue" without a reason may still be fixed in a
 *   point release), with the range [introduced 0];
 * - `undetermined` → `under_investigation`, range [introduced 0].
 * Severity from urgency (trailing `*`, the tracker's "not from the maintainer" mark, stripped):
 * unimportant and low → LOW, medium → MEDIUM, high → HIGH, not yet assigned → UNKNOWN;
 * end-of-life states no severity. The vulnerability's stated severity is the highest over its
 * releases. TEMP-… ids (flaws without a CVE yet) are skipped, as Trivy does.
 */
import type { AffectedRange, AffectedRecord, Severity, VulnStatus } from '../model.js';
import { VulnError } from '../errors.js';
import { severityOfWord, severityRank } from '../severity.js';
import { isValidDpkgVersion } from '../version/index.js';
import { debianReleaseVersion } from './names.js';
import { FeedCollector, type FeedResult } from './osv.js';

const SOURCE = 'debian-tracker';
const CVE_ID = /^CVE-\d{4}-\d+$/;
const OPEN_RANGE: readonly AffectedRange[] = [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Whether a parsed document is the tracker dump: an object of objects keyed by CVE/TEMP ids whose
 * values have `releases`. Looks at the first few packages only.
 */
export function isDebianTracker(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  let seen = 0;
  for (const pkg in doc) {
    const issues = doc[pkg];
    if (!isObject(issues)) return false;
    for (const id in issues) {
      const issue = issues[id];
      if (!/^(CVE|TEMP)-/.test(id) || !isObject(issue) || !('releases' in issue)) return false;
      if (++seen >= 20) return true;
    }
  }
  return seen > 0;
}

/** The urgencies the tracker writes, looked up before any string work (there are ~700,000 in the dump). */
const URGENCIES: ReadonlyMap<string, Severity | undefined> = new Map<string, Severity | undefined>([
  ['unimportant', 'LOW'],
  ['low', 'LOW'],
  ['low*', 'LOW'],
  ['low**', 'LOW'],
  ['medium', 'MEDIUM'],
  ['medium*', 'MEDIUM'],
  ['medium**', 'MEDIUM'],
  ['high', 'HIGH'],
  ['high*', 'HIGH'],
  ['high**', 'HIGH'],
  ['not yet assigned', 'UNKNOWN'],
  ['end-of-life', undefined],
]);

/** The severity a Debian urgency states: undefined for end-of-life and words the tracker does not use. */
export function urgencySeverity(urgency: string): Severity | undefined {
  const known = URGENCIES.get(urgency);
  if (known !== undefined || URGENCIES.has(urgency)) return known;
  const word = urgency.trim().replace(/\*+$/, '');
  if (word === 'end-of-life') return undefined;
  return severityOfWord(word);
}

interface VulnInfo {
  description: string | undefined;
  severity: Severity | undefined;
}

export function parseDebianTracker(doc: unknown, file: string): FeedResult {
  if (!isObject(doc)) throw new VulnError('FEED_INVALID', `${file}: not a Debian security tracker dump (not a JSON object)`);
  const out = new FeedCollector();
  const vulns = new Map<string, VulnInfo>();

  for (const pkg in doc) {
    const issues = doc[pkg];
    if (!isObject(issues)) {
      out.errors.push(`${file}: ${pkg}: not a map of issues: skipped`);
      continue;
    }
    for (const id in issues) {
      if (!CVE_ID.test(id)) {
        out.skip(id.startsWith('TEMP-') ? 'TEMP id' : 'not a CVE id');
        continue;
      }
      const issue = issues[id];
      const releases = isObject(issue) ? issue['releases'] : undefined;
      // The tracker writes an issue without releases as `"releases": []`.
      if (!isObject(issue) || !(isObject(releases) || (Array.isArray(releases) && releases.length === 0))) {
        out.errors.push(`${file}: ${pkg} ${id}: no releases map: skipped`);
        continue;
      }
      let info = vulns.get(id);
      if (info === undefined) {
        const d = issue['description'];
        info = { description: typeof d === 'string' && d.trim() !== '' ? d : undefined, severity: undefined };
        vulns.set(id, info);
      }
      if (!isObject(releases)) continue;
      for (const codename in releases) {
        const version = debianReleaseVersion(codename);
        if (version === undefined) {
          out.skip(`release ${codename}`);
          continue;
        }
        const rec = releases[codename];
        const affected = isObject(rec) ? releaseRecord(rec, id, pkg, `debian:${version}`) : 'not an object';
        if (typeof affected === 'string') {
          out.errors.push(`${file}: ${pkg} ${id} ${codename}: ${affected}: skipped`);
          continue;
        }
        out.affected.push(affected);
        if (affected.severity !== undefined && (info.severity === undefined || severityRank(affected.severity) > severityRank(info.severity))) info.severity = affected.severity;
      }
    }
  }

  for (const [id, info] of vulns) {
    out.vulnerabilities.push({
      id,
      aliases: [],
      ...(info.description !== undefined ? { summary: info.description } : {}),
      references: [`https://security-tracker.debian.org/tracker/${id}`],
      cvss: [],
      ...(info.severity !== undefined ? { severity: { source: 'debian', severity: info.severity } } : {}),
      source: SOURCE,
    });
  }
  return out.result();
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const NO_VERSIONS: readonly string[] = Object.freeze([]);

/**
 * One release's entry as an AffectedRecord, or why it cannot be read. Objects are built with one
 * shape and no spreads: this runs once per (issue, release), some 700,000 times for the dump.
 */
function releaseRecord(rec: Record<string, unknown>, vulnId: string, name: string, ecosystem: string): AffectedRecord | string {
  const urgency = typeof rec['urgency'] === 'string' ? rec['urgency'] : '';
  const status = rec['status'];
  let out: Mutable<AffectedRecord>;
  if (status === 'resolved') {
    const fixed = typeof rec['fixed_version'] === 'string' ? rec['fixed_version'].trim() : '';
    if (fixed === '0') out = { vulnId, ecosystem, name, ranges: [], versions: NO_VERSIONS, status: 'not_affected', source: SOURCE };
    else if (fixed === '' || !isValidDpkgVersion(fixed)) return `resolved without a valid fixed_version (${JSON.stringify(rec['fixed_version'])})`;
    else out = { vulnId, ecosystem, name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }], versions: NO_VERSIONS, status: 'fixed', fixedVersion: fixed, source: SOURCE };
  } else if (status === 'open') {
    const reason = rec['nodsa_reason'];
    let s: VulnStatus = 'affected';
    if (urgency === 'end-of-life' || urgency.replace(/\*+$/, '') === 'end-of-life') s = 'end_of_life';
    else if (reason === 'ignored') s = 'will_not_fix';
    else if (reason === 'postponed') s = 'fix_deferred';
    out = { vulnId, ecosystem, name, ranges: OPEN_RANGE, versions: NO_VERSIONS, status: s, source: SOURCE };
  } else if (status === 'undetermined') {
    out = { vulnId, ecosystem, name, ranges: OPEN_RANGE, versions: NO_VERSIONS, status: 'under_investigation', source: SOURCE };
  } else {
    return `unknown status ${JSON.stringify(status)}`;
  }
  const severity = urgency === '' ? undefined : urgencySeverity(urgency);
  if (severity !== undefined) out.severity = severity;
  return out;
}
