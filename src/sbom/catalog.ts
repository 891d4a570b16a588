/**
 * Cataloging an image: each layer is read once (or taken from the layer cache), its wanted files
 * go through the catalogers, then the layers are squashed and only the findings of files that
 * survive in the final tree count. Layers are read side by side (inflate runs off the main thread).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTree, imageContentKey, indexDirectory, indexLayer, type Capture, type CapturedFile, type FileVisitor, type Image, type LayerCache, type LayerIndex } from '../image/index.js';
import { assembleInventory, type LocatedFindings } from './assemble.js';
import { DEFAULT_MAX_BYTES, type CatalogFile, type Cataloger } from './cataloger.js';
import type { Finding, ImageSubject, Inventory } from './model.js';

export interface CatalogProgress {
  readonly layer: number;
  readonly layers: number;
  readonly digest: string;
  readonly state: 'cached' | 'reading' | 'done';
  /** Compressed bytes read so far of this layer. */
  readonly bytes?: number;
  readonly size?: number;
}

/**
 * A reader of files that is not a cataloger: it sees every file of every layer, deleted ones too
 * (secrets in a file a later layer removed still ship), and its results are returned per layer,
 * unsquashed. Results must be JSON values: they are cached with the layer.
 */
export interface FileAnalyzer {
  readonly id: string;
  /** Part of the layer-cache key. */
  readonly version: number;
  wants(path: string, size: number, mode: number): boolean;
  readonly maxBytes: number;
  analyze(file: CatalogFile): Promise<readonly unknown[]>;
}

/** What the analyzers found in one layer: per analyzer id, per path, the results. */
export type AnalyzerResults = readonly (readonly [analyzer: string, path: string, results: readonly unknown[]])[];

export interface CatalogOptions {
  readonly catalogers: readonly Cataloger[];
  readonly analyzers?: readonly FileAnalyzer[];
  readonly cache: LayerCache;
  /** Where large captured files are spooled; a private directory is made inside it. */
  readonly tmpDir?: string;
  /** Layers read at once. */
  readonly concurrency?: number;
  readonly onProgress?: (p: CatalogProgress) => void;
}

/** What one layer yields: its index and the findings per path. The unit of the layer cache. */
interface LayerRecord {
  readonly index: LayerIndex;
  readonly findings: [string, Finding[]][];
  readonly warnings: string[];
  readonly analyzed?: AnalyzerResults;
}

/** An image read whole: its inventory, the squashed tree and each layer's analyzer results. */
export interface ImageAnalysis {
  readonly inventory: Inventory;
  readonly tree: FileTree;
  readonly layers: readonly { readonly digest: string; readonly diffId?: string; readonly analyzed: AnalyzerResults }[];
}

/** Bump when LayerRecord's shape or the reading of layers changes. */
const RECORD_VERSION = 1;

export function catalogersKey(catalogers: readonly Cataloger[], analyzers: readonly FileAnalyzer[] = []): string {
  const key = catalogers
    .map((c) => `${c.id}@${c.version}`)
    .sort()
    .join(',');
  return analyzers.length === 0 ? key : `${key}+${analyzers.map((a) => `${a.id}@${a.version}`).sort().join(',')}`;
}

/** The cache key of an image's whole result: its content (see imageContentKey), the catalogers, the record shape. */
export function imageResultKey(image: Pick<Image, 'digest' | 'layers'>, catalogers: readonly Cataloger[]): string {
  return `sbom-image:${RECORD_VERSION}:${imageContentKey(image)}:${catalogersKey(catalogers)}`;
}

export async function catalogImage(image: Image, options: CatalogOptions): Promise<Inventory> {
  const subject = imageSubject(image);
  // The whole image's result, by manifest digest: a warm run rebuilds no tree at all. The
  // subject is the caller's (the same image may be named by another reference).
  const imageKey = imageResultKey(image, options.catalogers);
  const hit = (await options.cache.get(imageKey)) as Omit<Inventory, 'subject'> | undefined;
  if (hit !== undefined && Array.isArray(hit.packages) && Array.isArray(hit.warnings)) {
    image.layers.forEach((l, i) => options.onProgress?.({ layer: i, layers: image.layers.length, digest: l.digest, state: 'cached' }));
    return { ...hit, subject };
  }
  const { inventory } = await analyzeImage(image, { ...options, analyzers: [] });
  const { subject: _subject, ...rest } = inventory;
  void _subject;
  await options.cache.put(imageKey, rest);
  return inventory;
}

/** What an SBOM says of the image it describes: reference, name, tag, digest, platform, layers. */
export function imageSubject(image: Image): ImageSubject {
  return {
    reference: image.reference,
    ...(image.name !== undefined ? { name: image.name } : {}),
    ...(image.tag !== undefined ? { tag: image.tag } : {}),
    digest: image.digest,
    platform: image.platform,
    layers: image.layers.map((l) => ({ digest: l.digest, size: l.size, ...(l.diffId !== undefined ? { diffId: l.diffId } : {}) })),
  };
}

/**
 * Reads every layer (or takes it from the layer cache) with the catalogers and the analyzers, and
 * squashes them: the inventory, the final file tree, and each layer's analyzer results.
 */
export async function analyzeImage(image: Image, options: CatalogOptions): Promise<ImageAnalysis> {
  const tmp = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'portcullis-catalog-'));
  try {
    const analyzers = options.analyzers ?? [];
    const key = catalogersKey(options.catalogers, analyzers);
    const subject = imageSubject(image);
    const records: LayerRecord[] = new Array<LayerRecord>(image.layers.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < image.layers.length) {
        const i = next++;
        const layer = image.layers[i]!;
        if (layer.absent !== undefined) {
          // Not served (a foreign layer the repository does not hold): read as empty, never cached.
          records[i] = { index: { entries: [], whiteouts: [], opaques: [] }, findings: [], warnings: [`layer ${i + 1} (${layer.digest.slice(0, 19)}): ${layer.absent}; not read`] };
          options.onProgress?.({ layer: i, layers: image.layers.length, digest: layer.digest, state: 'done' });
          continue;
        }
        const cacheKey = `sbom-layer:${RECORD_VERSION}:${layer.digest}:${key}`;
        const cached = (await options.cache.get(cacheKey)) as LayerRecord | undefined;
        if (cached !== undefined && Array.isArray(cached.findings)) {
          records[i] = cached;
          options.onProgress?.({ layer: i, layers: image.layers.length, digest: layer.digest, state: 'cached' });
          continue;
        }
        options.onProgress?.({ layer: i, layers: image.layers.length, digest: layer.digest, state: 'reading', bytes: 0, size: layer.size });
        const record = await readLayer(await counted(await layer.open(), (bytes) => options.onProgress?.({ layer: i, layers: image.layers.length, digest: layer.digest, state: 'reading', bytes, size: layer.size })), options.catalogers, analyzers, tmp, `layer ${i + 1} (${layer.digest.slice(0, 19)})`);
        records[i] = record;
        await options.cache.put(cacheKey, record);
        options.onProgress?.({ layer: i, layers: image.layers.length, digest: layer.digest, state: 'done' });
      }
    };
    const n = Math.max(1, Math.min(options.concurrency ?? 2, image.layers.length));
    await Promise.all(Array.from({ length: n }, () => worker()));
    const { inventory, tree } = squash(subject, records, image.layers.map((l) => l.digest));
    return {
      inventory,
      tree,
      layers: image.layers.map((l, i) => ({ digest: l.digest, ...(l.diffId !== undefined ? { diffId: l.diffId } : {}), analyzed: records[i]?.analyzed ?? [] })),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A directory taken as an image root: one layer, never cached (its content has no digest). */
export async function catalogDirectory(path: string, reference: string, options: Omit<CatalogOptions, 'cache'>): Promise<Inventory> {
  return (await analyzeDirectory(path, reference, options)).inventory;
}

/** A directory read as one layer with the catalogers and the analyzers. */
export async function analyzeDirectory(path: string, reference: string, options: Omit<CatalogOptions, 'cache'>): Promise<ImageAnalysis> {
  const { visitor, findings, warnings, analyzed } = cataloguingVisitor(options.catalogers, options.analyzers ?? [], 'the directory');
  const index = await indexDirectory(path, visitor);
  const { inventory, tree } = squash({ reference, name: path, layers: [] }, [{ index, findings: [...findings], warnings }], []);
  return { inventory, tree, layers: [{ digest: '', analyzed }] };
}

function squash(subject: ImageSubject, records: readonly LayerRecord[], digests: readonly string[]): { inventory: Inventory; tree: FileTree } {
  const tree = new FileTree();
  records.forEach((r, i) => tree.apply(i, r.index));
  const byLayer = records.map((r) => new Map(r.findings));
  const located: LocatedFindings[] = [];
  for (const node of tree.values()) {
    if (node.type !== 'file') continue;
    const findings = byLayer[node.layer]?.get(node.path);
    if (findings === undefined || findings.length === 0) continue;
    const layer = digests[node.layer];
    located.push({ location: layer !== undefined ? { path: node.path, layer } : { path: node.path }, findings });
  }
  const warnings = records.flatMap((r) => r.warnings);
  return { inventory: assembleInventory(subject, located, warnings), tree };
}

async function readLayer(blob: AsyncIterable<Uint8Array>, catalogers: readonly Cataloger[], analyzers: readonly FileAnalyzer[], tmp: string, label: string): Promise<LayerRecord> {
  const { visitor, findings, warnings, analyzed } = cataloguingVisitor(catalogers, analyzers, label);
  const index = await indexLayer(blob, visitor, tmp);
  return analyzers.length > 0 ? { index, findings: [...findings], warnings, analyzed } : { index, findings: [...findings], warnings };
}

/** The bridge from the image reader to the catalogers: which files to capture, and what they hold. */
function cataloguingVisitor(
  catalogers: readonly Cataloger[],
  analyzers: readonly FileAnalyzer[],
  label: string,
): { visitor: FileVisitor; findings: Map<string, Finding[]>; warnings: string[]; analyzed: [string, string, readonly unknown[]][] } {
  const findings = new Map<string, Finding[]>();
  const analyzed: [string, string, readonly unknown[]][] = [];
  const wantedBy = new Map<string, FileAnalyzer[]>();
  const warnings: string[] = [];
  const wanted = new Map<string, Cataloger[]>();
  const MAX_WARNINGS = 200;
  const warn = (message: string): void => {
    if (warnings.length < MAX_WARNINGS) warnings.push(`${label}: ${message}`);
    else if (warnings.length === MAX_WARNINGS) warnings.push(`${label}: more warnings left out`);
  };
  const visitor: FileVisitor = {
    want(path, size, mode) {
      let matched: Cataloger[] | undefined;
      for (const c of catalogers) {
        if (c.wants(path, size, mode)) (matched ??= []).push(c);
      }
      let byAnalyzers: FileAnalyzer[] | undefined;
      for (const a of analyzers) {
        if (size <= a.maxBytes && a.wants(path, size, mode)) (byAnalyzers ??= []).push(a);
      }
      if (byAnalyzers !== undefined) wantedBy.set(path, byAnalyzers);
      if (matched === undefined) {
        if (byAnalyzers === undefined) return undefined;
        return { maxBytes: Math.max(...byAnalyzers.map((a) => a.maxBytes)) };
      }
      wanted.set(path, matched);
      const capture = captureFor(matched);
      // Analyzers read whole files: the catalogers' head-only or sniffed capture would cut them short.
      return byAnalyzers === undefined ? capture : { maxBytes: Math.max(capture.maxBytes, ...byAnalyzers.map((a) => a.maxBytes)) };
    },
    async visit(file: CapturedFile) {
      const forAnalyzers = wantedBy.get(file.path);
      if (forAnalyzers !== undefined) {
        wantedBy.delete(file.path);
        for (const a of forAnalyzers) {
          try {
            const results = await a.analyze(file);
            if (results.length > 0) analyzed.push([a.id, file.path, results]);
          } catch (err) {
            warn(`/${file.path}: ${a.id}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
      const matched = wanted.get(file.path) ?? [];
      wanted.delete(file.path);
      if (matched.length === 0) return;
      const head = matched.some((c) => c.sniff !== undefined) ? await file.read(0, 64) : undefined;
      for (const c of matched) {
        if (c.sniff !== undefined && head !== undefined && !c.sniff(head)) continue;
        try {
          const found = await c.parse(file, { warn: (m) => warn(`/${file.path}: ${m}`) });
          if (found.length > 0) findings.set(file.path, [...(findings.get(file.path) ?? []), ...found]);
        } catch (err) {
          warn(`/${file.path}: ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    },
    warn,
  };
  return { visitor, findings, warnings, analyzed };
}

function captureFor(matched: readonly Cataloger[]): Capture {
  const maxBytes = Math.max(...matched.map((c) => c.maxBytes ?? DEFAULT_MAX_BYTES));
  const heads = matched.map((c) => c.headBytes);
  const allHead = heads.every((h) => h !== undefined);
  const sniffs = matched.map((c) => c.sniff);
  const allSniff = sniffs.every((s) => s !== undefined);
  return {
    maxBytes,
    ...(allHead ? { headBytes: Math.max(...(heads as number[])) } : {}),
    ...(allSniff ? { sniff: (head: Uint8Array) => sniffs.some((s) => s!(head)) } : {}),
  };
}

async function* counted(body: AsyncIterable<Uint8Array>, report: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0;
  let last = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n - last >= 4 * 1024 * 1024) {
      last = n;
      report(n);
    }
    yield chunk;
  }
  report(n);
}
