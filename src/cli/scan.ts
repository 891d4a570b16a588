/**
 * `portcullis scan SOURCE` and `portcullis db build|info|push|pull`: the scanner for CI and
 * pre-push hooks. Parse, call the core, print: results to stdout or -o FILE, progress and warnings
 * to stderr, exit 0 / the --exit-code value on findings / 2 on a usage error / 1 on failure.
 */
import { existsSync, mkdirSync, openAsBlob, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultCacheDir, ImageError, NO_CACHE, parseRegistryReference, RegistrySource, verified, type Image } from '../image/index.js';
import { readSbom } from '../sbom/index.js';
import { evaluateCached, factsKey, gatherDirectoryFacts, gatherImageFacts, SCANNERS, type ScanFacts, type Scanner } from '../scan/index.js';
import { filterReport, formatReport, parseIgnoreFile, parseOpenVex, REPORT_FORMATS, type ReportFilter, type ReportFormat } from '../scan/index.js';
import { AdvisoryDb, buildAdvisoryDb, defaultFeeds, installAdvisoryDb, packAdvisoryDb, parseFeedsFile, readFeeds, SEVERITIES, updateAdvisoryDb, VulnError, type DbInfo, type Severity } from '../vuln/index.js';
import { CliError } from './errors.js';
import { deprecated } from './output.js';
import type { CliIo, CliState } from './program.js';
import { cacheOf, credentialsFor, imageReadOptions, progressReporter, withSource, writeResultFile, type ImageReadOptions } from './sbom.js';
import { packageVersion } from './version.js';

/** The OCI artifact an advisory DB travels as. */
export const DB_ARTIFACT_TYPE = 'application/vnd.portcullis.advisory-db.v1';
export const DB_LAYER_MEDIA_TYPE = 'application/vnd.portcullis.advisory-db.layer.v1.sqlite+gzip';
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** A DB blob is refused past this size when pulled. */
const MAX_DB_BYTES = 4 * 1024 * 1024 * 1024;

function defaultDbPath(io: CliIo): string {
  return io.env['PORTCULLIS_DB'] ?? join(io.env['PORTCULLIS_CACHE_DIR'] ?? defaultCacheDir(io.env), 'db', 'advisory.db');
}

/** `72h`, `7d`, `30m`, `1w` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (m === null) throw new CliError('USAGE', `"${text}" is not a duration: use a number and a unit (s, m, h, d, w), e.g. 72h or 7d`);
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

function listOption<T extends string>(text: string, valid: readonly T[], what: string, normalize: (s: string) => string = (s) => s): T[] {
  const items = text
    .split(',')
    .map((s) => normalize(s.trim()))
    .filter((s) => s !== '');
  const bad = items.filter((s) => !(valid as readonly string[]).includes(s));
  if (bad.length > 0) throw new CliError('USAGE', `unknown ${what} ${bad.map((b) => `"${b}"`).join(', ')}: valid ones are ${valid.join(', ')}`);
  if (items.length === 0) throw new CliError('USAGE', `no ${what} given: valid ones are ${valid.join(', ')}`);
  return items as T[];
}

function openDb(path: string): AdvisoryDb {
  try {
    return AdvisoryDb.open(path);
  } catch (err) {
    if (err instanceof VulnError) throw new CliError('FAILED', err.message, { cause: err });
    throw err;
  }
}

function readText(io: CliIo, path: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, path), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

interface ScanCliOptions extends ImageReadOptions {
  db?: string;
  dbMaxAge: string;
  scanners: string;
  severity?: string;
  exitCode: string;
  ignoreUnfixed?: boolean;
  knownExploited?: boolean;
  epssThreshold?: string;
  sort: 'severity' | 'risk';
  ignorefile?: string;
  vex?: string;
  format: ReportFormat;
  output?: string;
}

function epssThreshold(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new CliError('USAGE', `--epss-threshold must be a probability from 0 to 1 (e.g. 0.1), not "${text}"`);
  return n;
}

function humanAge(ms: number): string {
  const h = ms / 3600e3;
  return h < 48 ? `${Math.round(h)} hours` : `${Math.round(h / 24)} days`;
}

export function registerScan(program: Command, io: CliIo, state: CliState): void {
  imageReadOptions(
    program
      .command('scan')
      .argument('<source>', 'an image (REGISTRY/REPO[:TAG|@DIGEST], oci-dir:, oci-archive:, docker-archive:, dir:), fs:DIR for a source checkout, or sbom:FILE for a CycloneDX/SPDX SBOM')
      .description('find vulnerabilities, secrets and misconfigurations in an image, a directory or an SBOM')
      .option('--db <file>', 'advisory DB (default $PORTCULLIS_DB or ~/.cache/portcullis/db/advisory.db)')
      .option('--db-max-age <duration>', 'warn when the DB is older than this (e.g. 72h, 7d; $PORTCULLIS_DB_MAX_AGE)', io.env['PORTCULLIS_DB_MAX_AGE'] ?? '7d')
      .option('--scanners <list>', `what to look for, comma-separated: ${SCANNERS.join(', ')}`, 'vuln,secret,config')
      .option('--severity <list>', `severities to report, comma-separated: ${SEVERITIES.join(', ')} (default all)`)
      .option('--exit-code <n>', 'exit with this code when anything is reported', '0')
      .option('--ignore-unfixed', 'report only vulnerabilities that have a fix')
      .option('--known-exploited', "report only vulnerabilities in CISA's Known Exploited Vulnerabilities catalogue")
      .option('--epss-threshold <score>', "report only vulnerabilities whose EPSS score (FIRST's probability of exploitation in 30 days) is at least this, 0 to 1")
      .addOption(new Option('--sort <order>', 'order of vulnerabilities: severity (by package, as Trivy) or risk (known exploited first, then EPSS, then severity)').choices(['severity', 'risk']).default('severity'))
      .option('--ignorefile <file>', 'ids to ignore: .trivyignore lines or .trivyignore.yaml (default ./.trivyignore when present)')
      .option('--vex <file>', 'OpenVEX document: not_affected and fixed statements suppress findings')
      .addOption(new Option('-f, --format <format>', 'report format').choices([...REPORT_FORMATS]).default('table'))
      .option('-o, --output <file>', 'write the report to FILE instead of stdout'),
  ).action(async (sourceText: string, o: ScanCliOptions) => {
    const scanners = new Set(listOption<Scanner>(o.scanners, SCANNERS, 'scanner', (s) => s.toLowerCase()));
    const severities = o.severity === undefined ? undefined : listOption<Severity>(o.severity, SEVERITIES, 'severity', (s) => s.toUpperCase());
    if (!/^\d+$/.test(o.exitCode) || Number(o.exitCode) > 255) throw new CliError('USAGE', `--exit-code must be an integer from 0 to 255, not "${o.exitCode}"`);
    const maxAge = parseDuration(o.dbMaxAge);
    const filter: ReportFilter = {
      ...(severities !== undefined ? { severities } : {}),
      ...(o.ignoreUnfixed === true ? { ignoreUnfixed: true } : {}),
      ...(o.knownExploited === true ? { knownExploitedOnly: true } : {}),
      ...(o.epssThreshold !== undefined ? { epssThreshold: epssThreshold(o.epssThreshold) } : {}),
    };
    const ignorePath = o.ignorefile ?? (existsSync(resolve(io.cwd, '.trivyignore')) ? '.trivyignore' : undefined);
    const ignore = ignorePath !== undefined ? parseIgnoreFile(readText(io, ignorePath, 'ignore file'), ignorePath) : undefined;
    const vex = o.vex !== undefined ? parseOpenVex(readText(io, o.vex, 'VEX document'), o.vex) : undefined;

    const isSbom = sourceText.startsWith('sbom:');
    const dbPath = resolve(io.cwd, o.db ?? defaultDbPath(io));
    const db = scanners.has('vuln') ? openDb(dbPath) : undefined;
    try {
      if (db !== undefined && db.ageMs() > maxAge) {
        process.stderr.write(`warning: the advisory DB ${dbPath} was built ${humanAge(db.ageMs())} ago (${db.info.builtAt}): update it with \`portcullis db pull\` or \`portcullis db build\`\n`);
      }
      const gathered = await gather(io, sourceText, o, scanners);
      for (const w of gathered.facts.inventory.warnings) process.stderr.write(`warning: ${w}\n`);
      const report = await evaluateCached(gathered.image !== undefined && o.cache !== false ? cacheOf(io, o) : NO_CACHE, gathered.image !== undefined ? factsKey(gathered.image, scanners) : undefined, gathered.facts, {
        scanners: isSbom ? new Set<Scanner>(['vuln']) : scanners,
        artifactName: gathered.name,
        artifactType: gathered.type,
        ...(db !== undefined ? { db } : {}),
        ...(gathered.image !== undefined ? { image: gathered.image } : {}),
      });
      for (const w of report.metadata.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
      const { report: shown } = filterReport(report, { ...filter, ...(ignore !== undefined ? { ignore } : {}), ...(vex !== undefined ? { vex } : {}) });
      const color = o.output === undefined && process.stdout.isTTY === true && io.env['NO_COLOR'] === undefined;
      const text = formatReport(shown, o.format, { inventory: gathered.facts.inventory, toolVersion: packageVersion(), color, order: o.sort, ...(process.stdout.columns !== undefined ? { width: process.stdout.columns } : {}) });
      if (o.output !== undefined) writeResultFile(resolve(io.cwd, o.output), text);
      else process.stdout.write(text);
      const found = shown.results.some((r) => (r.vulnerabilities?.length ?? 0) + (r.secrets?.length ?? 0) + (r.misconfigurations?.length ?? 0) > 0);
      if (found) state.exitCode = Number(o.exitCode);
    } finally {
      db?.close();
    }
  });

  const dbCmd = program.command('db').description('build, inspect and ship the advisory DB');
  dbCmd
    .command('build')
    .argument('<feed...>', 'feeds: OSV directories or zips, Alpine secdb JSON/YAML, the Debian security tracker JSON; paths or http(s) URLs')
    .option('-o, --output <file>', 'the DB file to write (replaced whole when done; required)')
    // Shipped as `--out FILE`: kept working, out of the help.
    .addOption(new Option('--out <file>', 'deprecated: -o FILE').hideHelp())
    .description('build an advisory DB from feed files')
    .action(async (feeds: string[], o: { output?: string; out?: string }) => {
      if (o.out !== undefined) {
        deprecated('db build --out FILE', '-o FILE');
        if (o.output !== undefined && o.output !== o.out) throw new CliError('USAGE', `--out ${o.out} and -o ${o.output} both name the DB file: give only -o FILE`);
      }
      const file = o.output ?? o.out;
      if (file === undefined) throw new CliError('USAGE', 'give -o FILE: the DB file to write');
      const out = resolve(io.cwd, file);
      mkdirSync(dirname(out), { recursive: true });
      let errors = 0;
      const info = await buildAdvisoryDb(
        out,
        feeds.map((feed) => ({ feed, files: readFeeds(/^https?:\/\//.test(feed) ? feed : resolve(io.cwd, feed)) })),
        {
          onError: (line) => {
            errors += 1;
            if (errors <= 50) process.stderr.write(`warning: skipped: ${line}\n`);
            else if (errors === 51) process.stderr.write('warning: more skipped records are not listed\n');
          },
        },
      );
      process.stderr.write(`${dbSummary(out, info)}\n`);
    });
  dbCmd
    .command('update')
    .description("fetch the feeds that changed (conditional requests) and rebuild the DB from them; a feed that fails keeps its previous data")
    .option('--feeds <file>', 'the feeds to fetch: one URL per line, # for comments (default: the official feeds, see docs/scan.md)')
    .option('--db <file>', 'the DB file (default $PORTCULLIS_DB or ~/.cache/portcullis/db/advisory.db)')
    .option('--cache-dir <dir>', 'where the feeds are kept between updates (default beside the DB, feeds/)')
    .action(async (o: { feeds?: string; db?: string; cacheDir?: string }) => {
      let urls: string[];
      try {
        urls = o.feeds !== undefined ? parseFeedsFile(readText(io, o.feeds, 'feeds file'), o.feeds) : defaultFeeds();
      } catch (err) {
        if (err instanceof TypeError) throw new CliError('USAGE', err.message);
        throw err;
      }
      if (urls.length === 0) throw new CliError('USAGE', `${o.feeds}: no feed URL in it`);
      const dbPath = resolve(io.cwd, o.db ?? defaultDbPath(io));
      const cacheDir = resolve(io.cwd, o.cacheDir ?? join(dirname(dbPath), 'feeds'));
      const started = Date.now();
      let done = 0;
      let errors = 0;
      const result = await updateAdvisoryDb(dbPath, urls, {
        cacheDir,
        onFeed: (f) => {
          done += 1;
          const what = f.result === 'failed' ? `failed: ${f.error}${f.kept ? ' (its previous copy is used)' : ' (no previous copy)'}` : f.result;
          process.stderr.write(`[${done}/${urls.length}] ${f.url}: ${what}\n`);
        },
        onError: (line) => {
          errors += 1;
          if (errors <= 20) process.stderr.write(`warning: skipped: ${line}\n`);
          else if (errors === 21) process.stderr.write('warning: more skipped records are not listed\n');
        },
      });
      const failed = result.feeds.filter((f) => f.result === 'failed');
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (result.rebuilt && result.info !== undefined) process.stderr.write(`${dbSummary(dbPath, result.info)} (${secs} s)\n`);
      else if (existsSync(dbPath)) process.stderr.write(`${dbPath}: no feed changed, the DB is current (${secs} s)\n`);
      else process.stderr.write(`${dbPath}: no DB: no feed could be fetched\n`);
      if (failed.length > 0) {
        process.stderr.write(`${failed.length} of ${urls.length} feeds failed: ${failed.map((f) => f.url).join(', ')}${existsSync(dbPath) ? ' (the DB stays usable)' : ''}\n`);
        state.exitCode = 1;
      }
    });
  dbCmd
    .command('info')
    .option('--db <file>', 'advisory DB (default $PORTCULLIS_DB or ~/.cache/portcullis/db/advisory.db)')
    .addOption(new Option('-f, --format <format>', 'result format').choices(['table', 'json']).default('table'))
    .option('-o, --output <file>', 'write the result to FILE instead of stdout')
    .description('show when a DB was built, from which feeds, and what it holds')
    .action((o: { db?: string; format: 'table' | 'json'; output?: string }) => {
      const path = resolve(io.cwd, o.db ?? defaultDbPath(io));
      const db = openDb(path);
      let text: string;
      try {
        text = o.format === 'json' ? `${JSON.stringify({ path, ...db.info }, null, 2)}\n` : `${dbSummary(path, db.info)}\n`;
      } finally {
        db.close();
      }
      if (o.output !== undefined) writeResultFile(resolve(io.cwd, o.output), text);
      else process.stdout.write(text);
    });
  dbCmd
    .command('push')
    .argument('<ref>', 'REGISTRY/REPO:TAG to push the DB to, as an OCI artifact')
    .option('--db <file>', 'advisory DB (default $PORTCULLIS_DB or ~/.cache/portcullis/db/advisory.db)')
    .option('--insecure', 'reach the registry over plain HTTP')
    .description('push the advisory DB to a registry, for scanners that pull it from there')
    .action(async (ref: string, o: { db?: string; insecure?: boolean }) => {
      const path = resolve(io.cwd, o.db ?? defaultDbPath(io));
      const db = openDb(path);
      const info = db.info;
      db.close();
      await pushDb(ref, path, info, o.insecure === true);
      process.stderr.write(`pushed ${path} (built ${info.builtAt}) to ${ref}\n`);
    });
  dbCmd
    .command('pull')
    .argument('<ref>', 'REGISTRY/REPO[:TAG|@DIGEST] of a DB pushed with `portcullis db push`')
    .option('--db <file>', 'where to store it (default $PORTCULLIS_DB or ~/.cache/portcullis/db/advisory.db)')
    .option('--insecure', 'reach the registry over plain HTTP')
    .description('pull an advisory DB from a registry; the current one is replaced only by a valid DB')
    .action(async (ref: string, o: { db?: string; insecure?: boolean }) => {
      const path = resolve(io.cwd, o.db ?? defaultDbPath(io));
      const info = await pullDb(ref, path, o.insecure === true);
      process.stderr.write(`${dbSummary(path, info)}\n`);
    });
}

function dbSummary(path: string, info: DbInfo): string {
  const eco = Object.entries(info.counts.ecosystems)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `${path}: schema ${info.schemaVersion}, built ${info.builtAt}`,
    `${info.counts.vulnerabilities} vulnerabilities, ${info.counts.affected} affected-package records, ${info.counts.aliases} aliases`,
    ...(eco !== '' ? [`ecosystems: ${eco}`] : []),
    ...info.sources.map((s) => `source ${s.feed}: ${s.files} files, ${s.vulnerabilities} vulnerabilities, ${s.affected} affected${s.errors > 0 ? `, ${s.errors} records skipped` : ''}`),
  ];
  return lines.join('\n');
}

interface Gathered {
  readonly facts: ScanFacts;
  readonly name: string;
  readonly type: 'container_image' | 'filesystem' | 'cyclonedx' | 'spdx';
  readonly image?: Image;
}

async function gather(io: CliIo, sourceText: string, o: ImageReadOptions, scanners: ReadonlySet<Scanner>): Promise<Gathered> {
  if (sourceText.startsWith('sbom:')) {
    const file = sourceText.slice('sbom:'.length);
    if (file === '') throw new CliError('USAGE', 'sbom: needs a file: sbom:PATH');
    const text = readText(io, file, 'SBOM');
    let read;
    try {
      read = readSbom(text, file);
    } catch (err) {
      throw new CliError('FAILED', `${file}: ${(err as Error).message}`, { cause: err });
    }
    return { facts: { inventory: read.inventory, secrets: [], misconfigurations: [] }, name: file, type: read.format === 'spdx-json' ? 'spdx' : 'cyclonedx' };
  }
  if (sourceText.startsWith('fs:')) {
    const dir = sourceText.slice('fs:'.length);
    if (dir === '') throw new CliError('USAGE', 'fs: needs a directory: fs:PATH');
    const path = resolve(io.cwd, dir);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new CliError('FAILED', `no directory ${dir}`);
    }
    if (!isDir) throw new CliError('USAGE', `fs: takes a directory, and ${dir} is not one`);
    return { facts: await gatherDirectoryFacts(path, sourceText, { scanners }), name: dir, type: 'filesystem' };
  }
  return withSource(io, sourceText, o, async (source) => {
    if (source.kind === 'dir') return { facts: await gatherDirectoryFacts(source.path, source.text, { scanners }), name: source.text, type: 'filesystem' as const };
    const progress = progressReporter(process.stderr.isTTY === true && io.env['CI'] !== 'true');
    try {
      const facts = await gatherImageFacts(source.image, { scanners, cache: cacheOf(io, o), onProgress: progress.report });
      return { facts, name: source.image.reference, type: 'container_image' as const, image: source.image };
    } finally {
      progress.done();
    }
  });
}

function registry(ref: string, insecure: boolean): { source: RegistrySource; reference: string } {
  let parsed;
  try {
    parsed = parseRegistryReference(ref);
  } catch (err) {
    throw new CliError('USAGE', (err as Error).message);
  }
  const source = new RegistrySource(parsed, { insecure, credentials: credentialsFor, userAgent: `portcullis/${packageVersion()}` });
  return { source, reference: parsed.digest ?? parsed.tag ?? 'latest' };
}

async function pushDb(ref: string, path: string, info: DbInfo, insecure: boolean): Promise<void> {
  const { source, reference } = registry(ref, insecure);
  if (reference.startsWith('sha256:')) throw new CliError('USAGE', 'push needs a tag, not a digest');
  const tmp = join(dirname(path), `.${randomUUID()}.gz.tmp`);
  try {
    const { digest: layerDigest, size } = await packAdvisoryDb(path, tmp);
    const empty = Buffer.from('{}');
    const emptyDigest = `sha256:${createHash('sha256').update(empty).digest('hex')}`;
    await source.pushBlob(emptyDigest, new Blob([empty]));
    await source.pushBlob(layerDigest, await openAsBlob(tmp));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: DB_ARTIFACT_TYPE,
      config: { mediaType: EMPTY_MEDIA_TYPE, digest: emptyDigest, size: empty.length, data: empty.toString('base64') },
      layers: [{ mediaType: DB_LAYER_MEDIA_TYPE, digest: layerDigest, size, annotations: { 'org.opencontainers.image.title': 'advisory.db.gz' } }],
      annotations: { 'org.opencontainers.image.created': info.builtAt, 'dev.portcullis.advisory-db.schema': String(info.schemaVersion) },
    };
    await source.putManifest(reference, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
  } catch (err) {
    throw err instanceof ImageError ? new CliError('FAILED', `cannot push to ${ref}: ${err.message}`, { cause: err }) : err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

async function pullDb(ref: string, path: string, insecure: boolean): Promise<DbInfo> {
  const { source, reference } = registry(ref, insecure);
  try {
    const fetched = await source.manifest(reference);
    let manifest: { artifactType?: string; config?: { mediaType?: string }; layers?: { mediaType?: string; digest?: string; size?: number }[] };
    try {
      manifest = JSON.parse(Buffer.from(fetched.bytes).toString('utf8')) as typeof manifest;
    } catch {
      throw new CliError('FAILED', `${ref} is not an OCI manifest`);
    }
    const layer = manifest.layers?.find((l) => l.mediaType === DB_LAYER_MEDIA_TYPE);
    if (layer?.digest === undefined) throw new CliError('FAILED', `${ref} is not an advisory DB artifact (no ${DB_LAYER_MEDIA_TYPE} layer); push one with \`portcullis db push\``);
    if ((layer.size ?? 0) > MAX_DB_BYTES) throw new CliError('FAILED', `${ref}: the DB layer is ${layer.size} bytes, over the ${MAX_DB_BYTES}-byte limit`);
    // The one way a DB replaces the current one (the registry's replicas use it too): whole, verified, opened.
    return await installAdvisoryDb(verified(await source.blob({ digest: layer.digest }), layer.digest), path);
  } catch (err) {
    if (err instanceof ImageError) throw new CliError('FAILED', `cannot pull ${ref}: ${err.message}`, { cause: err });
    if (err instanceof VulnError) throw new CliError('FAILED', err.message, { cause: err });
    throw err;
  }
}
