/**
 * Reading an SBOM back into an inventory: CycloneDX JSON (1.x) and SPDX 2.2/2.3 JSON, as Portcullis,
 * Trivy and Syft write them. Used by `portcullis scan sbom:FILE` and by the registry, which
 * re-evaluates stored images from their stored SBOMs. Pure: it takes the document, never a file.
 *
 * A package's identity comes from its purl (type, namespace, name, qualifiers); its version from
 * the document's own field (the purl may drop a deb/rpm epoch or Go's `go` prefix). What the purl
 * cannot say (source package, file locations, layers) comes from the writer's properties:
 * Portcullis's `portcullis:*`, Trivy's `aquasecurity:trivy:*`, Syft's `syft:*`.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PackageURL as PackageURLT } from 'packageurl-js';
import { AppError } from '../shared/index.js';
import { normalizeLicenses } from './licenses.js';
import { PACKAGE_TYPES, type Distro, type ImageSubject, type Inventory, type Location, type Package, type PackageType } from './model.js';

export type SbomDocumentFormat = 'cyclonedx-json' | 'spdx-json';

export interface SbomDocument {
  readonly format: SbomDocumentFormat;
  /** CycloneDX `specVersion` (`1.6`) or the SPDX version without its prefix (`2.3`). */
  readonly specVersion: string;
  readonly inventory: Inventory;
}

export type SbomErrorCode =
  /** Not a document at all: not JSON, or CycloneDX/SPDX JSON missing what the format requires. */
  | 'SBOM_INVALID'
  /** A document in a format or version Portcullis does not read (CycloneDX XML, SPDX tag-value, ...). */
  | 'SBOM_UNSUPPORTED';

export class SbomError extends AppError<SbomErrorCode> {
  constructor(code: SbomErrorCode, message: string, options: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'SbomError';
  }
}

const SUPPORTED = 'Portcullis reads CycloneDX JSON (1.x) and SPDX 2.2/2.3 JSON';

// packageurl-js is loaded on first use, as in assemble.ts.
const requireLazy = createRequire(import.meta.url);
let PurlCtor: typeof PackageURLT | undefined;
function purlClass(): typeof PackageURLT {
  return (PurlCtor ??= (requireLazy('packageurl-js') as { PackageURL: typeof PackageURLT }).PackageURL);
}

/** `input` is the document's text or the already-parsed JSON; `name` (a file name) labels errors and is the fallback subject. */
export function readSbom(input: string | object, name?: string): SbomDocument {
  const label = name ?? 'SBOM';
  const doc = typeof input === 'string' ? parseText(input, label) : input;
  if (!isObject(doc)) throw new SbomError('SBOM_UNSUPPORTED', `${label}: JSON but not an object; ${SUPPORTED}`);
  if (doc['bomFormat'] === 'CycloneDX') return readCycloneDx(doc, label, name);
  if (typeof doc['spdxVersion'] === 'string') return readSpdx(doc, label, name);
  if (JSON.stringify(doc['@context'] ?? '').includes('spdx.org/rdf/3')) throw new SbomError('SBOM_UNSUPPORTED', `${label}: SPDX 3 JSON-LD is not supported; ${SUPPORTED}`);
  throw new SbomError('SBOM_UNSUPPORTED', `${label}: JSON that is neither CycloneDX (no bomFormat "CycloneDX") nor SPDX (no spdxVersion); ${SUPPORTED}`);
}

function parseText(text: string, label: string): unknown {
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (body.startsWith('<')) {
    const kind = /cyclonedx/i.test(body.slice(0, 4096)) ? 'CycloneDX XML' : /spdx/i.test(body.slice(0, 4096)) ? 'SPDX RDF/XML' : 'XML';
    throw new SbomError('SBOM_UNSUPPORTED', `${label}: ${kind} is not supported; ${SUPPORTED}`);
  }
  if (/^SPDXVersion:\s*SPDX-/m.test(body.slice(0, 4096))) throw new SbomError('SBOM_UNSUPPORTED', `${label}: SPDX tag-value is not supported; ${SUPPORTED}`);
  if (/^spdxVersion:\s*/m.test(body.slice(0, 4096))) throw new SbomError('SBOM_UNSUPPORTED', `${label}: SPDX YAML is not supported; ${SUPPORTED}`);
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new SbomError('SBOM_INVALID', `${label}: not JSON (${err instanceof Error ? err.message : String(err)}); ${SUPPORTED}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers

type Json = Readonly<Record<string, unknown>>;
type Props = ReadonlyMap<string, readonly string[]>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function objects(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}
function first(props: Props, key: string): string | undefined {
  return props.get(key)?.[0];
}
function addProp(props: Map<string, string[]>, key: string, value: string): void {
  const list = props.get(key);
  if (list === undefined) props.set(key, [value]);
  else list.push(value);
}

// ---------------------------------------------------------------------------------------------
// CycloneDX

function readCycloneDx(doc: Json, label: string, name: string | undefined): SbomDocument {
  const specVersion = str(doc['specVersion']);
  if (specVersion === undefined) throw new SbomError('SBOM_INVALID', `${label}: CycloneDX document without specVersion`);
  if (!/^1\.\d+$/.test(specVersion)) throw new SbomError('SBOM_UNSUPPORTED', `${label}: CycloneDX ${specVersion} is not supported; ${SUPPORTED}`);
  if (doc['components'] !== undefined && !Array.isArray(doc['components'])) throw new SbomError('SBOM_INVALID', `${label}: CycloneDX components is not an array`);

  const reader = new Reader();
  let os: Json | undefined;
  const walk = (list: unknown): void => {
    for (const c of objects(list)) {
      const type = str(c['type']);
      const purl = str(c['purl']);
      if (type === 'operating-system') os ??= c;
      else if (purl !== undefined) reader.add(draftOfComponent(c, purl));
      else if (type === undefined || type === 'library' || type === 'framework') reader.noPurl++;
      walk(c['components']);
    }
  };
  walk(doc['components']);

  for (const d of objects(doc['dependencies'])) {
    const ref = str(d['ref']);
    if (ref === undefined) continue;
    for (const dep of Array.isArray(d['dependsOn']) ? d['dependsOn'] : []) {
      const target = typeof dep === 'string' ? dep : isObject(dep) ? str(dep['ref']) : undefined;
      if (target !== undefined) reader.edge(ref, target);
    }
  }

  const metadata = isObject(doc['metadata']) ? doc['metadata'] : undefined;
  const image = metadata !== undefined && isObject(metadata['component']) ? metadata['component'] : undefined;
  const subject = subjectOf(image === undefined ? undefined : imageFactsOfComponent(image), name);
  const distro = os !== undefined ? distroOfOsComponent(os) : undefined;
  return { format: 'cyclonedx-json', specVersion, inventory: reader.finish(subject, distro) };
}

function propsOf(c: Json): Map<string, string[]> {
  const props = new Map<string, string[]>();
  for (const p of objects(c['properties'])) {
    const key = str(p['name']);
    const value = typeof p['value'] === 'string' ? p['value'] : undefined;
    if (key !== undefined && value !== undefined) addProp(props, key, value);
  }
  return props;
}

function draftOfComponent(c: Json, purl: string): Draft {
  const props = propsOf(c);
  const evidence = isObject(c['evidence']) ? c['evidence'] : undefined;
  const occurrences = objects(evidence?.['occurrences'])
    .map((o) => str(o['location']))
    .filter((p): p is string => p !== undefined)
    .map((path) => ({ path: stripSlash(path) }));
  const licenses: string[] = [];
  for (const l of objects(c['licenses'])) {
    const expression = str(l['expression']);
    const license = isObject(l['license']) ? l['license'] : undefined;
    const text = expression ?? str(license?.['id']) ?? str(license?.['name']);
    if (text !== undefined) licenses.push(text);
  }
  const docName = str(c['name']);
  const docVersion = str(c['version']);
  const ref = str(c['bom-ref']);
  return {
    purl,
    props,
    locations: [...locationsOfProps(props), ...occurrences],
    licenses,
    label: docName ?? purl,
    ...(ref !== undefined ? { ref } : {}),
    ...(docName !== undefined ? { docName } : {}),
    ...(docVersion !== undefined ? { docVersion } : {}),
  };
}

function imageFactsOfComponent(c: Json): ImageFacts {
  const sha256 = objects(c['hashes']).find((h) => str(h['alg']) === 'SHA-256');
  const name = str(c['name']);
  const version = str(c['version']);
  const purl = str(c['purl']);
  const hash = sha256 === undefined ? undefined : str(sha256['content']);
  return {
    props: propsOf(c),
    ...(name !== undefined ? { name } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(purl !== undefined ? { purl } : {}),
    ...(hash !== undefined ? { sha256: hash } : {}),
  };
}

function distroOfOsComponent(c: Json): Distro | undefined {
  const props = propsOf(c);
  const id = first(props, 'syft:distro:id') ?? str(c['name']);
  if (id === undefined) return undefined;
  const versionId = first(props, 'syft:distro:versionID') ?? str(c['version']);
  const codename = first(props, 'syft:distro:versionCodename');
  const prettyName = first(props, 'syft:distro:prettyName') ?? str(c['description']);
  const idLike = [...props.entries()].filter(([k]) => /^syft:distro:idLike:\d+$/.test(k)).flatMap(([, v]) => v);
  return {
    id: distroId(id),
    ...(versionId !== undefined ? { versionId } : {}),
    ...(codename !== undefined ? { versionCodename: codename } : {}),
    ...(prettyName !== undefined ? { prettyName } : {}),
    ...(idLike.length > 0 ? { idLike } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// SPDX 2.x

function readSpdx(doc: Json, label: string, name: string | undefined): SbomDocument {
  const version = str(doc['spdxVersion']) ?? '';
  const m = /^SPDX-(2\.\d+)$/.exec(version);
  if (m === null) throw new SbomError('SBOM_UNSUPPORTED', `${label}: ${version === '' ? 'an empty spdxVersion' : version} is not supported; ${SUPPORTED}`);
  if (doc['packages'] !== undefined && !Array.isArray(doc['packages'])) throw new SbomError('SBOM_INVALID', `${label}: SPDX packages is not an array`);

  const extracted = new Map<string, string>();
  for (const e of objects(doc['hasExtractedLicensingInfos'])) {
    const id = str(e['licenseId']);
    const text = str(e['name']) ?? str(e['extractedText']);
    if (id !== undefined && text !== undefined) extracted.set(id, text);
  }

  const packages = objects(doc['packages']);
  const relationships = objects(doc['relationships']);
  const described = new Set<string>();
  for (const r of relationships) {
    if (str(r['spdxElementId']) === 'SPDXRef-DOCUMENT' && str(r['relationshipType']) === 'DESCRIBES') described.add(str(r['relatedSpdxElement']) ?? '');
  }
  for (const id of Array.isArray(doc['documentDescribes']) ? doc['documentDescribes'] : []) if (typeof id === 'string') described.add(id);

  const reader = new Reader();
  let image: Json | undefined;
  let os: Json | undefined;
  const packageIds = new Set<string>();
  for (const p of packages) {
    const id = str(p['SPDXID']) ?? '';
    const purpose = str(p['primaryPackagePurpose']);
    if (purpose === 'OPERATING-SYSTEM' || id.startsWith('SPDXRef-OperatingSystem')) {
      os ??= p;
      continue;
    }
    const purl = objects(p['externalRefs']).find((r) => str(r['referenceType']) === 'purl');
    const locator = purl === undefined ? undefined : str(purl['referenceLocator']);
    // The described element is the image (or a directory); a described package with a purl is a package too.
    if (purpose === 'CONTAINER' || (described.has(id) && (locator === undefined || locator.startsWith('pkg:oci/')))) {
      image ??= p;
      continue;
    }
    if (locator === undefined) {
      if ((purpose === undefined && !id.startsWith('SPDXRef-Application')) || purpose === 'LIBRARY' || purpose === 'FRAMEWORK') reader.noPurl++;
      continue;
    }
    packageIds.add(id);
    reader.add(draftOfSpdxPackage(p, locator, extracted));
  }

  for (const r of relationships) {
    const from = str(r['spdxElementId']);
    const to = str(r['relatedSpdxElement']);
    if (from === undefined || to === undefined || !packageIds.has(from) || !packageIds.has(to)) continue;
    switch (str(r['relationshipType'])) {
      case 'DEPENDS_ON':
      case 'CONTAINS':
        reader.edge(from, to);
        break;
      case 'DEPENDENCY_OF':
      case 'CONTAINED_BY':
        reader.edge(to, from);
        break;
      default:
        break;
    }
  }

  const docName = str(doc['name']);
  const facts = image === undefined ? undefined : imageFactsOfSpdx(image);
  const subject = subjectOf(facts !== undefined ? { ...facts, ...(facts.name === undefined && docName !== undefined ? { name: docName } : {}) } : docName !== undefined ? { name: docName, props: new Map() } : undefined, name);
  const distro = os === undefined ? undefined : distroOfSpdx(os);
  return { format: 'spdx-json', specVersion: m[1]!, inventory: reader.finish(subject, distro) };
}

/** Trivy states its facts as `Key: value` attribution texts (older) or annotation comments (newer). */
function spdxProps(p: Json): Map<string, string[]> {
  const props = new Map<string, string[]>();
  const texts = [
    ...(Array.isArray(p['attributionTexts']) ? p['attributionTexts'].filter((t): t is string => typeof t === 'string') : []),
    ...objects(p['annotations'])
      .map((a) => str(a['comment']))
      .filter((t): t is string => t !== undefined),
  ];
  for (const t of texts) {
    const m = /^([A-Za-z]+): (.+)$/.exec(t);
    if (m !== null) addProp(props, `aquasecurity:trivy:${m[1]!}`, m[2]!);
  }
  return props;
}

function draftOfSpdxPackage(p: Json, purl: string, extracted: ReadonlyMap<string, string>): Draft {
  const props = spdxProps(p);
  const locations = [...locationsOfProps(props)];
  const sourceInfo = str(p['sourceInfo']);
  // Syft: "acquired package info from DPKG DB: /var/lib/dpkg/status, /usr/share/doc/x/copyright".
  const acquired = sourceInfo === undefined ? null : /^acquired package info from [^:]+: (.+)$/.exec(sourceInfo);
  if (acquired !== null) for (const path of acquired[1]!.split(/, (?=\/)/)) locations.push({ path: stripSlash(path.trim()) });
  // Portcullis: "found at /var/lib/dpkg/status (layer sha256:...), /other".
  const comment = str(p['comment']);
  if (comment?.startsWith('found at ') === true) {
    for (const item of comment.slice('found at '.length).split(/, (?=\/)/)) {
      const m = /^(\/.*?)(?: \(layer ([^)\s]+)\))?$/.exec(item);
      if (m !== null) locations.push({ path: stripSlash(m[1]!), ...(m[2] !== undefined ? { layer: m[2] } : {}) });
    }
  }
  // Portcullis: "built from source package glibc 2.36-9"; Trivy: "built package from: openssl 3.0.11-1~deb12u2".
  const built = sourceInfo === undefined ? null : /^built (?:from source package|package from:) (\S+)(?: (\S+))?$/.exec(sourceInfo);
  const declared = str(p['licenseDeclared']);
  const concluded = str(p['licenseConcluded']);
  const expression = declared !== undefined && declared !== 'NOASSERTION' && declared !== 'NONE' ? declared : concluded !== undefined && concluded !== 'NOASSERTION' && concluded !== 'NONE' ? concluded : undefined;
  const docName = str(p['name']);
  const docVersion = str(p['versionInfo']);
  const ref = str(p['SPDXID']);
  return {
    purl,
    props,
    locations,
    licenses: expression === undefined ? [] : splitAnd(expression).map((l) => extracted.get(l) ?? l),
    label: docName ?? purl,
    ...(ref !== undefined ? { ref } : {}),
    ...(docName !== undefined ? { docName } : {}),
    ...(docVersion !== undefined ? { docVersion } : {}),
    ...(built !== null ? { sourceHint: { name: built[1]!, ...(built[2] !== undefined ? { version: built[2] } : {}) } } : {}),
  };
}

/** `A AND (B OR C)` → [A, B OR C]: the list the writers joined. */
function splitAnd(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && expression.startsWith(' AND ', i)) {
      parts.push(expression.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(expression.slice(start));
  return parts.map((p) => {
    const t = p.trim();
    return t.startsWith('(') && t.endsWith(')') && balanced(t.slice(1, -1)) ? t.slice(1, -1) : t;
  });
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function imageFactsOfSpdx(p: Json): ImageFacts {
  const purlRef = objects(p['externalRefs']).find((r) => str(r['referenceType']) === 'purl');
  const sha256 = objects(p['checksums']).find((c) => str(c['algorithm']) === 'SHA256');
  const name = str(p['name']);
  const version = str(p['versionInfo']);
  const purl = purlRef === undefined ? undefined : str(purlRef['referenceLocator']);
  const hash = sha256 === undefined ? undefined : str(sha256['checksumValue']);
  return {
    props: spdxProps(p),
    ...(name !== undefined ? { name } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(purl !== undefined ? { purl } : {}),
    ...(hash !== undefined ? { sha256: hash } : {}),
  };
}

function distroOfSpdx(p: Json): Distro | undefined {
  const id = str(p['name']);
  if (id === undefined) return undefined;
  const versionId = str(p['versionInfo']);
  const prettyName = str(p['comment']) ?? str(p['description']);
  return { id: distroId(id), ...(versionId !== undefined ? { versionId } : {}), ...(prettyName !== undefined ? { prettyName } : {}) };
}

// ---------------------------------------------------------------------------------------------
// From drafts to packages

/** One package entry of the document, before its purl is read. */
interface Draft {
  readonly ref?: string;
  readonly docName?: string;
  readonly docVersion?: string;
  readonly purl: string;
  readonly props: Props;
  readonly locations: readonly Location[];
  readonly licenses: readonly string[];
  /** SPDX sourceInfo naming the source package. */
  readonly sourceHint?: { readonly name: string; readonly version?: string };
  /** For warnings. */
  readonly label: string;
}

interface Entry {
  pkg: Omit<Package, 'id' | 'dependsOn' | 'locations' | 'licenses'>;
  locations: Location[];
  locationKeys: Set<string>;
  licenses: Set<string>;
  refs: string[];
  /** Distro from the purl's `distro` qualifier (OS packages). */
  distroHint?: Distro;
}

const MAX_LISTED = 10;

class Reader {
  noPurl = 0;
  private readonly unsupported = new Map<string, number>();
  private readonly broken: string[] = [];
  private readonly byPurl = new Map<string, Entry>();
  private readonly byRef = new Map<string, Entry>();
  private readonly edges: [string, string][] = [];

  add(d: Draft): void {
    let parsed: PackageURLT;
    try {
      parsed = purlClass().fromString(d.purl);
    } catch (err) {
      this.broken.push(`${JSON.stringify(d.label)}: purl ${JSON.stringify(d.purl)} does not parse (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    const type = parsed.type.toLowerCase();
    if (!isPackageType(type)) {
      this.unsupported.set(type, (this.unsupported.get(type) ?? 0) + 1);
      return;
    }
    const canonical = canonicalPurl(parsed, d.purl);
    let entry = this.byPurl.get(canonical);
    if (entry === undefined) {
      entry = newEntry(type, parsed, canonical, d);
      this.byPurl.set(canonical, entry);
    }
    for (const l of d.locations) {
      const key = `${l.path}\0${l.layer ?? ''}`;
      if (entry.locationKeys.has(key)) continue;
      entry.locationKeys.add(key);
      entry.locations.push(l);
    }
    for (const l of d.licenses) entry.licenses.add(l);
    if (d.ref !== undefined) {
      entry.refs.push(d.ref);
      if (!this.byRef.has(d.ref)) this.byRef.set(d.ref, entry);
    }
  }

  edge(from: string, to: string): void {
    this.edges.push([from, to]);
  }

  finish(subject: ImageSubject, stated: Distro | undefined): Inventory {
    const entries = [...this.byPurl.values()].sort((a, b) => (a.pkg.purl < b.pkg.purl ? -1 : a.pkg.purl > b.pkg.purl ? 1 : 0));
    const ids = new Map<Entry, string>();
    const used = new Set<string>();
    for (const e of entries) {
      const own = e.refs.map(idOfRef).find((id) => id !== undefined && !used.has(id));
      const id = own ?? computedId(e.pkg.type, e.pkg.name, e.pkg.purl);
      ids.set(e, id);
      used.add(id);
    }
    const deps = new Map<Entry, Set<string>>();
    for (const [from, to] of this.edges) {
      const a = this.byRef.get(from);
      const b = this.byRef.get(to);
      if (a === undefined || b === undefined || a === b) continue;
      let set = deps.get(a);
      if (set === undefined) deps.set(a, (set = new Set()));
      set.add(ids.get(b)!);
    }
    const packages: Package[] = entries.map((e) => ({
      ...e.pkg,
      id: ids.get(e)!,
      licenses: normalizeLicenses(e.licenses),
      locations: e.locations,
      dependsOn: [...(deps.get(e) ?? [])].sort(),
    }));

    const warnings: string[] = [];
    if (this.noPurl > 0) warnings.push(`${this.noPurl} ${this.noPurl === 1 ? 'package has' : 'packages have'} no purl: skipped`);
    if (this.unsupported.size > 0) {
      const total = [...this.unsupported.values()].reduce((a, b) => a + b, 0);
      const types = [...this.unsupported.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, n]) => `${t} ×${n}`);
      warnings.push(`${total} ${total === 1 ? 'package' : 'packages'} of purl types Portcullis does not match skipped (${types.join(', ')})`);
    }
    for (const b of this.broken.slice(0, MAX_LISTED)) warnings.push(`skipped ${b}`);
    if (this.broken.length > MAX_LISTED) warnings.push(`skipped ${this.broken.length - MAX_LISTED} more packages whose purl does not parse`);

    const distro = stated ?? entries.find((e) => e.distroHint !== undefined)?.distroHint;
    return { subject, ...(distro !== undefined ? { distro } : {}), packages, warnings };
  }
}

function isPackageType(type: string): type is PackageType {
  return (PACKAGE_TYPES as readonly string[]).includes(type);
}

/** The purl as packageurl-js writes it (as purlOf does): qualifiers sorted, one escaping. */
function canonicalPurl(p: PackageURLT, given: string): string {
  try {
    return p.toString();
  } catch {
    return given;
  }
}

function newEntry(type: PackageType, parsed: PackageURLT, canonical: string, d: Draft): Entry {
  const q: Readonly<Record<string, string>> = parsed.qualifiers ?? {};
  const props = d.props;
  const own = (key: string): string | undefined => first(props, `portcullis:package:${key}`);

  // Identity from the purl; Go's module path is namespace + name; OS packages' namespace is the distro.
  let namespace = parsed.namespace ?? undefined;
  let name = parsed.name;
  if (type === 'golang') {
    name = namespace !== undefined && namespace !== '' ? `${namespace}/${name}` : name;
    namespace = undefined;
  } else if (type === 'deb' || type === 'apk' || type === 'rpm') {
    namespace = undefined;
  } else if (d.docName !== undefined && namespace === undefined && looseName(d.docName) === looseName(name)) {
    name = d.docName; // PyPI names as the project writes them (Django_Rest), the purl's normalized form otherwise
  }
  if (namespace === '') namespace = undefined;

  // The document's version field keeps what the purl may drop (a deb/rpm epoch, Go's "go" prefix).
  let version = d.docVersion ?? parsed.version ?? '';
  const purlVersion = parsed.version ?? undefined;
  if (purlVersion !== undefined && purlVersion !== version && purlVersion.endsWith(`:${version}`)) version = purlVersion;
  let epoch: number | undefined;
  const epochText = own('epoch') ?? q['epoch'];
  if (epochText !== undefined && /^\d+$/.test(epochText)) epoch = Number(epochText);
  if (type === 'rpm') {
    const m = /^(\d+):(.*)$/.exec(version);
    if (m !== null) {
      epoch ??= Number(m[1]);
      version = m[2]!;
    }
  } else if (type === 'deb') {
    const m = /^(\d+):/.exec(version);
    if (m !== null) epoch = Number(m[1]);
    else if (epoch !== undefined && epoch !== 0) version = `${epoch}:${version}`;
    else epoch = undefined;
  } else {
    epoch = own('epoch') !== undefined ? epoch : undefined;
  }

  const arch = own('arch') ?? q['arch'];
  const source = type === 'deb' || type === 'apk' || type === 'rpm' ? sourceOf(type, name, version, d, q) : ownSource(props);
  const properties: Record<string, string> = {};
  for (const [key, values] of props) {
    const m = /^portcullis:package:(.+)$/.exec(key);
    if (m === null || ['type', 'source', 'source-version', 'arch', 'epoch'].includes(m[1]!) || values[0] === undefined) continue;
    properties[m[1]!] = values[0];
  }
  const distroHint = type === 'deb' || type === 'apk' || type === 'rpm' ? distroOfQualifier(q['distro'], parsed.namespace ?? undefined, type) : undefined;
  // A language package's qualifiers (conda channel, julia uuid) are part of its identity, as the cataloger gave them.
  const qualifiers = type === 'deb' || type === 'apk' || type === 'rpm' || Object.keys(q).length === 0 ? undefined : { ...q };

  return {
    pkg: {
      type,
      name,
      version,
      purl: canonical,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(source !== undefined ? { source } : {}),
      ...(arch !== undefined && arch !== '' ? { arch } : {}),
      ...(epoch !== undefined ? { epoch } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
      ...(qualifiers !== undefined ? { qualifiers } : {}),
    },
    locations: [],
    locationKeys: new Set(),
    licenses: new Set(),
    refs: [],
    ...(distroHint !== undefined ? { distroHint } : {}),
  };
}

function looseName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function ownSource(props: Props): { name: string; version?: string } | undefined {
  const name = first(props, 'portcullis:package:source');
  if (name === undefined) return undefined;
  const version = first(props, 'portcullis:package:source-version');
  return { name, ...(version !== undefined ? { version } : {}) };
}

/**
 * The source package of an OS package, from the most specific statement: Portcullis's properties,
 * Trivy's Src* properties, Syft's metadata, SPDX sourceInfo, the purl's `upstream`. Without any,
 * a deb or apk is its own source (as the dpkg and apk catalogers say); an rpm has none stated.
 */
function sourceOf(type: 'deb' | 'apk' | 'rpm', name: string, version: string, d: Draft, q: Readonly<Record<string, string>>): { name: string; version?: string } | undefined {
  const own = ownSource(d.props);
  if (own !== undefined) return own;
  const fix = (v: string | undefined): string | undefined => (v === undefined ? undefined : type === 'rpm' ? v.replace(/^\d+:/, '') : v);
  const withVersion = (n: string, v: string | undefined): { name: string; version?: string } => {
    const sv = fix(v) ?? (type === 'rpm' ? undefined : version);
    return { name: n, ...(sv !== undefined ? { version: sv } : {}) };
  };

  const trivyName = first(d.props, 'aquasecurity:trivy:SrcName');
  if (trivyName !== undefined) {
    const v = first(d.props, 'aquasecurity:trivy:SrcVersion');
    const release = first(d.props, 'aquasecurity:trivy:SrcRelease');
    const epoch = first(d.props, 'aquasecurity:trivy:SrcEpoch');
    let sv = v === undefined ? undefined : release !== undefined ? `${v}-${release}` : v;
    if (sv !== undefined && type === 'deb' && epoch !== undefined && epoch !== '0' && !/^\d+:/.test(sv)) sv = `${epoch}:${sv}`;
    return withVersion(trivyName, sv);
  }
  // Syft's metadata: dpkg's Source (and its version when it differs), apk's origin.
  const syftName = first(d.props, 'syft:metadata:source') ?? first(d.props, 'syft:metadata:originPackage');
  if (syftName !== undefined) return withVersion(syftName, first(d.props, 'syft:metadata:sourceVersion'));

  if (d.sourceHint !== undefined) return withVersion(d.sourceHint.name, d.sourceHint.version);
  const upstream = q['upstream'];
  if (upstream !== undefined && upstream !== '') {
    const at = upstream.indexOf('@');
    if (at > 0) return withVersion(upstream.slice(0, at), upstream.slice(at + 1));
    const srpm = type === 'rpm' ? parseSourceRpm(upstream) : undefined;
    if (srpm !== undefined) return srpm;
    return withVersion(upstream, undefined);
  }
  return type === 'rpm' ? undefined : { name, version };
}

/** `openssl-3.0.7-27.el9.src.rpm` → openssl, 3.0.7-27.el9. */
function parseSourceRpm(file: string): { name: string; version: string } | undefined {
  if (!/\.(?:no)?src\.rpm$/.test(file)) return undefined;
  const base = file.replace(/\.(?:no)?src\.rpm$/, '');
  const releaseDash = base.lastIndexOf('-');
  const versionDash = releaseDash <= 0 ? -1 : base.lastIndexOf('-', releaseDash - 1);
  if (versionDash <= 0 || releaseDash === base.length - 1 || versionDash === releaseDash - 1) return undefined;
  return { name: base.slice(0, versionDash), version: base.slice(versionDash + 1) };
}

/** `debian-12`, `alpine-3.19.1`, `opensuse-leap-15.5`; Trivy writes apk's as the bare version (`3.19.1`). */
function distroOfQualifier(value: string | undefined, namespace: string | undefined, type: PackageType): Distro | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d/.test(value)) {
    const id = namespace ?? (type === 'apk' ? 'alpine' : type === 'deb' ? 'debian' : undefined);
    return id === undefined ? undefined : { id: distroId(id), versionId: value };
  }
  const m = /^(.+?)-(\d[^-]*)$/.exec(value);
  return m === null ? { id: distroId(value) } : { id: distroId(m[1]!), versionId: m[2]! };
}

/** Trivy names some distributions by family rather than os-release ID. */
const DISTRO_IDS: Readonly<Record<string, string>> = {
  redhat: 'rhel',
  amazon: 'amzn',
  oracle: 'ol',
  alma: 'almalinux',
  'cbl-mariner': 'mariner',
  'opensuse.leap': 'opensuse-leap',
  'opensuse.tumbleweed': 'opensuse-tumbleweed',
  'suse linux enterprise server': 'sles',
};

function distroId(name: string): string {
  const lower = name.toLowerCase();
  return DISTRO_IDS[lower] ?? lower;
}

/** A bom-ref or SPDX id usable as a package id (the writers' own ids come back as they were). */
function idOfRef(ref: string): string | undefined {
  const id = ref.replace(/^SPDXRef-(?:Package-)?/, '');
  return /^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/.test(id) ? id : undefined;
}

/** As the assembler makes ids: `<type>-<name>-<12 hex of sha256(purl)>`. */
function computedId(type: PackageType, name: string, purl: string): string {
  return `${`${type}-${name}`.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 60)}-${createHash('sha256').update(purl).digest('hex').slice(0, 12)}`;
}

// ---------------------------------------------------------------------------------------------
// Locations and the subject

function stripSlash(path: string): string {
  return path.replace(/^\/+/, '');
}

/** Locations from Portcullis's, Syft's and Trivy's properties, in their index order. */
function locationsOfProps(props: Props): Location[] {
  const indexed = new Map<number, { path?: string; layer?: string }>();
  for (const [key, values] of props) {
    const m = /^(?:portcullis|syft):location:(\d+):(path|layer|layerID)$/.exec(key);
    const value = values[0];
    if (m === null || value === undefined) continue;
    const i = Number(m[1]);
    const slot = indexed.get(i) ?? {};
    if (m[2] === 'path') slot.path = stripSlash(value);
    else slot.layer = value;
    indexed.set(i, slot);
  }
  const out: Location[] = [...indexed.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, s]) => s.path !== undefined)
    .map(([, s]) => ({ path: s.path!, ...(s.layer !== undefined ? { layer: s.layer } : {}) }));
  // Trivy: one FilePath (language packages only) and the layer that added the package.
  const layer = first(props, 'aquasecurity:trivy:LayerDigest');
  const path = first(props, 'aquasecurity:trivy:FilePath');
  if (path !== undefined || layer !== undefined) out.push({ path: stripSlash(path ?? ''), ...(layer !== undefined ? { layer } : {}) });
  return out;
}

interface ImageFacts {
  readonly name?: string;
  readonly version?: string;
  readonly purl?: string;
  readonly sha256?: string;
  readonly props: Props;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Portcullis's non-registry sources: their references are not `name:tag`. */
const TRANSPORT = /^(?:dir|oci-dir|oci-archive|oci|docker-archive|docker-daemon|archive|sbom):/;

function subjectOf(image: ImageFacts | undefined, fallback: string | undefined): ImageSubject {
  const props: Props = image?.props ?? new Map();
  const given = image?.name ?? fallback ?? 'sbom';
  const split = TRANSPORT.test(given) ? undefined : splitReference(given);
  let oci: PackageURLT | undefined;
  try {
    const p = image?.purl === undefined ? undefined : purlClass().fromString(image.purl);
    if (p?.type === 'oci') oci = p;
  } catch {
    // an image purl that does not parse says nothing
  }
  const repoDigest = first(props, 'aquasecurity:trivy:RepoDigest');
  const digest = [image?.version, oci?.version ?? undefined, repoDigest?.slice(repoDigest.indexOf('@') + 1), split?.digest, image?.sha256 === undefined ? undefined : `sha256:${image.sha256}`].find(
    (d): d is string => d !== undefined && DIGEST.test(d),
  );
  const repoTag = first(props, 'aquasecurity:trivy:RepoTag');
  const tag = first(props, 'portcullis:image:tag') ?? (repoTag === undefined ? undefined : splitReference(repoTag).tag) ?? oci?.qualifiers?.['tag'] ?? split?.tag;
  const name = split?.name;
  const reference = split !== undefined && split.tag === undefined && split.digest === undefined && tag !== undefined ? `${given}:${tag}` : given;

  const platform = first(props, 'portcullis:image:platform')?.split('/');
  const layers: { digest: string }[] = [];
  for (const [key, values] of props) {
    const m = /^portcullis:image:layer:(\d+)$/.exec(key);
    if (m !== null && values[0] !== undefined) layers[Number(m[1])] = { digest: values[0] };
  }
  return {
    reference,
    ...(name !== undefined ? { name } : {}),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(platform !== undefined && platform.length >= 2
      ? { platform: { os: platform[0]!, architecture: platform[1]!, ...(platform[2] !== undefined ? { variant: platform[2] } : {}) } }
      : {}),
    layers: layers.filter((l) => l !== undefined),
  };
}

function splitReference(ref: string): { name: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at > 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}
