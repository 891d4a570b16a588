/**
 * `portcullis db build|update|info|push|pull`: the advisory DB the scanner reads, built from feed
 * files, kept current from the feeds' URLs, shipped through a registry for air-gapped sites.
 * Results to stdout or -o FILE, progress (on a terminal) and warnings to stderr.
 */
import { existsSync, mkdirSync, openAsBlob, readFileSync, rmSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultCacheDir, ImageError, parseRegistryReference, RegistrySource, verified } from '../image/index.js';
import { AdvisoryDb, buildAdvisoryDb, counted, defaultFeeds, installAdvisoryDb, packAdvisoryDb, parseFeedsFile, readFeeds, updateAdvisoryDb, VulnError, type DbInfo, type UpdateProgress } from '../vuln/index.js';
import { CliError } from './errors.js';
import { deprecated } from './output.js';
import type { CliIo, CliState } from './program.js';
import { credentialsFor, writeResultFile } from './sbom.js';
import { packageVersion } from './version.js';

/** The OCI artifact an advisory DB travels as. */
export const DB_ARTIFACT_TYPE = 'application/vnd.portcullis.advisory-db.v1';
export const DB_LAYER_MEDIA_TYPE = 'application/vnd.portcullis.advisory-db.layer.v1.sqlite+gzip';
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** A DB blob is refused past this size when pulled. */
const MAX_DB_BYTES = 4 * 1024 * 1024 * 1024;

export function defaultDbPath(io: CliIo): string {
  return io.env['PORTCULLIS_DB'] ?? join(io.env['PORTCULLIS_CACHE_DIR'] ?? defaultCacheDir(io.env), 'db', 'advisory.db');
}

export function openDb(path: string): AdvisoryDb {
  try {
    return AdvisoryDb.open(path);
  } catch (err) {
    if (err instanceof VulnError) throw new CliError('FAILED', err.message, { cause: err });
    throw err;
  }
}

export function readText(io: CliIo, path: string, what: string): string {
  try {
    return readFileSync(resolve(io.cwd, path), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function registerDb(program: Command, io: CliIo, state: CliState): void {
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
      const progress = dbProgress(io);
      let info: DbInfo;
      try {
        info = await buildAdvisoryDb(
          out,
          feeds.map((feed, i) => ({ feed, files: counted(readFeeds(/^https?:\/\//.test(feed) ? feed : resolve(io.cwd, feed)), (files, records) => progress.report({ phase: 'build', url: feed, feed: i + 1, feeds: feeds.length, files, records })) })),
          {
            onError: (line) => {
              errors += 1;
              if (errors <= 50) progress.line(`warning: ${line}`);
              else if (errors === 51) progress.line('warning: more problems are not listed');
            },
          },
        );
      } finally {
        progress.done();
      }
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
      const progress = dbProgress(io);
      let result;
      try {
        result = await updateAdvisoryDb(dbPath, urls, {
          cacheDir,
          onFeed: (f) => {
            done += 1;
            const what = f.result === 'failed' ? `failed: ${f.error}${f.kept ? ' (its previous copy is used)' : ' (no previous copy)'}` : f.result;
            progress.finished(f.url);
            progress.line(`[${done}/${urls.length}] ${f.url}: ${what}`);
          },
          onError: (line) => {
            errors += 1;
            if (errors <= 20) progress.line(`warning: ${line}`);
            else if (errors === 21) progress.line('warning: more problems are not listed');
          },
          onProgress: progress.report,
        });
      } finally {
        progress.done();
      }
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

/**
 * The progress line of `db build` and `db update` on a terminal (not under CI): the downloads in
 * flight with their bytes, then the feed being built from with its files and records, redrawn at
 * most every 100 ms. Lines printed meanwhile (a feed done, a warning) go above it. Off a terminal
 * only those lines are printed.
 */
function dbProgress(io: CliIo): { report: (p: UpdateProgress) => void; finished: (url: string) => void; line: (text: string) => void; done: () => void } {
  const tty = process.stderr.isTTY === true && io.env['CI'] !== 'true';
  const downloads = new Map<string, { bytes: number; total?: number; checking: boolean }>();
  let build: Extract<UpdateProgress, { phase: 'build' }> | undefined;
  let last = 0;
  let shown = false;
  const name = (url: string): string => {
    const parts = url.split('/').filter((x) => x !== '');
    return decodeURIComponent(parts.slice(-2).join('/')).slice(-48);
  };
  const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
  const draw = (force: boolean): void => {
    if (!tty) return;
    if (build === undefined && downloads.size === 0) return clear();
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    let text: string;
    if (build !== undefined) text = `building: feed ${build.feed}/${build.feeds} ${name(build.url)}: ${build.files} files, ${build.records} records`;
    else text = `fetching: ${[...downloads.entries()].map(([url, d]) => `${name(url)} ${d.checking ? 'checking' : `${mb(d.bytes)}${d.total !== undefined ? `/${mb(d.total)}` : ''}`}`).join(', ')}`;
    // A terminal that reports no width (0) gets a line of 120.
    const width = process.stderr.columns || 120;
    process.stderr.write(`\r\x1b[2K${text.slice(0, Math.max(20, width - 1))}`);
    shown = true;
  };
  const clear = (): void => {
    if (shown) process.stderr.write('\r\x1b[2K');
    shown = false;
  };
  return {
    report: (p) => {
      // Each feed's start is drawn: a small feed is built within one throttle interval.
      const next = p.phase === 'build' && p.feed !== build?.feed;
      if (p.phase === 'build') build = p;
      else downloads.set(p.url, { ...(downloads.get(p.url) ?? { bytes: 0 }), ...(p.phase === 'download' ? { bytes: p.bytes, ...(p.total !== undefined ? { total: p.total } : {}), checking: false } : { checking: true }) });
      draw(next);
    },
    finished: (url) => void downloads.delete(url),
    line: (text) => {
      clear();
      process.stderr.write(`${text}\n`);
      draw(true);
    },
    done: clear,
  };
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
