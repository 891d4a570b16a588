/**
 * npm run bench:scan — vulnerability, secret and configuration scanning of the shared benchmark
 * image (bench/lib/image-fixture.ts: Debian bookworm with Java, Maven, Python, Node and an app;
 * about 800 MB uncompressed in 3 gzip layers) against an advisory DB of more than 100,000
 * advisories, through the CLI as separate processes (startup included, RSS per process):
 *   cold    `portcullis scan oci-dir:… --scanners vuln,secret,config -f json` with an empty layer
 *           cache, next to the physical limit measured in the same run: `pigz -dc` of the same
 *           layer blobs into /dev/null; target ≤ 2.0× the limit.
 *   warm    the same scan again with the filled cache; target ≤ 0.5 s. (The report of an image's
 *           facts against one DB build is cached too; the first warm scan after a DB update,
 *           which matches again, is shown on its own line.)
 *   re-eval 1,000 images in a registry store (SQLite + files), each with its CycloneDX SBOM as a
 *           referrer (the image's SBOM as a fleet has it: 25 generations of the base, each with
 *           3% of the versions changed, and 0.3% versions of each image's own: no two the same)
 *           and a scan result (bench/lib/reevaluate.ts). One process evaluates them first from
 *           their SBOMs (storing their match keys); a second, as a registry restarted, re-evaluates
 *           them after the DB file is replaced by a newer build in which every advisory on the
 *           image's packages changed (the worst case: every image changes); target ≤ 5 s.
 *   RSS     peak resident set of the scan processes and of the re-evaluation after the update;
 *           target ≤ 400 MB each.
 *   db      `portcullis db update` from the default feed set at its real size, generated and
 *           served locally (bench/lib/feed-fixture.ts): the full build (time; peak RSS target
 *           ≤ 1 GB), then every feed unchanged (target ≤ 2 s: conditional requests only).
 *   search  `search cve` over 10,000 stored images (bench/search.ts, run as its own process):
 *           p99 target ≤ 50 ms.
 * The DB is generated (cached in the bench cache): advisories aimed at the image's own packages
 * (Debian source packages through the tracker's statuses, language packages through OSV ranges,
 * some fixed above and some below the installed version) plus synthetic ones for other packages.
 * Results on stdout, progress on stderr. Not a test: nothing here asserts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAdvisoryDb, type AffectedRecord, type FeedRecords, type VulnerabilityRecord } from '../src/vuln/index.js';
import { fullDbUpdate, TARGET_BUILD_RSS_MB, TARGET_UNCHANGED_S } from './lib/db-update-full.js';
import { benchCacheDir, ensureImageFixture, fixtureManifest } from './lib/image-fixture.js';
import { lastLines, measure, series, type Run } from './lib/measure.js';
import { which } from './lib/proc.js';
import { rng } from './lib/rng.js';

const MB = 1e6;
const TARGET_COLD_RATIO = 2.0;
const TARGET_WARM_S = 0.5;
const TARGET_REEVAL_S = 5;
const TARGET_RSS_MB = 400;
const ADVISORIES = 120_000;
const SBOMS = 1000;
const DB_VERSION = 'scan-db-v1';
/** Bump when the SBOM variants change. */
const SBOMS_VERSION = 'sboms-v2';

const log = (m: string): void => void process.stderr.write(`${m}\n`);

interface InventoryJson {
  distro?: { id: string; versionId?: string };
  packages: { type: string; name: string; namespace?: string; version: string; source?: { name: string; version?: string } }[];
}

const OSV_ECOSYSTEM: Record<string, string> = { npm: 'npm', pypi: 'pypi', golang: 'go', maven: 'maven', cargo: 'crates.io', gem: 'rubygems', composer: 'packagist', nuget: 'nuget' };

function langName(p: InventoryJson['packages'][number]): string {
  if (p.type === 'maven') return `${p.namespace ?? ''}:${p.name}`;
  if (p.type === 'pypi') return p.name.toLowerCase().replace(/[-_.]+/g, '-');
  return p.namespace !== undefined && p.namespace !== '' ? `${p.namespace}/${p.name}` : p.name;
}

/** A version above (or, with `below`, under) `v` for the ecosystem's order: good enough to bracket. */
function bump(v: string, kind: 'deb' | 'lang', below: boolean): string {
  if (below) return kind === 'deb' ? `0.0.1-1` : '0.0.1';
  return kind === 'deb' ? `${v}+deb12u99` : `${v.replace(/^v/, '').split(/[-+]/)[0]!.replace(/(\d+)$/, (d) => String(Number(d) + 1))}`;
}

/** Feed records: advisories on the image's own packages, then synthetic ones up to `total`. */
function* generate(inv: InventoryJson, total: number, seed: number, extraForImage = 0): Generator<FeedRecords> {
  const r = rng(seed);
  const sev = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
  let n = 0;
  let vulns: VulnerabilityRecord[] = [];
  let affected: AffectedRecord[] = [];
  const flush = function* (): Generator<FeedRecords> {
    if (vulns.length + affected.length === 0) return;
    yield { vulnerabilities: vulns, affected, errors: [] };
    vulns = [];
    affected = [];
  };
  const cve = (): string => `CVE-${2015 + Math.floor(r() * 10)}-${String(100000 + n).padStart(6, '0')}`;
  const add = (id: string, rec: Omit<AffectedRecord, 'vulnId'>, lang: boolean): void => {
    n += 1;
    const severity = sev[Math.floor(r() * 4)]!;
    vulns.push({
      id,
      aliases: lang ? [`GHSA-bnch-${String(n).padStart(4, '0').slice(-4)}-${String(n % 10000).padStart(4, '0')}`] : [],
      summary: `synthetic advisory ${n} for ${rec.name}`,
      details: 'Generated for the scan benchmark. '.repeat(4),
      published: '2024-01-01T00:00:00Z',
      modified: '2024-06-01T00:00:00Z',
      references: [`https://example.org/advisories/${id}`],
      cvss: lang ? [{ source: 'ghsa', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 }] : [],
      ...(lang ? { severity: { source: 'ghsa', severity } } : {}),
      source: lang ? 'ghsa' : 'debian-tracker',
    });
    affected.push({ vulnId: id, ...rec });
  };
  const image = inv.packages;
  const debSources = [...new Map(image.filter((p) => p.type === 'deb').map((p) => [p.source?.name ?? p.name, p.source?.version ?? p.version])).entries()];
  const langs = image.filter((p) => OSV_ECOSYSTEM[p.type] !== undefined);
  const rounds = 3 + extraForImage;
  for (let round = 0; round < rounds; round++) {
    for (const [name, version] of debSources) {
      const pick = r();
      const status = pick < 0.5 ? 'fixed' : pick < 0.8 ? 'affected' : pick < 0.9 ? 'will_not_fix' : 'not_affected';
      const below = r() < 0.5;
      add(cve(), { ecosystem: 'debian:12', name, ranges: [], versions: [], status, ...(status === 'fixed' ? { fixedVersion: bump(version, 'deb', below) } : {}), severity: sev[Math.floor(r() * 4)]!, source: 'debian-tracker' }, false);
    }
    for (const p of langs) {
      const eco = OSV_ECOSYSTEM[p.type]!;
      const below = r() < 0.6;
      add(cve(), { ecosystem: eco, name: langName(p), ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: bump(p.version, 'lang', below) }] }], versions: [], status: 'fixed', source: 'ghsa' }, true);
    }
    yield* flush();
  }
  const ecosystems = ['debian:12', 'debian:11', 'alpine:3.19', 'npm', 'pypi', 'maven', 'go', 'crates.io', 'rubygems'];
  while (n < total) {
    const eco = ecosystems[Math.floor(r() * ecosystems.length)]!;
    const lang = !eco.includes(':');
    const name = `synthetic-${eco.replace(/[^a-z0-9]/g, '')}-${Math.floor(r() * 40000)}`;
    add(cve(), lang ? { ecosystem: eco, name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { fixed: `${1 + Math.floor(r() * 9)}.${Math.floor(r() * 20)}.0` }] }], versions: [], status: 'fixed', source: 'ghsa' } : { ecosystem: eco, name, ranges: [], versions: [], status: 'fixed', fixedVersion: `${Math.floor(r() * 9)}.${Math.floor(r() * 9)}-1`, source: 'debian-tracker' }, lang);
    if (vulns.length >= 5000) yield* flush();
  }
  yield* flush();
}

async function buildDb(out: string, inv: InventoryJson, seed: number, extra: number): Promise<void> {
  const batches = generate(inv, ADVISORIES, seed, extra);
  await buildAdvisoryDb(out, [
    {
      feed: 'generated',
      files: (async function* () {
        let i = 0;
        for (const records of batches) yield { file: `batch-${i++}`, records };
      })(),
    },
  ]);
}

function num(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

async function main(): Promise<void> {
  const pigz = which('pigz');
  if (pigz === undefined) throw new Error('pigz is not installed: apt-get install -y pigz');
  const root = resolve(new URL('.', import.meta.url).pathname, '..');
  const cli = join(root, 'src/cli/main.js');
  const reeval = join(root, 'bench/lib/reevaluate.js');
  const fixture = await ensureImageFixture(log);
  const source = `oci-dir:${fixture.layoutDir}:${fixture.tag}`;
  const described = fixtureManifest();
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const work = join(benchCacheDir(), DB_VERSION);
  mkdirSync(work, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'bench-scan-'));
  try {
    // The image's packages, to aim advisories at them (a warm SBOM run when the cache has it).
    const invFile = join(work, 'inventory.json');
    if (!existsSync(invFile)) {
      log('reading the image inventory (portcullis sbom -f json)...');
      const r = await measure(process.execPath, [cli, 'sbom', source, '-f', 'json', '--cache-dir', join(work, 'sbom-cache')], invFile);
      if (!r.ok) throw new Error(`portcullis sbom failed: ${lastLines(r.stderr, 10)}`);
    }
    const inv = JSON.parse(readFileSync(invFile, 'utf8')) as InventoryJson;
    const db1 = join(work, 'advisory-1.db');
    const db2 = join(work, 'advisory-2.db');
    if (!existsSync(db1)) {
      log(`generating a DB of ${ADVISORIES} advisories (${inv.packages.length} image packages targeted)...`);
      await buildDb(db1, inv, 1, 0);
    }
    if (!existsSync(db2)) {
      log('generating the updated DB (more advisories on the image packages)...');
      await buildDb(db2, inv, 2, 1);
    }

    log('measuring the limit: pigz -dc of the layer blobs into /dev/null (median of 3)...');
    await measure(pigz, ['-dc', ...fixture.layerBlobs]);
    const limit = series([await measure(pigz, ['-dc', ...fixture.layerBlobs]), await measure(pigz, ['-dc', ...fixture.layerBlobs]), await measure(pigz, ['-dc', ...fixture.layerBlobs])], 'pigz -dc');
    log(`  pigz -dc: ${limit.seconds.toFixed(2)} s`);

    const scanArgs = (cache: string): string[] => [cli, 'scan', source, '--db', db1, '--scanners', 'vuln,secret,config', '-f', 'json', '--cache-dir', cache];
    const report = join(scratch, 'report.json');
    const coldRuns: Run[] = [];
    let cache = '';
    for (let i = 0; i < 3; i++) {
      cache = join(scratch, `cache-${i}`);
      log(`cold scan ${i + 1}/3...`);
      coldRuns.push(await measure(process.execPath, scanArgs(cache), report));
    }
    const cold = series(coldRuns, 'cold scan');
    const warmRuns: Run[] = [];
    for (let i = 0; i < 5; i++) warmRuns.push(await measure(process.execPath, scanArgs(cache), join(scratch, 'warm.json')));
    const warm = series(warmRuns, 'warm scan');
    // The layers cached, the DB new: the match runs again (the report cache is per DB build).
    const newDb = await measure(process.execPath, [...scanArgs(cache).map((a) => (a === db1 ? db2 : a))], join(scratch, 'warm-newdb.json'));
    const same = existsSync(report) && existsSync(join(scratch, 'warm.json')) && strip(readFileSync(report, 'utf8')) === strip(readFileSync(join(scratch, 'warm.json'), 'utf8'));
    const counts = countFindings(report);

    // 1,000 stored SBOMs: the image's CycloneDX with a few versions changed in each.
    const sbomDir = join(work, SBOMS_VERSION);
    if (!existsSync(join(sbomDir, `${SBOMS - 1}.cdx.json`))) {
      log(`writing ${SBOMS} SBOM variants...`);
      const base = join(scratch, 'base.cdx.json');
      const r = await measure(process.execPath, [cli, 'sbom', source, '-f', 'cyclonedx-json', '--cache-dir', cache], base);
      if (!r.ok) throw new Error(`portcullis sbom failed: ${lastLines(r.stderr, 10)}`);
      const text = readFileSync(base, 'utf8');
      mkdirSync(sbomDir, { recursive: true });
      const doc = JSON.parse(text) as { components?: { version?: string }[]; serialNumber?: string };
      // A fleet: 25 generations of the base (each changes 3% of the package versions, the same
      // way for every image of that generation), and in each image 0.3% versions of its own.
      const components = doc.components ?? [];
      for (let i = 0; i < SBOMS; i++) {
        const copy = structuredClone(doc);
        const generation = i % 25;
        const base = rng(1000 + generation);
        const own = rng(7 + i);
        (copy.components ?? []).forEach((c, k) => {
          const original = components[k]?.version;
          if (original === undefined) return;
          if (base() < 0.03) c.version = `${original}.g${generation}`;
          if (own() < 0.003) c.version = `${original}.i${i}`;
        });
        copy.serialNumber = `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        writeFileSync(join(sbomDir, `${i}.cdx.json`), JSON.stringify(copy));
      }
    }
    log(`re-evaluating ${SBOMS} stored images (SBOM referrers in a registry store): first from their SBOMs...`);
    const registry = join(scratch, 'registry');
    const prepareRun = await measure(process.execPath, [reeval, 'prepare', db1, sbomDir, registry], join(scratch, 'prepare.json'));
    log('... then, in a new process, after a DB update...');
    const updateRun = prepareRun.ok ? await measure(process.execPath, [reeval, 'update', db2, registry], join(scratch, 'update.json')) : prepareRun;
    const readJson = <T>(file: string): T | undefined => {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as T;
      } catch {
        return undefined;
      }
    };
    const first = readJson<{ images: number; firstMs: number; peakRssMb: number }>(join(scratch, 'prepare.json'));
    const re = readJson<{ updateMs: number; againMs: number; newlyAffected: number; newIds: number; againNewlyAffected: number; peakRssMb: number }>(join(scratch, 'update.json'));
    const reError = [prepareRun, updateRun].filter((r) => !r.ok).map((r) => `re-evaluation exited with ${r.code}: ${lastLines(r.stderr, 12)}`)[0];

    const full = await fullDbUpdate(cli, log);
    log('search cve over 10,000 stored images (bench/search.js)...');
    const searchOut = join(scratch, 'search.txt');
    const searchRun = await measure(process.execPath, [join(root, 'bench/search.js')], searchOut);
    const searchText = searchRun.ok ? readFileSync(searchOut, 'utf8') : '';
    const p99 = Number(/search cve .*p99 ([\d.]+) ms/.exec(searchText)?.[1] ?? NaN);

    const rssScan = Math.max(...[...coldRuns, ...warmRuns, newDb].filter((r) => r.ok).map((r) => r.rss));
    const rssUpdate = updateRun.ok ? updateRun.rss : NaN;
    const ok = (b: boolean | undefined): string => (b === undefined ? 'n/a' : b ? 'ok' : 'MISSED');
    const rows: string[][] = [
      ['cold full scan, s (median of 3)', num(limit.seconds, 2), num(cold.seconds, 2), `${num(cold.seconds / limit.seconds, 2)}×`, `≤ ${TARGET_COLD_RATIO}×`, ok(Number.isFinite(cold.seconds) ? cold.seconds / limit.seconds <= TARGET_COLD_RATIO : undefined)],
      ['warm rescan, s (median of 5)', '', num(warm.seconds, 3), '', `≤ ${TARGET_WARM_S} s`, ok(Number.isFinite(warm.seconds) ? warm.seconds <= TARGET_WARM_S : undefined)],
      ['  warm layers, first scan with a new DB build, s', '', newDb.ok ? num(newDb.seconds, 3) : 'FAILED', '', '', ''],
      ['peak RSS of the scans, MB', '', num(rssScan / MB, 0), '', `≤ ${TARGET_RSS_MB} MB`, ok(Number.isFinite(rssScan) ? rssScan / MB <= TARGET_RSS_MB : undefined)],
      [`re-evaluate ${SBOMS} images after a DB update, s`, '', num((re?.updateMs ?? NaN) / 1000, 2), '', `≤ ${TARGET_REEVAL_S} s`, ok(re !== undefined ? re.updateMs / 1000 <= TARGET_REEVAL_S : undefined)],
      [`  the same DB again (nothing changes), s`, '', num((re?.againMs ?? NaN) / 1000, 2), '', '', ''],
      ['  peak RSS of that process, MB', '', num(rssUpdate / MB, 0), '', `≤ ${TARGET_RSS_MB} MB`, ok(Number.isFinite(rssUpdate) ? rssUpdate / MB <= TARGET_RSS_MB : undefined)],
      [`  first evaluation (SBOMs parsed, keys stored), s`, '', num((first?.firstMs ?? NaN) / 1000, 2), '', '', ''],
      ['  peak RSS of that process (1,000 SBOMs stored first), MB', '', num(prepareRun.ok ? prepareRun.rss / MB : NaN, 0), '', '', ''],
      [`db update, full default feed set (${full.feeds} feeds, ${num(full.feedBytes / 1e9, 2)} GB), s`, '', num(full.buildSeconds, 1), '', '', full.error === undefined ? '' : 'FAILED'],
      ['  peak RSS of that process, MB', '', num(full.buildRss / MB, 0), '', `≤ ${TARGET_BUILD_RSS_MB} MB`, ok(Number.isFinite(full.buildRss) ? full.buildRss / MB <= TARGET_BUILD_RSS_MB : undefined)],
      ['db update, every feed unchanged, s (median of 3)', '', num(full.unchangedSeconds, 2), '', `≤ ${TARGET_UNCHANGED_S} s`, ok(Number.isFinite(full.unchangedSeconds) ? full.unchangedSeconds <= TARGET_UNCHANGED_S : undefined)],
      ['search cve over 10,000 images, p99 ms', '', num(p99, 1), '', '≤ 50 ms', ok(Number.isFinite(p99) ? p99 <= 50 : undefined)],
    ];
    const header = ['measure', 'limit (pigz -dc)', 'portcullis', 'ratio', 'target', ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`\nScan benchmark (${new Date().toISOString()}, node ${process.version}, ${process.arch}, ${cpus().length} CPUs)`);
    console.log(`image: ${source}`);
    if (described !== undefined) {
      const total = described.layers.reduce((n, l) => n + l.uncompressedSize, 0);
      const gz = described.layers.reduce((n, l) => n + l.size, 0);
      console.log(`  ${described.layers.length} gzip layers, ${num(total / MB, 0)} MB uncompressed, ${num(gz / MB, 0)} MB compressed`);
    }
    console.log(`DB: ${db1} (${ADVISORIES}+ advisories, ${inv.packages.length} packages in the image); updated DB: ${db2}`);
    console.log(`load average: ${loadBefore} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
    console.log('');
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    console.log('');
    console.log(`findings of the cold scan: ${counts}`);
    console.log(`warm report equals the cold one (but for CreatedAt): ${same ? 'yes' : 'NO'}`);
    console.log(
      `re-evaluation: ${re !== undefined && first !== undefined ? `${first.images} images; the update changed the advisories of every image package (the worst case): ${re.newlyAffected} images newly affected (${re.newIds} new ids); the same DB again: ${re.againNewlyAffected}` : 'no result'}`,
    );
    console.log(`cold runs (s): ${coldRuns.map((r) => (r.ok ? r.seconds.toFixed(2) : 'failed')).join(', ')}; warm (s): ${warmRuns.map((r) => (r.ok ? r.seconds.toFixed(3) : 'failed')).join(', ')}`);
    for (const [what, s] of [
      ['cold', cold],
      ['warm', warm],
    ] as const) {
      if (s.error !== undefined) console.log(`ERROR (${what}): ${s.error}`);
    }
    if (reError !== undefined) console.log(`ERROR (re-evaluation): ${reError}`);
    console.log(`db update: the built DB is ${num(full.dbBytes / MB, 0)} MB; its summary:\n${full.summary.replace(/^/gm, '  ')}`);
    if (full.error !== undefined) console.log(`ERROR (db update): ${full.error}`);
    if (searchRun.ok) console.log(`search (bench/search.js):\n${searchText.trim().replace(/^/gm, '  ')}`);
    else console.log(`ERROR (search): ${lastLines(searchRun.stderr, 8)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function strip(text: string): string {
  try {
    const doc = JSON.parse(text) as { CreatedAt?: string };
    delete doc.CreatedAt;
    return JSON.stringify(doc);
  } catch {
    return text;
  }
}

function countFindings(file: string): string {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { Results?: { Class: string; Vulnerabilities?: unknown[]; Secrets?: unknown[]; Misconfigurations?: unknown[] }[] };
    let v = 0;
    let s = 0;
    let m = 0;
    for (const r of doc.Results ?? []) {
      v += r.Vulnerabilities?.length ?? 0;
      s += r.Secrets?.length ?? 0;
      m += r.Misconfigurations?.length ?? 0;
    }
    return `${v} vulnerabilities, ${s} secrets, ${m} misconfigurations in ${doc.Results?.length ?? 0} targets`;
  } catch {
    return 'no report';
  }
}

main().catch((err: unknown) => {
  console.error(`bench:scan failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
