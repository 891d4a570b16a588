/**
 * From the findings of the files that survive in the squashed image to an inventory: the distro,
 * packages with purls (packageurl-js; OS packages qualified with arch, distro and upstream source),
 * licenses from the package records and from dpkg's copyright files, dependencies resolved to ids.
 * The same package found twice (a lockfile and node_modules) becomes one, with both locations.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PackageURL as PackageURLT } from 'packageurl-js';
import { distroRank } from './catalogers/os-release.js';
import { normalizeLicenses } from './licenses.js';
import { packageKey, type Distro, type Finding, type ImageSubject, type Inventory, type Location, type Package, type RawPackage } from './model.js';

// packageurl-js is needed only when an inventory is assembled (not on a warm, cached run).
const requireLazy = createRequire(import.meta.url);
let PurlCtor: typeof PackageURLT | undefined;

/** Findings of one file, with where the file is. */
export interface LocatedFindings {
  readonly location: Location;
  readonly findings: readonly Finding[];
}

export function assembleInventory(subject: ImageSubject, files: readonly LocatedFindings[], warnings: readonly string[]): Inventory {
  const sorted = [...files].sort((a, b) => (a.location.path < b.location.path ? -1 : a.location.path > b.location.path ? 1 : 0));
  const distro = pickDistro(sorted);
  const debLicenses = new Map<string, string[]>();
  for (const f of sorted) {
    for (const x of f.findings) if (x.kind === 'license') debLicenses.set(`${x.type}:${x.name}`, [...(debLicenses.get(`${x.type}:${x.name}`) ?? []), ...x.licenses]);
  }

  const byPurl = new Map<string, MutablePackage>();
  for (const f of sorted) {
    const local = new Map<string, MutablePackage>();
    const raws: [RawPackage, MutablePackage][] = [];
    for (const x of f.findings) {
      if (x.kind !== 'package') continue;
      const raw = x.package;
      let purl: string;
      try {
        purl = purlOf(raw, distro);
      } catch {
        continue; // a name no purl can hold (empty): not a package
      }
      let pkg = byPurl.get(purl);
      if (pkg === undefined) {
        pkg = newPackage(raw, purl);
        byPurl.set(purl, pkg);
      }
      // A cataloger's own locations (a jar nested in a jar) are in the same file's layer.
      const layer = f.location.layer;
      addLocations(pkg, raw.locations?.map((l) => (l.layer === undefined && layer !== undefined ? { ...l, layer } : l)) ?? [f.location]);
      for (const l of raw.licenses ?? []) pkg.licenseSet.add(l);
      if (raw.root === true) pkg.root = true;
      local.set(packageKey(raw), pkg);
      raws.push([raw, pkg]);
    }
    for (const [raw, pkg] of raws) {
      for (const dep of raw.dependsOn ?? []) {
        const target = local.get(dep);
        if (target !== undefined && target !== pkg) pkg.deps.add(target.id);
      }
    }
  }

  const packages: Package[] = [...byPurl.values()]
    .map((p) => {
      const extra = p.type === 'deb' ? (debLicenses.get(`deb:${p.name}`) ?? []) : [];
      const { licenseSet, deps, locationKeys, root, ...rest } = p;
      void locationKeys;
      return {
        ...rest,
        ...(root ? { root: true } : {}),
        licenses: normalizeLicenses([...licenseSet, ...extra]),
        dependsOn: [...deps].sort(),
      };
    })
    .sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
  return { subject, ...(distro !== undefined ? { distro } : {}), packages, warnings };
}

interface MutablePackage extends Omit<Package, 'licenses' | 'dependsOn' | 'locations' | 'root'> {
  locations: Location[];
  locationKeys: Set<string>;
  licenseSet: Set<string>;
  deps: Set<string>;
  root: boolean;
}

function newPackage(raw: RawPackage, purl: string): MutablePackage {
  const { dependsOn, locations, licenses, root, ...facts } = raw;
  void dependsOn;
  void locations;
  void licenses;
  return { ...facts, id: idOf(raw, purl), purl, locations: [], locationKeys: new Set(), licenseSet: new Set(), deps: new Set(), root: root === true };
}

function addLocations(pkg: MutablePackage, locations: readonly Location[]): void {
  for (const l of locations) {
    const key = `${l.path}\0${l.layer ?? ''}`;
    if (pkg.locationKeys.has(key)) continue;
    pkg.locationKeys.add(key);
    pkg.locations.push(l);
  }
}

/** A short id that is stable for the same purl: safe in CycloneDX bom-refs and SPDX ids. */
function idOf(raw: RawPackage, purl: string): string {
  const name = `${raw.type}-${raw.name}`.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 60);
  return `${name}-${createHash('sha256').update(purl).digest('hex').slice(0, 12)}`;
}

function pickDistro(files: readonly LocatedFindings[]): Distro | undefined {
  let best: { distro: Distro; rank: number } | undefined;
  for (const f of files) {
    for (const x of f.findings) {
      if (x.kind !== 'distro') continue;
      // os-release, then the distributions' own files, then a content manifest; among equals the first in path order.
      const rank = distroRank(f.location.path);
      if (best === undefined || rank < best.rank) best = { distro: x.distro, rank };
    }
  }
  return best?.distro;
}

/** The purl of a package, with the distro qualifiers of its ecosystem. */
export function purlOf(p: RawPackage, distro: Distro | undefined): string {
  const qualifiers: Record<string, string> = {};
  let namespace = p.namespace;
  let name = p.name;
  let version = p.version === '' ? undefined : p.version;
  switch (p.type) {
    case 'deb':
    case 'apk':
    case 'rpm': {
      namespace = distro?.id ?? (p.type === 'deb' ? 'debian' : p.type === 'apk' ? 'alpine' : undefined);
      if (p.arch !== undefined && p.arch !== '') qualifiers['arch'] = p.arch;
      if (p.type === 'rpm' && p.epoch !== undefined && p.epoch !== 0) qualifiers['epoch'] = String(p.epoch);
      if (distro !== undefined) qualifiers['distro'] = distro.versionId !== undefined ? `${distro.id}-${distro.versionId}` : distro.id;
      const src = p.source;
      if (src !== undefined && (src.name !== p.name || (src.version !== undefined && src.version !== p.version))) {
        qualifiers['upstream'] = src.version !== undefined && src.version !== p.version ? `${src.name}@${src.version}` : src.name;
      }
      break;
    }
    case 'golang': {
      // Go module paths: the last segment is the name, the rest the namespace.
      const full = namespace !== undefined ? `${namespace}/${name}` : name;
      const slash = full.lastIndexOf('/');
      namespace = slash > 0 ? full.slice(0, slash) : undefined;
      name = slash > 0 ? full.slice(slash + 1) : full;
      if (name === 'stdlib' && namespace === undefined && version?.startsWith('go') === true) version = version.slice(2);
      break;
    }
    default:
      Object.assign(qualifiers, p.qualifiers);
      break;
  }
  const PackageURL = (PurlCtor ??= (requireLazy('packageurl-js') as { PackageURL: typeof PackageURLT }).PackageURL);
  return new PackageURL(p.type, namespace ?? undefined, name, version, Object.keys(qualifiers).length > 0 ? qualifiers : undefined, undefined).toString();
}
