/**
 * A small advisory DB built in code for the registry's tests: feed records as the feeds produce
 * them (OS advisories from the Debian tracker, language ones from GHSA), built with the same
 * builder as `portcullis db build`.
 */
import { buildAdvisoryDb, type AffectedRecord, type FeedRecords, type VulnerabilityRecord } from '../../src/vuln/index.js';

export interface Advisory {
  readonly id: string;
  readonly ecosystem: string;
  readonly name: string;
  readonly fixed?: string;
  readonly severity: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';
  readonly aliases?: readonly string[];
  /** In CISA's KEV catalogue since this date. */
  readonly kev?: string;
}

/** Feed records as the feeds produce them: OS advisories from the Debian tracker, npm ones from GHSA. */
export function records(advisories: readonly Advisory[]): FeedRecords {
  const vulnerabilities: VulnerabilityRecord[] = [];
  const affected: AffectedRecord[] = [];
  for (const a of advisories) {
    const os = a.ecosystem.startsWith('debian:');
    const source = os ? 'debian-tracker' : 'ghsa';
    vulnerabilities.push({
      id: a.id,
      aliases: a.aliases ?? [],
      summary: `${a.name} flaw`,
      references: [],
      cvss: [],
      ...(os ? {} : { severity: { source: 'ghsa', severity: a.severity } }),
      ...(a.kev !== undefined ? { knownExploited: { dateAdded: a.kev, dueDate: a.kev } } : {}),
      source,
    });
    affected.push(
      os
        ? { vulnId: a.id, ecosystem: a.ecosystem, name: a.name, ranges: [], versions: [], status: a.fixed !== undefined ? 'fixed' : 'affected', ...(a.fixed !== undefined ? { fixedVersion: a.fixed } : {}), severity: a.severity, source }
        : { vulnId: a.id, ecosystem: a.ecosystem, name: a.name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, ...(a.fixed !== undefined ? [{ fixed: a.fixed }] : [])] }], versions: [], status: 'affected', source },
    );
  }
  return { vulnerabilities, affected, errors: [] };
}

export async function buildDb(path: string, advisories: readonly Advisory[], builtAt: Date): Promise<string> {
  async function* files() {
    yield { file: 'advisories.json', records: records(advisories) };
  }
  const info = await buildAdvisoryDb(path, [{ feed: 'test', files: files() }], { now: builtAt });
  return info.builtAt;
}
