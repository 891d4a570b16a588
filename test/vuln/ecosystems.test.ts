/**
 * Where a package is judged, for the language ecosystems of lockfiles: Hex, Pub, SwiftURL and
 * ConanCenter (OSV's names) besides the older ones, and none for the catalogue-only types
 * (CocoaPods, conda, Julia). The end-to-end case goes through OSV records in their published
 * shape, the real importer and a DB file, as a scan does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Package } from '../../src/sbom/index.js';
import { AdvisoryDb, buildAdvisoryDb, comparatorOf, compareConan, compareHex, comparePub, compareSwift, lookupKey, matchInventory } from '../../src/vuln/index.js';
import { parseOsv } from '../../src/vuln/feeds/osv.js';
import { tempDir } from '../helpers/env.js';

let n = 0;
function pkg(p: Partial<Package> & Pick<Package, 'type' | 'name' | 'version'>): Package {
  n += 1;
  return { id: `pkg-${n}`, purl: `pkg:${p.type}/${p.name}@${p.version}`, licenses: [], locations: [{ path: 'x' }], dependsOn: [], ...p };
}

test('lookup keys: the new ecosystems by OSV name, Swift by lower-cased URL, private namespaces kept, catalogue-only types none', () => {
  const cases: [Package, { ecosystem: string; name: string; version: string } | undefined][] = [
    [pkg({ type: 'hex', name: 'plug', version: '1.14.2' }), { ecosystem: 'hex', name: 'plug', version: '1.14.2' }],
    [pkg({ type: 'hex', namespace: 'acme', name: 'plug', version: '1.0.0' }), { ecosystem: 'hex', name: 'acme/plug', version: '1.0.0' }],
    [pkg({ type: 'pub', name: 'http', version: '0.13.6' }), { ecosystem: 'pub', name: 'http', version: '0.13.6' }],
    [pkg({ type: 'swift', namespace: 'github.com/Alamofire', name: 'Alamofire', version: '5.6.4' }), { ecosystem: 'swifturl', name: 'github.com/alamofire/alamofire', version: '5.6.4' }],
    [pkg({ type: 'swift', namespace: 'github.com/vapor', name: 'vapor', version: '4b1e7fd5e2d0a2b1c6e6f0e3e0cfb8cd7e9bbd49' }), undefined],
    [pkg({ type: 'conan', name: 'openssl', version: '3.0.3' }), { ecosystem: 'conancenter', name: 'openssl', version: '3.0.3' }],
    [pkg({ type: 'conan', namespace: 'acme', name: 'openssl', version: '3.0.3' }), { ecosystem: 'conancenter', name: 'acme/openssl', version: '3.0.3' }],
    [pkg({ type: 'nuget', name: 'Newtonsoft.Json', version: '13.0.3' }), { ecosystem: 'nuget', name: 'newtonsoft.json', version: '13.0.3' }],
    [pkg({ type: 'maven', namespace: 'junit', name: 'junit', version: '4.13.2' }), { ecosystem: 'maven', name: 'junit:junit', version: '4.13.2' }],
    [pkg({ type: 'cocoapods', name: 'Alamofire', version: '5.6.4' }), undefined],
    [pkg({ type: 'conda', name: 'openssl', version: '3.0.13' }), undefined],
    [pkg({ type: 'julia', name: 'HTTP', version: '1.10.0' }), undefined],
  ];
  for (const [p, want] of cases) assert.deepEqual(lookupKey(p, 'debian:12'), want, `${p.type} ${p.namespace ?? ''}/${p.name}`);
});

test('each new ecosystem has its own order', () => {
  assert.equal(comparatorOf('hex'), compareHex);
  assert.equal(comparatorOf('pub'), comparePub);
  assert.equal(comparatorOf('swifturl'), compareSwift);
  assert.equal(comparatorOf('conancenter'), compareConan);
  assert.equal(comparatorOf('cocoapods'), undefined);
});

test('OSV records of Hex, Pub, SwiftURL and ConanCenter match the packages the new catalogers find', async (t) => {
  const cases = [
    { ecosystem: 'Hex', name: 'plug', type: 'hex', id: 'CVE-2099-1001', events: [{ introduced: '0' }, { fixed: '1.3.5' }, { introduced: '1.4.0' }, { fixed: '1.4.5' }], hit: '1.4.4', miss: '1.4.5+build.7', fixes: '1.3.5, 1.4.5' },
    { ecosystem: 'Pub', name: 'http', type: 'pub', id: 'CVE-2099-1002', events: [{ introduced: '0' }, { fixed: '0.13.3' }], hit: '0.13.3-dev.1', miss: '0.13.3+1', fixes: '0.13.3' },
    { ecosystem: 'SwiftURL', name: 'github.com/vapor/vapor', type: 'swift', id: 'CVE-2099-1003', events: [{ introduced: '4.0.0' }, { fixed: '4.84.2' }], hit: '4.84.1', miss: '4.84.2', fixes: '4.84.2' },
    { ecosystem: 'ConanCenter', name: 'openssl', type: 'conan', id: 'CVE-2099-1004', events: [{ introduced: '0' }, { fixed: '1.1.1t' }], hit: '1.1.1s', miss: '1.1.1w', fixes: '1.1.1t' },
  ];
  const out = join(tempDir(t), 'advisory.db');
  const records = cases.map((c) => parseOsv({ id: c.id, modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: c.ecosystem, name: c.name }, ranges: [{ type: 'ECOSYSTEM', events: c.events }] }] }, 'osv.json'));
  for (const r of records) assert.deepEqual(r.errors, []);
  await buildAdvisoryDb(out, [{ feed: 'osv', files: (async function* () { for (const r of records) yield { file: 'osv.json', records: r }; })() }]);
  const db = AdvisoryDb.open(out);
  t.after(() => db.close());
  for (const c of cases) {
    // Swift packages are named by their URL; the lockfile may spell the owner differently.
    const identity = c.type === 'swift' ? { namespace: 'github.com/Vapor', name: 'vapor' } : { name: c.name };
    const hit = matchInventory({ packages: [pkg({ type: c.type as Package['type'], ...identity, version: c.hit })] }, db);
    assert.deepEqual(hit.map((m) => [m.vulnerability.id, m.status, m.fixedVersion]), [[c.id, 'fixed', c.fixes]], `${c.ecosystem} ${c.hit}`);
    assert.deepEqual(matchInventory({ packages: [pkg({ type: c.type as Package['type'], ...identity, version: c.miss })] }, db), [], `${c.ecosystem} ${c.miss}`);
  }
});
