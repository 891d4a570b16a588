/**
 * Package URLs for matching (not for building: sbom does that), parsed by packageurl-js: the
 * matching Trivy and OpenVEX use. PyPI names compare PEP 503-normalized, npm names case-blind.
 */
import { PackageURL } from 'packageurl-js';

export interface Purl {
  readonly type: string;
  readonly namespace: string;
  readonly name: string;
  readonly version?: string;
  readonly qualifiers: ReadonlyMap<string, string>;
}

/** A purl's parts, normalized for comparison; undefined for text that is not a purl. */
export function parsePurl(text: string): Purl | undefined {
  let p: PackageURL;
  try {
    p = PackageURL.fromString(text.trim());
  } catch {
    return undefined;
  }
  const type = p.type.toLowerCase();
  let name = p.name;
  let namespace = p.namespace ?? '';
  if (type === 'pypi') name = name.toLowerCase().replace(/[-_.]+/g, '-');
  if (type === 'npm' || type === 'pypi') namespace = namespace.toLowerCase();
  if (type === 'npm') name = name.toLowerCase();
  const qualifiers = new Map<string, string>();
  for (const [k, v] of Object.entries(p.qualifiers ?? {})) if (typeof v === 'string') qualifiers.set(k.toLowerCase(), v);
  return { type, namespace, name, ...(p.version !== undefined && p.version !== null && p.version !== '' ? { version: p.version } : {}), qualifiers };
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

export function purlObjectsMatch(p: Purl, t: Purl): boolean {
  if (p.type !== t.type || p.namespace !== t.namespace || p.name !== t.name) return false;
  if (p.version !== undefined && p.version !== t.version) return false;
  for (const [k, v] of p.qualifiers) if (t.qualifiers.get(k) !== v) return false;
  return true;
}
