/**
 * Match keys: an inventory reduced to what matching reads of it, one string per distinct package
 * version. Stored beside every scan result, they let a registry re-evaluate its images after a DB
 * update without reading SBOMs; the same string is the Matcher's memo key. Pure.
 */
import type { Inventory, Package } from '../sbom/index.js';
import { distroEcosystem, distroFeedOf, isLanguagePackage, lookupKey } from './ecosystems.js';

/**
 * What matching reads of an inventory, reduced to lookup keys: per distinct package version (OS
 * packages with the distribution feed that takes precedence for them) the number of packages
 * that have it. Small enough to keep beside every scan result, so that a registry re-evaluates its
 * images after a DB update without parsing SBOMs. Flat (a string per key, then its count), and
 * the key string is the Matcher's memo key.
 */
export interface MatchKeys {
  readonly v: typeof MATCH_KEYS_VERSION;
  /** `[key, packages, key, packages, ...]`; a key is made by `packageMatchKey`. */
  readonly keys: readonly (string | number)[];
}

/**
 * Bump when lookupKey, distroEcosystem, name normalization or the key encoding change: a registry
 * that stored keys of another version rebuilds them from its SBOMs (registry/scan.ts).
 */
export const MATCH_KEYS_VERSION = 4;

/** Separates a key's fields: printable to JSON (no escaping), and in no ecosystem, name or version. */
const SEP = '\u007f';

/**
 * The key of one package version: `0 SEP ecosystem SEP name SEP version` for a language package,
 * `1 SEP feed SEP ecosystem SEP name SEP version` for an OS package (`feed`: the distribution's
 * own feed, which takes precedence, or empty). A field holding SEP itself (never seen in real
 * data) is encoded as SEP + the JSON of the fields, so two packages never share a key by accident.
 */
export function packageMatchKey(ecosystem: string, name: string, version: string, os: 0 | 1, distroFeed: string | null = null): string {
  const feed = os === 1 ? (distroFeed ?? '') : '';
  if (ecosystem.includes(SEP) || name.includes(SEP) || version.includes(SEP) || feed.includes(SEP)) return `${SEP}${JSON.stringify([os, feed, ecosystem, name, version])}`;
  return os === 1 ? `1${SEP}${feed}${SEP}${ecosystem}${SEP}${name}${SEP}${version}` : `0${SEP}${ecosystem}${SEP}${name}${SEP}${version}`;
}

export function splitMatchKey(key: string): { os: 0 | 1; feed: string; ecosystem: string; name: string; version: string } {
  if (key.startsWith(SEP)) {
    const [os, feed, ecosystem, name, version] = JSON.parse(key.slice(1)) as [0 | 1, string, string, string, string];
    return { os, feed, ecosystem, name, version };
  }
  const parts = key.split(SEP);
  if (parts[0] === '1') return { os: 1, feed: parts[1] ?? '', ecosystem: parts[2] ?? '', name: parts[3] ?? '', version: parts[4] ?? '' };
  return { os: 0, feed: '', ecosystem: parts[1] ?? '', name: parts[2] ?? '', version: parts[3] ?? '' };
}

/** Each package of an inventory that can be matched, with its key. */
export function* keyedPackages(inventory: Pick<Inventory, 'distro' | 'packages'>): Generator<{ pkg: Package; key: string }> {
  const osEcosystem = distroEcosystem(inventory.distro);
  const distroFeed = distroFeedOf(inventory.distro);
  for (const pkg of inventory.packages) {
    const key = lookupKey(pkg, osEcosystem);
    if (key === undefined) continue;
    yield { pkg, key: packageMatchKey(key.ecosystem, key.name, key.version, isLanguagePackage(pkg) ? 0 : 1, distroFeed) };
  }
}

export function matchKeys(inventory: Pick<Inventory, 'distro' | 'packages'>): MatchKeys {
  const byKey = new Map<string, number>();
  for (const { key } of keyedPackages(inventory)) byKey.set(key, (byKey.get(key) ?? 0) + 1);
  const keys: (string | number)[] = [];
  for (const [k, n] of byKey) keys.push(k, n);
  return { v: MATCH_KEYS_VERSION, keys };
}
