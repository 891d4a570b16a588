/**
 * The registry's re-evaluation of stored images, on the service itself (no HTTP, no worker
 * running): every kind of stored image is met — scanned with match keys, scanned before keys
 * existed (evaluated from its stored SBOM, keys stored), scanned with neither (scanned again),
 * never scanned with an SBOM (named, scan queued) or without one (scan queued), non-images (left
 * alone) — on SQLite and the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { MediaType, digestOf, type Digest } from '../../src/oci/index.js';
import { ArtifactWriter, SCAN_JOB, SCAN_REPORT_ARTIFACT_TYPE, ScanService, storeSbom } from '../../src/registry/index.js';
import { storeReferrer } from '../../src/registry/referrer.js';
import { silentLogger } from '../../src/shared/index.js';
import { openFsBlobStorage, openPostgresMetadataStore, openSqliteMetadataStore, PostgresDb, type MetadataStore } from '../../src/storage/index.js';
import { buildAdvisoryDb, packageMatchKey, type AffectedRecord, type VulnerabilityRecord } from '../../src/vuln/index.js';
import { POSTGRES_URL, tempDir, uniqueSchema } from '../helpers/env.js';

/** npm advisories: id, package, fixed version (every version below it is affected), severity. */
const NONE = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
const ADVISORIES: readonly [string, string, string, 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW'][] = [
  ['CVE-2099-0001', 'left-pad', '1.3.1', 'CRITICAL'],
  ['CVE-2099-0002', 'is-even', '1.0.1', 'HIGH'],
  ['CVE-2099-0003', 'is-odd', '3.0.2', 'LOW'],
];

async function buildDb(path: string, advisories: typeof ADVISORIES, builtAt: Date): Promise<string> {
  const vulnerabilities: VulnerabilityRecord[] = advisories.map(([id, name, , severity]) => ({ id, aliases: [], summary: `${name} flaw`, references: [], cvss: [], severity: { source: 'ghsa', severity }, source: 'ghsa' }));
  const affected: AffectedRecord[] = advisories.map(([id, name, fixed]) => ({ vulnId: id, ecosystem: 'npm', name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }], versions: [], status: 'affected', source: 'ghsa' }));
  const info = await buildAdvisoryDb(
    path,
    [
      {
        feed: 'test',
        files: (async function* () {
          yield { file: 'ghsa.json', records: { vulnerabilities, affected, errors: [] } };
        })(),
      },
    ],
    { now: builtAt },
  );
  return info.builtAt;
}

/** A CycloneDX SBOM as any writer makes it: npm components with their purls. */
const cyclonedx = (packages: readonly [string, string][]): Buffer =>
  Buffer.from(
    JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      version: 1,
      components: packages.map(([name, version]) => ({ type: 'library', 'bom-ref': `${name}@${version}`, name, version, purl: `pkg:npm/${name}@${version}` })),
    }),
  );

for (const database of ['sqlite', 'postgres'] as const) {
  test(`re-evaluation meets every kind of stored image (${database})`, { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t, 'portcullis-reeval-');
    const schema = uniqueSchema();
    const meta: MetadataStore = database === 'sqlite' ? await openSqliteMetadataStore(join(dir, 'meta.db')) : await openPostgresMetadataStore({ url: POSTGRES_URL, schema });
    t.after(async () => {
      await meta.close();
      if (database === 'postgres') {
        const db = new PostgresDb({ url: POSTGRES_URL, schema });
        await db.dropSchema().finally(() => db.close());
      }
    });
    const { blobs, uploads } = await openFsBlobStorage(join(dir, 'blobs'));
    let clock = 1_700_000_000_000;
    const now = (): number => (clock += 1);
    const deps = { meta, blobs, writer: new ArtifactWriter({ meta, blobs, uploads, now, log: silentLogger }), log: silentLogger, now, version: 'test' };
    await meta.projects.create({ name: 'team', public: false, now: now() });
    await meta.artifacts.ensureRepository('team/app', 'team', now());

    const image = async (label: string, artifactType: string = MediaType.OciConfig): Promise<{ digest: Digest; subject: { mediaType: string; digest: string; size: number } }> => {
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: artifactType, digest: digestOf(Buffer.from(label)), size: label.length }, layers: [], annotations: { label } }));
      const digest = digestOf(manifest);
      const put = await meta.artifacts.putManifest({ repository: 'team/app', digest, mediaType: MediaType.OciManifest, content: manifest, artifactType, subject: null, annotations: null, blobs: [], blobBytes: 0, children: [], tag: label, now: now() });
      assert.equal(put.kind, 'stored');
      return { digest, subject: { mediaType: MediaType.OciManifest, digest, size: manifest.length } };
    };
    const sbom = (subject: { mediaType: string; digest: string; size: number }, packages: readonly [string, string][]) => storeSbom(deps, 'team/app', 'cyclonedx-json', cyclonedx(packages), subject);
    const result = async (digest: Digest, subject: { mediaType: string; digest: string; size: number }, ids: string[]) => {
      const reportDigest = await storeReferrer(deps, 'team/app', SCAN_REPORT_ARTIFACT_TYPE, Buffer.from('{"results":[]}'), 'scan-report.json', subject);
      const summary = { vulnerabilities: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 }, secrets: { ...NONE, high: 2 }, misconfigurations: { ...NONE, low: 1 } };
      const vulnerabilities = Uint32Array.from(await meta.scans.intern(ids)).sort();
      assert.ok(await meta.scans.put({ repository: 'team/app', digest, dbBuiltAt: '2000-01-01T00:00:00.000Z', scannedAt: now(), summary, reportDigest, warnings: [] }, { vulnerabilities }));
    };
    /** The stored state of an image, its numbers read back as strings. */
    const stateOf = async (digest: Digest): Promise<{ ids: (string | undefined)[]; keys: (string | number | undefined)[] | undefined }> => {
      const e = await meta.scans.evaluation('team/app', digest);
      assert.ok(e?.vulnerabilities !== undefined);
      const keys = e.keys === undefined ? undefined : [...e.keys];
      const names = keys === undefined ? [] : await meta.scans.terms(keys.filter((_, i) => i % 2 === 0));
      return { ids: (await meta.scans.terms([...e.vulnerabilities])).sort(), keys: keys?.map((k, i) => (i % 2 === 0 ? names[i / 2] : k)) };
    };
    // Scanned before match keys existed; its SBOM is stored. It had CVE-0003 already.
    const keyless = await image('keyless');
    await sbom(keyless.subject, [['left-pad', '1.3.0'], ['is-odd', '3.0.0']]);
    await result(keyless.digest, keyless.subject, ['CVE-2099-0003']);
    // Scanned, no keys, no SBOM (the SBOM worker was off): a scan done earlier is done again.
    const bare = await image('bare');
    await result(bare.digest, bare.subject, []);
    await meta.jobs.enqueue(SCAN_JOB, `team/app@${bare.digest}`, '{}', now());
    const job = await meta.jobs.claim({ kinds: [SCAN_JOB], now: now(), leaseMs: 60_000, holder: 'test', maxAttempts: 3 });
    await meta.jobs.complete(job!.id, 'test', now());
    // Never scanned (pushed while scanning was off), with an SBOM; and without one.
    const unscanned = await image('unscanned');
    await sbom(unscanned.subject, [['is-even', '1.0.0'], ['is-odd', '3.0.5']]);
    const unknown = await image('unknown');
    // Not an image: never evaluated, never queued.
    const other = await image('helm-chart', 'application/vnd.cncf.helm.config.v1+json');

    const dbPath = join(dir, 'advisory.db');
    const v1 = await buildDb(dbPath, ADVISORIES, new Date(clock - 10_000));
    const service = new ScanService({ ...deps, dbPath, maxDbAgeMs: Number.POSITIVE_INFINITY, cacheDir: undefined, storeSbom: false, holder: 'test' });
    t.after(() => service.stop());

    const first = await service.reevaluate();
    assert.equal(first.kind, 'done');
    if (first.kind !== 'done') return;
    assert.equal(first.dbBuiltAt, v1);
    assert.equal(first.evaluated, 2, 'keyless and unscanned (from their SBOMs)');
    assert.equal(first.skipped, 2, 'bare and unknown: nothing to evaluate');
    assert.deepEqual(
      first.newlyAffected.map((n) => [n.tags.join(), n.newVulnerabilities.join()]),
      [
        ['keyless', 'CVE-2099-0001'],
        ['unscanned', 'CVE-2099-0002'],
      ],
    );
    const k = await meta.scans.get('team/app', keyless.digest);
    assert.deepEqual(k?.summary, { vulnerabilities: { critical: 1, high: 0, medium: 0, low: 1, unknown: 0, fixable: 2 }, secrets: { ...NONE, high: 2 }, misconfigurations: { ...NONE, low: 1 } }, 'secrets and misconfigurations kept');
    assert.equal(k?.dbBuiltAt, v1);
    assert.deepEqual(await stateOf(keyless.digest), {
      ids: ['CVE-2099-0001', 'CVE-2099-0003'],
      keys: [packageMatchKey('npm', 'is-odd', '3.0.0', 0), 1, packageMatchKey('npm', 'left-pad', '1.3.0', 0), 1],
    }, 'keys stored for the next time');
    assert.equal(await meta.scans.get('team/app', unscanned.digest), undefined, 'the scan job brings the full result');
    for (const d of [bare.digest, unscanned.digest, unknown.digest]) assert.equal((await meta.jobs.get(SCAN_JOB, `team/app@${d}`))?.state, 'queued', `scan of ${d} queued`);
    assert.equal(await meta.jobs.get(SCAN_JOB, `team/app@${other.digest}`), undefined);
    assert.equal(await meta.jobs.get(SCAN_JOB, `team/app@${keyless.digest}`), undefined, 'evaluated from its SBOM: no scan needed');

    // The same DB again: the keys are read now; nothing changes. The image whose scan has not run
    // yet has still no evaluation to compare with: it is named again.
    const again = await service.reevaluate();
    assert.deepEqual(again.kind === 'done' ? again.newlyAffected.map((n) => [n.tags.join(), n.newVulnerabilities.join()]) : [], [['unscanned', 'CVE-2099-0002']]);
    assert.deepEqual(await meta.scans.get('team/app', keyless.digest), k);

    // A new build: is-odd's fix moves past 3.0.0's successor; left-pad's advisory is withdrawn.
    const v2 = await buildDb(dbPath, [ADVISORIES[1]!, ['CVE-2099-0004', 'is-odd', '4.0.0', 'MEDIUM']], new Date(clock - 5_000));
    const second = await service.reevaluate();
    assert.equal(second.kind === 'done' && second.dbBuiltAt, v2);
    assert.deepEqual(
      second.kind === 'done' ? second.newlyAffected.map((n) => [n.tags.join(), n.newVulnerabilities.join()]) : [],
      [
        ['keyless', 'CVE-2099-0004'],
        ['unscanned', 'CVE-2099-0002,CVE-2099-0004'],
      ],
    );
    const k2 = await meta.scans.get('team/app', keyless.digest);
    assert.deepEqual((await stateOf(keyless.digest)).ids, ['CVE-2099-0004'], 'withdrawn ids go');
    assert.deepEqual(k2?.summary, { vulnerabilities: { critical: 0, high: 0, medium: 1, low: 0, unknown: 0, fixable: 1 }, secrets: { ...NONE, high: 2 }, misconfigurations: { ...NONE, low: 1 } });
    assert.equal(k2?.reportDigest, k?.reportDigest, 'the report is rebuilt only when asked for');
  });
}
