/**
 * Ignore files as Trivy reads them: `.trivyignore` lines (an id, optionally `exp:YYYY-MM-DD`) and
 * `.trivyignore.yaml` (per kind of finding: ids, paths, purls, statements, expiry). Pure: the caller
 * reads the file and passes its text.
 */
import type { Node as YamlNode } from 'yaml';
import { ScanError } from './errors.js';
import { yaml } from './lazy-yaml.js';
import { parsePurl } from './purl-match.js';

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
