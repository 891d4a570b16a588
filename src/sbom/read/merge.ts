/**
 * From the package entries of either format (drafts) to the inventory: a package's identity from
 * its purl, its version from the document's field, its source package, epoch and distribution
 * from the writers' properties; entries of one purl merged, ids kept, dependencies resolved.
 */
import { createHash } from 'node:crypto';
import type { PackageURL as PackageURLT } from 'packageurl-js';
import { normalizeLicenses } from '../licenses.js';
import { PACKAGE_TYPES, type Distro, type ImageSubject, type Inventory, type Location, type Package, type PackageType } from '../model.js';
import { first, purlClass, type Props } from './common.js';

/** One package entry of the document, before its purl is read. */
export interface Draft {
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

export class Reader {
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

export function distroId(name: string): string {
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
