/**
 * What a scan could not judge, said plainly: an image whose OS or packages the advisory DB holds
 * no data for must not read as "no vulnerabilities" (Trivy's "unsupported OS" and "no DB for …"
 * warnings). Pure.
 */
import type { Inventory, Package } from '../sbom/index.js';
import { distroEcosystem, isLanguagePackage, lookupKey } from './ecosystems.js';

/** What coverage asks of a DB: whether it holds any record of an ecosystem (`debian:12`, `npm`). */
export interface EcosystemCoverage {
  holds(ecosystem: string): boolean;
}

const OS_TYPES: ReadonlySet<string> = new Set(['deb', 'apk', 'rpm']);

/** `1 package was` / `3 packages were`. */
const counted = (n: number, what: string): string => `${n} ${what}${n === 1 ? ' was' : 's were'}`;

/** One line per part of the inventory that was not checked for vulnerabilities, and why; none when all was. */
export function coverageWarnings(inventory: Pick<Inventory, 'distro' | 'packages'>, db: EcosystemCoverage): string[] {
  const out: string[] = [];
  const os = inventory.packages.filter((p) => OS_TYPES.has(p.type));
  if (os.length > 0) {
    const types = [...new Set(os.map((p) => p.type))].sort().join('/');
    const distro = inventory.distro;
    const ecosystem = distroEcosystem(distro);
    if (distro === undefined) {
      out.push(`no OS release file (etc/os-release) was found: ${counted(os.length, `${types} package`)} not checked for vulnerabilities`);
    } else if (ecosystem === undefined) {
      out.push(`unsupported OS ${distro.id}${distro.versionId !== undefined ? ` ${distro.versionId}` : ' (no VERSION_ID)'}: ${counted(os.length, `${types} package`)} not checked for vulnerabilities`);
    } else if (!db.holds(ecosystem)) {
      out.push(`the advisory DB holds no data for ${ecosystem}: ${counted(os.length, `${types} package`)} not checked for vulnerabilities (add the distribution's feed to the DB: see docs/scan.md)`);
    }
  }
  const byEcosystem = new Map<string, Package[]>();
  for (const p of inventory.packages) {
    if (!isLanguagePackage(p)) continue;
    const key = lookupKey(p, undefined);
    if (key === undefined) continue;
    const list = byEcosystem.get(key.ecosystem);
    if (list === undefined) byEcosystem.set(key.ecosystem, [p]);
    else list.push(p);
  }
  for (const [ecosystem, packages] of [...byEcosystem].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!db.holds(ecosystem)) out.push(`the advisory DB holds no data for ${ecosystem}: ${counted(packages.length, `${ecosystem} package`)} not checked for vulnerabilities`);
  }
  return out;
}
