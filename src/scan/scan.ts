/**
 * The scan: one read of an image (or a directory) gathers its packages, the secrets in every
 * layer and the facts the configuration checks need; the vulnerability match runs on those facts
 * against the advisory DB. The facts of an image are cached by manifest digest, so a rescan (with
 * the same or a newer DB) reads no layer and rebuilds no tree.
 */
import { imageContentKey, type Image, type LayerCache } from '../image/index.js';
import { ALL_CATALOGERS, analyzeDirectory, analyzeImage, catalogersKey, imageSubject, type AnalyzerResults, type CatalogProgress, type FileAnalyzer, type ImageAnalysis, type Inventory } from '../sbom/index.js';
import { coverageWarnings, matchInventory, type AdvisoryLookup } from '../vuln/index.js';
import { checkDockerfile } from './dockerfile.js';
import { checkImageConfig } from './misconfig.js';
import { MISCONFIG_VERSION } from './misconfig-rules.js';
import type { ArtifactType, ConfigFinding, ScanReport, SecretFinding } from './model.js';
import { buildReport } from './report.js';
import { scanSecrets, SECRETS_VERSION, wantsSecretScan } from './secrets.js';

export const SCANNERS = ['vuln', 'secret', 'config'] as const;
export type Scanner = (typeof SCANNERS)[number];

/** Bump when ScanFacts' shape or how they are gathered changes. */
const FACTS_VERSION = 1;
const SECRET_MAX_BYTES = 10 * 1024 * 1024;

/** Everything a scan learns from the artifact itself, independent of the advisory DB. */
export interface ScanFacts {
  readonly inventory: Inventory;
  readonly secrets: readonly SecretFinding[];
  readonly misconfigurations: readonly { readonly target: string; readonly type: string; readonly findings: readonly ConfigFinding[] }[];
}

export interface GatherOptions {
  readonly scanners: ReadonlySet<Scanner>;
  readonly cache: LayerCache;
  readonly onProgress?: (p: CatalogProgress) => void;
  readonly tmpDir?: string;
}

const secretAnalyzer: FileAnalyzer = {
  id: 'secret',
  version: SECRETS_VERSION,
  wants: wantsSecretScan,
  maxBytes: SECRET_MAX_BYTES,
  analyze: async (file) => scanSecrets(file.path, await file.read(0, file.size)),
};

const DOCKERFILE = /(^|\/)(Dockerfile|Containerfile)(\.[^/]+)?$|\.(Dockerfile|dockerfile)$/;
const dockerfileAnalyzer: FileAnalyzer = {
  id: 'dockerfile',
  version: MISCONFIG_VERSION,
  wants: (path, size) => size > 0 && DOCKERFILE.test(path),
  maxBytes: 1024 * 1024,
  analyze: async (file) => {
    const findings = checkDockerfile(file.path, Buffer.from(await file.read(0, file.size)).toString('utf8'));
    // One result per file even when clean: a scanned Dockerfile is a target of the report.
    return [{ findings }];
  },
};

function analyzersFor(scanners: ReadonlySet<Scanner>, directory: boolean): FileAnalyzer[] {
  const out: FileAnalyzer[] = [];
  if (scanners.has('secret')) out.push(secretAnalyzer);
  if (directory && scanners.has('config')) out.push(dockerfileAnalyzer);
  return out;
}

/** The cache key of an image's facts: its content (see imageContentKey), scanners and every analyzer's version. */
export function factsKey(image: Pick<Image, 'digest' | 'layers'>, scanners: ReadonlySet<Scanner>): string {
  const names = [...scanners].sort().join(',');
  return `scan-facts:${FACTS_VERSION}:${imageContentKey(image)}:${names}:${catalogersKey(ALL_CATALOGERS, analyzersFor(scanners, false))}:${MISCONFIG_VERSION}`;
}

/** Secrets of every layer, with the layer named and files that the final image no longer holds marked. */
function secretsOf(analysis: ImageAnalysis): SecretFinding[] {
  const out: SecretFinding[] = [];
  analysis.layers.forEach((layer, index) => {
    for (const [analyzer, path, results] of layer.analyzed as AnalyzerResults) {
      if (analyzer !== 'secret') continue;
      const node = analysis.tree.get(path);
      const deleted = layer.digest !== '' && (node === undefined || node.layer !== index);
      for (const r of results as SecretFinding[]) {
        out.push({
          ...r,
          ...(layer.digest !== '' ? { layer: layer.diffId !== undefined ? { digest: layer.digest, diffId: layer.diffId } : { digest: layer.digest } } : {}),
          ...(deleted ? { deleted: true } : {}),
        });
      }
    }
  });
  return out;
}

export async function gatherImageFacts(image: Image, options: GatherOptions): Promise<ScanFacts> {
  const key = factsKey(image, options.scanners);
  const hit = (await options.cache.get(key)) as Omit<ScanFacts, 'inventory'> & { inventory: Omit<Inventory, 'subject'> } | undefined;
  const subject = imageSubject(image);
  if (hit !== undefined && Array.isArray(hit.secrets) && Array.isArray(hit.misconfigurations) && Array.isArray(hit.inventory?.packages)) {
    image.layers.forEach((l, i) => options.onProgress?.({ layer: i, layers: image.layers.length, digest: l.digest, state: 'cached' }));
    return { ...hit, inventory: { ...hit.inventory, subject } };
  }
  const analysis = await analyzeImage(image, {
    catalogers: ALL_CATALOGERS,
    analyzers: analyzersFor(options.scanners, false),
    cache: options.cache,
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.tmpDir !== undefined ? { tmpDir: options.tmpDir } : {}),
  });
  const misconfigurations = options.scanners.has('config')
    ? [{ target: 'image config', type: 'image-config', findings: checkImageConfig({ config: image.config, tree: analysis.tree, ...(image.tag !== undefined ? { tag: image.tag } : {}) }) }]
    : [];
  const facts: ScanFacts = { inventory: analysis.inventory, secrets: secretsOf(analysis), misconfigurations };
  const { subject: _s, ...inventory } = facts.inventory;
  void _s;
  await options.cache.put(key, { ...facts, inventory });
  return facts;
}

export async function gatherDirectoryFacts(path: string, reference: string, options: Omit<GatherOptions, 'cache'>): Promise<ScanFacts> {
  const analysis = await analyzeDirectory(path, reference, { catalogers: ALL_CATALOGERS, analyzers: analyzersFor(options.scanners, true) });
  const misconfigurations: ScanFacts['misconfigurations'][number][] = [];
  for (const [analyzer, file, results] of analysis.layers[0]?.analyzed ?? []) {
    if (analyzer !== 'dockerfile') continue;
    const findings = (results as { findings: ConfigFinding[] }[]).flatMap((r) => r.findings);
    misconfigurations.push({ target: file, type: 'dockerfile', findings });
  }
  misconfigurations.sort((a, b) => a.target.localeCompare(b.target));
  return { inventory: analysis.inventory, secrets: secretsOf(analysis), misconfigurations };
}

export interface EvaluateOptions {
  readonly scanners: ReadonlySet<Scanner>;
  readonly artifactName: string;
  readonly artifactType: ArtifactType;
  /** Required when the vuln scanner runs. */
  readonly db?: AdvisoryLookup & { readonly info: { readonly builtAt: string; readonly schemaVersion: number } };
  readonly image?: Pick<Image, 'config' | 'manifest'>;
  readonly now?: Date;
}

/**
 * `evaluate`, through the cache: the report of an image's facts against one DB build does not
 * change, so a rescan with the same DB (the common case in CI, where the DB is updated daily and
 * images are scanned on every run) reads it back. `key` names the facts (see `factsKey`); the DB
 * build is added here. Without a DB in play the report is not cached (it is cheap).
 */
export async function evaluateCached(cache: LayerCache, key: string | undefined, facts: ScanFacts, options: EvaluateOptions): Promise<ScanReport> {
  const db = options.scanners.has('vuln') ? options.db : undefined;
  if (key === undefined || db === undefined) return evaluate(facts, options);
  const fullKey = `scan-report:${REPORT_VERSION}:${key}:${db.info.schemaVersion}:${db.info.builtAt}:${[...options.scanners].sort().join(',')}:${options.artifactType}:${options.artifactName}`;
  const hit = (await cache.get(fullKey)) as ScanReport | undefined;
  if (hit !== undefined && Array.isArray(hit.results)) return { ...hit, createdAt: (options.now ?? new Date()).toISOString() };
  const report = evaluate(facts, options);
  await cache.put(fullKey, report);
  return report;
}

/** Bump when the report built from the same facts and DB changes. */
const REPORT_VERSION = 2;

/** The report of gathered facts: the vulnerability match runs here, on the DB given. */
export function evaluate(facts: ScanFacts, options: EvaluateOptions): ScanReport {
  const vuln = options.scanners.has('vuln') && options.db !== undefined;
  return buildReport({
    artifactName: options.artifactName,
    artifactType: options.artifactType,
    inventory: facts.inventory,
    ...(vuln ? { matches: matchInventory(facts.inventory, options.db!), warnings: coverageWarnings(facts.inventory, options.db!) } : {}),
    ...(options.scanners.has('secret') ? { secrets: facts.secrets } : {}),
    ...(options.scanners.has('config') ? { misconfigurations: facts.misconfigurations } : {}),
    ...(options.image !== undefined ? { imageConfig: options.image.config, imageId: options.image.manifest.config.digest } : {}),
    ...(vuln ? { db: { builtAt: options.db!.info.builtAt, schemaVersion: options.db!.info.schemaVersion } } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
}
