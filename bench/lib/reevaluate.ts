/**
 * The re-evaluation step of bench:scan: a registry store (SQLite + files) holding N images, each
 * with its CycloneDX SBOM as a referrer and a scan result, re-evaluated by the registry's own
 * ScanService. Two processes, so that each one's peak RSS is its own:
 *   prepare DB1 SBOM_DIR WORK   builds the store; the first evaluation against DB1: no match keys
 *                               stored yet (images scanned before they existed), every SBOM is
 *                               parsed, matched, and its keys stored.
 *   update DB2 WORK             a registry process (re)started, the DB file replaced by a newer
 *                               build (the steady state after any DB update), then the same DB
 *                               once more (nothing changes; every image is still read and counted).
 * Each prints one JSON line.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType, digestOf, type Digest } from '../../src/oci/index.js';
import { ArtifactWriter, ScanService, SCAN_REPORT_ARTIFACT_TYPE, storeSbom } from '../../src/registry/index.js';
import { storeReferrer } from '../../src/registry/referrer.js';
import { silentLogger } from '../../src/shared/index.js';
import { openFsBlobStorage, openSqliteMetadataStore } from '../../src/storage/index.js';

const NONE = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
const [mode, ...args] = process.argv.slice(2);
const now = (): number => Date.now();
const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

if (mode === 'prepare') await prepare(args);
else if (mode === 'update') await update(args);
else throw new Error('usage: reevaluate prepare DB1 SBOM_DIR WORK_DIR | update DB2 WORK_DIR');

async function prepare([db1, sbomDir, work]: string[]): Promise<void> {
  if (db1 === undefined || sbomDir === undefined || work === undefined) throw new Error('usage: reevaluate prepare DB1 SBOM_DIR WORK_DIR');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const meta = await openSqliteMetadataStore(join(work, 'meta.db'));
  const { blobs, uploads } = await openFsBlobStorage(join(work, 'blobs'));
  const deps = { meta, blobs, writer: new ArtifactWriter({ meta, blobs, uploads, now, log: silentLogger }), log: silentLogger, now, version: 'bench' };
  const dbPath = join(work, 'advisory.db');
  copyFileSync(db1, dbPath);

  await meta.projects.create({ name: 'bench', public: false, now: now() });
  const files = readdirSync(sbomDir)
    .filter((f) => f.endsWith('.json'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  for (const [i, file] of files.entries()) {
    const repository = `bench/app-${i % 50}`;
    await meta.artifacts.ensureRepository(repository, 'bench', now());
    // A distinct image per SBOM: its config differs; no layers are needed for re-evaluation.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: [`IMAGE=${i}`] }, rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = digestOf(config);
    await meta.blobs.reserve(configDigest, now());
    await blobs.put(configDigest, (async function* () {
      yield config;
    })());
    await meta.blobs.link(repository, configDigest, config.length, now());
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length }, layers: [] }));
    const digest = digestOf(manifest);
    const put = await meta.artifacts.putManifest({ repository, digest, mediaType: MediaType.OciManifest, content: manifest, artifactType: MediaType.OciConfig, subject: null, annotations: null, blobs: [configDigest], blobBytes: config.length, children: [], tag: `v${i}`, now: now() });
    if (put.kind !== 'stored') throw new Error(`the image manifest was not stored: ${JSON.stringify(put)}`);
    const subject = { mediaType: MediaType.OciManifest, digest, size: manifest.length };
    await storeSbom(deps, repository, 'cyclonedx-json', readFileSync(join(sbomDir, file)), subject);
    // The result a scan against an older DB left: no vulnerabilities known yet, no package index.
    const report = Buffer.from(JSON.stringify({ createdAt: new Date(0).toISOString(), artifactName: `${repository}@${digest}`, artifactType: 'container_image', metadata: {}, results: [] }));
    const reportDigest = await storeReferrer(deps, repository, SCAN_REPORT_ARTIFACT_TYPE, report, 'scan-report.json', subject);
    await meta.scans.put({
      repository,
      digest: digest as Digest,
      dbBuiltAt: '2000-01-01T00:00:00.000Z',
      scannedAt: now(),
      summary: { vulnerabilities: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, fixable: 0 }, secrets: NONE, misconfigurations: NONE },
      reportDigest,
      warnings: [],
    }, { vulnerabilities: new Uint32Array(0) });
  }
  const service = new ScanService({ ...deps, dbPath, maxDbAgeMs: Number.POSITIVE_INFINITY, cacheDir: undefined, storeSbom: false, holder: 'bench' });
  const t = performance.now();
  const first = await service.reevaluate();
  const firstMs = performance.now() - t;
  await service.stop();
  await meta.close();
  if (first.kind !== 'done') throw new Error(`re-evaluation did not run: ${JSON.stringify(first)}`);
  process.stdout.write(`${JSON.stringify({ images: files.length, firstMs: Math.round(firstMs), evaluated: first.evaluated, skipped: first.skipped, peakRssMb: peakRssMb() })}\n`);
}

async function update([db2, work]: string[]): Promise<void> {
  if (db2 === undefined || work === undefined) throw new Error('usage: reevaluate update DB2 WORK_DIR');
  const meta = await openSqliteMetadataStore(join(work, 'meta.db'));
  const { blobs, uploads } = await openFsBlobStorage(join(work, 'blobs'));
  const dbPath = join(work, 'advisory.db');
  const service = new ScanService({ meta, blobs, writer: new ArtifactWriter({ meta, blobs, uploads, now, log: silentLogger }), log: silentLogger, now, version: 'bench', dbPath, maxDbAgeMs: Number.POSITIVE_INFINITY, cacheDir: undefined, storeSbom: false, holder: 'bench' });
  // A DB update: the new build renamed into place, as `portcullis db pull` does.
  copyFileSync(db2, `${dbPath}.new`);
  renameSync(`${dbPath}.new`, dbPath);
  let t = performance.now();
  const updated = await service.reevaluate();
  const updateMs = performance.now() - t;
  t = performance.now();
  const again = await service.reevaluate();
  const againMs = performance.now() - t;
  await service.stop();
  await meta.close();
  if (updated.kind !== 'done' || again.kind !== 'done') throw new Error(`re-evaluation did not run: ${JSON.stringify([updated, again])}`);
  process.stdout.write(
    `${JSON.stringify({
      updateMs: Math.round(updateMs),
      againMs: Math.round(againMs),
      evaluated: updated.evaluated,
      skipped: updated.skipped,
      newlyAffected: updated.newlyAffected.length,
      newIds: updated.newlyAffected.reduce((n, a) => n + a.newVulnerabilities.length, 0),
      againNewlyAffected: again.newlyAffected.length,
      peakRssMb: peakRssMb(),
    })}\n`,
  );
}
