/**
 * The default feed set at its real size, generated (cached in the bench cache; about 3.5 GB of
 * files, 10 minutes the first time): every feed `portcullis db update` fetches by default, in its
 * published form and at about its published size in late 2026, with records shaped as the real
 * ones (the fields Portcullis reads, and those it skips at their usual length):
 *   - the Debian security tracker's JSON (~115,000 package × CVE entries, ~70 MB);
 *   - Alpine's secdb, 7 releases × main/community;
 *   - osv.dev's all.zip of 24 ecosystems (~590,000 records: npm with its malicious-package
 *     reports, the RPM distributions' advisories with a dozen packages each, SUSE's with their
 *     binaries per product);
 *   - Wolfi's and Chainguard's secdb; Oracle's ELSA OVAL (bzip2, ~9,000 definitions with their
 *     tests, objects and states);
 *   - the NVD's yearly 2.0 feeds 2002–2026 and `-modified` (~380,000 CVEs, gzip);
 *   - CISA's KEV catalogue; FIRST's EPSS scores (gzip CSV).
 * Served by `serveFeeds` from a local HTTP server with ETags, under the real file names
 * (`feedsFile` lists their URLs for `--feeds`).
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { createGzip } from 'node:zlib';
import { benchCacheDir } from './image-fixture.js';
import { rng } from './rng.js';
import { ZipWriter } from './zip.js';

/** Bump when what is generated changes. */
const VERSION = 'feeds-full-v1';

type Log = (message: string) => void;

/** osv.dev's ecosystems as the default set fetches them: records, affected entries per record, how records look. */
const OSV: readonly { ecosystem: string; records: number; kind: 'lang' | 'malicious' | 'deb' | 'rpm' | 'suse' | 'apk'; affected: number; prefix: string; releases?: readonly string[] }[] = [
  { ecosystem: 'npm', records: 16_000, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'npm', records: 200_000, kind: 'malicious', affected: 1, prefix: 'MAL' },
  { ecosystem: 'PyPI', records: 17_000, kind: 'lang', affected: 1, prefix: 'PYSEC' },
  { ecosystem: 'PyPI', records: 10_000, kind: 'malicious', affected: 1, prefix: 'MAL' },
  { ecosystem: 'Go', records: 5_500, kind: 'lang', affected: 2, prefix: 'GO' },
  { ecosystem: 'Maven', records: 6_000, kind: 'lang', affected: 2, prefix: 'GHSA' },
  { ecosystem: 'crates.io', records: 2_500, kind: 'lang', affected: 1, prefix: 'RUSTSEC' },
  { ecosystem: 'RubyGems', records: 1_600, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'Packagist', records: 5_000, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'NuGet', records: 1_100, kind: 'lang', affected: 2, prefix: 'GHSA' },
  { ecosystem: 'Hex', records: 150, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'Pub', records: 100, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'SwiftURL', records: 150, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'ConanCenter', records: 100, kind: 'lang', affected: 1, prefix: 'GHSA' },
  { ecosystem: 'Ubuntu', records: 55_000, kind: 'deb', affected: 5, prefix: 'UBUNTU-CVE', releases: ['Ubuntu:20.04:LTS', 'Ubuntu:22.04:LTS', 'Ubuntu:24.04:LTS', 'Ubuntu:Pro:18.04:LTS', 'Ubuntu:25.04'] },
  { ecosystem: 'Debian', records: 60_000, kind: 'deb', affected: 3, prefix: 'DEBIAN-CVE', releases: ['Debian:11', 'Debian:12', 'Debian:13'] },
  { ecosystem: 'Red Hat', records: 25_000, kind: 'rpm', affected: 14, prefix: 'RHSA', releases: ['Red Hat:enterprise_linux:8::appstream', 'Red Hat:enterprise_linux:9::baseos', 'Red Hat:enterprise_linux:9::appstream', 'Red Hat:rhel_eus:9.2::baseos'] },
  { ecosystem: 'AlmaLinux', records: 6_000, kind: 'rpm', affected: 14, prefix: 'ALSA', releases: ['AlmaLinux:8', 'AlmaLinux:9'] },
  { ecosystem: 'Rocky Linux', records: 5_000, kind: 'rpm', affected: 14, prefix: 'RLSA', releases: ['Rocky Linux:8', 'Rocky Linux:9'] },
  { ecosystem: 'SUSE', records: 55_000, kind: 'suse', affected: 11, prefix: 'SUSE-SU', releases: ['SUSE:Linux Enterprise Server 15 SP5', 'SUSE:Linux Enterprise Module for Basesystem 15 SP5', 'SUSE:Linux Enterprise Server 15 SP6', 'SUSE:Linux Enterprise Storage 7.1'] },
  { ecosystem: 'openSUSE', records: 12_000, kind: 'suse', affected: 6, prefix: 'openSUSE-SU', releases: ['openSUSE:Leap 15.5', 'openSUSE:Leap 15.6', 'openSUSE:Tumbleweed'] },
  { ecosystem: 'Azure Linux', records: 12_000, kind: 'rpm', affected: 2, prefix: 'AZL', releases: ['Azure Linux:2', 'Azure Linux:3'] },
  { ecosystem: 'Mageia', records: 5_000, kind: 'rpm', affected: 2, prefix: 'MGASA', releases: ['Mageia:8', 'Mageia:9'] },
  { ecosystem: 'openEuler', records: 6_000, kind: 'rpm', affected: 5, prefix: 'OESA', releases: ['openEuler:22.03-LTS-SP3', 'openEuler:24.03-LTS'] },
  { ecosystem: 'Wolfi', records: 25_000, kind: 'apk', affected: 1, prefix: 'CGA' },
  { ecosystem: 'Chainguard', records: 40_000, kind: 'apk', affected: 1, prefix: 'CGA' },
];

/** CVEs per NVD year file (by the id's year), about as the NVD holds them. */
const NVD_YEARS: Readonly<Record<number, number>> = {
  2002: 6_800, 2003: 1_500, 2004: 2_700, 2005: 4_700, 2006: 7_000, 2007: 6_500, 2008: 7_000, 2009: 5_000, 2010: 5_000, 2011: 4_600, 2012: 5_800, 2013: 6_700,
  2014: 8_000, 2015: 8_000, 2016: 10_000, 2017: 18_000, 2018: 18_000, 2019: 18_000, 2020: 19_000, 2021: 21_000, 2022: 26_000, 2023: 30_000, 2024: 40_000, 2025: 48_000, 2026: 50_000,
};

const ALPINE_RELEASES = ['v3.17', 'v3.18', 'v3.19', 'v3.20', 'v3.21', 'v3.22', 'edge'];
const WORDS = 'the a an of in to and buffer overflow heap use after free out of bounds read write crafted request remote attacker denial service memory corruption certificate validation parser input length integer signed unsigned header cookie session token path traversal injection command execution privilege escalation local user kernel driver function library allows via when processing'.split(' ');

export interface FeedFiles {
  readonly dir: string;
  /** URL paths, in the default set's order, each a file under `dir`. */
  readonly paths: readonly string[];
  readonly bytes: number;
}

/** The generated default feed set, made first when this machine has none. */
export async function ensureFullFeeds(log: Log): Promise<FeedFiles> {
  const root = join(benchCacheDir(), VERSION);
  const done = join(root, '.complete');
  if (!existsSync(done)) {
    const work = `${root}.partial`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    log(`generating the default feed set at full size in ${root} (once; about 3.5 GB, 10 minutes)...`);
    await generate(work, log);
    rmSync(root, { recursive: true, force: true });
    renameSync(work, root);
    writeFileSync(done, new Date().toISOString());
  }
  const paths = listFiles(root).map((f) => `/${relative(root, f)}`);
  return { dir: root, paths: order(paths), bytes: paths.reduce((n, p) => n + statSync(join(root, p)).size, 0) };
}

/** Serves `files` with ETags (size and mtime), answering If-None-Match with 304; resolves to its base URL. */
export async function serveFeeds(files: FeedFiles): Promise<{ url: string; server: Server; close: () => void }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (!files.paths.includes(path)) return void res.writeHead(404).end();
    const st = statSync(join(files.dir, path));
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { ETag: etag }).end();
    res.writeHead(200, { ETag: etag, 'Content-Length': st.size, 'Last-Modified': st.mtime.toUTCString() });
    createReadStream(join(files.dir, path)).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A feeds file (`--feeds`) naming every file of `files` at `base`. */
export function feedsFile(files: FeedFiles, base: string): string {
  return `${files.paths.map((p) => `${base}${encodeURI(p)}`).join('\n')}\n`;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.name.startsWith('.') ? [] : e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The default set's order: Debian, Alpine, OSV, the distributions' own, NVD, KEV, EPSS. */
function order(paths: string[]): string[] {
  const rank = (p: string): number => ['/debian/', '/alpine/', '/osv/', '/wolfi/', '/chainguard/', '/oracle/', '/nvd/', '/kev/', '/epss/'].findIndex((prefix) => p.startsWith(prefix));
  return [...paths].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

// ------------------------------------------------------------------ generation

async function generate(dir: string, log: Log): Promise<void> {
  const r = rng(20261206);
  const sentence = (words: number): string => Array.from({ length: words }, () => WORDS[Math.floor(r() * WORDS.length)]!).join(' ');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const version = (): string => `${Math.floor(r() * 5)}.${Math.floor(r() * 20)}.${Math.floor(r() * 30)}`;
  const cve = (i: number): string => `CVE-${2002 + (i % 25)}-${String(10000 + Math.floor(i / 25)).padStart(5, '0')}`;
  const vector = (): string => `CVSS:3.1/AV:${pick(['N', 'A', 'L'])}/AC:${pick(['L', 'H'])}/PR:${pick(['N', 'L', 'H'])}/UI:${pick(['N', 'R'])}/S:${pick(['U', 'C'])}/C:${pick(['N', 'L', 'H'])}/I:${pick(['N', 'L', 'H'])}/A:${pick(['N', 'L', 'H'])}`;
  const severity = (): string => pick(['LOW', 'MODERATE', 'HIGH', 'CRITICAL']);
  const ensure = (file: string): string => (mkdirSync(dirname(file), { recursive: true }), file);

  // The Debian security tracker: package → CVE → release → status.
  log('  the Debian security tracker...');
  {
    const out = createWriteStream(ensure(join(dir, 'debian/tracker/data/json')));
    await put(out, '{');
    for (let p = 0; p < 5_500; p++) {
      const entries = 5 + Math.floor(r() * 32);
      const cves: string[] = [];
      for (let c = 0; c < entries; c++) {
        const releases = ['bookworm', 'bullseye', 'trixie', 'sid', 'forky'].slice(0, 3 + Math.floor(r() * 3)).map((rel) => {
          const status = pick(['resolved', 'resolved', 'open', 'undetermined']);
          const v = `${version()}-${1 + Math.floor(r() * 5)}`;
          return `${JSON.stringify(rel)}:${JSON.stringify({ status, repositories: { [rel]: v }, ...(status === 'resolved' ? { fixed_version: v } : {}), urgency: pick(['low', 'medium', 'high', 'not yet assigned', 'unimportant']) })}`;
        });
        cves.push(`${JSON.stringify(cve(p * 40 + c))}:{"description":${JSON.stringify(sentence(12 + Math.floor(r() * 20)))},"scope":"remote","releases":{${releases.join(',')}}}`);
      }
      await put(out, `${p > 0 ? ',' : ''}"deb-src-package-${p}":{${cves.join(',')}}`);
    }
    await put(out, '}');
    await finish(out);
  }

  log('  Alpine, Wolfi and Chainguard secdb...');
  const secdb = (file: string, packages: number, header: Record<string, unknown>): void => {
    const pkgs = Array.from({ length: packages }, (_, i) => {
      const secfixes: Record<string, string[]> = {};
      const n = 1 + Math.floor(r() * 12);
      for (let k = 0; k < n; k++) secfixes[`${version()}-r${Math.floor(r() * 9)}`] = Array.from({ length: 1 + Math.floor(r() * 4) }, () => cve(Math.floor(r() * 380_000)));
      return { pkg: { name: `apk-package-${i}`, secfixes } };
    });
    writeFileSync(ensure(file), JSON.stringify({ ...header, packages: pkgs }));
  };
  for (const rel of ALPINE_RELEASES) {
    for (const repo of ['main', 'community']) secdb(join(dir, `alpine/${rel}/${repo}.json`), repo === 'main' ? 700 : 400, { apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk', archs: ['aarch64', 'armhf', 'armv7', 'ppc64le', 's390x', 'x86', 'x86_64'], reponame: repo, urlprefix: 'https://dl-cdn.alpinelinux.org/alpine', distroversion: rel });
  }
  secdb(join(dir, 'wolfi/os/security.json'), 4_000, { apkurl: '{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk', archs: ['x86_64', 'aarch64'], reponame: 'os', urlprefix: 'https://packages.wolfi.dev' });
  secdb(join(dir, 'chainguard/security.json'), 7_000, { apkurl: '{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk', archs: ['x86_64', 'aarch64'], reponame: 'chainguard', urlprefix: 'https://packages.cgr.dev' });

  // osv.dev: one all.zip per ecosystem, one JSON record per entry.
  const zips = new Map<string, ZipWriter>();
  let serial = 0;
  for (const e of OSV) {
    log(`  osv.dev ${e.ecosystem} (${e.kind}, ${e.records} records)...`);
    let zip = zips.get(e.ecosystem);
    if (zip === undefined) zips.set(e.ecosystem, (zip = new ZipWriter(ensure(join(dir, `osv/${e.ecosystem}/all.zip`)))));
    for (let i = 0; i < e.records; i++) {
      serial += 1;
      const id = e.kind === 'lang' && e.prefix === 'GHSA' ? `GHSA-${(serial * 7919).toString(36).padStart(4, '0').slice(-4)}-${(serial * 104729).toString(36).padStart(4, '0').slice(-4)}-${serial.toString(36).padStart(4, '0')}` : `${e.prefix}-${2015 + (i % 12)}-${i}`;
      const ids = Array.from({ length: e.kind === 'lang' || e.kind === 'malicious' || e.kind === 'deb' ? 1 : 1 + Math.floor(r() * 6) }, () => cve(Math.floor(r() * 380_000)));
      const name = `${e.kind}-package-${Math.floor(r() * (e.kind === 'malicious' ? 1e6 : 40_000))}`;
      const affected = Array.from({ length: Math.max(1, Math.round(e.affected * (0.5 + r()))) }, (_, k) => {
        const ecosystem = e.releases !== undefined ? e.releases[k % e.releases.length]! : e.ecosystem;
        const fixed = e.kind === 'rpm' || e.kind === 'suse' ? `${version()}-${Math.floor(r() * 200)}.el9_${Math.floor(r() * 6)}` : e.kind === 'deb' ? `${version()}-${1 + Math.floor(r() * 4)}` : version();
        const pkg = e.kind === 'rpm' || e.kind === 'suse' ? `${name}${k === 0 ? '' : `-sub${k}`}` : name;
        return {
          package: { ecosystem, name: pkg, purl: `pkg:${e.kind === 'deb' ? 'deb' : e.kind === 'rpm' || e.kind === 'suse' ? 'rpm' : e.kind === 'apk' ? 'apk' : e.ecosystem.toLowerCase()}/${pkg}` },
          ranges: [{ type: e.ecosystem === 'Go' || e.ecosystem === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events: e.kind === 'malicious' ? [{ introduced: '0' }] : [{ introduced: '0' }, { fixed }] }],
          ...(e.kind === 'deb' || e.kind === 'malicious' ? { versions: Array.from({ length: 2 + Math.floor(r() * 12) }, version) } : {}),
          ...(e.kind === 'suse' ? { ecosystem_specific: { binaries: [Object.fromEntries(Array.from({ length: 2 + Math.floor(r() * 10) }, (_, b) => [`${pkg}-bin${b}`, fixed]))] } } : {}),
          ...(e.kind === 'lang' ? { database_specific: { source: `https://github.com/advisories/${id}` } } : {}),
        };
      });
      const record = {
        schema_version: '1.6.0',
        id,
        modified: '2026-11-01T00:00:00Z',
        published: '2024-03-01T00:00:00Z',
        ...(e.kind === 'rpm' || e.kind === 'suse' || e.kind === 'deb' ? { upstream: ids } : { aliases: e.kind === 'malicious' ? [] : ids }),
        summary: e.kind === 'malicious' ? `Malicious code in ${name} (${e.ecosystem.toLowerCase()})` : sentence(8),
        details: e.kind === 'malicious' ? '\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: ossf-package-analysis\nThe package was found to execute code at install time.\n' : sentence(60 + Math.floor(r() * 140)),
        ...(e.kind === 'malicious' ? {} : { severity: [{ type: 'CVSS_V3', score: vector() }] }),
        affected,
        references: Array.from({ length: 2 + Math.floor(r() * 7) }, (_, k) => ({ type: pick(['ADVISORY', 'WEB', 'REPORT', 'PACKAGE', 'FIX']), url: `https://example.org/advisories/${id}/${k}` })),
        ...(e.kind === 'lang' ? { database_specific: { cwe_ids: [`CWE-${Math.floor(r() * 900)}`], severity: severity(), github_reviewed: true } } : {}),
      };
      zip.add(`${id}.json`, Buffer.from(JSON.stringify(record, null, 2)));
    }
  }
  for (const z of zips.values()) z.close();

  // Oracle's ELSA OVAL, with the tests, objects and states a real file carries.
  log('  Oracle ELSA OVAL (bzip2)...');
  {
    const xml = join(dir, 'oracle/com.oracle.elsa-all.xml');
    const out = createWriteStream(ensure(xml));
    const defs = 9_000;
    await put(out, '<?xml version="1.0" encoding="UTF-8"?>\n<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">\n<generator><oval:product_name>Oracle Errata OVAL</oval:product_name><oval:schema_version>5.3</oval:schema_version><oval:timestamp>2026-12-01T00:00:00</oval:timestamp></generator>\n<definitions>\n');
    const packagesOf: number[] = [];
    for (let d = 0; d < defs; d++) {
      const ol = 6 + (d % 4);
      const n = 1 + Math.floor(r() * 16);
      packagesOf.push(n);
      const evr = `${Math.floor(r() * 2)}:${version()}-${Math.floor(r() * 100)}.el${ol}`;
      const cves = Array.from({ length: 1 + Math.floor(r() * 5) }, () => cve(Math.floor(r() * 380_000)));
      const pkgs = Array.from({ length: n }, (_, k) => `ol-package-${d % 3000}${k === 0 ? '' : `-sub${k}`}`);
      const arch = (a: string): string => `<criteria operator="AND"><criterion test_ref="oval:com.oracle.elsa:tst:${d}002" comment="Oracle Linux arch is ${a}"/><criteria operator="OR">${pkgs.map((p, k) => `<criteria operator="AND"><criterion test_ref="oval:com.oracle.elsa:tst:${d}${k}3" comment="${p} is earlier than ${evr}"/><criterion test_ref="oval:com.oracle.elsa:tst:${d}${k}4" comment="${p} is signed with the Oracle Linux ${ol} key"/></criteria>`).join('')}</criteria></criteria>`;
      await put(
        out,
        `<definition id="oval:com.oracle.elsa:def:${20100000 + d}" version="501" class="patch"><metadata><title>\nELSA-${2010 + (d % 17)}-${d}:  ${pkgs[0]} security update (${pick(['LOW', 'MODERATE', 'IMPORTANT', 'CRITICAL'])})\n</title><affected family="unix"><platform>Oracle Linux ${ol}</platform></affected><reference source="elsa" ref_id="ELSA-${2010 + (d % 17)}-${d}" ref_url="https://linux.oracle.com/errata/ELSA-${d}.html"/>${cves.map((c) => `<reference source="CVE" ref_id="${c}" ref_url="https://linux.oracle.com/cve/${c}.html"/>`).join('')}<description>${sentence(80)}</description><advisory><severity>${pick(['LOW', 'MODERATE', 'IMPORTANT', 'CRITICAL'])}</severity><rights>Copyright 2026 Oracle, Inc.</rights><issued date="2024-01-23"/>${cves.map((c) => `<cve href="https://linux.oracle.com/cve/${c}.html" public="20231106">${c}</cve>`).join('')}</advisory></metadata><criteria operator="AND"><criterion test_ref="oval:com.oracle.elsa:tst:${d}001" comment="Oracle Linux ${ol} is installed"/><criteria operator="OR">${arch('x86_64')}${arch('aarch64')}</criteria></criteria></definition>\n`,
      );
    }
    await put(out, '</definitions>\n<tests>\n');
    for (let d = 0; d < defs; d++) for (let k = 0; k < packagesOf[d]! * 2; k++) await put(out, `<red-def:rpminfo_test id="oval:com.oracle.elsa:tst:${d}${k}3" version="501" comment="ol-package-${d}-${k} is earlier than 0:1.0-1" check="at least one"><red-def:object object_ref="oval:com.oracle.elsa:obj:${d}${k}"/><red-def:state state_ref="oval:com.oracle.elsa:ste:${d}${k}"/></red-def:rpminfo_test>\n`);
    await put(out, '</tests>\n<objects>\n');
    for (let d = 0; d < defs; d++) for (let k = 0; k < packagesOf[d]!; k++) await put(out, `<red-def:rpminfo_object id="oval:com.oracle.elsa:obj:${d}${k}" version="501"><red-def:name>ol-package-${d}-${k}</red-def:name></red-def:rpminfo_object>\n`);
    await put(out, '</objects>\n<states>\n');
    for (let d = 0; d < defs; d++) for (let k = 0; k < packagesOf[d]! * 2; k++) await put(out, `<red-def:rpminfo_state id="oval:com.oracle.elsa:ste:${d}${k}" version="501"><red-def:evr datatype="evr_string" operation="less than">0:1.0-1.el9</red-def:evr><red-def:signature_keyid operation="equals">8d8b756f</red-def:signature_keyid></red-def:rpminfo_state>\n`);
    await put(out, '</states>\n</oval_definitions>\n');
    await finish(out);
    const bz = spawnSync('bzip2', ['-f', '-9', xml], { stdio: 'inherit' });
    if (bz.status !== 0) throw new Error('bzip2 failed (apt-get install -y bzip2)');
  }

  // The NVD's yearly 2.0 feeds (and -modified), gzip.
  for (const [year, count] of [...Object.entries(NVD_YEARS).map(([y, n]) => [Number(y), n] as const), [0, 12_000] as const]) {
    log(`  NVD ${year === 0 ? 'modified' : year} (${count} CVEs)...`);
    const file = ensure(join(dir, `nvd/feeds/json/cve/2.0/nvdcve-2.0-${year === 0 ? 'modified' : year}.json.gz`));
    const gz = createGzip({ level: 6 });
    const out = createWriteStream(file);
    const piped = once(gz.pipe(out), 'finish');
    await put(gz, `{"resultsPerPage":${count},"startIndex":0,"totalResults":${count},"format":"NVD_CVE","version":"2.0","timestamp":"2026-12-01T00:00:00.000","vulnerabilities":[`);
    for (let i = 0; i < count; i++) {
      const id = `CVE-${year === 0 ? 2026 : year}-${String(year === 0 ? 90000 + i : 1000 + i).padStart(4, '0')}`;
      const v = vector();
      const item = {
        cve: {
          id,
          sourceIdentifier: 'cve@mitre.org',
          published: '2024-01-01T00:00:00.000',
          lastModified: '2026-11-01T00:00:00.000',
          vulnStatus: pick(['Analyzed', 'Modified', 'Awaiting Analysis']),
          cveTags: [],
          descriptions: [
            { lang: 'en', value: sentence(30 + Math.floor(r() * 80)) },
            { lang: 'es', value: sentence(30 + Math.floor(r() * 60)) },
          ],
          metrics: {
            cvssMetricV31: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: v, baseScore: Math.round(r() * 100) / 10, baseSeverity: pick(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']), attackVector: 'NETWORK', attackComplexity: 'LOW', privilegesRequired: 'NONE', userInteraction: 'NONE', scope: 'UNCHANGED', confidentialityImpact: 'HIGH', integrityImpact: 'HIGH', availabilityImpact: 'HIGH' }, exploitabilityScore: 3.9, impactScore: 5.9 }],
            ...(year !== 0 && year < 2016 ? { cvssMetricV2: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '2.0', vectorString: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', baseScore: 7.5, accessVector: 'NETWORK', accessComplexity: 'LOW', authentication: 'NONE', confidentialityImpact: 'PARTIAL', integrityImpact: 'PARTIAL', availabilityImpact: 'PARTIAL' }, baseSeverity: 'HIGH', exploitabilityScore: 10, impactScore: 6.4, acInsufInfo: false, obtainAllPrivilege: false, obtainUserPrivilege: false, obtainOtherPrivilege: false, userInteractionRequired: false }] } : {}),
          },
          weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: `CWE-${Math.floor(r() * 900)}` }] }],
          configurations: [{ nodes: [{ operator: 'OR', negate: false, cpeMatch: Array.from({ length: 1 + Math.floor(r() * 8) }, (_, k) => ({ vulnerable: true, criteria: `cpe:2.3:a:vendor${i % 997}:product${k}:*:*:*:*:*:*:*:*`, versionEndExcluding: version(), matchCriteriaId: `${(i * 2654435761 + k).toString(16).padStart(8, '0').slice(-8)}-0000-4000-8000-000000000000` })) }] }],
          references: Array.from({ length: 2 + Math.floor(r() * 10) }, (_, k) => ({ url: `https://example.org/${id}/${k}`, source: 'cve@mitre.org', tags: ['Third Party Advisory'] })),
        },
      };
      await put(gz, `${i > 0 ? ',' : ''}${JSON.stringify(item)}`);
    }
    await put(gz, ']}');
    gz.end();
    await piped;
  }

  log('  KEV and EPSS...');
  writeFileSync(
    ensure(join(dir, 'kev/known_exploited_vulnerabilities.json')),
    JSON.stringify({
      title: 'CISA Catalog of Known Exploited Vulnerabilities',
      catalogVersion: '2026.12.01',
      dateReleased: '2026-12-01T00:00:00.000Z',
      count: 1_500,
      vulnerabilities: Array.from({ length: 1_500 }, (_, i) => ({ cveID: cve(i * 250), vendorProject: `Vendor ${i % 300}`, product: `Product ${i}`, vulnerabilityName: sentence(6), dateAdded: '2024-05-01', shortDescription: sentence(40), requiredAction: 'Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.', dueDate: '2024-05-22', knownRansomwareCampaignUse: pick(['Known', 'Unknown']), notes: `https://example.org/kev/${i}`, cwes: [`CWE-${i % 900}`] })),
    }),
  );
  {
    const gz = createGzip({ level: 6 });
    const out = createWriteStream(ensure(join(dir, 'epss/epss_scores-current.csv.gz')));
    const piped = once(gz.pipe(out), 'finish');
    await put(gz, '#model_version:v2025.03.14,score_date:2026-12-01T12:55:00Z\ncve,epss,percentile\n');
    for (let i = 0; i < 310_000; i++) await put(gz, `${cve(i)},${r().toFixed(5)},${r().toFixed(5)}\n`);
    gz.end();
    await piped;
  }
}

/** Writes with backpressure. */
async function put(out: WriteStream | NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out as NodeJS.EventEmitter, 'drain');
}

async function finish(out: WriteStream): Promise<void> {
  out.end();
  await once(out, 'finish');
}
