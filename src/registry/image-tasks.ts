/**
 * The heavy part of the registry's background jobs, as tasks a worker thread runs: reading an
 * image's layers, cataloging its packages, finding secrets, checking its configuration, matching
 * the advisory DB, writing the documents, and reading a stored SBOM back. An image task sees the
 * image only through the ContentSource it is given (the repository's, served by the main thread);
 * every task returns bytes or plain data ready to store. No store, no network: what the main
 * thread keeps is decided there.
 */
import { FsLayerCache, NO_CACHE, openImage, type ContentSource, type Image, type LayerCache } from '../image/index.js';
import { catalogImage, ALL_CATALOGERS, formatInventory, readSbom, type Inventory } from '../sbom/index.js';
import { applyDecisions, buildReport, evaluate, formatReport, gatherImageFacts, type FindingDecision, type ReportFormat, type ScanReport, type Scanner } from '../scan/index.js';
import type { ScanSummary } from '../storage/index.js';
import { matchInventory, matchKeys, type MatchKeys } from '../vuln/index.js';
import { runDbUpdate, type DbUpdateOutcome, type DbUpdateTask } from './advisory-db-task.js';
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

/** The match keys of a stored CycloneDX SBOM (for a re-evaluation of an image scanned without them). */
export interface KeysTask {
  readonly kind: 'keys';
  readonly sbom: Uint8Array;
  /** Names the SBOM in messages. */
  readonly label: string;
}

/**
 * A stored report in a report format. When `sbom` is given and the report was made against
 * another DB build than the one at `dbPath`, it is made again from the SBOM first (secrets and
 * configuration findings carried over), and the new report is returned to be stored.
 */
export interface ReportTask {
  readonly kind: 'report';
  readonly stored: Uint8Array;
  readonly sbom?: Uint8Array;
  readonly label: string;
  readonly dbPath: string;
  /** A report format, or `findings`: what the gates judge (`GateFinding`s as JSON). */
  readonly format: ReportFormat | 'findings';
  readonly toolVersion: string;
  readonly now: number;
  /** Findings decided about (approved waivers): shown as such in the report formats, not in `findings`. */
  readonly decisions?: readonly FindingDecision[];
}

/** Tasks on stored documents: no image is read. */
export type DocumentTask = KeysTask | ReportTask;
export type Task = ImageTask | DocumentTask | DbUpdateTask;

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

export interface KeysOutcome {
  readonly kind: 'keys';
  readonly keys: MatchKeys;
}

export interface ReportOutcome {
  readonly kind: 'report';
  /** The report in the format asked for. */
  readonly body: Uint8Array;
  /** The report made again against the current DB, to be stored in place of the old one. */
  readonly rebuilt?: { readonly report: Uint8Array; readonly summary: ScanSummary; readonly vulnerabilityIds: readonly string[]; readonly dbBuiltAt: string };
}

export type TaskOutcome = SbomOutcome | ScanOutcome | KeysOutcome | ReportOutcome | DbUpdateOutcome;

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

/** A finding as the gates judge it (the policy module's Finding). */
export interface GateFinding {
  readonly id: string;
  readonly severity: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN';
  readonly class: 'vulnerability' | 'secret' | 'misconfiguration';
  readonly fixable: boolean;
  readonly knownExploited?: boolean;
}

/** Every finding of a report, of every class, as the gates judge it. */
export function findingsOf(report: ScanReport): GateFinding[] {
  const out: GateFinding[] = [];
  for (const r of report.results) {
    for (const v of r.vulnerabilities ?? []) out.push({ id: v.id, severity: v.severity, class: 'vulnerability', fixable: v.fixedVersion !== undefined && v.fixedVersion !== '', ...(v.knownExploited !== undefined ? { knownExploited: true } : {}) });
    for (const x of r.secrets ?? []) out.push({ id: x.ruleId, severity: x.severity, class: 'secret', fixable: false });
    for (const m of r.misconfigurations ?? []) out.push({ id: m.id, severity: m.severity, class: 'misconfiguration', fixable: false });
  }
  return out;
}

/** What a thread keeps between tasks: the advisory DB it has open. */
export interface TaskState {
  advisoryDb(path: string): AdvisoryDbFile;
}

/** The buffers of a task or an outcome, for a transfer list (no copy between threads; see `owned`). */
export function transferList(x: Task | TaskOutcome): ArrayBuffer[] {
  let views: Uint8Array[];
  switch (x.kind) {
    case 'sbom':
      views = 'documents' in x ? Object.values(x.documents) : [];
      break;
    case 'scan':
      views = 'report' in x ? [x.report, ...(x.sbom !== undefined ? [x.sbom] : [])] : [];
      break;
    case 'keys':
      views = 'sbom' in x ? [x.sbom] : [];
      break;
    case 'report':
      views = 'stored' in x ? [x.stored, ...(x.sbom !== undefined ? [x.sbom] : [])] : 'body' in x ? [x.body, ...(x.rebuilt !== undefined ? [x.rebuilt.report] : [])] : [];
      break;
    case 'db-update':
      views = [];
      break;
  }
  return views.map((v) => v.buffer as ArrayBuffer);
}

/**
 * `bytes` in a buffer of their own, whole: safe to transfer. A Buffer may be a slice of a pool
 * that other Buffers share (small ones always are); transferring that would detach theirs too.
 */
export function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength && !(bytes.buffer instanceof SharedArrayBuffer)) return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** Runs a task: an image task reads the image from `source`. */
export async function runTask(task: Task, source: ContentSource | undefined, state: TaskState): Promise<TaskOutcome> {
  switch (task.kind) {
    case 'keys':
      return { kind: 'keys', keys: matchKeys(readSbom(text(task.sbom), task.label).inventory) };
    case 'report':
      return report(task, state);
    case 'db-update':
      return runDbUpdate(task);
    case 'sbom':
    case 'scan': {
      if (source === undefined) throw new Error(`a ${task.kind} task reads an image: it needs a source`);
      const image = await openImage(source, task.digest, { reference: `${task.repository}@${task.digest}`, name: task.repository });
      try {
        return task.kind === 'sbom' ? await sbomOf(image, task) : await scanOf(image, task, state);
      } finally {
        await image.close();
      }
    }
  }
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

function report(task: ReportTask, state: TaskState): ReportOutcome {
  let report = JSON.parse(text(task.stored)) as ScanReport;
  let rebuilt: ReportOutcome['rebuilt'];
  // A report made without a DB (before the first update) is made again too once there is one.
  const lease = task.sbom === undefined ? undefined : state.advisoryDb(task.dbPath).acquire();
  try {
    if (task.sbom !== undefined && lease?.db !== undefined && lease.db.info.builtAt !== report.db?.builtAt) {
      const before = report;
      const inventory = readSbom(text(task.sbom), task.label).inventory;
      report = buildReport({
        artifactName: before.artifactName,
        artifactType: 'container_image',
        inventory,
        matches: matchInventory(inventory, lease.db),
        secrets: before.results.filter((r) => r.class === 'secret').flatMap((r) => r.secrets ?? []),
        misconfigurations: before.results.filter((r) => r.class === 'config').map((r) => ({ target: r.target, type: r.type, findings: r.misconfigurations ?? [] })),
        ...(before.metadata.imageConfig !== undefined ? { imageConfig: before.metadata.imageConfig } : {}),
        ...(before.metadata.imageId !== undefined ? { imageId: before.metadata.imageId } : {}),
        db: { builtAt: lease.db.info.builtAt, schemaVersion: lease.db.info.schemaVersion },
        now: new Date(task.now),
      });
      rebuilt = { report: bytes(JSON.stringify(report)), ...summarize(report), dbBuiltAt: lease.db.info.builtAt };
    }
  } finally {
    if (lease?.db !== undefined) lease.release();
  }
  const body = task.format === 'findings' ? JSON.stringify(findingsOf(report)) : formatReport(applyDecisions(report, task.decisions ?? []), task.format, { toolVersion: task.toolVersion });
  return { kind: 'report', body: bytes(body), ...(rebuilt !== undefined ? { rebuilt } : {}) };
}

function cacheOf(task: TaskBase): LayerCache {
  return task.cacheDir === undefined ? NO_CACHE : new FsLayerCache(task.cacheDir);
}

function subjectOf(image: Image): Subject {
  return { mediaType: image.manifest.mediaType, digest: image.digest, size: image.manifestBytes.byteLength };
}

/** A string as a buffer of its own (transferable as a whole). */
const bytes = (s: string): Uint8Array => owned(Buffer.from(s));

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
      warnings: [...facts.inventory.warnings, ...(report.metadata.warnings ?? [])],
    };
  } finally {
    if (lease.db !== undefined) lease.release();
  }
}
