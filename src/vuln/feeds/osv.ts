/**
 * OSV records (https://ossf.github.io/osv-schema/), from JSON or YAML already parsed to objects,
 * turned into the advisory model. Pure.
 *
 * - `aliases` and `upstream` both become aliases; `references[].url` the references.
 * - `severity[]` CVSS_V2/V3/V4 vectors are scored with `cvssScore`; a `Ubuntu` severity word and
 *   GHSA's `database_specific.severity` (LOW/MODERATE/HIGH/CRITICAL) become the stated severity.
 * - One AffectedRecord per `affected[]` entry whose ecosystem the DB knows (see `osvEcosystem`);
 *   ECOSYSTEM and SEMVER ranges and `versions` are kept (PyPI versions that are not PEP 440
 *   dropped), GIT ranges dropped (commits say nothing
 *   about an installed package's version). Status `fixed` when a kept range has a `fixed` event,
 *   else `affected`. The OS ecosystems name packages as the DB keys them already (source packages
 *   for Debian, Ubuntu, Alpine; binary RPMs for Red Hat and its rebuilds), except SUSE's, whose
 *   records name the source RPM and list its binaries in `ecosystem_specific.binaries`: one
 *   AffectedRecord per binary (and the named package). A Red Hat purl's `rpmmod` qualifier files
 *   the record under its module stream (`nodejs:18/nodejs`, see rpm-builds.ts). Entries that come
 *   out the same (SUSE lists one fix under every product of a code stream) are kept once.
 * - Distribution advisories (RHSA, ALSA, RLSA, SUSE-SU, …) take their source from their id (`redhat`,
 *   `alma`, …) and state their vendor's rating: a `Moderate:` summary prefix (AlmaLinux, Rocky),
 *   the classification page Red Hat's records link (`…/classification/#important`),
 *   `database_specific.severity` (Azure Linux, openEuler), an `Ubuntu` severity; for their OS
 *   packages that rating is also each AffectedRecord's `severity`, so it decides first. The CVEs
 *   such an advisory lists under `related` (AlmaLinux does) are its upstream ids: aliases.
 * - Withdrawn records, entries in unknown ecosystems and GIT-only entries are skipped and counted
 *   in `skipped`, not reported as errors. A malformed record, or a malformed `affected` entry, is
 *   reported in `errors` (naming file and record) and left out; the rest is kept.
 */
import type { AffectedRange, AffectedRecord, CvssScore, FeedRecords, RangeEvent, Severity, VulnerabilityRecord } from '../model.js';
import { isOsEcosystem, isRpmEcosystem } from '../distros.js';
import { modularName, moduleStream } from '../rpm-builds.js';
import { cvssScore, severityOfWord } from '../severity.js';
import { isValidPep440 } from '../version/index.js';
import { normalizePackageName, osvEcosystem, vendorName } from './names.js';

/** What a parser returns: the records, plus how many items it skipped on purpose, by reason. */
export interface FeedResult extends FeedRecords {
  /** Reason → count, e.g. `withdrawn`, `ecosystem Hex`, `release sid`. Not errors. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Accumulates one file's records; shared by the feed parsers. */
export class FeedCollector {
  readonly vulnerabilities: VulnerabilityRecord[] = [];
  readonly affected: AffectedRecord[] = [];
  readonly errors: string[] = [];
  readonly skipped: Record<string, number> = {};

  skip(reason: string, n = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  result(): FeedResult {
    return { vulnerabilities: this.vulnerabilities, affected: this.affected, errors: this.errors, skipped: this.skipped };
  }
}

const CVSS_TYPES: ReadonlySet<string> = new Set(['CVSS_V2', 'CVSS_V3', 'CVSS_V4']);
const EVENT_KEYS: ReadonlySet<string> = new Set(['introduced', 'fixed', 'last_affected', 'limit']);
/** Distribution advisories by id prefix: the source of their records. */
const DISTRO_ADVISORIES: readonly (readonly [RegExp, string])[] = [
  [/^RH[SBE]A-/, 'redhat'],
  [/^AL[SBE]A-/, 'alma'],
  [/^RL[SBE]A-/, 'rocky'],
  [/^(?:SUSE|openSUSE)-[A-Z]{2}-/, 'suse'],
  [/^PHSA-/, 'photon'],
  [/^MGA[SA]A-/, 'mageia'],
  [/^OESA-/, 'openeuler'],
  [/^AZL-/, 'azure'],
  [/^CGA-/, 'chainguard'],
];
const CVE_ID = /^CVE-\d{4}-\d+$/;
/** Red Hat's rating, as the records link its explanation: `https://access.redhat.com/security/updates/classification/#important`. */
const REDHAT_CLASSIFICATION = /^https:\/\/access\.redhat\.com\/security\/updates\/classification\/#(low|moderate|important|critical)$/i;
/** `Important: openssl security update`: the rating Red Hat-style errata put before their title. */
const RATED_SUMMARY = /^(Low|Moderate|Important|Critical):\s/;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function text(x: unknown): string | undefined {
  return typeof x === 'string' && x.trim() !== '' ? x : undefined;
}

/** Whether a parsed document looks like one OSV record (an `id` and at least one OSV field). */
export function isOsvRecord(doc: unknown): boolean {
  return isObject(doc) && typeof doc['id'] === 'string' && ('affected' in doc || 'modified' in doc || 'schema_version' in doc || 'aliases' in doc || 'withdrawn' in doc);
}

/** The feed an OSV id comes from: `ghsa`, `go`, `pysec`, else the caller's source or `osv`. */
export function osvSource(id: string, fallback = 'osv'): string {
  if (id.startsWith('GHSA-')) return 'ghsa';
  if (id.startsWith('GO-')) return 'go';
  if (id.startsWith('PYSEC-')) return 'pysec';
  for (const [prefix, source] of DISTRO_ADVISORIES) if (prefix.test(id)) return source;
  return fallback;
}

/** Whether a source is a distribution's advisory database (its ratings are the vendor's). */
function isDistroSource(source: string): boolean {
  return DISTRO_ADVISORIES.some(([, s]) => s === source);
}

class RecordError extends Error {}

/** The events of one range, each with exactly one known key and a non-empty string value. */
function parseEvents(events: unknown): RangeEvent[] {
  if (!Array.isArray(events) || events.length === 0) throw new RecordError('range events is not a non-empty list');
  return events.map((e, i): RangeEvent => {
    const keys = isObject(e) ? Object.keys(e) : [];
    const key = keys[0];
    const value = isObject(e) && key !== undefined ? e[key] : undefined;
    if (keys.length !== 1 || key === undefined || !EVENT_KEYS.has(key) || typeof value !== 'string' || value.trim() === '') {
      throw new RecordError(`range event ${i} is not one of introduced/fixed/last_affected/limit with a version: ${JSON.stringify(e)}`);
    }
    return { [key]: value.trim() } as RangeEvent;
  });
}

function dropZeroEpoch(e: RangeEvent): RangeEvent {
  const [key, value] = Object.entries(e)[0] as [string, string];
  return value.startsWith('0:') ? ({ [key]: value.slice(2) } as RangeEvent) : e;
}

function parseAffected(entry: unknown, vulnId: string, source: string, out: FeedCollector, where: string): AffectedRecord[] {
  if (!isObject(entry)) throw new RecordError('affected entry is not an object');
  const pkg = entry['package'];
  const rawRanges = entry['ranges'] ?? [];
  if (!Array.isArray(rawRanges)) throw new RecordError('affected ranges is not a list');
  if (pkg === undefined) {
    // A package-less entry describes a repository by commits only (GIT ranges): nothing to match.
    out.skip('no package');
    return [];
  }
  if (!isObject(pkg) || typeof pkg['ecosystem'] !== 'string' || text(pkg['name']) === undefined) throw new RecordError('affected package lacks an ecosystem or a name');
  const osvName = pkg['ecosystem'];
  const eco = osvEcosystem(osvName);
  if (eco === undefined) {
    out.skip(`ecosystem ${osvName}`);
    return [];
  }
  const ranges: AffectedRange[] = [];
  // An epoch of 0 is no epoch (`0:4.2.46-35.el7_9` is `4.2.46-35.el7_9`): shown as the packages state versions.
  const rpm = isRpmEcosystem(eco.ecosystem);
  for (const r of rawRanges) {
    if (!isObject(r)) throw new RecordError('range is not an object');
    const events = rpm ? parseEvents(r['events']).map(dropZeroEpoch) : parseEvents(r['events']);
    const type = r['type'];
    if (type === 'ECOSYSTEM' || type === 'SEMVER') ranges.push({ type, events });
    else if (type !== 'GIT') out.errors.push(`${where}: range type ${JSON.stringify(type)} of ${osvName}/${String(pkg['name'])} ignored`);
  }
  const rawVersions = entry['versions'] ?? [];
  if (!Array.isArray(rawVersions)) throw new RecordError('affected versions is not a list');
  const strings = rawVersions.filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  // PyPI lists carry scraped garbage (`-class.-jw.util.version.Version-`) that no installer accepts.
  const versions = eco.ecosystem === 'pypi' ? strings.filter(isValidPep440) : strings;
  if (versions.length < strings.length) out.skip('invalid version', strings.length - versions.length);
  if (ranges.length === 0 && versions.length === 0) {
    out.skip('no version ranges');
    return [];
  }
  const fixed = ranges.flatMap((r) => r.events.flatMap((e) => ('fixed' in e ? [e.fixed] : [])));
  const distinctFixed = [...new Set(fixed)];
  const os = isOsEcosystem(eco.ecosystem);
  return packageNames(pkg, entry, eco.ecosystem).map((name) => ({
    vulnId,
    ecosystem: eco.ecosystem,
    name: normalizePackageName(eco.ecosystem, name),
    ranges,
    versions,
    status: fixed.length > 0 ? 'fixed' : 'affected',
    // OS feeds state one fixed version; keep it where the record does too, as those feeds do.
    ...(os && distinctFixed.length === 1 ? { fixedVersion: distinctFixed[0]! } : {}),
    source,
  }));
}

/**
 * The names one affected entry speaks for: its package's; for SUSE's records also the binaries of
 * `ecosystem_specific.binaries` (a list of `{name: version}` maps, or of names); for a Red Hat purl
 * with an `rpmmod` qualifier, the name filed under its module stream.
 */
function packageNames(pkg: Record<string, unknown>, entry: Record<string, unknown>, ecosystem: string): string[] {
  const name = (pkg['name'] as string).trim();
  if (/^(sles|sle-micro|opensuse-leap|opensuse-tumbleweed)(:|$)/.test(ecosystem)) {
    const names = new Set([name]);
    const specific = entry['ecosystem_specific'];
    const binaries = isObject(specific) ? specific['binaries'] : undefined;
    if (Array.isArray(binaries)) {
      for (const b of binaries) {
        if (typeof b === 'string' && b.trim() !== '') names.add(b.trim());
        else if (isObject(b)) for (const k of Object.keys(b)) if (k.trim() !== '') names.add(k.trim());
      }
    }
    return [...names];
  }
  if (ecosystem.startsWith('rhel:') && typeof pkg['purl'] === 'string') {
    const rpmmod = /[?&]rpmmod=([^&#]+)/.exec(pkg['purl'])?.[1];
    const stream = rpmmod === undefined ? undefined : moduleStream(safeDecode(rpmmod));
    if (stream !== undefined) return [modularName(stream, name)];
  }
  return [name];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function ghsaSeverity(x: unknown): Severity | undefined {
  if (!isObject(x) || typeof x['severity'] !== 'string') return undefined;
  return severityOfWord(x['severity']);
}

/**
 * One OSV record → its VulnerabilityRecord and AffectedRecords. `file` names the record's origin
 * in error lines; `source` replaces `osv` for ids of no known feed (GHSA-, GO-, PYSEC- keep theirs).
 */
export function parseOsv(record: unknown, file: string, source?: string): FeedResult {
  const out = new FeedCollector();
  parseOsvInto(record, file, out, source);
  return out.result();
}

/** `parseOsv` into a collector, for callers that gather many records into one result. */
export function parseOsvInto(record: unknown, file: string, out: FeedCollector, fallbackSource?: string): void {
  const id = isObject(record) ? text(record['id']) : undefined;
  if (!isObject(record) || id === undefined) {
    out.errors.push(`${file}: record without an id skipped`);
    return;
  }
  const where = `${file}: ${id}`;
  if (text(record['withdrawn']) !== undefined) {
    out.skip('withdrawn');
    return;
  }
  const source = osvSource(id, fallbackSource);
  try {
    const affectedRaw = record['affected'] ?? [];
    if (!Array.isArray(affectedRaw)) throw new RecordError('affected is not a list');

    const aliases = new Set<string>();
    const distro = isDistroSource(source);
    for (const key of ['aliases', 'upstream', 'related'] as const) {
      const list = record[key] ?? [];
      if (!Array.isArray(list)) throw new RecordError(`${key} is not a list`);
      // `related` ids are other flaws, except the CVEs a distribution's advisory fixes.
      for (const a of list) if (typeof a === 'string' && a.trim() !== '' && a.trim() !== id && (key !== 'related' || (distro && CVE_ID.test(a.trim())))) aliases.add(a.trim());
    }

    const references: string[] = [];
    let vendorRating: Severity | undefined;
    const refs = record['references'] ?? [];
    if (Array.isArray(refs)) {
      for (const r of refs) {
        if (!isObject(r) || typeof r['url'] !== 'string') continue;
        references.push(r['url']);
        const rated = distro ? REDHAT_CLASSIFICATION.exec(r['url'].trim()) : null;
        if (rated !== null) vendorRating = severityOfWord(rated[1]!);
      }
    }
    const ratedSummary = distro ? RATED_SUMMARY.exec(text(record['summary']) ?? '') : null;
    if (ratedSummary !== null) vendorRating ??= severityOfWord(ratedSummary[1]!);

    const cvss: CvssScore[] = [];
    let stated: Severity | undefined;
    const severities = record['severity'] ?? [];
    if (Array.isArray(severities)) {
      for (const s of severities) {
        if (!isObject(s) || typeof s['type'] !== 'string' || typeof s['score'] !== 'string') continue;
        if (CVSS_TYPES.has(s['type'])) {
          try {
            const scored = cvssScore(s['score']);
            cvss.push({ source: vendorName(source), version: scored.version, vector: s['score'].trim(), score: scored.score });
          } catch (err) {
            out.errors.push(`${where}: ${err instanceof Error ? err.message : String(err)} (severity ignored)`);
          }
        } else if (s['type'] === 'Ubuntu') {
          stated = severityOfWord(s['score']);
        }
      }
    }
    stated = vendorRating ?? ghsaSeverity(record['database_specific']) ?? stated;

    const affected: AffectedRecord[] = [];
    const seen = new Set<string>();
    affectedRaw.forEach((entry, i) => {
      try {
        for (const a of parseAffected(entry, id, source, out, where)) {
          const key = JSON.stringify([a.ecosystem, a.name, a.ranges, a.versions]);
          if (seen.has(key)) continue;
          seen.add(key);
          // A distribution's rating of its own packages decides first for them (rules.ts).
          affected.push(stated !== undefined && stated !== 'UNKNOWN' && isOsEcosystem(a.ecosystem) ? { ...a, severity: stated } : a);
        }
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        out.errors.push(`${where}: affected[${i}] skipped: ${err.message}`);
      }
    });

    const summary = text(record['summary']);
    const details = text(record['details']);
    const published = text(record['published']);
    const modified = text(record['modified']);
    out.vulnerabilities.push({
      id,
      aliases: [...aliases],
      ...(summary !== undefined ? { summary } : {}),
      ...(details !== undefined ? { details } : {}),
      ...(published !== undefined ? { published } : {}),
      ...(modified !== undefined ? { modified } : {}),
      references,
      cvss,
      ...(stated !== undefined ? { severity: { source: vendorName(source), severity: stated } } : {}),
      source,
    });
    out.affected.push(...affected);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    out.errors.push(`${where}: skipped: ${err.message}`);
  }
}
