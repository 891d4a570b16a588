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
 *   else `affected`. The OS ecosystems (Debian, Ubuntu, Alpine) name source packages already.
 * - Withdrawn records, entries in unknown ecosystems and GIT-only entries are skipped and counted
 *   in `skipped`, not reported as errors. A malformed record, or a malformed `affected` entry, is
 *   reported in `errors` (naming file and record) and left out; the rest is kept.
 */
import type { AffectedRange, AffectedRecord, CvssScore, FeedRecords, RangeEvent, Severity, VulnerabilityRecord } from '../model.js';
import { cvssScore, severityOfWord } from '../severity.js';
import { isValidPep440 } from '../version/index.js';
import { normalizePackageName, osvEcosystem } from './names.js';

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
const OS_ECOSYSTEM = /^(debian|ubuntu|alpine):/;

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
  return fallback;
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

function parseAffected(entry: unknown, vulnId: string, source: string, out: FeedCollector, where: string): AffectedRecord | undefined {
  if (!isObject(entry)) throw new RecordError('affected entry is not an object');
  const pkg = entry['package'];
  const rawRanges = entry['ranges'] ?? [];
  if (!Array.isArray(rawRanges)) throw new RecordError('affected ranges is not a list');
  if (pkg === undefined) {
    // A package-less entry describes a repository by commits only (GIT ranges): nothing to match.
    out.skip('no package');
    return undefined;
  }
  if (!isObject(pkg) || typeof pkg['ecosystem'] !== 'string' || text(pkg['name']) === undefined) throw new RecordError('affected package lacks an ecosystem or a name');
  const osvName = pkg['ecosystem'];
  const eco = osvEcosystem(osvName);
  if (eco === undefined) {
    out.skip(`ecosystem ${osvName}`);
    return undefined;
  }
  const ranges: AffectedRange[] = [];
  for (const r of rawRanges) {
    if (!isObject(r)) throw new RecordError('range is not an object');
    const events = parseEvents(r['events']);
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
    return undefined;
  }
  const fixed = ranges.flatMap((r) => r.events.flatMap((e) => ('fixed' in e ? [e.fixed] : [])));
  const distinctFixed = [...new Set(fixed)];
  const record: AffectedRecord = {
    vulnId,
    ecosystem: eco.ecosystem,
    name: normalizePackageName(eco.ecosystem, pkg['name'] as string),
    ranges,
    versions,
    status: fixed.length > 0 ? 'fixed' : 'affected',
    // OS feeds state one fixed version; keep it where the record does too, as those feeds do.
    ...(OS_ECOSYSTEM.test(eco.ecosystem) && distinctFixed.length === 1 ? { fixedVersion: distinctFixed[0]! } : {}),
    source,
  };
  return record;
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
    for (const key of ['aliases', 'upstream'] as const) {
      const list = record[key] ?? [];
      if (!Array.isArray(list)) throw new RecordError(`${key} is not a list`);
      for (const a of list) if (typeof a === 'string' && a.trim() !== '' && a.trim() !== id) aliases.add(a.trim());
    }

    const references: string[] = [];
    const refs = record['references'] ?? [];
    if (Array.isArray(refs)) for (const r of refs) if (isObject(r) && typeof r['url'] === 'string') references.push(r['url']);

    const cvss: CvssScore[] = [];
    let stated: Severity | undefined;
    const severities = record['severity'] ?? [];
    if (Array.isArray(severities)) {
      for (const s of severities) {
        if (!isObject(s) || typeof s['type'] !== 'string' || typeof s['score'] !== 'string') continue;
        if (CVSS_TYPES.has(s['type'])) {
          try {
            const scored = cvssScore(s['score']);
            cvss.push({ source, version: scored.version, vector: s['score'].trim(), score: scored.score });
          } catch (err) {
            out.errors.push(`${where}: ${err instanceof Error ? err.message : String(err)} (severity ignored)`);
          }
        } else if (s['type'] === 'Ubuntu') {
          stated = severityOfWord(s['score']);
        }
      }
    }
    stated = ghsaSeverity(record['database_specific']) ?? stated;

    const affected: AffectedRecord[] = [];
    affectedRaw.forEach((entry, i) => {
      try {
        const a = parseAffected(entry, id, source, out, where);
        if (a !== undefined) affected.push(a);
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
      ...(stated !== undefined ? { severity: { source, severity: stated } } : {}),
      source,
    });
    out.affected.push(...affected);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    out.errors.push(`${where}: skipped: ${err.message}`);
  }
}
