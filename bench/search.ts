/**
 * `npm run bench:search`: "which images hold CVE-X?" over 10,000 stored images (SQLite, as
 * `npm start` runs), through the registry's search service: the advisory DB names the package,
 * the index of match keys finds its versions and the images holding them, a page of 10 is read
 * with tags and summaries. Target: p99 ≤ 50 ms. Each image holds 200 npm packages drawn from
 * 5,000 (a popular one in every 4th image); the CVE hits the popular package's old versions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { digestOf, MediaType, type Digest } from '../src/oci/index.js';
import { SecuritySearch } from '../src/registry/security-search.js';
import { openSqliteMetadataStore } from '../src/storage/index.js';
import { AdvisoryDb, buildAdvisoryDb, Matcher, packageMatchKey } from '../src/vuln/index.js';

const IMAGES = Number(process.env['BENCH_IMAGES'] ?? 10_000);
const PACKAGES = 5000;
const PER_IMAGE = 200;
const QUERIES = 300;

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-search-'));
try {
  const meta = await openSqliteMetadataStore(join(dir, 'meta.db'));
  await meta.projects.create({ name: 'team', public: false, now: 1 });
  const repos = 100;
  for (let r = 0; r < repos; r++) await meta.artifacts.ensureRepository(`team/app${r}`, 'team', 1);
  // Key terms: package i at versions 1.0.0 … 1.0.3.
  const keyStrings: string[] = [];
  for (let i = 0; i < PACKAGES; i++) for (let v = 0; v < 4; v++) keyStrings.push(packageMatchKey('npm', `pkg-${i}`, `1.0.${v}`, 0));
  const keyTerms = await meta.scans.intern(keyStrings);
  await meta.scans.describePackages(keyStrings.map((k, i) => ({ term: keyTerms[i]!, ecosystem: 'npm', name: k.split('\u007f')[2]!, version: k.split('\u007f')[3]! })));
  const [cveTerm] = await meta.scans.intern(['CVE-2099-0001']);
  const summary = { vulnerabilities: { critical: 1, high: 0, medium: 0, low: 0, unknown: 0, fixable: 1 }, secrets: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, misconfigurations: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 } };
  let seed = 42;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const t0 = performance.now();
  for (let i = 0; i < IMAGES; i++) {
    const repository = `team/app${i % repos}`;
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: digestOf(Buffer.from(String(i))), size: 1 }, layers: [] }));
    const digest = digestOf(content) as Digest;
    await meta.artifacts.putManifest({ repository, digest, mediaType: MediaType.OciManifest, content, artifactType: MediaType.OciConfig, subject: null, annotations: null, blobs: [], blobBytes: 0, children: [], tag: `v${i}`, now: 2 });
    const held = new Set<number>();
    if (i % 4 === 0) held.add(rand(4)); // pkg-0 (the popular one) at some version
    while (held.size < PER_IMAGE) held.add(4 * (1 + rand(PACKAGES - 1)) + rand(4));
    const keys = new Uint32Array(PER_IMAGE * 2);
    [...held].forEach((k, j) => ((keys[2 * j] = keyTerms[k]!), (keys[2 * j + 1] = 1)));
    await meta.scans.put({ repository, digest, dbBuiltAt: 'b', scannedAt: 3, summary, reportDigest: digest, warnings: [] }, { vulnerabilities: i % 4 === 0 ? Uint32Array.from([cveTerm!]) : new Uint32Array(0), keys });
  }
  const loadMs = performance.now() - t0;
  const dbPath = join(dir, 'advisory.db');
  await buildAdvisoryDb(dbPath, [
    {
      feed: 'bench',
      files: (async function* () {
        yield {
          file: 'ghsa.json',
          records: {
            vulnerabilities: [{ id: 'CVE-2099-0001', aliases: [], references: [], cvss: [], severity: { source: 'ghsa', severity: 'CRITICAL' as const }, source: 'ghsa' }],
            affected: [{ vulnId: 'CVE-2099-0001', ecosystem: 'npm', name: 'pkg-0', ranges: [{ type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: '1.0.3' }] }], versions: [], status: 'affected' as const, source: 'ghsa' }],
            errors: [],
          },
        };
      })(),
    },
  ]);
  const db = AdvisoryDb.open(dbPath);
  const matcher = new Matcher(db);
  const search = new SecuritySearch({ meta, acquireDb: () => ({ db, release: () => undefined }), matcherFor: () => matcher });
  const all = { kind: 'projects' as const, projects: ['team'], includePublic: true };
  const times: number[] = [];
  let total = 0;
  for (let q = 0; q < QUERIES + 20; q++) {
    const start = performance.now();
    const r = await search.artifactsOf('CVE-2099-0001', all, { page: 1 + (q % 5), pageSize: 10 });
    const ms = performance.now() - start;
    if (q >= 20) times.push(ms);
    total = r.total;
  }
  times.sort((a, b) => a - b);
  const pct = (p: number): number => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
  const pkgTimes: number[] = [];
  for (let q = 0; q < 100; q++) {
    const start = performance.now();
    await search.imagesWithPackage({ name: `pkg-${1 + (q % 50)}` }, all, { page: 1, pageSize: 10 });
    pkgTimes.push(performance.now() - start);
  }
  pkgTimes.sort((a, b) => a - b);
  const sumStart = performance.now();
  await search.summary(all, 5);
  const summaryMs = performance.now() - sumStart;
  console.log(`images stored: ${IMAGES} (${PER_IMAGE} packages each), loaded in ${(loadMs / 1000).toFixed(1)} s`);
  console.log(`search cve (${total} images hold it, a page of 10, a member's scope): p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms (target ≤ 50 ms: ${pct(99) <= 50 ? 'ok' : 'MISSED'})`);
  console.log(`search package by name: p50 ${pkgTimes[50]!.toFixed(1)} ms, p99 ${pkgTimes[98]!.toFixed(1)} ms`);
  console.log(`security summary: ${summaryMs.toFixed(0)} ms`);
  db.close();
  await meta.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
