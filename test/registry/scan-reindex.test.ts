/**
 * Bringing the index of scan results up to date when the service starts: results stored before
 * the index existed are indexed (by key and vulnerability, their packages described); when the
 * stored keys are of another MATCH_KEYS_VERSION they are made again from the stored SBOM, and an
 * image without one is scanned again. Once per version: a second start does nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { MediaType, digestOf, type Digest } from '../../src/oci/index.js';
import { ArtifactWriter, SCAN_JOB, SCAN_REPORT_ARTIFACT_TYPE, ScanService, storeSbom } from '../../src/registry/index.js';
import { storeReferrer } from '../../src/registry/referrer.js';
import { reindexJobKey, SCAN_REINDEX_JOB, STORED_KEYS_VERSION } from '../../src/registry/scan-reindex.js';
import { silentLogger } from '../../src/shared/index.js';
import { openFsBlobStorage, openSqliteMetadataStore, SqliteDb } from '../../src/storage/index.js';
import { MATCH_KEYS_VERSION, packageMatchKey } from '../../src/vuln/index.js';
import { tempDir } from '../helpers/env.js';

const NONE = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };

test('the service indexes results stored before the index, and makes keys of another version again', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'portcullis-reindex-');
  const metaPath = join(dir, 'meta.db');
  const meta = await openSqliteMetadataStore(metaPath);
  t.after(() => meta.close());
  const { blobs, uploads } = await openFsBlobStorage(join(dir, 'blobs'));
  let clock = 1_700_000_000_000;
  const now = (): number => (clock += 1);
  const deps = { meta, blobs, writer: new ArtifactWriter({ meta, blobs, uploads, now, log: silentLogger }), log: silentLogger, now, version: 'test' };
  await meta.projects.create({ name: 'team', public: false, now: now() });
  await meta.artifacts.ensureRepository('team/app', 'team', now());
  const image = async (label: string) => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: digestOf(Buffer.from(label)), size: label.length }, layers: [], annotations: { label } }));
    const digest = digestOf(manifest);
    await meta.artifacts.putManifest({ repository: 'team/app', digest, mediaType: MediaType.OciManifest, content: manifest, artifactType: MediaType.OciConfig, subject: null, annotations: null, blobs: [], blobBytes: 0, children: [], tag: label, now: now() });
    return { digest, subject: { mediaType: MediaType.OciManifest, digest, size: manifest.length } };
  };
  // Stored as the build before the index stored them: a result, keys (without their description), no index rows.
  // The SBOM names `sbom` (undefined: none); the stored keys `keys`, as an older keying made them.
  const stored = async (label: string, keys: [string, string][], sbom: [string, string][] | undefined): Promise<Digest> => {
    const { digest, subject } = await image(label);
    if (sbom !== undefined) {
      const doc = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components: sbom.map(([name, version]) => ({ type: 'library', name, version, purl: `pkg:npm/${name}@${version}` })) };
      await storeSbom(deps, 'team/app', 'cyclonedx-json', Buffer.from(JSON.stringify(doc)), subject);
    }
    const reportDigest = await storeReferrer(deps, 'team/app', SCAN_REPORT_ARTIFACT_TYPE, Buffer.from('{"results":[]}'), 'scan-report.json', subject);
    const [cve, ...keyTerms] = await meta.scans.intern(['CVE-2099-0001', ...keys.map(([n, v]) => `0\u007fnpm\u007f${n}\u007f${v}`)]);
    const summary = { vulnerabilities: { ...NONE, fixable: 0, high: 1 }, secrets: NONE, misconfigurations: NONE };
    assert.ok(await meta.scans.put({ repository: 'team/app', digest, dbBuiltAt: null, scannedAt: now(), summary, reportDigest, warnings: [] }, { vulnerabilities: Uint32Array.from([cve!]), keys: Uint32Array.from(keyTerms.flatMap((k) => [k, 1])) }));
    return digest;
  };
  const a = await stored('a', [['left-pad', '1.3.0-old-keying']], [['left-pad', '1.3.0']]);
  const b = await stored('b', [['is-even', '1.0.0']], undefined);
  const raw = new SqliteDb(metaPath);
  await raw.run('DELETE FROM scan_images');
  await raw.run('DELETE FROM scan_packages');
  await raw.close();
  const all = { kind: 'all' } as const;
  const leftPad = async () => meta.scans.findPackages({ names: ['left-pad'] }, 10);
  assert.deepEqual(await leftPad(), [], 'nothing indexed yet');
  // The stored keys are of this version: indexed as they are.
  await meta.settings.put(STORED_KEYS_VERSION, String(MATCH_KEYS_VERSION));

  const start = async (): Promise<void> => {
    const service = new ScanService({ ...deps, dbPath: join(dir, 'no-advisory.db'), maxDbAgeMs: Number.POSITIVE_INFINITY, cacheDir: undefined, storeSbom: false, holder: 'test' });
    service.start();
    const deadline = Date.now() + 20_000;
    while ((await meta.jobs.get(SCAN_REINDEX_JOB, reindexJobKey()))?.state !== 'done') {
      assert.ok(Date.now() < deadline, 'the index job ran');
      await new Promise((r) => setTimeout(r, 50));
    }
    await service.stop();
  };
  await start();
  const [pkg] = await leftPad();
  assert.deepEqual(pkg && { ...pkg, term: 0 }, { term: 0, ecosystem: 'npm', name: 'left-pad', version: '1.3.0-old-keying' }, 'the stored keys, described');
  assert.deepEqual((await meta.scans.imagesWithKeys([pkg!.term], all, { offset: 0, limit: 10 })).items.map((h) => h.digest), [a]);
  const [cve] = await meta.scans.intern(['CVE-2099-0001']);
  assert.equal((await meta.scans.imagesWithVulnerability(cve!, all, { offset: 0, limit: 10 })).total, 2);
  assert.equal(await meta.settings.get(STORED_KEYS_VERSION), String(MATCH_KEYS_VERSION));
  assert.equal(await meta.jobs.get(SCAN_JOB, `team/app@${b}`), undefined, 'keys of this version serve: nothing scanned again');

  // Keys of another version: made again from the SBOM (a's), or the image scanned again (b has no SBOM).
  await meta.settings.put(STORED_KEYS_VERSION, String(MATCH_KEYS_VERSION - 1));
  await meta.jobs.requeue(SCAN_REINDEX_JOB, reindexJobKey(), now());
  await start();
  const e = await meta.scans.evaluation('team/app', a);
  assert.deepEqual(await meta.scans.terms([e!.keys![0]!]), [packageMatchKey('npm', 'left-pad', '1.3.0', 0)], 'made again from the SBOM');
  const rekeyed = (await leftPad()).find((p) => p.version === '1.3.0');
  assert.deepEqual((await meta.scans.imagesWithKeys([rekeyed!.term], all, { offset: 0, limit: 10 })).items.map((h) => h.digest), [a], 'and indexed');
  assert.equal((await meta.scans.imagesWithKeys([pkg!.term], all, { offset: 0, limit: 10 })).total, 0, 'the old key is no longer indexed');
  assert.equal((await meta.jobs.get(SCAN_JOB, `team/app@${b}`))?.state, 'queued');
  assert.equal(await meta.settings.get(STORED_KEYS_VERSION), String(MATCH_KEYS_VERSION));
});
