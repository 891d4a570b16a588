/**
 * What a scan could not check is said: an OS or ecosystem the DB holds no data for, an unsupported
 * OS, OS packages without an OS release. Against a real DB built from feeds in their published forms.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Inventory, Package } from '../../src/sbom/index.js';
import { AdvisoryDb, buildAdvisoryDb, coverageWarnings } from '../../src/vuln/index.js';
import { parseOsv } from '../../src/vuln/feeds/osv.js';
import { tempDir } from '../helpers/env.js';

let n = 0;
function pkg(p: Pick<Package, 'type' | 'name' | 'version'>): Package {
  n += 1;
  return { id: `pkg-${n}`, purl: `pkg:${p.type}/${p.name}@${p.version}`, licenses: [], locations: [{ path: 'x' }], dependsOn: [], ...p };
}

test('coverage: what the DB holds no data for is named, with the count of packages not checked', async (t) => {
  const out = join(tempDir(t), 'advisory.db');
  const records = [
    parseOsv({ id: 'DSA-5532-1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }] }] }, 'dsa.json'),
    parseOsv({ id: 'GHSA-xxxx-0000-0001', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }] }, 'ghsa.json'),
  ];
  await buildAdvisoryDb(out, [{ feed: 'osv', files: (async function* () { for (const r of records) yield { file: 'osv.json', records: r }; })() }]);
  const db = AdvisoryDb.open(out);
  t.after(() => db.close());
  const deb = [pkg({ type: 'deb', name: 'libssl3', version: '3.0.11-1' }), pkg({ type: 'deb', name: 'bash', version: '5.2.15-2' })];
  const npm = pkg({ type: 'npm', name: 'lodash', version: '4.17.20' });
  const cases: [string, Pick<Inventory, 'distro' | 'packages'>, string[]][] = [
    ['all held', { distro: { id: 'debian', versionId: '12' }, packages: [...deb, npm] }, []],
    ['another release', { distro: { id: 'debian', versionId: '13' }, packages: deb }, ['the advisory DB holds no data for debian:13: 2 deb packages were not checked for vulnerabilities (add the distribution\'s feed to the DB: see docs/scan.md)']],
    ['another distribution', { distro: { id: 'rocky', versionId: '9.3' }, packages: [pkg({ type: 'rpm', name: 'openssl-libs', version: '3.0.7-25.el9_3' })] }, ['the advisory DB holds no data for rocky:9: 1 rpm package was not checked for vulnerabilities (add the distribution\'s feed to the DB: see docs/scan.md)']],
    ['no version', { distro: { id: 'debian' }, packages: deb }, ['unsupported OS debian (no VERSION_ID): 2 deb packages were not checked for vulnerabilities']],
    ['no OS release', { packages: deb }, ['no OS release file (etc/os-release) was found: 2 deb packages were not checked for vulnerabilities']],
    ['a language ecosystem', { packages: [npm, pkg({ type: 'cargo', name: 'smallvec', version: '1.6.0' }), pkg({ type: 'cargo', name: 'time', version: '0.1.0' })] }, ['the advisory DB holds no data for crates.io: 2 crates.io packages were not checked for vulnerabilities']],
    ['nothing to check', { packages: [] }, []],
  ];
  for (const [what, inventory, expected] of cases) assert.deepEqual(coverageWarnings(inventory, db), expected, what);
});
