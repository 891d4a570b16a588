/**
 * `portcullis sbom SOURCE`: the inventory of an image (or a directory) as CycloneDX, SPDX, JSON
 * or a table. Shared options for reading images live here too, for the commands that read images.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultCacheDir, FsLayerCache, ImageError, NO_CACHE, openImageSource, parsePlatform, parseSource, type Credentials, type Image, type LayerCache } from '../image/index.js';
import { ALL_CATALOGERS, catalogDirectory, catalogImage, formatInventory, imageResultKey, SBOM_FORMATS, type CatalogProgress, type Inventory, type SbomFormat } from '../sbom/index.js';
import { packageVersion } from './version.js';
import { lookupCredentials } from './docker-config.js';
import { CliError } from './errors.js';
import { deprecated, formatAndOutput } from './output.js';
import type { CliIo } from './program.js';

export interface ImageReadOptions {
  platform?: string;
  insecure?: boolean;
  cacheDir?: string;
  cache?: boolean;
}

/** Options of every command that reads images. */
export function imageReadOptions(cmd: Command): Command {
  return cmd
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image', 'linux/amd64')
    .option('--insecure', 'reach the registry over plain HTTP')
    .option('--cache-dir <dir>', 'layer cache directory (default $PORTCULLIS_CACHE_DIR or ~/.cache/portcullis)')
    .option('--no-cache', 'read every layer, keep nothing');
}

export function cacheOf(io: CliIo, o: ImageReadOptions): LayerCache {
  if (o.cache === false) return NO_CACHE;
  const dir = o.cacheDir ?? io.env['PORTCULLIS_CACHE_DIR'] ?? defaultCacheDir(io.env);
  return new FsLayerCache(resolve(io.cwd, dir));
}

/** Docker's config keys Docker Hub as its v1 index URL. */
export function credentialsFor(registry: string): Promise<Credentials | undefined> {
  return registry === 'docker.io' ? lookupCredentials('https://index.docker.io/v1/').then((c) => c ?? lookupCredentials(registry)) : lookupCredentials(registry);
}

/** Progress on a terminal only: one line, rewritten in place. */
export function progressReporter(enabled: boolean): { report: (p: CatalogProgress) => void; done: () => void } {
  if (!enabled) return { report: () => undefined, done: () => undefined };
  const states = new Map<number, CatalogProgress>();
  let last = 0;
  const draw = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const parts = [...states.values()]
      .sort((a, b) => a.layer - b.layer)
      .filter((p) => p.state === 'reading')
      .map((p) => `layer ${p.layer + 1}/${p.layers} ${mb(p.bytes ?? 0)}${p.size !== undefined ? `/${mb(p.size)}` : ''}`);
    const finished = [...states.values()].filter((p) => p.state !== 'reading').length;
    const total = [...states.values()][0]?.layers ?? 0;
    process.stderr.write(`\r\x1b[2K${finished}/${total} layers done${parts.length > 0 ? `; ${parts.join(', ')}` : ''}`);
  };
  return {
    report: (p) => {
      states.set(p.layer, p);
      draw(p.state !== 'reading');
    },
    done: () => process.stderr.write('\r\x1b[2K'),
  };
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
}

const STAMP_TIME = new Date(0);
const STAMP_NAMESPACE = '00000000-0000-4000-8000-000000000000';

export interface RenderedSbom {
  readonly text: string;
  readonly warnings: readonly string[];
}

function stampable(format: SbomFormat): boolean {
  return format === 'cyclonedx-json' || format === 'spdx-json';
}

/** A cached document with the current time (and, for SPDX, a new document namespace). */
function restamp(text: string, format: SbomFormat): string {
  const now = new Date();
  if (format === 'cyclonedx-json') return text.replace(`"${STAMP_TIME.toISOString()}"`, JSON.stringify(now.toISOString()));
  const second = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return text.replace(`"${second(STAMP_TIME)}"`, JSON.stringify(second(now))).replace(STAMP_NAMESPACE, randomUUID());
}

/**
 * Renders an SBOM, or reuses the rendering cached under `key`: serializing thousands of components
 * through the CycloneDX library costs more than the rest of a warm run, and with the key known
 * before the image is read, a warm run reads neither a layer nor the inventory. The cached text
 * carries a fixed timestamp (and SPDX namespace) that are replaced with fresh ones.
 */
export async function renderCached(format: SbomFormat, cache: LayerCache, key: string | undefined, build: () => Promise<Inventory>): Promise<RenderedSbom> {
  const toolVersion = packageVersion();
  if (key === undefined || !stampable(format)) {
    const inventory = await build();
    return { text: formatInventory(inventory, format, { toolVersion }), warnings: inventory.warnings };
  }
  const fullKey = `sbom-render:${format}:${toolVersion}:${key}`;
  const hit = (await cache.get(fullKey)) as { text?: unknown; warnings?: unknown } | undefined;
  if (typeof hit?.text === 'string' && Array.isArray(hit.warnings)) return { text: restamp(hit.text, format), warnings: hit.warnings as string[] };
  const inventory = await build();
  const text = formatInventory(inventory, format, { toolVersion, timestamp: STAMP_TIME, namespaceId: STAMP_NAMESPACE });
  await cache.put(fullKey, { text, warnings: inventory.warnings });
  return { text: restamp(text, format), warnings: inventory.warnings };
}

export type OpenedSource = { readonly kind: 'dir'; readonly path: string; readonly text: string } | { readonly kind: 'image'; readonly image: Image };

/** Opens a source (usage errors for bad syntax) and hands it to `use`, closing it after. */
export async function withSource<T>(io: CliIo, sourceText: string, o: ImageReadOptions, use: (source: OpenedSource) => Promise<T>): Promise<T> {
  let spec;
  try {
    spec = parseSource(sourceText);
  } catch (err) {
    throw usageIfSource(err);
  }
  if (spec.kind === 'dir') return use({ kind: 'dir', path: resolve(io.cwd, spec.path), text: spec.text });
  let platform;
  try {
    platform = parsePlatform(o.platform ?? 'linux/amd64');
  } catch (err) {
    throw usageIfSource(err);
  }
  const resolved = spec.kind === 'registry' ? spec : { ...spec, path: resolve(io.cwd, spec.path) };
  let image: Image;
  try {
    image = await openImageSource(resolved, { platform, insecure: o.insecure === true, credentials: credentialsFor, userAgent: `portcullis/${packageVersion()}` });
  } catch (err) {
    throw usageIfSource(err);
  }
  try {
    return await use({ kind: 'image', image });
  } finally {
    await image.close();
  }
}

function catalog(io: CliIo, source: OpenedSource, o: ImageReadOptions): Promise<Inventory> {
  if (source.kind === 'dir') return catalogDirectory(source.path, source.text, { catalogers: ALL_CATALOGERS });
  const progress = progressReporter(process.stderr.isTTY === true && io.env['CI'] !== 'true');
  return catalogImage(source.image, { catalogers: ALL_CATALOGERS, cache: cacheOf(io, o), onProgress: progress.report }).finally(() => progress.done());
}

/** The SBOM of a source in a format, through the rendering cache when the source is an image. */
export function sbomOf(io: CliIo, sourceText: string, o: ImageReadOptions, format: SbomFormat): Promise<RenderedSbom> {
  return withSource(io, sourceText, o, (source) => {
    const key = source.kind === 'image' ? `${imageResultKey(source.image, ALL_CATALOGERS)}:${JSON.stringify([source.image.reference, source.image.name ?? null, source.image.tag ?? null])}` : undefined;
    return renderCached(format, source.kind === 'image' ? cacheOf(io, o) : NO_CACHE, key, () => catalog(io, source, o));
  });
}

function usageIfSource(err: unknown): unknown {
  return err instanceof ImageError && err.code === 'SOURCE_INVALID' ? new CliError('USAGE', err.message) : err;
}

/** Writes a result file whole or not at all: a temporary name beside it, then a rename. */
export function writeResultFile(path: string, text: string): void {
  const tmp = join(dirname(path), `.${randomUUID()}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CliError('FAILED', `cannot write ${path}: ${(err as Error).message}`);
  }
}

export function registerSbom(program: Command, io: CliIo): void {
  imageReadOptions(
    program
      .command('sbom')
      .argument('<source>', 'REGISTRY/REPO[:TAG|@DIGEST], oci-dir:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] or dir:PATH')
      .description('list every package in an image, as CycloneDX 1.6, SPDX 2.3, JSON or a table')
      .addOption(new Option('-f, --format <format>', 'SBOM format').choices([...SBOM_FORMATS]).default('table'))
      .option('-o, --output <file>', 'write the SBOM to FILE (whole or not at all) instead of stdout')
      // Shipped as `--file PATH`, when -o took the format: kept working, out of the help.
      .addOption(new Option('--file <path>', 'deprecated: -o FILE').hideHelp()),
  ).action(async (source: string, o: ImageReadOptions & { format: SbomFormat; output?: string; file?: string }, cmd: Command) => {
    const { format, output } = sbomTarget(o, cmd.getOptionValueSource('format') === 'cli');
    const { text, warnings } = await sbomOf(io, source, o, format);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    if (output !== undefined) writeResultFile(resolve(io.cwd, output), text);
    else process.stdout.write(text);
  });
}

/** `-f FORMAT -o FILE`, and the spellings `sbom` shipped with: `-o FORMAT` and `--file PATH`, each with a note. */
function sbomTarget(o: { format: SbomFormat; output?: string; file?: string }, formatGiven: boolean): { format: SbomFormat; output: string | undefined } {
  const target = formatAndOutput('sbom', SBOM_FORMATS, o, formatGiven);
  if (o.file === undefined) return target;
  deprecated('sbom --file PATH', '-o PATH');
  if (target.output !== undefined) throw new CliError('USAGE', `--file ${o.file} and -o ${target.output} both name the output file: give only -o FILE`);
  return { format: target.format, output: o.file };
}
