/**
 * Oracle Linux's ELSA advisories in OVAL 5 (https://linux.oracle.com/security/oval/:
 * `com.oracle.elsa-all.xml.bz2`, or a year's `com.oracle.elsa-2024.xml.bz2`). Pure: fed
 * `<definition>` elements one at a time (feeds/xml.ts streams the document; the all-years file is
 * hundreds of MB once decompressed, one definition is a few KB).
 *
 * Only the definitions are read. As Trivy does, a definition's criteria are read through the
 * comments Oracle writes on each criterion rather than through the tests they point at:
 * - `Oracle Linux 8 is installed` scopes its branch of the criteria to `ol:8`;
 * - `openssl is earlier than 1:3.0.7-25.0.1.el9_3` is a fixed version of a binary RPM;
 * - `Module nodejs:18 is enabled` files the branch's packages under their module stream
 *   (`nodejs:18/nodejs`, see rpm-builds.ts);
 * - `Oracle Linux arch is x86_64` and `… is signed with the Oracle Linux 8 key` say nothing of
 *   versions. A package listed for several architectures is kept once, at its highest EVR.
 * The ELSA id (`reference source="elsa"`, else the title's) is the record's id, its CVE references
 * the aliases, `<advisory><severity>` (LOW, MODERATE, IMPORTANT, CRITICAL) Oracle's rating.
 * Definitions other than `class="patch"` are counted in `skipped`.
 */
import type { Severity } from '../model.js';
import { modularName } from '../rpm-builds.js';
import { severityOfWord } from '../severity.js';
import { compareRpmEvrString } from '../version/index.js';
import type { FeedCollector } from './osv.js';
import { child, childText, children, rpmFixRecord, type XmlElement } from './xml.js';

const SOURCE = 'oracle-oval';
const ELSA_ID = /\b(ELSA-\d{4}-\d+)\b/;
const CVE_ID = /^CVE-\d{4}-\d+$/;
const INSTALLED = /^Oracle ?Linux (\d+) is installed$/i;
const EARLIER = /^(\S+) is earlier than (\S+)$/;
const MODULE = /^Module (\S+:\S+) is enabled$/;

interface Scope {
  readonly releases: readonly string[];
  readonly module: string | undefined;
}

/** name → fixed EVR, per `ol:N` ecosystem. */
type Fixes = Map<string, Map<string, string>>;

function walk(criteria: XmlElement, scope: Scope, fixes: Fixes): void {
  const comments = children(criteria, 'criterion').map((c) => (c.attrs['comment'] ?? '').trim());
  const releases = comments.flatMap((c) => INSTALLED.exec(c)?.[1] ?? []);
  const module = comments.map((c) => MODULE.exec(c)?.[1]).find((m) => m !== undefined);
  const here: Scope = { releases: releases.length > 0 ? releases : scope.releases, module: module ?? scope.module };
  for (const c of comments) {
    const m = EARLIER.exec(c);
    if (m === null) continue;
    const name = here.module !== undefined ? modularName(here.module, m[1]!) : m[1]!;
    for (const release of here.releases) {
      const ecosystem = `ol:${release}`;
      const byName = fixes.get(ecosystem) ?? new Map<string, string>();
      const before = byName.get(name);
      if (before === undefined || compareRpmEvrString(m[2]!, before) > 0) byName.set(name, m[2]!);
      fixes.set(ecosystem, byName);
    }
  }
  for (const sub of children(criteria, 'criteria')) walk(sub, here, fixes);
}

/** One `<definition>` element into the collector. */
export function parseElsaDefinition(el: XmlElement, file: string, out: FeedCollector): void {
  if (el.attrs['class'] !== 'patch') {
    out.skip(`definition class ${el.attrs['class'] ?? '(none)'}`);
    return;
  }
  const metadata = child(el, 'metadata');
  const refs = metadata === undefined ? [] : children(metadata, 'reference');
  const title = metadata === undefined ? undefined : childText(metadata, 'title');
  const id = refs.find((r) => r.attrs['source']?.toLowerCase() === 'elsa')?.attrs['ref_id']?.trim() ?? ELSA_ID.exec(title ?? '')?.[1];
  if (metadata === undefined || id === undefined || id === '') {
    out.errors.push(`${file}: ${el.attrs['id'] ?? 'a definition'}: no ELSA id: skipped`);
    return;
  }
  const aliases = new Set<string>();
  const references: string[] = [];
  for (const r of refs) {
    const refId = (r.attrs['ref_id'] ?? '').trim();
    if (r.attrs['source']?.toUpperCase() === 'CVE' && CVE_ID.test(refId)) aliases.add(refId);
    const url = r.attrs['ref_url']?.trim();
    if (url !== undefined && url !== '' && !references.includes(url)) references.push(url);
  }
  const advisory = child(metadata, 'advisory');
  const word = advisory === undefined ? undefined : childText(advisory, 'severity');
  const severity: Severity | undefined = word === undefined ? undefined : severityOfWord(word);

  const fixes: Fixes = new Map();
  const criteria = child(el, 'criteria');
  if (criteria !== undefined) walk(criteria, { releases: [], module: undefined }, fixes);
  if (fixes.size === 0) {
    out.errors.push(`${file}: ${id}: no "Oracle Linux N is installed" and "… is earlier than …" criteria: skipped`);
    return;
  }
  for (const [ecosystem, byName] of fixes) {
    for (const [name, fixed] of byName) out.affected.push(rpmFixRecord(id, ecosystem, name, fixed, severity, SOURCE));
  }
  const summary = title?.replace(/\s+/g, ' ');
  const details = childText(metadata, 'description');
  const issued = advisory === undefined ? undefined : child(advisory, 'issued')?.attrs['date'];
  const published = issued !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(issued) ? `${issued}T00:00:00Z` : undefined;
  out.vulnerabilities.push({
    id,
    aliases: [...aliases],
    ...(summary !== undefined ? { summary } : {}),
    ...(details !== undefined ? { details } : {}),
    ...(published !== undefined ? { published } : {}),
    references,
    cvss: [],
    ...(severity !== undefined ? { severity: { source: SOURCE, severity } } : {}),
    source: SOURCE,
  });
}
