/**
 * Python packages, three catalogers:
 * - `pythonPackageCataloger`: installed distributions: `*.dist-info/METADATA` (wheels, pip),
 *   `*.egg-info/PKG-INFO` and `*.egg/EGG-INFO/PKG-INFO` (setuptools), and an `*.egg-info` that is a
 *   file (distutils, Debian's python3-* packages), which holds PKG-INFO content. Only the RFC 822
 *   header matters, so only the first `HEAD_BYTES` are read.
 * - `pythonLockCataloger`: `poetry.lock` (dev from `category = "dev"` before Poetry 1.5, from
 *   `groups` without "main" after), `Pipfile.lock` (`default` and `develop`), `uv.lock` (the project
 *   `source = { editable/virtual = "." }` is the root; dev is what only the workspace's
 *   dev-dependencies reach), `pylock.toml` and `pylock.<name>.toml` (PEP 751: `[[packages]]` from an
 *   index are PyPI packages; a `directory` entry is the project's own code, the root; `vcs` and
 *   `archive` entries come from no index and are skipped; there is no dev mark, only markers).
 * - `pythonRequirementsCataloger`: pinned lines (`name==version`) of `*requirements*.txt`; ranges,
 *   URLs, editable installs and options say no exact version and are skipped.
 * Names keep their spelling from the file (`PyYAML`, `dbus-python`); PEP 503 normalization is for
 * matching dependency names inside one lockfile only.
 */
import { parse as parseToml } from 'smol-toml';
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { isSpdxExpression, normalizeLicense, normalizeLicenses } from '../licenses.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings, reachable, type Json } from './common.js';

/** METADATA headers are a few KiB; the description after them can be anything, even gigabytes. */
export const HEAD_BYTES = 256 * 1024;
/** A License header longer than this is the license text pasted in, not a name. */
const MAX_LICENSE_NAME = 200;
const MAX_VERSIONS_PER_NAME = 16;


function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** PEP 503: names compare case-insensitively with runs of `-`, `_`, `.` equal. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function pypiPackage(name: string, version: string, extra: Partial<Pick<RawPackage, 'licenses' | 'properties' | 'dependsOn' | 'root'>> = {}): RawPackage {
  return {
    type: 'pypi',
    name,
    version,
    ...(extra.licenses !== undefined && extra.licenses.length > 0 ? { licenses: extra.licenses } : {}),
    ...(extra.properties !== undefined ? { properties: extra.properties } : {}),
    ...(extra.dependsOn !== undefined && extra.dependsOn.length > 0 ? { dependsOn: extra.dependsOn } : {}),
    ...(extra.root === true ? { root: true } : {}),
  };
}

function pypiKey(name: string, version: string): string {
  return packageKey({ type: 'pypi', name, version });
}

// ---------------------------------------------------------------------------------------------
// Installed distributions

/**
 * The header fields of a METADATA / PKG-INFO text, lower-cased names, values in order. Continuation
 * lines (leading whitespace) extend the previous value. `truncated` drops a last line cut mid-way.
 */
function parseHeaders(text: string, truncated: boolean): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  const head = truncated ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  let lastKey: string | undefined;
  for (const raw of head.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') break;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const values = lastKey === undefined ? undefined : headers.get(lastKey);
      if (values !== undefined && values.length > 0) values[values.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim().toLowerCase();
    let values = headers.get(lastKey);
    if (values === undefined) headers.set(lastKey, (values = []));
    values.push(line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * License of a distribution. PEP 639's License-Expression wins; then License when it names a known
 * license; then the `License :: …` classifiers; then License as written. License holding a whole
 * license text (several lines) is no name and is ignored.
 */
function metadataLicenses(headers: ReadonlyMap<string, readonly string[]>): string[] {
  const expression = str(headers.get('license-expression')?.[0]);
  if (expression !== undefined) return normalizeLicenses([expression]);
  const raw = str(headers.get('license')?.[0]);
  const license = raw !== undefined && !raw.includes('\n') && raw.length <= MAX_LICENSE_NAME && raw.toUpperCase() !== 'UNKNOWN' ? normalizeLicense(raw) : undefined;
  if (license !== undefined && isSpdxExpression(license)) return [license];
  const classified: string[] = [];
  for (const c of headers.get('classifier') ?? []) {
    const parts = c.split('::').map((p) => p.trim());
    // `License :: OSI Approved :: MIT License` → "MIT License"; the bare "OSI Approved" names nothing.
    if (parts[0] === 'License' && parts.length > 1 && !(parts.length === 2 && parts[1] === 'OSI Approved')) classified.push(parts[parts.length - 1]!);
  }
  if (classified.length > 0) return normalizeLicenses(classified);
  return license !== undefined ? [license] : [];
}

export const pythonPackageCataloger: Cataloger = {
  id: 'python-package',
  version: 1,
  headBytes: HEAD_BYTES,
  wants: (path) => path.endsWith('.dist-info/METADATA') || path.endsWith('.egg-info/PKG-INFO') || path.endsWith('.egg-info') || path.endsWith('/EGG-INFO/PKG-INFO'),
  async parse(file: CatalogFile, ctx: CatalogContext): Promise<readonly Finding[]> {
    const length = Math.min(file.size, HEAD_BYTES);
    const bytes = await file.read(0, length);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const headers = parseHeaders(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file.size > length);
    const name = str(headers.get('name')?.[0]);
    const version = str(headers.get('version')?.[0]);
    if (name === undefined || version === undefined) {
      ctx.warn(`package metadata without ${name === undefined ? 'Name' : 'Version'}`);
      return [];
    }
    return [{ kind: 'package', package: pypiPackage(name, version, { licenses: metadataLicenses(headers) }) }];
  },
};

// ---------------------------------------------------------------------------------------------
// Lockfiles

const LOCKS = new Set(['poetry.lock', 'Pipfile.lock', 'uv.lock']);
/** PEP 751's names: `pylock.toml`, or `pylock.<name>.toml` with no dot in the name. */
const PYLOCK = /^pylock\.(?:[^.]+\.)?toml$/;

export const pythonLockCataloger: Cataloger = {
  id: 'python-lock',
  version: 2,
  wants: (path) => (path.endsWith('.lock') && LOCKS.has(basename(path))) || (path.endsWith('.toml') && PYLOCK.test(basename(path))),
  async parse(file, ctx) {
    const text = await textOf(file);
    const warnings = limitedWarnings(ctx);
    let findings: Finding[];
    switch (basename(file.path)) {
      case 'Pipfile.lock':
        findings = readPipfileLock(text, warnings);
        break;
      case 'uv.lock':
        findings = readTomlLock(text, warnings, readUvLock);
        break;
      case 'poetry.lock':
        findings = readTomlLock(text, warnings, readPoetryLock);
        break;
      default:
        findings = readTomlLock(text, warnings, readPylock);
    }
    warnings.done();
    return findings;
  },
};

type Warn = { warn(message: string): void };

function readTomlLock(text: string, warnings: Warn, read: (doc: Json, warnings: Warn) => Finding[]): Finding[] {
  let doc: Json;
  try {
    doc = parseToml(text, { maxDepth: 100 }) as Json;
  } catch (err) {
    warnings.warn(`not valid TOML: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
    return [];
  }
  return read(doc, warnings);
}

/** `[[package]]` (`[[packages]]` in pylock.toml) entries with a name (the version may be missing: a dynamic project); the rest warned about. */
function lockEntries(doc: Json, warnings: Warn, table = 'package'): { name: string; version: string | undefined; entry: Json }[] {
  const list = doc[table];
  if (!Array.isArray(list)) {
    warnings.warn(`lockfile has no [[${table}]] entries`);
    return [];
  }
  const out: { name: string; version: string | undefined; entry: Json }[] = [];
  for (const entry of list) {
    const name = isRecord(entry) ? str(entry['name']) : undefined;
    if (name === undefined || !isRecord(entry)) {
      warnings.warn('lockfile [[package]] entry without a name');
      continue;
    }
    out.push({ name, version: str(entry['version']), entry });
  }
  return out;
}

/**
 * Maps PEP 503 names to the keys of the packages of that name. A lock holds several versions of a
 * name only for disjoint environments (markers); past MAX_VERSIONS_PER_NAME it is no real lock, and
 * the cap keeps a hostile one from multiplying edges (every dependency × every version).
 */
function byName(entries: readonly { name: string; version: string | undefined }[]): Map<string, { version: string; key: string }[]> {
  const map = new Map<string, { version: string; key: string }[]>();
  for (const e of entries) {
    if (e.version === undefined) continue;
    const n = normalizeName(e.name);
    let list = map.get(n);
    if (list === undefined) map.set(n, (list = []));
    if (list.length < MAX_VERSIONS_PER_NAME) list.push({ version: e.version, key: pypiKey(e.name, e.version) });
  }
  return map;
}

function readPoetryLock(doc: Json, warnings: Warn): Finding[] {
  const entries = lockEntries(doc, warnings);
  const names = byName(entries);
  const findings: Finding[] = [];
  for (const { name, version, entry } of entries) {
    if (version === undefined) {
      warnings.warn(`poetry.lock package "${name.slice(0, 200)}" has no version`);
      continue;
    }
    const groups = entry['groups'];
    const dev = entry['category'] === 'dev' || (Array.isArray(groups) && groups.length > 0 && !groups.includes('main'));
    const deps = isRecord(entry['dependencies']) ? Object.keys(entry['dependencies']) : [];
    const dependsOn = [...new Set(deps.flatMap((d) => (names.get(normalizeName(d)) ?? []).map((x) => x.key)))];
    findings.push({ kind: 'package', package: pypiPackage(name, version, { dependsOn, ...(dev ? { properties: { dev: 'true' } } : {}) }) });
  }
  return findings;
}

/** The keys a dependency `{ name, version? }` may mean: that name's packages, of that version when it says. */
function resolveDep(names: ReadonlyMap<string, readonly { version: string; key: string }[]>, d: { name: string; version?: string }): string[] {
  return (names.get(normalizeName(d.name)) ?? []).filter((x) => d.version === undefined || x.version === d.version).map((x) => x.key);
}

/** uv.lock dependency lists: `[{ name = "idna" }, { name = "x", version = "1.0", marker = "…" }]`. */
function uvDeps(list: unknown): { name: string; version?: string }[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((d) => {
    const name = isRecord(d) ? str(d['name']) : undefined;
    if (name === undefined || !isRecord(d)) return [];
    const version = str(d['version']);
    return [version === undefined ? { name } : { name, version }];
  });
}

/** The lists of a table of groups or extras: `[package.dev-dependencies] dev = [...]`. */
function uvGroupDeps(table: unknown): { name: string; version?: string }[] {
  return isRecord(table) ? Object.values(table).flatMap(uvDeps) : [];
}

function readUvLock(doc: Json, warnings: Warn): Finding[] {
  const entries = lockEntries(doc, warnings);
  const names = byName(entries);
  const resolve = (d: { name: string; version?: string }): string[] => resolveDep(names, d);

  const resolved = entries.map(({ name, version, entry }) => {
    const source = isRecord(entry['source']) ? entry['source'] : {};
    const local = str(source['editable']) ?? str(source['virtual']);
    return {
      name,
      version,
      // Workspace members are editable or virtual; the one at "." is the project itself.
      project: local !== undefined,
      root: local === '.',
      runtime: [...uvDeps(entry['dependencies']), ...uvGroupDeps(entry['optional-dependencies'])].flatMap(resolve),
      dev: uvGroupDeps(entry['dev-dependencies']).flatMap(resolve),
    };
  });
  const edges = new Map(resolved.flatMap((r) => (r.version === undefined ? [] : [[pypiKey(r.name, r.version), r.runtime] as const])));
  const projects = resolved.filter((r) => r.project);
  const prod = reachable(projects.flatMap((r) => r.runtime), edges);
  const devOnly = reachable(projects.flatMap((r) => r.dev), edges);

  return resolved.flatMap((r): Finding[] => {
    if (r.version === undefined) {
      // A project with a dynamic version has none in the lock; its dependencies were still followed above.
      if (!r.project) warnings.warn(`uv.lock package "${r.name.slice(0, 200)}" has no version`);
      return [];
    }
    const key = pypiKey(r.name, r.version);
    const dependsOn = [...new Set(r.project ? [...r.runtime, ...r.dev] : r.runtime)];
    const dev = !r.project && devOnly.has(key) && !prod.has(key);
    return [{ kind: 'package', package: pypiPackage(r.name, r.version, { dependsOn, root: r.root, ...(dev ? { properties: { dev: 'true' } } : {}) }) }];
  });
}

/** PEP 751 pylock.toml: `[[packages]]` with `dependencies = [{ name, version? }]`. */
function readPylock(doc: Json, warnings: Warn): Finding[] {
  const entries = lockEntries(doc, warnings, 'packages').filter(({ entry }) => entry['vcs'] === undefined && entry['archive'] === undefined);
  const names = byName(entries);
  const findings: Finding[] = [];
  for (const { name, version, entry } of entries) {
    const project = entry['directory'] !== undefined;
    if (version === undefined) {
      // A local project need not state its version; one from an index must.
      if (!project) warnings.warn(`pylock.toml package "${name.slice(0, 200)}" has no version`);
      continue;
    }
    const dependsOn = uvDeps(entry['dependencies']).flatMap((d) => resolveDep(names, d));
    findings.push({ kind: 'package', package: pypiPackage(name, version, { dependsOn: [...new Set(dependsOn)], root: project }) });
  }
  return findings;
}

/** Pipfile.lock: `default` and `develop` maps of name → { version: "==1.2.3", hashes, markers }. */
function readPipfileLock(text: string, warnings: Warn): Finding[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch (err) {
    warnings.warn(`not valid JSON: ${(err as Error).message.slice(0, 200)}`);
    return [];
  }
  if (!isRecord(doc)) {
    warnings.warn('Pipfile.lock is not a JSON object');
    return [];
  }
  const found = new Map<string, { name: string; version: string; dev: boolean }>();
  for (const section of ['default', 'develop'] as const) {
    const deps = doc[section];
    if (!isRecord(deps)) continue;
    for (const [name, entry] of Object.entries(deps)) {
      const spec = isRecord(entry) ? str(entry['version']) : undefined;
      // git, path and editable entries have no version: nothing exact to report.
      if (spec === undefined) continue;
      const version = spec.replace(/^===?/, '');
      const key = pypiKey(name, version);
      if (!found.has(key)) found.set(key, { name, version, dev: section === 'develop' });
    }
  }
  return [...found.values()].map((p) => ({ kind: 'package', package: pypiPackage(p.name, p.version, p.dev ? { properties: { dev: 'true' } } : {}) }));
}

// ---------------------------------------------------------------------------------------------
// requirements.txt

/** `name[extra,…] == version` at the start of a requirement, and what follows the version. */
const PINNED = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;,]+)(.*)$/;

/**
 * The name and version of a requirement pinned to one version (`name[extra]==1.2.3`, markers and
 * options such as `--hash` may follow); undefined for ranges, wildcards, URLs and options.
 */
export function pinnedRequirement(line: string): { name: string; version: string } | undefined {
  const m = PINNED.exec(line.trim());
  if (m === null) return undefined;
  const [, name, version, rest] = m as unknown as [string, string, string, string];
  // Only an exact pin counts: not `==1.*`, not `==1.0,<2`; markers (`; …`) and options (`--hash`) may follow.
  const tail = rest.trim();
  return version.includes('*') || !(tail === '' || tail.startsWith(';') || tail.startsWith('--')) ? undefined : { name, version };
}

export const pythonRequirementsCataloger: Cataloger = {
  id: 'python-requirements',
  version: 1,
  wants: (path) => path.endsWith('.txt') && basename(path).includes('requirements'),
  async parse(file) {
    const text = await textOf(file);
    const found = new Map<string, RawPackage>();
    // Backslash-newline continues a requirement (typically onto --hash lines).
    for (const logical of text.replace(/\\\r?\n/g, ' ').split('\n')) {
      // A comment starts at `#` at the line start or after whitespace (a URL fragment is no comment).
      const line = logical.replace(/(^|\s)#.*$/, '').trim();
      if (line === '' || line.startsWith('-')) continue;
      const pin = pinnedRequirement(line);
      if (pin !== undefined) found.set(pypiKey(pin.name, pin.version), pypiPackage(pin.name, pin.version));
    }
    return [...found.values()].map((p) => ({ kind: 'package', package: p }));
  },
};
