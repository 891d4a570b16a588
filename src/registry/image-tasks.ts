/**
 * The heavy part of the registry's background jobs, as tasks a worker thread runs: reading an
 * image's layers, cataloging its packages, finding secrets, checking its configuration, matching
 * the advisory DB and writing the documents. A task sees the image only through the ContentSource
 * it is given (the repository's, served by the main thread) and returns bytes ready to store.
 * No store, no network: what the main thread keeps is decided there.
 */
import { FsLayerCache, NO_CACHE, openImage, type ContentSource, type Image, type LayerCache } from '../image/index.js';
import { catalogImage, ALL_CATALOGERS, formatInventory, type Inventory } from '../sbom/index.js';
import { evaluate, gatherImageFacts, type Scanner } from '../scan/index.js';
import type { ScanSummary } from '../storage/index.js';
import { matchKeys, type MatchKeys } from '../vuln/index.js';
import type { Subject } from './referrer.js';
import type { AdvisoryDbFile } from './scan-db-file.js';
import type { StoredSbomFormat } from './sbom.js';
import { summarize } from './scan-summary.js';

const SCANNERS: ReadonlySet<Scanner> = new Set<Scanner>(['vuln', 'secret', 'config']);

export interface TaskBase {
  readonly repository: string;
  readonly digest: string;
  /** The Portcullis version, named as the documents' tool. */
  readonly toolVersion: string;
  /** The documents' time (ms since the epoch). */
  readonly now: number;
  /** Layer cache directory; undefined keeps nothing between jobs. */
  readonly cacheDir?: string;
  /** Where large files of a layer are spooled while it is read. */
  readonly tmpDir?: string;
}

export interface SbomTask extends TaskBase {
  readonly kind: 'sbom';
}

export interface ScanTask extends TaskBase {
  readonly kind: 'scan';
  /** The advisory DB file (it may be missing: then vulnerabilities are not evaluated). */
  readonly dbPath: string;
  /** Also write a CycloneDX SBOM (kept when the SBOM worker is off: re-evaluation reads it). */
  readonly withSbom: boolean;
}

export type ImageTask = SbomTask | ScanTask;

export interface SbomOutcome {
  readonly kind: 'sbom';
  readonly subject: Subject;
  readonly packages: number;
  readonly documents: Readonly<Record<StoredSbomFormat, Uint8Array>>;
  readonly warnings: readonly string[];
}

export interface ScanOutcome {
  readonly kind: 'scan';
  readonly subject: Subject;
  /** The report (Portcullis's ScanReport) as JSON. */
  readonly report: Uint8Array;
  readonly summary: ScanSummary;
  /** Distinct, sorted. */
  readonly vulnerabilityIds: readonly string[];
  readonly keys: MatchKeys;
  /** The advisory DB build the vulnerabilities were matched against, or why there was none. */
  readonly db: { readonly builtAt: string } | { readonly missing: string };
  readonly sbom?: Uint8Array;
  readonly warnings: readonly string[];
}

export type TaskOutcome = SbomOutcome | ScanOutcome;

/** The part of a task every kind shares, from the service's settings. */
export function taskBase(deps: { readonly version: string; readonly now: () => number; readonly cacheDir: string | undefined; readonly tmpDir?: string }, repository: string, digest: string): TaskBase {
  return {
    repository,
    digest,
    toolVersion: deps.version,
    now: deps.now(),
    ...(deps.cacheDir !== undefined ? { cacheDir: deps.cacheDir } : {}),
    ...(deps.tmpDir !== undefined ? { tmpDir: deps.tmpDir } : {}),
  };
}

/** What a thread keeps between tasks: the advisory DB it has open. */
export interface TaskState {
  advisoryDb(path: string): AdvisoryDbFile;
}

/** The buffers of an outcome, for a transfer list (no copy between threads). */
export function outcomeBuffers(o: TaskOutcome): ArrayBuffer[] {
  const views = o.kind === 'sbom' ? Object.values(o.documents) : [o.report, ...(o.sbom !== undefined ? [o.sbom] : [])];
  return views.map((v) => v.buffer as ArrayBuffer);
}

export async function runImageTask(task: ImageTask, source: ContentSource, state: TaskState): Promise<TaskOutcome> {
  const image = await openImage(source, task.digest, { reference: `${task.repository}@${task.digest}`, name: task.repository });
  try {
    return task.kind === 'sbom' ? await sbomOf(image, task) : await scanOf(image, task, state);
  } finally {
    await image.close();
  }
}

function cacheOf(task: TaskBase): LayerCache {
  return task.cacheDir === undefined ? NO_CACHE : new FsLayerCache(task.cacheDir);
}

function subjectOf(image: Image): Subject {
  return { mediaType: image.manifest.mediaType, digest: image.digest, size: image.manifestBytes.byteLength };
}

/** A string as a buffer of its own (transferable as a whole: small ones come from a shared pool). */
function bytes(text: string): Uint8Array {
  const b = Buffer.from(text);
  if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) return new Uint8Array(b.buffer, 0, b.byteLength);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy;
}

function document(inventory: Inventory, format: StoredSbomFormat, task: TaskBase): Uint8Array {
  return bytes(formatInventory(inventory, format, { toolVersion: task.toolVersion, timestamp: new Date(task.now) }));
}

async function sbomOf(image: Image, task: SbomTask): Promise<SbomOutcome> {
  const inventory = await catalogImage(image, { catalogers: ALL_CATALOGERS, cache: cacheOf(task), concurrency: 1, ...(task.tmpDir !== undefined ? { tmpDir: task.tmpDir } : {}) });
  return {
    kind: 'sbom',
    subject: subjectOf(image),
    packages: inventory.packages.length,
    documents: { 'cyclonedx-json': document(inventory, 'cyclonedx-json', task), 'spdx-json': document(inventory, 'spdx-json', task) },
    warnings: [...inventory.warnings],
  };
}

async function scanOf(image: Image, task: ScanTask, state: TaskState): Promise<ScanOutcome> {
  const facts = await gatherImageFacts(image, { scanners: SCANNERS, cache: cacheOf(task), ...(task.tmpDir !== undefined ? { tmpDir: task.tmpDir } : {}) });
  const lease = state.advisoryDb(task.dbPath).acquire();
  try {
    const report = evaluate(facts, {
      scanners: SCANNERS,
      artifactName: `${task.repository}@${task.digest}`,
      artifactType: 'container_image',
      image,
      now: new Date(task.now),
      ...(lease.db !== undefined ? { db: lease.db } : {}),
    });
    const { summary, vulnerabilityIds } = summarize(report);
    return {
      kind: 'scan',
      subject: subjectOf(image),
      report: bytes(JSON.stringify(report)),
      summary,
      vulnerabilityIds,
      keys: matchKeys(facts.inventory),
      db: lease.db !== undefined ? { builtAt: lease.db.info.builtAt } : { missing: lease.reason },
      ...(task.withSbom ? { sbom: document(facts.inventory, 'cyclonedx-json', task) } : {}),
      warnings: [...facts.inventory.warnings],
    };
  } finally {
    if (lease.db !== undefined) lease.release();
  }
}
