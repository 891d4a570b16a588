/**
 * `portcullis scan SOURCE`: the scanner for CI and pre-push hooks (the DB it reads: db.ts). Parse, call the core, print: results to stdout or -o FILE, progress and warnings
 * to stderr, exit 0 / the --exit-code value on findings / 2 on a usage error / 1 on failure.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { NO_CACHE, type Image } from '../image/index.js';
import { readSbom } from '../sbom/index.js';
import { evaluateCached, factsKey, gatherDirectoryFacts, gatherImageFacts, SCANNERS, type ScanFacts, type Scanner } from '../scan/index.js';
import { filterReport, formatReport, parseIgnoreFile, parseOpenVex, REPORT_FORMATS, type ReportFilter, type ReportFormat } from '../scan/index.js';
import { SEVERITIES, type Severity } from '../vuln/index.js';
import { defaultDbPath, openDb, readText } from './db.js';
import { CliError } from './errors.js';
import type { CliIo, CliState } from './program.js';
import { cacheOf, imageReadOptions, progressReporter, withSource, writeResultFile, type ImageReadOptions } from './sbom.js';
import { packageVersion } from './version.js';

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
