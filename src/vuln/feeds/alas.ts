/**
 * Amazon Linux Security Advisories as Amazon's yum repositories publish them: the repository's
 * `repodata/updateinfo.xml(.gz)`, one `<update>` per advisory. Pure: fed `<update>` elements one
 * at a time (feeds/xml.ts reads the document).
 *
 * ```xml
 * <update type="security" status="final" …>
 *   <id>ALAS2-2023-2108</id> <title>…</title> <issued date="2023-06-27 17:45"/> <severity>important</severity>
 *   <description>…</description>
 *   <references><reference type="cve" id="CVE-2023-0465" href="…"/></references>
 *   <pkglist><collection><package name="openssl" epoch="1" version="1.0.2k" release="24.amzn2.0.7" arch="x86_64"/>…
 * ```
 *
 * The release an advisory is for is in its id, so a file needs no hint of where it came from:
 * `ALAS-…` is Amazon Linux 1 (`amzn:2018.03`), `ALAS2-…` Amazon Linux 2 (`amzn:2`, its Extras
 * topics `ALAS2KERNEL-5.10-…`, `ALAS2DOCKER-…` too), `ALAS2022-…`, `ALAS2023-…` the releases of
 * those names. An id of no known shape is reported. Only `type="security"` updates are read (bug
 * fix and enhancement updates are counted in `skipped`). Each listed package (binary RPM names, as
 * the images install them; one entry per architecture, kept once with the highest EVR) becomes a
 * `fixed` AffectedRecord at `epoch:version-release`; the CVE references are the advisory's
 * aliases, `<severity>` (critical, important, medium, low) Amazon's rating.
 */
import type { Severity } from '../model.js';
import { severityOfWord } from '../severity.js';
import { compareRpmEvrString } from '../version/index.js';
import type { FeedCollector } from './osv.js';
import { child, childText, children, nested, rpmFixRecord, type XmlElement } from './xml.js';

const SOURCE = 'alas';
const ALAS_ID = /^ALAS(2023|2022|2)?(?:[A-Z][A-Z0-9.-]*)?-\d{4}-\d+$/;
const CVE_ID = /^CVE-\d{4}-\d+$/;

/** The Amazon Linux release an ALAS id is for, as os-release's VERSION_ID says it; undefined for another id. */
export function alasRelease(id: string): string | undefined {
  const m = ALAS_ID.exec(id);
  return m === null ? undefined : (m[1] ?? '2018.03');
}

/** updateinfo's dates (`2023-06-27 17:45`, with or without seconds) as ISO 8601. */
function isoDate(s: string | undefined): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(:\d{2})?)?/.exec(s?.trim() ?? '');
  return m === null ? undefined : `${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ':00'}Z`;
}

/** One `<update>` element into the collector. */
export function parseAlasUpdate(el: XmlElement, file: string, out: FeedCollector): void {
  const type = el.attrs['type'] ?? '';
  if (type !== 'security') {
    out.skip(`update type ${type || '(none)'}`);
    return;
  }
  const id = childText(el, 'id');
  if (id === undefined) {
    out.errors.push(`${file}: an update without an id: skipped`);
    return;
  }
  const release = alasRelease(id);
  if (release === undefined) {
    out.errors.push(`${file}: ${id}: not an Amazon Linux advisory id (ALAS-, ALAS2-, ALAS2023-…): skipped`);
    return;
  }
  const ecosystem = `amzn:${release}`;
  const severityWord = childText(el, 'severity');
  const severity: Severity | undefined = severityWord === undefined ? undefined : severityOfWord(severityWord);
  const aliases = new Set<string>();
  const references: string[] = [];
  for (const ref of nested(el, 'references', 'reference')) {
    const refId = (ref.attrs['id'] ?? '').trim().toUpperCase();
    if ((ref.attrs['type'] ?? '').toLowerCase() === 'cve' && CVE_ID.test(refId)) aliases.add(refId);
    const href = ref.attrs['href']?.trim();
    if (href !== undefined && href !== '' && !references.includes(href)) references.push(href);
  }

  /** name → the highest fixed EVR over the package's architectures. */
  const fixes = new Map<string, string>();
  for (const collection of nested(el, 'pkglist', 'collection')) {
    for (const p of children(collection, 'package')) {
      const name = p.attrs['name']?.trim();
      const version = p.attrs['version']?.trim();
      if (name === undefined || name === '' || version === undefined || version === '') {
        out.errors.push(`${file}: ${id}: a package without a name or version: skipped`);
        continue;
      }
      const epoch = p.attrs['epoch']?.trim();
      const release = p.attrs['release']?.trim();
      const evr = `${epoch !== undefined && epoch !== '' && epoch !== '0' ? `${epoch}:` : ''}${version}${release !== undefined && release !== '' ? `-${release}` : ''}`;
      const before = fixes.get(name);
      if (before === undefined || compareRpmEvrString(evr, before) > 0) fixes.set(name, evr);
    }
  }
  if (fixes.size === 0) {
    out.errors.push(`${file}: ${id}: no packages listed: skipped`);
    return;
  }
  for (const [name, fixed] of fixes) out.affected.push(rpmFixRecord(id, ecosystem, name, fixed, severity, SOURCE));
  const summary = childText(el, 'title');
  const details = childText(el, 'description');
  const published = isoDate(child(el, 'issued')?.attrs['date']);
  const modified = isoDate(child(el, 'updated')?.attrs['date']);
  out.vulnerabilities.push({
    id,
    aliases: [...aliases],
    ...(summary !== undefined ? { summary } : {}),
    ...(details !== undefined ? { details } : {}),
    ...(published !== undefined ? { published } : {}),
    ...(modified !== undefined ? { modified } : {}),
    references,
    cvss: [],
    ...(severity !== undefined ? { severity: { source: 'amazon', severity } } : {}),
    source: SOURCE,
  });
}
