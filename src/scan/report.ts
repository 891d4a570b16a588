/**
 * From what a scan found (inventory, matches, secrets, misconfigurations) to the report: targets
 * named and grouped as Trivy groups them, so a report reads the same in either tool.
 */
import type { Inventory, Package } from '../sbom/index.js';
import type { VulnerabilityMatch } from '../vuln/index.js';
import type { ArtifactType, ConfigFinding, LayerRef, ScanReport, ScanResult, SecretFinding, VulnerabilityFinding } from './model.js';

export interface ReportInput {
  readonly artifactName: string;
  readonly artifactType: ArtifactType;
  readonly inventory: Inventory;
  /** Undefined when the vulnerability scanner did not run (no package targets then). */
  readonly matches?: readonly VulnerabilityMatch[];
  readonly secrets?: readonly SecretFinding[];
  /** Misconfigurations per target (`image config`, `Dockerfile`, `app/Dockerfile`). */
  readonly misconfigurations?: readonly { readonly target: string; readonly type: string; readonly findings: readonly ConfigFinding[] }[];
  readonly imageConfig?: unknown;
  readonly imageId?: string;
  readonly db?: { readonly builtAt: string; readonly schemaVersion: number };
  /** What the vulnerability scan could not check (coverageWarnings). */
  readonly warnings?: readonly string[];
  readonly now?: Date;
}

const OS_TYPES = new Set(['deb', 'apk', 'rpm']);

/** Trivy's target and type for a language package, from the file it was found in. */
export function languageTarget(pkg: Package): { target: string; type: string } {
  const path = pkg.locations[0]?.path ?? '';
  const base = path.slice(path.lastIndexOf('/') + 1);
  switch (pkg.type) {
    case 'npm':
      if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json') return { target: path, type: 'npm' };
      if (base === 'yarn.lock') return { target: path, type: 'yarn' };
      if (base === 'pnpm-lock.yaml') return { target: path, type: 'pnpm' };
      return { target: 'Node.js', type: 'node-pkg' };
    case 'pypi':
      if (base === 'poetry.lock') return { target: path, type: 'poetry' };
      if (base === 'Pipfile.lock') return { target: path, type: 'pipenv' };
      if (base === 'uv.lock') return { target: path, type: 'uv' };
      if (base.endsWith('.txt')) return { target: path, type: 'pip' };
      return { target: 'Python', type: 'python-pkg' };
    case 'golang':
      if (base === 'go.mod' || base === 'go.sum') return { target: path, type: 'gomod' };
      return { target: path, type: 'gobinary' };
    case 'maven':
      return { target: 'Java', type: 'jar' };
    case 'gem':
      if (base === 'Gemfile.lock') return { target: path, type: 'bundler' };
      return { target: 'Ruby', type: 'gemspec' };
    case 'cargo':
      if (base === 'Cargo.lock') return { target: path, type: 'cargo' };
      return { target: path, type: 'rustbinary' };
    case 'composer':
      if (base === 'composer.lock') return { target: path, type: 'composer' };
      return { target: path, type: 'composer-vendor' };
    case 'nuget':
      if (base.endsWith('.deps.json')) return { target: path, type: 'dotnet-core' };
      return { target: path, type: 'nuget' };
    default:
      return { target: path, type: pkg.type };
  }
}

/** The name Trivy shows: Maven's group:artifact, npm's @scope/name, Go's module path. */
export function displayName(pkg: Package): string {
  if (pkg.namespace === undefined || pkg.namespace === '' || OS_TYPES.has(pkg.type)) return pkg.name;
  return pkg.type === 'maven' ? `${pkg.namespace}:${pkg.name}` : `${pkg.namespace}/${pkg.name}`;
}

export function primaryUrl(id: string): string {
  if (id.startsWith('CVE-')) return `https://nvd.nist.gov/vuln/detail/${id}`;
  if (id.startsWith('GHSA-')) return `https://github.com/advisories/${id}`;
  if (id.startsWith('GO-')) return `https://pkg.go.dev/vuln/${id}`;
  return `https://osv.dev/vulnerability/${id}`;
}

const DATA_SOURCES: Readonly<Record<string, { id: string; name: string; url: string }>> = {
  'debian-tracker': { id: 'debian', name: 'Debian Security Tracker', url: 'https://salsa.debian.org/security-tracker-team/security-tracker' },
  'alpine-secdb': { id: 'alpine', name: 'Alpine Secdb', url: 'https://secdb.alpinelinux.org/' },
  ghsa: { id: 'ghsa', name: 'GitHub Security Advisory Database', url: 'https://github.com/advisories' },
  go: { id: 'govulndb', name: 'The Go Vulnerability Database', url: 'https://pkg.go.dev/vuln/' },
  pysec: { id: 'pypa', name: 'Python Packaging Advisory Database', url: 'https://github.com/pypa/advisory-database' },
  osv: { id: 'osv', name: 'OSV', url: 'https://osv.dev/' },
};

export function dataSourceOf(source: string): { id: string; name: string; url: string } {
  return DATA_SOURCES[source] ?? { id: source, name: source, url: '' };
}

function layerOf(pkgOrPath: { layer?: string } | undefined, diffIds: ReadonlyMap<string, string>): LayerRef | undefined {
  const digest = pkgOrPath?.layer;
  if (digest === undefined) return undefined;
  const diffId = diffIds.get(digest);
  return diffId !== undefined ? { digest, diffId } : { digest };
}

export function toFinding(m: VulnerabilityMatch, diffIds: ReadonlyMap<string, string>): VulnerabilityFinding {
  const p = m.package;
  const v = m.vulnerability;
  const layer = layerOf(p.locations[0], diffIds);
  const os = OS_TYPES.has(p.type);
  return {
    id: v.id,
    aliases: v.aliases,
    pkg: {
      id: p.id,
      name: displayName(p),
      version: p.version,
      purl: p.purl,
      ...(os && p.source !== undefined ? { sourceName: p.source.name } : {}),
      ...(os && p.source?.version !== undefined ? { sourceVersion: p.source.version } : {}),
    },
    installedVersion: p.type === 'rpm' && p.epoch !== undefined && p.epoch > 0 ? `${p.epoch}:${p.version}` : p.version,
    ...(m.fixedVersion !== undefined ? { fixedVersion: m.fixedVersion } : {}),
    status: m.status,
    severity: m.severity,
    severitySource: m.severitySource,
    vendorSeverity: m.vendorSeverity,
    cvss: v.cvss,
    ...(v.cweIds !== undefined && v.cweIds.length > 0 ? { cweIds: v.cweIds } : {}),
    ...(v.knownExploited !== undefined ? { knownExploited: v.knownExploited } : {}),
    ...(v.epss !== undefined ? { epss: v.epss } : {}),
    ...(v.summary !== undefined ? { title: v.summary } : {}),
    ...(v.details !== undefined ? { description: v.details } : {}),
    primaryUrl: primaryUrl(v.id),
    references: v.references,
    ...(v.published !== undefined ? { published: v.published } : {}),
    ...(v.modified !== undefined ? { modified: v.modified } : {}),
    ...(layer !== undefined ? { layer } : {}),
    dataSource: dataSourceOf(m.source),
  };
}

export function buildReport(input: ReportInput): ScanReport {
  const inv = input.inventory;
  const diffIds = new Map(inv.subject.layers.flatMap((l) => (l.diffId !== undefined ? [[l.digest, l.diffId] as const] : [])));
  const results: ScanResult[] = [];
  if (input.matches !== undefined) {
    const byPackage = new Map<string, VulnerabilityFinding[]>();
    for (const m of input.matches) {
      const list = byPackage.get(m.package.id);
      const f = toFinding(m, diffIds);
      if (list === undefined) byPackage.set(m.package.id, [f]);
      else list.push(f);
    }
    const osPackages = inv.packages.filter((p) => OS_TYPES.has(p.type));
    if (inv.distro !== undefined || osPackages.length > 0) {
      const family = inv.distro?.id ?? osPackages[0]?.type ?? 'unknown';
      const name = inv.distro?.versionId ?? '';
      results.push({
        target: `${input.artifactName} (${family}${name !== '' ? ` ${name}` : ''})`,
        class: 'os-pkgs',
        type: family,
        vulnerabilities: osPackages.flatMap((p) => byPackage.get(p.id) ?? []),
      });
    }
    const targets = new Map<string, { type: string; findings: VulnerabilityFinding[] }>();
    for (const p of inv.packages) {
      if (OS_TYPES.has(p.type)) continue;
      const { target, type } = languageTarget(p);
      const key = `${target}\u0000${type}`;
      let t = targets.get(key);
      if (t === undefined) targets.set(key, (t = { type, findings: [] }));
      t.findings.push(...(byPackage.get(p.id) ?? []));
    }
    for (const [key, t] of [...targets].sort(([a], [b]) => a.localeCompare(b))) {
      results.push({ target: key.split('\u0000')[0]!, class: 'lang-pkgs', type: t.type, vulnerabilities: t.findings });
    }
  }
  for (const m of input.misconfigurations ?? []) results.push({ target: m.target, class: 'config', type: m.type, misconfigurations: m.findings });
  if (input.secrets !== undefined) {
    const byPath = new Map<string, SecretFinding[]>();
    for (const s of input.secrets) {
      const list = byPath.get(s.path);
      if (list === undefined) byPath.set(s.path, [s]);
      else list.push(s);
    }
    for (const [path, secrets] of [...byPath].sort(([a], [b]) => a.localeCompare(b))) results.push({ target: `/${path}`, class: 'secret', type: 'secret', secrets });
  }
  const subject = inv.subject;
  const repoTags = subject.name !== undefined && subject.tag !== undefined ? [`${subject.name}:${subject.tag}`] : undefined;
  const repoDigests = subject.name !== undefined && subject.digest !== undefined ? [`${subject.name}@${subject.digest}`] : undefined;
  const diffIdList = subject.layers.flatMap((l) => (l.diffId !== undefined ? [l.diffId] : []));
  return {
    createdAt: (input.now ?? new Date()).toISOString(),
    artifactName: input.artifactName,
    artifactType: input.artifactType,
    metadata: {
      ...(inv.distro !== undefined ? { os: { family: inv.distro.id, name: inv.distro.versionId ?? '' } } : {}),
      ...(input.imageId !== undefined ? { imageId: input.imageId } : {}),
      ...(diffIdList.length > 0 ? { diffIds: diffIdList } : {}),
      ...(repoTags !== undefined ? { repoTags } : {}),
      ...(repoDigests !== undefined ? { repoDigests } : {}),
      ...(input.imageConfig !== undefined ? { imageConfig: input.imageConfig } : {}),
      ...(input.warnings !== undefined && input.warnings.length > 0 ? { warnings: input.warnings } : {}),
    },
    results,
    ...(input.db !== undefined ? { db: input.db } : {}),
  };
}
