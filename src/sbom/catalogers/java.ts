/**
 * Java archives (jar, war, ear, Jenkins jpi/hpi, par, sar, nar, kar, lpkg), read as zips through
 * random access (java-zip.ts). Packages come, as Syft finds them, from:
 * - every `META-INF/maven/<groupId>/<artifactId>/pom.properties`: the authoritative identity. A
 *   shaded or fat jar holds several; each is a package. Licenses come from the `pom.xml` beside it.
 * - when none of those is the archive's own (see `ownPom`), a package from `META-INF/MANIFEST.MF` and the file name, chosen as Syft chooses:
 *   the name from a maven-bundle-plugin `Bundle-SymbolicName`, else the file name (`name-1.2.3.jar`),
 *   else `Name`, `Bundle-Name`, `Short-Name`, `Extension-Name` or `Implementation-Title`; the version
 *   from the file name, else `Implementation-Version`, `Specification-Version`, `Plugin-Version` or
 *   `Bundle-Version`; the group from the first manifest field that looks like a reverse domain
 *   (`Implementation-Vendor-Id` first).
 * The archive's own package carries the manifest's `Bundle-License` (and Jenkins'
 * `Plugin-License-Name`), and depends on the other packages of the archive and on the own packages
 * of the archives nested in it.
 *
 * Nested archives (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, a war in an ear, any archive entry)
 * are read the same way: stored ones in place, deflated ones inflated in memory. Their packages are
 * located at `<outer path>!/<entry name>`, the separator of Java's jar: URLs, repeated per level
 * (`app.ear!/lib/web.war!/WEB-INF/lib/x.jar`). Nesting stops at MAX_DEPTH levels, and one file's
 * nested archives share budgets of inflated bytes (held at once and in all), directory bytes and
 * archive count, so a zip bomb or an archive fanning out to itself ends with a warning.
 */
import type { CatalogContext, Cataloger, CatalogFile } from '../cataloger.js';
import { fileFromBytes } from '../cataloger.js';
import { normalizeLicenses, toSpdxId } from '../licenses.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { Zip, ZipError, type ZipEntry } from './java-zip.js';

const ARCHIVE = /\.(jar|war|ear|par|sar|nar|jpi|hpi|kar|lpkg)$/i;
const POM_FILE = /^META-INF\/maven\/([^/]+)\/([^/]+)\/pom\.(properties|xml)$/;

/** Levels of archives inside archives; real ones have two or three (ear → war → jar). */
const MAX_DEPTH = 16;
/** One manifest, pom.properties or pom.xml. */
const MAX_METADATA_BYTES = 1024 * 1024;
/** One nested archive inflated in memory. */
const MAX_NESTED_BYTES = 256 * 1024 * 1024;
/** Inflated archives held at once: those on the path from the file to the one being read. */
const MAX_HELD_BYTES = 512 * 1024 * 1024;
/** Inflated over the whole file, a bound on time; with MAX_DIRECTORY_BYTES and MAX_ARCHIVES. */
const MAX_INFLATED_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;
const MAX_ARCHIVES = 10_000;
const MAX_WARNINGS = 20;

export const javaArchiveCataloger: Cataloger = {
  id: 'java-archive',
  version: 1,
  maxBytes: 1024 * 1024 * 1024,
  wants: (path) => ARCHIVE.test(path),
  async parse(file, ctx) {
    const reader = new ArchiveReader(ctx);
    // A top-level file that is no zip throws (the reader makes it a warning); nested ones warn and go on.
    await reader.archive(file, file.path, 0);
    reader.finish();
    return reader.packages.map((p): Finding => ({ kind: 'package', package: p }));
  },
};

class ArchiveReader {
  readonly packages: RawPackage[] = [];
  private readonly seen = new Set<string>();
  private inflated = 0;
  private held = 0;
  private directory = 0;
  private archives = 0;
  private warnings = 0;
  private tooDeep = false;
  private tooMany = false;

  constructor(private readonly ctx: CatalogContext) {}

  warn(message: string): void {
    if (++this.warnings <= MAX_WARNINGS) this.ctx.warn(message);
  }

  finish(): void {
    if (this.warnings > MAX_WARNINGS) this.ctx.warn(`${this.warnings - MAX_WARNINGS} more problems with nested archives not shown`);
  }

  /**
   * Catalogs one archive and what it nests; returns the key of its own package. `virtualPath` is
   * the file's path for the top level, `outer!/entry` below it.
   */
  async archive(file: CatalogFile, virtualPath: string, depth: number): Promise<string | undefined> {
    this.archives++;
    const { zip, directoryBytes } = await Zip.open(file, MAX_DIRECTORY_BYTES - this.directory);
    this.directory += directoryBytes;
    const nested = depth > 0;
    const location = nested ? { locations: [{ path: virtualPath }] } : {};

    let manifest: Manifest | undefined;
    const poms = new Map<string, { properties?: ZipEntry; xml?: ZipEntry }>();
    const children: ZipEntry[] = [];
    for (const entry of zip.entries) {
      if (entry.name.endsWith('/')) continue;
      if (entry.name.toUpperCase() === 'META-INF/MANIFEST.MF') {
        const text = await this.text(zip, entry, virtualPath);
        if (text !== undefined) manifest = parseManifest(text);
        continue;
      }
      const pom = POM_FILE.exec(entry.name);
      if (pom !== null) {
        const dir = `${pom[1]!}/${pom[2]!}`;
        poms.set(dir, { ...poms.get(dir), [pom[3] === 'xml' ? 'xml' : 'properties']: entry });
      } else if (ARCHIVE.test(entry.name)) children.push(entry);
    }

    const own: RawPackage[] = [];
    for (const [dir, files] of poms) {
      if (files.properties === undefined) continue;
      const text = await this.text(zip, files.properties, virtualPath);
      if (text === undefined) continue;
      const props = parseProperties(text);
      const [dirGroup, dirArtifact] = dir.split('/') as [string, string];
      const artifact = props.get('artifactId') || dirArtifact;
      const version = props.get('version') ?? '';
      if (version === '') continue;
      const xml = files.xml !== undefined ? await this.text(zip, files.xml, virtualPath) : undefined;
      const licenses = xml !== undefined ? pomLicenses(xml) : [];
      own.push({ type: 'maven', namespace: props.get('groupId') || dirGroup, name: artifact, version, ...(licenses.length > 0 ? { licenses } : {}), ...location });
    }

    const fromName = archiveFilename(virtualPath.slice(virtualPath.lastIndexOf('/') + 1));
    let main = ownPom(own, fromName.name, manifest);
    if (main === undefined) {
      const name = manifestName(manifest, fromName.name);
      const version = fromName.version || firstField(manifest, ['implementation-version', 'specification-version', 'plugin-version', 'bundle-version']);
      if (name !== '' && version !== '') {
        const group = manifestGroup(manifest);
        main = { type: 'maven', ...(group !== undefined ? { namespace: group } : {}), name, version, ...location };
        own.unshift(main);
      }
    }

    const childKeys: string[] = [];
    for (const entry of children) {
      const key = await this.child(zip, entry, `${virtualPath}!/${entry.name}`, depth + 1);
      if (key !== undefined) childKeys.push(key);
    }

    for (const p of own) {
      if (p === main) {
        const licenses = normalizeLicenses([...(p.licenses ?? []), ...manifestLicenses(manifest)]);
        const dependsOn = [...new Set([...own.filter((x) => x !== p).map(packageKey), ...childKeys])];
        this.add({ ...p, ...(licenses.length > 0 ? { licenses } : {}), ...(dependsOn.length > 0 ? { dependsOn } : {}) });
      } else this.add(p);
    }
    return main !== undefined ? packageKey(main) : undefined;
  }

  private add(p: RawPackage): void {
    const id = `${packageKey(p)}\0${p.locations?.[0]?.path ?? ''}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.packages.push(p);
  }

  private async child(zip: Zip, entry: ZipEntry, virtualPath: string, depth: number): Promise<string | undefined> {
    if (depth > MAX_DEPTH) {
      if (!this.tooDeep) this.warn(`${virtualPath}: archives nested more than ${MAX_DEPTH} deep are not read`);
      this.tooDeep = true;
      return undefined;
    }
    if (this.archives >= MAX_ARCHIVES) {
      if (!this.tooMany) this.warn(`${virtualPath}: more than ${MAX_ARCHIVES} nested archives, the rest are not read`);
      this.tooMany = true;
      return undefined;
    }
    let held = 0;
    try {
      let file: CatalogFile;
      if (entry.method === 0) file = await zip.view(entry, virtualPath);
      else {
        const bytes = await zip.read(entry, Math.min(MAX_NESTED_BYTES, MAX_HELD_BYTES - this.held, MAX_INFLATED_BYTES - this.inflated));
        held = bytes.length;
        this.held += held;
        this.inflated += held;
        file = fileFromBytes(virtualPath, bytes);
      }
      return await this.archive(file, virtualPath, depth);
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      this.warn(`${virtualPath}: ${err.message}`);
      return undefined;
    } finally {
      this.held -= held;
    }
  }

  /** A small metadata entry as text, or undefined (with a warning) when it cannot be read. */
  private async text(zip: Zip, entry: ZipEntry, virtualPath: string): Promise<string | undefined> {
    try {
      const bytes = await zip.read(entry, Math.min(MAX_METADATA_BYTES, MAX_INFLATED_BYTES - this.inflated));
      this.inflated += bytes.length;
      return Buffer.from(bytes).toString('utf8');
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      this.warn(`${virtualPath}: ${err.message}`);
      return undefined;
    }
  }
}

/**
 * Which pom.properties is the archive's own: the one named as the file is (exactly, else by
 * Syft's prefix/suffix match), else a lone one, unless the manifest states another release (a jar
 * that shades a single dependency, like Guice with cglib).
 */
function ownPom(poms: readonly RawPackage[], fileName: string, manifest: Manifest | undefined): RawPackage | undefined {
  const named = poms.find((p) => p.name === fileName) ?? (fileName !== '' ? poms.find((p) => p.name.startsWith(fileName) || fileName.endsWith(p.name)) : undefined);
  if (named !== undefined || poms.length !== 1) return named;
  const stated = firstField(manifest, ['implementation-version', 'bundle-version']);
  return stated === '' || sameRelease(stated, poms[0]!.version) ? poms[0] : undefined;
}

/** Whether two spellings name the same release: `31.1.0.jre` (OSGi) and `31.1-jre` (Maven) do. */
function sameRelease(a: string, b: string): boolean {
  const numbers = (v: string): string => (/^\d+(?:\.\d+)*/.exec(v)?.[0] ?? v).replace(/(\.0)+$/, '');
  return numbers(a) === numbers(b);
}

// ---- META-INF/MANIFEST.MF ----

/** Attribute names lower-cased (they are case-insensitive); the main section first. */
type Manifest = Map<string, string>[];

/** The JAR manifest format: `Name: value` lines, continuation lines start with one space, blank lines end sections. */
function parseManifest(text: string): Manifest {
  const sections: Manifest = [new Map()];
  let key: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    const section = sections[sections.length - 1]!;
    if (line === '') {
      if (section.size > 0) sections.push(new Map());
      key = undefined;
    } else if (line.startsWith(' ')) {
      if (key !== undefined) section.set(key, section.get(key)! + line.slice(1));
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      key = line.slice(0, colon).trim().toLowerCase();
      section.set(key, line.slice(colon + 1).replace(/^ /, ''));
    }
  }
  return sections;
}

function mainField(manifest: Manifest | undefined, name: string): string {
  return manifest?.[0]?.get(name)?.trim() ?? '';
}

/** The first of `names` set in the main section, else in any entry section (as Syft looks). */
function firstField(manifest: Manifest | undefined, names: readonly string[]): string {
  for (const name of names) {
    for (const section of manifest ?? []) {
      const v = section.get(name)?.trim();
      if (v) return v;
    }
  }
  return '';
}

function manifestName(manifest: Manifest | undefined, fileName: string): string {
  // maven-bundle-plugin writes Bundle-SymbolicName as groupId.artifactId.
  const symbolic = mainField(manifest, 'bundle-symbolicname').split(';')[0]!.trim();
  if (mainField(manifest, 'created-by').includes('Apache Maven Bundle Plugin') && symbolic !== '' && symbolic !== mainField(manifest, 'implementation-vendor-id')) {
    return symbolic.slice(symbolic.lastIndexOf('.') + 1);
  }
  if (fileName !== '') return artifactFromFilename(fileName);
  for (const f of ['name', 'bundle-name', 'short-name', 'extension-name', 'implementation-title']) {
    const v = mainField(manifest, f);
    if (v !== '') return v;
  }
  return '';
}

/** A file named groupId.artifactId (every part a Java identifier) names its artifact last; Eclipse bundles keep the dots. */
function artifactFromFilename(name: string): string {
  if (!name.includes('.') || name.startsWith('org.eclipse.')) return name;
  const parts = name.split('.');
  return parts.every((p) => /^[\p{L}\p{Nl}\p{Sc}\p{Pc}]/u.test(p)) ? parts[parts.length - 1]! : name;
}

const GROUP_FIELDS = ['implementation-vendor-id', 'bundle-symbolicname', 'extension-name', 'specification-vendor', 'implementation-vendor', 'implementation-title', 'automatic-module-name'];
const REVERSE_DOMAIN = /^(com|org|net|io|be)\.[A-Za-z0-9_.-]+$/;

function manifestGroup(manifest: Manifest | undefined): string | undefined {
  for (const f of GROUP_FIELDS) {
    const v = mainField(manifest, f).split(';')[0]!.trim();
    if (REVERSE_DOMAIN.test(v)) return v;
  }
  return undefined;
}

function manifestLicenses(manifest: Manifest | undefined): string[] {
  const out: string[] = [];
  const bundle = firstField(manifest, ['bundle-license']);
  if (bundle !== '' && !bundle.startsWith('<<EXTERNAL>>')) {
    // "Apache License, Version 2.0" is one license with a comma; OSGi lists are comma-separated.
    const parts = toSpdxId(bundle) !== undefined ? [bundle] : splitOutside(bundle, ',');
    for (const part of parts) {
      const name = unquote(splitOutside(part, ';')[0]!.trim());
      if (name !== '') out.push(licenseFromUrl(name) ?? name);
    }
  }
  const plugin = firstField(manifest, ['plugin-license-name']);
  if (plugin !== '') out.push(plugin);
  return out;
}

function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** License pages that manifests and poms name instead of the license. */
const LICENSE_URLS: Readonly<Record<string, string>> = {
  'apache.org/licenses/license-2.0': 'Apache-2.0',
  'eclipse.org/legal/epl-v10': 'EPL-1.0',
  'eclipse.org/legal/epl-v20': 'EPL-2.0',
  'eclipse.org/legal/epl-2.0': 'EPL-2.0',
  'eclipse.org/org/documents/edl-v10': 'BSD-3-Clause',
  'mozilla.org/mpl/2.0': 'MPL-2.0',
  'opensource.org/licenses/mit-license': 'MIT',
};

function licenseFromUrl(url: string): string | undefined {
  const m = /^https?:\/\/(?:www\.)?(.+?)(?:\.(?:txt|html?|php))?\/?$/i.exec(url.trim());
  if (m === null) return undefined;
  const key = m[1]!.toLowerCase();
  const known = LICENSE_URLS[key];
  if (known !== undefined) return known;
  // opensource.org/licenses/<SPDX id>
  const osi = /^opensource\.org\/licenses\/([^/]+)$/.exec(key);
  return osi !== null ? toSpdxId(osi[1]!) : undefined;
}

// ---- pom.properties and pom.xml ----

/** java.util.Properties text: `key=value`, `key: value` or `key value`, # and ! comments, backslash escapes and continuations. */
function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  const trimStart = (l: string): string => l.replace(/^[ \t\f]+/, '');
  for (let i = 0; i < lines.length; i++) {
    let piece = trimStart(lines[i]!);
    if (piece === '' || piece.startsWith('#') || piece.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the line; pieces are joined once, not re-scanned.
    const pieces: string[] = [];
    while (endsWithOddBackslashes(piece) && i + 1 < lines.length) {
      pieces.push(piece.slice(0, -1));
      piece = trimStart(lines[++i]!);
    }
    pieces.push(piece);
    const line = pieces.join('');
    let k = 0;
    while (k < line.length && !'=: \t\f'.includes(line[k]!)) k += line[k] === '\\' ? 2 : 1;
    const key = line.slice(0, k);
    const rest = line.slice(k).replace(/^[ \t\f]*[=:]?[ \t\f]*/, '');
    if (!out.has(unescapeProperty(key))) out.set(unescapeProperty(key), unescapeProperty(rest).trim());
  }
  return out;
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  while (n < s.length && s[s.length - 1 - n] === '\\') n++;
  return n % 2 === 1;
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : e === 'f' ? '\f' : e;
  });
}

/** License names (or known license URLs) of a pom's `<licenses>`, scanned without regex backtracking. */
function pomLicenses(xml: string): string[] {
  const start = xml.indexOf('<licenses>');
  const end = start < 0 ? -1 : xml.indexOf('</licenses>', start);
  if (end < 0) return [];
  const block = xml.slice(start, end);
  const out: string[] = [];
  let i = block.indexOf('<license>');
  while (i >= 0) {
    const close = block.indexOf('</license>', i);
    const license = block.slice(i, close < 0 ? block.length : close);
    const name = element(license, 'name');
    const url = element(license, 'url');
    const id = name !== undefined ? name : url !== undefined ? (licenseFromUrl(url) ?? url) : undefined;
    if (id !== undefined && id !== '') out.push(id);
    if (close < 0) break;
    i = block.indexOf('<license>', close);
  }
  return normalizeLicenses(out);
}

function element(xml: string, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`);
  if (open < 0) return undefined;
  const close = xml.indexOf(`</${tag}>`, open);
  if (close < 0) return undefined;
  return xml
    .slice(open + tag.length + 2, close)
    .replaceAll('<![CDATA[', '')
    .replaceAll(']]>', '')
    .replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!)
    .trim();
}

// ---- file names ----

/**
 * Name and version from an archive's file name, as Syft's pattern reads it: dash-separated words
 * that start with a letter are the name; the first part starting with a digit (or `build<n>`, or a
 * final `r<n>`/`rc<n>`) begins the version. `foo_1.2` and `foo.1.2` are read too.
 */
function archiveFilename(fileName: string): { name: string; version: string } {
  const stem = fileName.replace(/\.[^.]*$/, '');
  const parts = stem.split('-');
  let i = 0;
  let version = '';
  for (; i < parts.length; i++) {
    const part = parts[i]!;
    if (i > 0 && (/^(\d|build\d)/i.test(part) || /^rc?\d+$/i.test(parts.slice(i).join('-')))) {
      version = parts.slice(i).join('-');
      break;
    }
    if (!/^[A-Za-z][\w.]*$/.test(part)) return { name: '', version: '' };
  }
  let name = parts.slice(0, i).join('-');
  if (version === '') {
    const m = /[._-](?:\d.*|build\d+.*|rc?\d+)$/i.exec(name);
    if (m !== null) {
      version = m[0].slice(1);
      name = name.slice(0, m.index);
    }
  }
  return { name, version };
}
