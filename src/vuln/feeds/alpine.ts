/**
 * Alpine's security database (secdb): `{distroversion: "v3.19", reponame, archs, urlprefix,
 * apkurl, packages: [{pkg: {name, secfixes: {"<fixed version>": ["CVE-...", ...]}}}]}`, served as
 * JSON by secdb.alpinelinux.org and kept as YAML in its old git repository. Pure.
 *
 * `pkg.name` is the origin (source) package. Each (id, package) pair becomes one AffectedRecord:
 * `fixed` in the version it is listed under, or `not_affected` under the key `"0"` (the release
 * never shipped the flaw; the record lets the matcher suppress another feed's finding). When an
 * id is listed under several versions of one package (a first fix was incomplete), the highest
 * version is the fix. Vulnerability records carry the id only, plus the ids written next to it.
 *
 * The entries are hand-written and it shows. Each entry is read for ids: `CVE-YYYY-N` (also
 * spelled `CVE_YYYY-N` or `CVE YYYY-N`, with trailing text such as `-1`, `.patch` or `(BGP)`
 * ignored) and other advisory ids (`XSA-123`, `TALOS-2017-0499`, `ZBX-11023`,
 * `wnpa-sec-2017-21`). A CVE is the record's id and the other ids in the same entry are its
 * aliases (`CVE-2017-8904 XSA-214`) when they name that CVE alone in the file; an entry without a
 * CVE uses its other ids. Placeholders
 * (`CVE-????-?????`) and free text are dropped; an entry with no id at all is reported. Version
 * keys are trimmed and obvious typos repaired (see `fixedVersionOf`); a key that is still not an
 * apk version is kept as written and reported. A key with nothing under it (`7.4.0-r0:`) is
 * ignored.
 */
import type { AffectedRecord, VulnerabilityRecord } from '../model.js';
import { VulnError } from '../errors.js';
import { compareApk, isValidApkVersion } from '../version/index.js';
import { alpineRelease } from './names.js';
import { FeedCollector, type FeedResult } from './osv.js';

/**
 * Wolfi and Chainguard publish the same format (`packages.wolfi.dev/os/security.json`,
 * `packages.cgr.dev/chainguard/security.json`) without `distroversion`: they are rolling
 * distributions, told apart by their `urlprefix`. Their `pkg.name` is the origin package too.
 */
const ROLLING: readonly { host: string; ecosystem: string; source: string }[] = [
  { host: 'packages.wolfi.dev', ecosystem: 'wolfi', source: 'wolfi-secdb' },
  { host: 'packages.cgr.dev', ecosystem: 'chainguard', source: 'chainguard-secdb' },
];
const CVE = /^CVE-(\d{4})-(\d{4,})/;
const OTHER_ID = /^[A-Za-z]+(?:-[A-Za-z]+)*-\d+(?:-\d+)*$/;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Whether a parsed document is a secdb file: Alpine's (with `distroversion`), or Wolfi's and Chainguard's (`apkurl` and `urlprefix`). */
export function isAlpineSecdb(doc: unknown): boolean {
  if (!isObject(doc) || !('packages' in doc) || !(doc['packages'] === null || Array.isArray(doc['packages']))) return false;
  return typeof doc['distroversion'] === 'string' || (typeof doc['apkurl'] === 'string' && typeof doc['urlprefix'] === 'string');
}

/** The DB ecosystem and source of a secdb document, or the reason it is skipped. */
function secdbTarget(doc: Record<string, unknown>): { ecosystem: string; source: string } | { skip: string } {
  const distroversion = doc['distroversion'];
  if (typeof distroversion === 'string') {
    const release = alpineRelease(distroversion);
    return release === undefined ? { skip: `release ${distroversion}` } : { ecosystem: `alpine:${release}`, source: 'alpine-secdb' };
  }
  const prefix = String(doc['urlprefix']);
  let host: string;
  try {
    host = new URL(prefix).hostname.toLowerCase();
  } catch {
    host = '';
  }
  const rolling = ROLLING.find((r) => r.host === host);
  return rolling === undefined ? { skip: `distribution ${prefix}` } : { ecosystem: rolling.ecosystem, source: rolling.source };
}

/** The ids of one secfixes entry: CVEs first (each a record id), then the other ids (aliases). */
export function secfixIds(entry: string): { cves: string[]; others: string[] } {
  const cves: string[] = [];
  const others: string[] = [];
  const tokens = entry.replace(/\bCVE[_ ](?=\d{4}-)/g, 'CVE-').split(/\s+/);
  for (const token of tokens) {
    const cve = CVE.exec(token);
    if (cve) cves.push(`CVE-${cve[1]}-${cve[2]}`);
    else if (!token.startsWith('CVE') && OTHER_ID.test(token)) others.push(token);
  }
  return { cves: [...new Set(cves)], others: [...new Set(others)] };
}

/**
 * A secfixes key as an apk version: trimmed, and the typos seen in the database repaired
 * (`1.18.-r2`, `10.2.26.r0` → `…-rN`; `6.6.2p1-r0` → `6.6.2_p1-r0`). `"0"` stays `"0"`.
 * `valid` is false when the key is still no apk version; it is kept as written then (apk
 * compares such versions up to their first invalid part), and the caller reports it.
 */
function fixedVersionOf(key: string): { version: string; valid: boolean } {
  const v = key.trim();
  if (v === '0' || isValidApkVersion(v)) return { version: v, valid: true };
  const repaired = v
    .replace(/\.-?r(\d+)$/, '-r$1')
    .replace(/^(\d+(?:\.\d+)*)p(\d+)(?=-r\d+$)/, '$1_p$2');
  return isValidApkVersion(repaired) ? { version: repaired, valid: true } : { version: v, valid: false };
}

export function parseAlpineSecdb(doc: unknown, file: string): FeedResult {
  if (!isAlpineSecdb(doc) || !isObject(doc)) throw new VulnError('FEED_INVALID', `${file}: not a secdb document (no packages with a distroversion or an urlprefix)`);
  const out = new FeedCollector();
  const target = secdbTarget(doc);
  if ('skip' in target) {
    out.skip(target.skip);
    return out.result();
  }
  const { ecosystem, source } = target;
  const vulns = new Map<string, Set<string>>();
  /** alias → the ids it was written next to, in this file. */
  const aliasOf = new Map<string, Set<string>>();
  const packages = (doc['packages'] ?? []) as unknown[];

  packages.forEach((entry, i) => {
    const pkg = isObject(entry) ? entry['pkg'] : undefined;
    const name = isObject(pkg) && typeof pkg['name'] === 'string' ? pkg['name'].trim() : '';
    if (!isObject(pkg) || name === '') {
      out.errors.push(`${file}: packages[${i}] has no pkg.name: skipped`);
      return;
    }
    const secfixes = pkg['secfixes'] ?? {};
    if (!isObject(secfixes)) {
      out.errors.push(`${file}: ${name}: secfixes is not a map: skipped`);
      return;
    }
    /** id → the fixed version (or "0") this package lists it under. */
    const fixes = new Map<string, string>();
    for (const [key, list] of Object.entries(secfixes)) {
      if (list === null || list === undefined) continue; // an empty key, as in `7.4.0-r0:` with nothing under it
      if (!Array.isArray(list)) {
        out.errors.push(`${file}: ${name} ${key}: not a list of ids: skipped`);
        continue;
      }
      const { version, valid } = fixedVersionOf(key);
      if (version === '') {
        out.errors.push(`${file}: ${name}: an empty version key: its entries skipped`);
        continue;
      }
      if (!valid) out.errors.push(`${file}: ${name}: ${JSON.stringify(key)} is not an apk version: kept as written`);
      for (const item of list) {
        const ids = typeof item === 'string' ? secfixIds(item) : { cves: [], others: [] };
        const primary = ids.cves.length > 0 ? ids.cves : ids.others;
        if (primary.length === 0) {
          out.errors.push(`${file}: ${name} ${key}: no advisory id in ${JSON.stringify(item)}: skipped`);
          continue;
        }
        const aliases = ids.cves.length > 0 ? ids.others : [];
        for (const id of primary) {
          const known = vulns.get(id) ?? new Set<string>();
          for (const a of aliases) {
            known.add(a);
            aliasOf.set(a, (aliasOf.get(a) ?? new Set<string>()).add(id));
          }
          vulns.set(id, known);
          const before = fixes.get(id);
          // A fix beats "never affected"; of two fixes, the later one is the complete fix.
          if (before === undefined || before === '0' || (version !== '0' && compareApk(version, before) > 0)) fixes.set(id, version);
        }
      }
    }
    for (const [id, version] of fixes) out.affected.push(affectedRecord(id, ecosystem, name, version, source));
  });

  for (const [id, aliases] of vulns) {
    // One XSA often covers several CVEs (`CVE-2018-12126 XSA-297`, `CVE-2018-12127 XSA-297`): such
    // an id is no alias, and as one it would merge distinct CVEs in the DB. Only 1:1 ids stay.
    const own = [...aliases].filter((a) => aliasOf.get(a)?.size === 1);
    const v: VulnerabilityRecord = { id, aliases: own, references: [], cvss: [], source };
    out.vulnerabilities.push(v);
  }
  return out.result();
}

function affectedRecord(vulnId: string, ecosystem: string, name: string, version: string, source: string): AffectedRecord {
  if (version === '0') return { vulnId, ecosystem, name, ranges: [], versions: [], status: 'not_affected', source };
  return {
    vulnId,
    ecosystem,
    name,
    ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] }],
    versions: [],
    status: 'fixed',
    fixedVersion: version,
    source,
  };
}
