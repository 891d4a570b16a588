/**
 * What `portcullis scan` leaves out of a report, in Trivy's order and with Trivy's meaning:
 * `--severity` (all four kinds of findings), `--ignore-unfixed` (only vulnerabilities whose status
 * is `fixed` stay: Trivy's shorthand for ignoring every other status), an ignore file
 * (`.trivyignore` lines or `.trivyignore.yaml`) and OpenVEX statements. Pure: the caller reads the
 * files and passes their text; `now` decides which ignore entries have expired.
 *
 * Results stay listed when their findings are all filtered out, as Trivy keeps them.
 */
import { createRequire } from 'node:module';
import type * as YamlT from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { Severity } from '../vuln/index.js';
import { ScanError } from './errors.js';
import { avdIdOf } from './format/json.js';
import type { ConfigFinding, ScanReport, ScanResult, SecretFinding, VulnerabilityFinding } from './model.js';

// yaml is loaded when an ignore file or a VEX document in YAML is read, not by every scan.
const requireLazy = createRequire(import.meta.url);
let yamlLib: typeof YamlT | undefined;
const yaml = (): typeof YamlT => (yamlLib ??= requireLazy('yaml') as typeof YamlT);

// ---------------------------------------------------------------------------------------------
// Ignore files

/** One entry of an ignore file. Every field given must match; `id` is optional in the YAML form. */
export interface IgnoreEntry {
  readonly id?: string;
  /** Glob patterns (`**`, `*`, `?`, `[...]`, `{a,b}`) matched against the result's target or the finding's file. */
  readonly paths?: readonly string[];
  /** Package URLs; one without version or qualifiers matches every version or variant (vulnerabilities only). */
  readonly purls?: readonly string[];
  /** Why it is ignored, kept for the report of what was suppressed. */
  readonly statement?: string;
  /** From this instant on the entry no longer suppresses anything. */
  readonly expiresAt?: Date;
  /** 1-based line of the entry in its file. */
  readonly line: number;
}

export interface IgnoreRules {
  /** The file's name, as given to `parseIgnoreFile`. */
  readonly source: string;
  readonly vulnerabilities: readonly IgnoreEntry[];
  readonly secrets: readonly IgnoreEntry[];
  readonly misconfigurations: readonly IgnoreEntry[];
}

function ignoreError(name: string, line: number, what: string): ScanError {
  return new ScanError('IGNOREFILE_INVALID', `${name}:${line}: ${what}`, { detail: { file: name, line } });
}

/** `YYYY-MM-DD` (UTC midnight, as Go's time.Parse reads it) or an RFC 3339 date-time. */
function parseDate(text: string): Date | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day !== null) {
    const d = new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])));
    return d.getUTCFullYear() === Number(day[1]) && d.getUTCMonth() === Number(day[2]) - 1 && d.getUTCDate() === Number(day[3]) ? d : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Reads an ignore file: `.yaml`/`.yml` names as Trivy's `.trivyignore.yaml`, anything else as
 * `.trivyignore` lines (`ID [exp:YYYY-MM-DD] [# statement]`, `#` comments), whose ids apply to
 * vulnerabilities, secrets and misconfigurations alike.
 */
export function parseIgnoreFile(text: string, name: string): IgnoreRules {
  return /\.ya?ml$/i.test(name) ? parseIgnoreYaml(text, name) : parseIgnoreLines(text, name);
}

function parseIgnoreLines(text: string, name: string): IgnoreRules {
  const entries: IgnoreEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const body = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (body === '') return;
    const statement = hash < 0 ? '' : raw.slice(hash + 1).trim();
    const [id, ...fields] = body.split(/\s+/);
    let expiresAt: Date | undefined;
    for (const field of fields) {
      if (!field.startsWith('exp:')) continue; // Trivy skips other fields (key:value) too.
      expiresAt = parseDate(field.slice(4));
      if (expiresAt === undefined) throw ignoreError(name, line, `'${field}' is not an expiry date: write exp:YYYY-MM-DD`);
    }
    if (id!.startsWith('exp:')) throw ignoreError(name, line, `the line starts with '${id!}': the id comes first, then exp:YYYY-MM-DD`);
    entries.push({ id: id!, line, ...(statement !== '' ? { statement } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) });
  });
  return { source: name, vulnerabilities: entries, secrets: entries, misconfigurations: entries };
}

const YAML_SECTIONS = ['vulnerabilities', 'secrets', 'misconfigurations'] as const;
const YAML_FIELDS = new Set(['id', 'paths', 'purls', 'statement', 'expired_at']);

function parseIgnoreYaml(text: string, name: string): IgnoreRules {
  const { LineCounter, isMap, isScalar, isSeq, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: YamlNode | null | undefined): number => (node?.range == null ? 1 : lines.linePos(node.range[0]).line);
  const firstError = doc.errors[0];
  if (firstError !== undefined) throw ignoreError(name, lines.linePos(firstError.pos[0]).line, `not valid YAML: ${firstError.message.split('\n')[0]!}`);
  const out: Record<(typeof YAML_SECTIONS)[number], IgnoreEntry[]> = { vulnerabilities: [], secrets: [], misconfigurations: [] };
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { source: name, ...out };
  if (!isMap(root)) throw ignoreError(name, lineOf(root), 'expected a mapping with vulnerabilities, secrets and misconfigurations');
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const keyLine = lineOf(pair.key as YamlNode);
    // Trivy's file may also list licenses; Portcullis has no license findings to ignore.
    if (key === 'licenses') continue;
    if (!(YAML_SECTIONS as readonly string[]).includes(key)) throw ignoreError(name, keyLine, `unknown section '${key}': expected vulnerabilities, secrets, misconfigurations (or licenses)`);
    const section = key as (typeof YAML_SECTIONS)[number];
    const value = pair.value as YamlNode | null;
    if (value === null || (isScalar(value) && value.value === null)) continue;
    if (!isSeq(value)) throw ignoreError(name, lineOf(value), `'${section}' must be a list of entries`);
    for (const item of value.items as YamlNode[]) {
      const line = lineOf(item);
      if (!isMap(item)) throw ignoreError(name, line, `an entry of '${section}' must be a mapping (id, paths, purls, statement, expired_at)`);
      const entry: { id?: string; paths?: string[]; purls?: string[]; statement?: string; expiresAt?: Date; line: number } = { line };
      for (const field of item.items) {
        const fname = isScalar(field.key) ? String(field.key.value) : '';
        const fline = lineOf(field.key as YamlNode);
        const fvalue = field.value as YamlNode | null;
        if (!YAML_FIELDS.has(fname)) throw ignoreError(name, fline, `unknown field '${fname}' (expected id, paths, purls, statement, expired_at)`);
        if (fname === 'paths' || fname === 'purls') {
          if (!isSeq(fvalue) || !fvalue.items.every((x) => isScalar(x) && typeof x.value === 'string')) throw ignoreError(name, fline, `'${fname}' must be a list of strings`);
          const list = fvalue.items.map((x) => String((x as { value: unknown }).value));
          if (fname === 'paths') {
            for (const p of list) if (globToRegExp(p) === undefined) throw ignoreError(name, fline, `invalid path pattern '${p}'`);
            entry.paths = list;
          } else {
            for (const p of list) if (parsePurl(p) === undefined) throw ignoreError(name, fline, `invalid package URL '${p}'`);
            entry.purls = list;
          }
          continue;
        }
        const scalar = isScalar(fvalue) ? fvalue.value : undefined;
        if (fname === 'expired_at') {
          const date = scalar instanceof Date ? scalar : typeof scalar === 'string' ? parseDate(scalar) : undefined;
          if (date === undefined) throw ignoreError(name, fline, `expired_at must be a date (YYYY-MM-DD or an RFC 3339 time)`);
          entry.expiresAt = date;
          continue;
        }
        if (typeof scalar !== 'string' && typeof scalar !== 'number') throw ignoreError(name, fline, `'${fname}' must be a string`);
        if (fname === 'id') entry.id = String(scalar);
        else entry.statement = String(scalar);
      }
      if (entry.id === undefined && entry.paths === undefined && entry.purls === undefined) throw ignoreError(name, line, 'an entry needs an id, paths or purls (else it would ignore everything)');
      if (entry.id === '') throw ignoreError(name, line, 'the id is empty');
      out[section].push(entry);
    }
  }
  return { source: name, ...out };
}

/**
 * A doublestar glob as a RegExp: `**` spans directories (`**\/` also none), `*` and `?` stay inside
 * one, `[...]` and `{a,b}` as usual. Undefined for a malformed pattern.
 */
export function globToRegExp(pattern: string): RegExp | undefined {
  let re = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const atStart = i === 0 || pattern[i - 1] === '/';
        if (atStart && pattern[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return undefined;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[i + 1]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      i++;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  if (braces !== 0) return undefined;
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Package URLs, for matching (not for building: sbom does that)

interface Purl {
  readonly type: string;
  readonly namespace: string;
  readonly name: string;
  readonly version?: string;
  readonly qualifiers: ReadonlyMap<string, string>;
}

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

export function parsePurl(text: string): Purl | undefined {
  const m = /^pkg:\/*([A-Za-z][A-Za-z0-9.+-]*)\/([^?#]+?)(?:\?([^#]*))?(?:#.*)?$/.exec(text.trim());
  if (m === null) return undefined;
  const type = m[1]!.toLowerCase();
  let rest = m[2]!.replace(/\/+$/, '');
  let version: string | undefined;
  const at = rest.lastIndexOf('@');
  // An npm scope's @ is percent-encoded (%40) in a canonical purl; tolerate a literal one at a segment start.
  if (at > 0 && rest[at - 1] !== '/') {
    version = decode(rest.slice(at + 1));
    if (version === undefined || version === '') return undefined;
    rest = rest.slice(0, at);
  }
  const segments = rest.split('/').map(decode);
  if (segments.some((s) => s === undefined || s === '')) return undefined;
  let name = segments.pop()!;
  const namespace = segments.join('/');
  if (type === 'pypi') name = name.toLowerCase().replace(/[-_.]+/g, '-');
  const qualifiers = new Map<string, string>();
  for (const part of (m[3] ?? '').split('&').filter((x) => x !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const value = decode(part.slice(eq + 1));
    if (value === undefined) return undefined;
    qualifiers.set(part.slice(0, eq).toLowerCase(), value);
  }
  return { type, namespace: type === 'npm' || type === 'pypi' ? namespace.toLowerCase() : namespace, name: type === 'npm' ? name.toLowerCase() : name, ...(version !== undefined ? { version } : {}), qualifiers };
}

/**
 * The purl matching Trivy and OpenVEX use: type, namespace and name equal; the pattern's version,
 * if it has one, equal; each of the pattern's qualifiers present with the same value (extra
 * qualifiers on the package are ignored).
 */
export function purlMatches(pattern: string, target: string): boolean {
  const p = parsePurl(pattern);
  const t = parsePurl(target);
  if (p === undefined || t === undefined) return false;
  return purlObjectsMatch(p, t);
}

function purlObjectsMatch(p: Purl, t: Purl): boolean {
  if (p.type !== t.type || p.namespace !== t.namespace || p.name !== t.name) return false;
  if (p.version !== undefined && p.version !== t.version) return false;
  for (const [k, v] of p.qualifiers) if (t.qualifiers.get(k) !== v) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// OpenVEX

export const VEX_STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const;
export type VexStatus = (typeof VEX_STATUSES)[number];

export interface VexProduct {
  /** A purl (`pkg:deb/debian/bash`, `pkg:oci/app?repository_url=...`) or an image reference. */
  readonly id: string;
  readonly subcomponents: readonly string[];
}

export interface VexStatement {
  readonly vulnerability: string;
  readonly aliases: readonly string[];
  readonly products: readonly VexProduct[];
  readonly status: VexStatus;
  readonly justification?: string;
  readonly impactStatement?: string;
  /** The statement's time, else the document's: a later statement overrides an earlier one. */
  readonly timestamp?: string;
  /** 1-based line of the statement in its file. */
  readonly line: number;
}

export interface VexStatements {
  readonly source: string;
  readonly statements: readonly VexStatement[];
}

function vexError(name: string, line: number, what: string): ScanError {
  return new ScanError('VEX_INVALID', `${name}:${line}: ${what}`, { detail: { file: name, line } });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads an OpenVEX document (v0.2.0; the v0.0.x forms with string vulnerabilities and products too). */
export function parseOpenVex(text: string, name: string): VexStatements {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    // Node 20 says "at position N", newer versions "(line L column C)".
    const message = err instanceof Error ? err.message : String(err);
    const lineMatch = /line (\d+)/.exec(message);
    const pos = /position (\d+)/.exec(message);
    const line = lineMatch !== null ? Number(lineMatch[1]) : pos !== null ? text.slice(0, Number(pos[1])).split('\n').length : 1;
    throw vexError(name, line, `not valid JSON: ${message}`);
  }
  // The same text as YAML (JSON is YAML) gives each statement's line for the messages.
  const { LineCounter, isSeq, parseDocument } = yaml();
  const counter = new LineCounter();
  const located = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const statementNodes = located.getIn(['statements']) as YamlNode | undefined;
  const lineOfStatement = (i: number): number => {
    const node = isSeq(statementNodes) ? (statementNodes.items[i] as YamlNode | undefined) : undefined;
    return node?.range == null ? 1 : counter.linePos(node.range[0]).line;
  };

  if (!isObject(doc)) throw vexError(name, 1, 'not an OpenVEX document (expected a JSON object)');
  const context = doc['@context'];
  if (typeof context !== 'string' || !context.startsWith('https://openvex.dev/ns')) throw vexError(name, 1, `not an OpenVEX document: @context is ${JSON.stringify(context ?? null)}, expected https://openvex.dev/ns/v0.2.0`);
  const docTime = typeof doc['timestamp'] === 'string' ? doc['timestamp'] : undefined;
  const list = doc['statements'];
  if (!Array.isArray(list)) throw vexError(name, 1, 'no statements list');

  const statements = list.map((s, i): VexStatement => {
    const line = lineOfStatement(i);
    const where = `statement ${i + 1}`;
    if (!isObject(s)) throw vexError(name, line, `${where} is not an object`);
    const vuln = s['vulnerability'];
    let vulnerability: string;
    let aliases: string[] = [];
    if (typeof vuln === 'string') vulnerability = vuln;
    else if (isObject(vuln) && typeof vuln['name'] === 'string') {
      vulnerability = vuln['name'];
      const a = vuln['aliases'];
      if (a !== undefined && !(Array.isArray(a) && a.every((x) => typeof x === 'string'))) throw vexError(name, line, `${where}: vulnerability.aliases must be a list of strings`);
      aliases = (a ?? []) as string[];
    } else throw vexError(name, line, `${where}: vulnerability must have a name`);
    if (vulnerability === '') throw vexError(name, line, `${where}: the vulnerability name is empty`);

    const status = s['status'];
    if (typeof status !== 'string' || !(VEX_STATUSES as readonly string[]).includes(status)) throw vexError(name, line, `${where}: status ${JSON.stringify(status ?? null)} is not one of ${VEX_STATUSES.join(', ')}`);

    // v0.0.x put subcomponents on the statement, for all its products.
    const shared = idsOf(s['subcomponents'], name, line, `${where}: subcomponents`);
    const rawProducts = s['products'];
    if (!Array.isArray(rawProducts) || rawProducts.length === 0) throw vexError(name, line, `${where}: products must be a non-empty list`);
    const products = rawProducts.map((p): VexProduct => {
      if (typeof p === 'string') return { id: p, subcomponents: shared };
      if (isObject(p) && typeof p['@id'] === 'string' && p['@id'] !== '') return { id: p['@id'], subcomponents: [...shared, ...idsOf(p['subcomponents'], name, line, `${where}: subcomponents`)] };
      throw vexError(name, line, `${where}: every product needs an @id`);
    });

    const justification = s['justification'];
    const impact = s['impact_statement'];
    const time = typeof s['timestamp'] === 'string' ? s['timestamp'] : docTime;
    return {
      vulnerability,
      aliases,
      products,
      status: status as VexStatus,
      ...(typeof justification === 'string' && justification !== '' ? { justification } : {}),
      ...(typeof impact === 'string' && impact !== '' ? { impactStatement: impact } : {}),
      ...(time !== undefined ? { timestamp: time } : {}),
      line,
    };
  });
  return { source: name, statements };
}

function idsOf(value: Json | undefined, name: string, line: number, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw vexError(name, line, `${what} must be a list`);
  return value.map((x) => {
    if (typeof x === 'string' && x !== '') return x;
    if (isObject(x) && typeof x['@id'] === 'string' && x['@id'] !== '') return x['@id'];
    throw vexError(name, line, `${what}: every entry needs an @id`);
  });
}

// ---------------------------------------------------------------------------------------------
// Filtering

export interface ReportFilter {
  /** Keep only findings of these severities (all kinds). Absent: all. */
  readonly severities?: readonly Severity[];
  /** Keep only vulnerabilities whose status is `fixed` (a fixed version exists), as Trivy's --ignore-unfixed. */
  readonly ignoreUnfixed?: boolean;
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
  readonly removed: { readonly severity: number; readonly unfixed: number; readonly ignoreFile: number; readonly vex: number };
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
  const removed = { severity: 0, unfixed: 0, ignoreFile: 0, vex: 0 };
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
