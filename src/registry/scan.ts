/**
 * Scanning in the registry: every image pushed gets a `scan` job in the durable queue; a worker
 * (in every replica) claims it and has the scan thread read the image through the repository's
 * links, gather its facts (packages, secrets, configuration checks) and evaluate them against the
 * advisory DB, under the thread's memory and time limits. The full
 * report is kept as an OCI artifact whose `subject` is the image; a summary row in the metadata
 * store answers listings without opening it.
 *
 * When the advisory DB file is replaced, every stored image is re-evaluated from its stored match
 * keys (or its stored CycloneDX SBOM: no layer is read again; the counting is scan-reevaluate.ts),
 * and the images that gained a vulnerability are named.
 */
import { isDigest, parseManifest, parseRepositoryName, type Digest } from '../oci/index.js';
import type { FindingDecision, ReportFormat } from '../scan/index.js';
import type { ScanResultRecord, ScanSummary } from '../storage/index.js';
import type { DbInfo, MatchKeys } from '../vuln/index.js';
import { owned, taskBase, type GateFinding, type ScanTask } from './image-tasks.js';
import { DEFAULT_JOB_LIMITS, JobThread } from './job-thread.js';
import { imageJobTarget, JobWorker, queueOf, type ImageJobDeps, type RunningJob } from './job-worker.js';
import { AdvisoryDbFile } from './scan-db-file.js';
import { Reevaluator, type Found } from './scan-reevaluate.js';
import { reindex, reindexJobKey, SCAN_REINDEX_JOB } from './scan-reindex.js';
import { SecuritySearch } from './security-search.js';
import { IMAGE_CONFIG_TYPES, summaryJson } from './scan-summary.js';
import { TermCache } from './scan-terms.js';
import { isContainerImage, storeSbom } from './sbom.js';
import { SYSTEM } from './artifact-writer.js';
import type { EventBus } from './events.js';
import { storeReferrer, type Subject } from './referrer.js';
import { RepositoryContent } from './repository-content.js';

export const SCAN_JOB = 'scan';
/** Re-evaluation of every stored image against one DB build; keyed by the DB's build time, so replicas run it once. */
export const SCAN_REEVALUATE_JOB = 'scan-reevaluate';
export const SCAN_REPORT_ARTIFACT_TYPE = 'application/vnd.portcullis.scan-report.v1+json';
/** The DB build every stored image was last re-evaluated against. */
const EVALUATED_DB = 'scan.evaluated-db';
/**
 * Results read, evaluated and written per round trip of a re-evaluation. Small: a page's rows
 * live until it is written, and short-lived pages keep them out of the old generation (measured,
 * 1,000 images: 10 → 2.6 s and 320 MB peak RSS; 50 → 2.3 s and 370 MB).
 */
const REEVALUATE_PAGE = 10;

export interface ScanServiceDeps extends ImageJobDeps {
  /** The advisory DB file; it may be missing (vulnerabilities are then not evaluated) and may be replaced at any time. */
  readonly dbPath: string;
  /** A DB older than this still serves, with a warning in the log and in the API's answers. */
  readonly maxDbAgeMs: number;
  /** Keep a CycloneDX SBOM of each image scanned when none is stored (the SBOM worker is off): re-evaluation reads it. */
  readonly storeSbom: boolean;
  /** How often an idle worker looks whether the DB file changed (it also looks before each batch of jobs). */
  readonly dbCheckMs?: number;
  /** Where scans completed and failed, and images newly affected, are told (the audit log, webhooks). */
  readonly events?: Pick<EventBus, 'emit'>;
}

export interface NewlyAffected {
  readonly repository: string;
  readonly digest: Digest;
  readonly tags: readonly string[];
  /** Ids the image's previous evaluation did not have, sorted. */
  readonly newVulnerabilities: readonly string[];
}

export type ReevaluateOutcome =
  | { readonly kind: 'done'; readonly dbBuiltAt: string; readonly evaluated: number; readonly skipped: number; readonly newlyAffected: readonly NewlyAffected[] }
  | { readonly kind: 'no-db'; readonly reason: string };


/** What a scan found, as the result records it (the report itself is stored apart). */
interface Findings {
  readonly summary: ScanSummary;
  readonly vulnerabilityIds: readonly string[];
  readonly dbBuiltAt: string | null;
  readonly warnings: readonly string[];
}

/** A view of `bytes` as a Buffer, without a copy. */
const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class ScanService {
  private readonly thread: JobThread;
  /** Reports asked for through the API: formatted (and made again when stale) off the event loop. */
  private readonly reports: JobThread;
  private readonly reportsInFlight = new Map<string, Promise<Uint8Array | undefined>>();
  private readonly dbFile: AdvisoryDbFile;
  private readonly worker: JobWorker;
  private lastDbCheck = Number.NEGATIVE_INFINITY;
  private reevaluation: Promise<unknown> = Promise.resolve();
  private lastDbProblem: string | undefined;
  private readonly terms: TermCache;
  private readonly evaluator: Reevaluator;
  /** "Which images hold CVE-X?", on this service's DB file and Matcher. */
  readonly search: SecuritySearch;

  constructor(private readonly deps: ScanServiceDeps) {
    this.terms = new TermCache(deps.meta.scans);
    this.evaluator = new Reevaluator({
      terms: this.terms,
      log: deps.log,
      storedKeys: (repository, digest) => this.storedKeys(repository, digest),
      rescan: (repository, digest) => this.enqueue(repository, digest, true),
      describe: (items) => deps.meta.scans.describePackages(items),
    });
    this.thread = new JobThread('the scan', deps.limits ?? DEFAULT_JOB_LIMITS, deps.log);
    this.reports = new JobThread('the report', deps.limits ?? DEFAULT_JOB_LIMITS, deps.log);
    this.worker = new JobWorker({
      ...queueOf(deps),
      what: 'scan',
      kinds: [SCAN_JOB, SCAN_REEVALUATE_JOB, SCAN_REINDEX_JOB],
      // Before a batch (and every dbCheckMs when idle) it looks whether the DB changed.
      onDrain: async () => {
        if (this.deps.now() - this.lastDbCheck >= (this.deps.dbCheckMs ?? 5 * 60_000)) await this.checkDb();
      },
      run: async (job) => {
        if (job.first && job.record.kind === SCAN_JOB) await this.checkDb();
        await this.run(job);
      },
    });
    this.dbFile = new AdvisoryDbFile(deps.dbPath);
    this.search = new SecuritySearch({ meta: deps.meta, acquireDb: () => this.dbFile.acquire(), matcherFor: (db) => this.evaluator.matcherFor(db) });
  }

  /**
   * Queues the scan of an image; a repeated push of the same digest adds nothing. `again` scans
   * an image that has a result once more (its result lacks what a re-evaluation needs).
   */
  async enqueue(repository: string, digest: string, again = false): Promise<void> {
    const { meta, now } = this.deps;
    const key = `${repository}@${digest}`;
    if (!(await meta.jobs.enqueue(SCAN_JOB, key, JSON.stringify({ repository, digest }), now()))) {
      // Scanned once, then deleted (its result went with it) and pushed again: scan it again.
      const job = await meta.jobs.get(SCAN_JOB, key);
      if (job?.state !== 'done' || !isDigest(digest) || (!again && (await meta.scans.get(repository, digest)) !== undefined)) return;
      await meta.jobs.requeue(SCAN_JOB, key, now());
    }
    this.wake();
  }

  /** Starts the worker; the index of stored results is brought up to date first (once per version: see scan-reindex.ts). */
  start(): void {
    const key = reindexJobKey();
    void this.deps.meta.jobs
      .enqueue(SCAN_REINDEX_JOB, key, JSON.stringify({ key }), this.deps.now())
      .catch((err: unknown) => this.deps.log.error({ err }, 'could not queue the indexing of stored scan results'))
      .finally(() => this.worker.start());
  }

  get maxDbAgeMs(): number {
    return this.deps.maxDbAgeMs;
  }

  /** The advisory DB the scans read now, or why there is none. */
  dbInfo(): { readonly info: DbInfo } | { readonly reason: string } {
    const lease = this.dbFile.acquire();
    if (lease.db === undefined) return { reason: lease.reason };
    try {
      return { info: lease.db.info };
    } finally {
      lease.release();
    }
  }

  /** The DB file was just replaced (an update installed a new build): look at it now, not at the next check. */
  dbChanged(): void {
    this.lastDbCheck = Number.NEGATIVE_INFINITY;
    this.wake();
  }

  /** Stops claiming; resolves when the job in hand (if any) and a running re-evaluation have ended. */
  async stop(): Promise<void> {
    await this.worker.stop();
    await this.reevaluation.catch(() => undefined);
    await this.thread.close();
    await this.reports.close();
    this.dbFile.close();
  }

  private wake(): void {
    this.worker.wake();
  }

  /** Queues a re-evaluation when the DB file holds a build the stored images were not evaluated against. */
  private async checkDb(): Promise<void> {
    this.lastDbCheck = this.deps.now();
    const lease = this.dbFile.acquire();
    if (lease.db === undefined) {
      if (this.lastDbProblem !== lease.reason) this.deps.log.warn({ reason: lease.reason }, `no advisory DB: images are scanned for secrets and configuration only; make one with \`portcullis db update --db ${this.deps.dbPath}\` (it fetches the official feeds) or \`portcullis db pull\``);
      this.lastDbProblem = lease.reason;
      return;
    }
    this.lastDbProblem = undefined;
    try {
      const builtAt = lease.db.info.builtAt;
      const evaluated = await this.deps.meta.settings.get(EVALUATED_DB);
      if (evaluated === builtAt) return;
      // A build older than the one the images were evaluated against is a replica that has not
      // received the newer one yet: it queues nothing (a deliberate rollback: POST …/vulndb/reevaluate).
      if (evaluated !== undefined && !isNewerBuild(builtAt, evaluated)) return;
      if (await this.deps.meta.jobs.enqueue(SCAN_REEVALUATE_JOB, builtAt, JSON.stringify({ builtAt }), this.deps.now())) {
        this.deps.log.info({ dbBuiltAt: builtAt }, 'a new advisory DB: every stored image will be re-evaluated');
        return;
      }
      // Queued before, and yet not evaluated: it failed for good on replicas that lacked the build. Again, here.
      const job = await this.deps.meta.jobs.get(SCAN_REEVALUATE_JOB, builtAt);
      if ((job?.state === 'failed' || job?.state === 'done') && (await this.deps.meta.jobs.requeue(SCAN_REEVALUATE_JOB, builtAt, this.deps.now()))) {
        this.deps.log.info({ dbBuiltAt: builtAt }, 'the re-evaluation against this advisory DB did not happen yet: queued again');
      }
    } finally {
      lease.release();
    }
  }

  /** Tells the registry's events of a scan (never awaited: a sink's failure is logged there). */
  private tell(action: 'scan.complete' | 'scan.fail' | 'vulnerability.new', repository: string, digest: string, outcome: 'succeeded' | 'failed', detail: Record<string, unknown>): void {
    void this.deps.events?.emit({ action, actor: null, client: null, project: parseRepositoryName(repository).project, resource: `${repository}@${digest}`, outcome, detail: { repository, digest, ...detail } });
  }

  private async run(job: RunningJob): Promise<void> {
    const { log, now } = this.deps;
    if (job.record.kind === SCAN_REINDEX_JOB) {
      try {
        const started = now();
        const r = await reindex({ meta: this.deps.meta, terms: this.terms, log, storedKeys: (repo, digest) => this.storedKeys(repo, digest), keyRefs: (keys) => this.evaluator.keyRefs(keys), rescan: (repo, digest) => this.enqueue(repo, digest, true) }, job.signal);
        log.info({ ...r, ms: now() - started }, 'stored scan results indexed');
        // Keys made again may match otherwise: the counts follow them.
        if (r.rekeyed > 0) await this.reevaluate();
        await job.complete();
      } catch (err) {
        if (job.signal.aborted) return;
        const { message } = await job.fail(err);
        log.warn({ err: message, attempt: job.record.attempts }, 'indexing stored scan results failed');
      }
      return;
    }
    if (job.record.kind === SCAN_REEVALUATE_JOB) {
      // Replicas may each read a DB file of their own, received at different moments: the job is
      // for one build, run where that build is.
      const wanted = (JSON.parse(job.record.payload) as { builtAt?: string }).builtAt;
      const here = this.dbInfo();
      if (wanted !== undefined && !('info' in here && here.info.builtAt === wanted)) {
        if ('info' in here && isNewerBuild(here.info.builtAt, wanted)) {
          await job.complete();
          log.info({ dbBuiltAt: wanted, current: here.info.builtAt }, 'a re-evaluation against an advisory DB already replaced: skipped');
          return;
        }
        const { retrying } = await job.fail(new Error(`this replica does not have advisory DB build ${wanted} yet (${'info' in here ? `it has ${here.info.builtAt}` : here.reason})`));
        log.info({ dbBuiltAt: wanted, retrying }, 'a re-evaluation against an advisory DB this replica has not received yet: left to another replica');
        return;
      }
      try {
        const outcome = await this.reevaluate();
        await job.complete();
        if (outcome.kind === 'no-db') log.warn({ reason: outcome.reason }, 'the advisory DB went away before the re-evaluation');
      } catch (err) {
        if (job.signal.aborted) return;
        const { message } = await job.fail(err);
        log.warn({ err: message, attempt: job.record.attempts }, 're-evaluation failed');
      }
      return;
    }
    const target = await imageJobTarget(job);
    if (target === undefined) return;
    const started = now();
    try {
      const result = await this.scan(target.repository, target.digest, job.signal);
      await job.complete();
      if (result === undefined) log.info({ repository: target.repository, digest: target.digest }, 'the image was deleted while it was scanned');
      else log.info({ repository: target.repository, digest: target.digest, ...(summaryJson(result.summary) as Record<string, number>), dbBuiltAt: result.dbBuiltAt, ms: now() - started }, 'image scanned');
    } catch (err) {
      if (job.signal.aborted) return;
      const { message, retrying } = await job.fail(err);
      log.warn({ repository: target.repository, digest: target.digest, attempt: job.record.attempts, err: message, retrying }, 'scan failed');
      if (!retrying) this.tell('scan.fail', target.repository, target.digest, 'failed', { error: message });
    }
  }

  /**
   * Scans the image in the scan thread (reading it through the repository's links), stores the
   * report and its summary; undefined when the image is gone.
   */
  async scan(repository: string, digest: Digest, signal?: AbortSignal): Promise<ScanResultRecord | undefined> {
    const { meta, blobs } = this.deps;
    const withSbom = this.deps.storeSbom && (await meta.documents.get(repository, digest, 'cyclonedx-json')) === undefined;
    const task: ScanTask = { kind: 'scan', ...taskBase(this.deps, repository, digest), dbPath: this.deps.dbPath, withSbom };
    const o = await this.thread.run(task, new RepositoryContent(meta, blobs, repository).imageSource(), signal);
    if ('builtAt' in o.db) this.warnIfStale(o.db.builtAt);
    if (o.sbom !== undefined) await storeSbom(this.deps, repository, 'cyclonedx-json', o.sbom, o.subject);
    const found = { summary: o.summary, vulnerabilityIds: o.vulnerabilityIds, dbBuiltAt: 'builtAt' in o.db ? o.db.builtAt : null, warnings: o.warnings };
    const stored = await this.record(repository, o.subject, bufferOf(o.report), found, await meta.scans.get(repository, digest), o.keys);
    if (stored !== undefined) this.tell('scan.complete', repository, digest, 'succeeded', { summary: stored.summary, dbBuiltAt: stored.dbBuiltAt });
    return stored;
  }

  private warnIfStale(builtAt: string): void {
    const problem = `stale:${builtAt}`;
    if (this.lastDbProblem === problem) return;
    const built = Date.parse(builtAt);
    if (!Number.isFinite(built) || this.deps.now() - built > this.deps.maxDbAgeMs) {
      this.lastDbProblem = problem;
      this.deps.log.warn({ dbBuiltAt: builtAt, maxAgeMs: this.deps.maxDbAgeMs }, 'the advisory DB is older than scan.maxDbAge: rebuild it (portcullis db build) to see recent vulnerabilities');
    }
  }

  /** Stores the report as a referrer of the image and its summary; drops the report it replaces. */
  private async record(repository: string, subject: Subject, report: Buffer, found: Findings, previous: ScanResultRecord | undefined, keys?: MatchKeys): Promise<ScanResultRecord | undefined> {
    const { meta, log } = this.deps;
    const reportDigest = await storeReferrer(this.deps, repository, SCAN_REPORT_ARTIFACT_TYPE, report, 'scan-report.json', subject);
    const record: ScanResultRecord = {
      repository,
      digest: subject.digest as Digest,
      dbBuiltAt: found.dbBuiltAt,
      scannedAt: this.deps.now(),
      summary: found.summary,
      reportDigest,
      warnings: found.warnings,
    };
    const vulnerabilities = Uint32Array.from(await this.terms.ids(found.vulnerabilityIds)).sort();
    if (!(await meta.scans.put(record, { vulnerabilities, ...(keys !== undefined ? { keys: await this.evaluator.keyRefs(keys) } : {}) }))) {
      // The image was deleted meanwhile: its report goes too.
      await this.deps.writer.deleteManifest(repository, reportDigest, SYSTEM).catch(() => undefined);
      return undefined;
    }
    const replaced = previous?.reportDigest;
    if (replaced !== undefined && replaced !== reportDigest) {
      await this.deps.writer.deleteManifest(repository, replaced, SYSTEM).catch((err: unknown) => log.warn({ err, repository, digest: replaced }, 'could not delete a replaced scan report'));
    }
    return record;
  }

  /**
   * Re-evaluates every stored image against the DB file as it is now, from its stored CycloneDX
   * SBOM; secrets and configuration findings are carried over from its previous report. One at a
   * time per process.
   */
  reevaluate(): Promise<ReevaluateOutcome> {
    const next = this.reevaluation.catch(() => undefined).then(() => this.reevaluateNow());
    this.reevaluation = next;
    return next;
  }

  private async reevaluateNow(): Promise<ReevaluateOutcome> {
    const { meta, log } = this.deps;
    const lease = this.dbFile.acquire();
    if (lease.db === undefined) return { kind: 'no-db', reason: lease.reason };
    const db = lease.db;
    const started = this.deps.now();
    const tally = { evaluated: 0, skipped: 0 };
    const newlyAffected: NewlyAffected[] = [];
    const report = async (found: readonly Found[]): Promise<void> => {
      for (const f of found) {
        const artifact = await meta.artifacts.getArtifact(f.repository, f.digest);
        if (artifact === undefined) continue; // deleted meanwhile
        const n: NewlyAffected = { repository: f.repository, digest: f.digest, tags: artifact.tags, newVulnerabilities: f.ids };
        newlyAffected.push(n);
        log.warn({ ...n, dbBuiltAt: db.info.builtAt }, 'image newly affected');
        this.tell('vulnerability.new', n.repository, n.digest, 'succeeded', { tags: n.tags, newVulnerabilities: n.newVulnerabilities, dbBuiltAt: db.info.builtAt });
      }
    };
    try {
      // Every scanned image, a page at a time: its keys counted, the changes written in one transaction per page.
      for (let cursor: string | undefined, more = true; more; ) {
        const page = await meta.scans.evaluations(cursor, REEVALUATE_PAGE);
        const outcome = await this.evaluator.page(page.items, db);
        tally.evaluated += outcome.evaluated;
        tally.skipped += outcome.skipped;
        await meta.scans.updateEvaluations(outcome.updates);
        await report(outcome.found);
        cursor = page.next;
        more = cursor !== undefined;
      }
      // Images never scanned (pushed while scanning was off): named from their stored SBOM when they have one; their scan is queued.
      for (let cursor: string | undefined, more = true; more; ) {
        const page = await meta.scans.unscanned(IMAGE_CONFIG_TYPES, cursor, REEVALUATE_PAGE);
        const found: Found[] = [];
        for (const { repository, digest } of page.items) {
          try {
            // Cosign's .sig/.att manifests carry an image config: they are no image to scan.
            const m = await meta.artifacts.getManifest(repository, digest, true);
            if (m?.content === undefined || !isContainerImage(parseManifest(m.content, m.mediaType))) continue;
            const keys = await this.storedKeys(repository, digest);
            await this.enqueue(repository, digest);
            if (keys === undefined) {
              tally.skipped += 1;
              continue;
            }
            tally.evaluated += 1;
            const { ids } = this.evaluator.matcherFor(db).count(keys);
            if (ids.length > 0) found.push({ repository, digest, ids });
          } catch (err) {
            tally.skipped += 1;
            log.warn({ err: err instanceof Error ? err.message : String(err), repository, digest }, 'could not re-evaluate an image');
          }
        }
        await report(found);
        cursor = page.next;
        more = cursor !== undefined;
      }
      await meta.settings.put(EVALUATED_DB, db.info.builtAt);
    } finally {
      lease.release();
    }
    const { evaluated, skipped } = tally;
    log.info({ dbBuiltAt: db.info.builtAt, evaluated, skipped, newlyAffected: newlyAffected.length, ms: this.deps.now() - started }, 'stored images re-evaluated');
    return { kind: 'done', dbBuiltAt: db.info.builtAt, evaluated, skipped, newlyAffected };
  }

  /** Match keys from the SBOM Portcullis made of an image, read in the scan thread; undefined when it has none. */
  private async storedKeys(repository: string, digest: Digest): Promise<MatchKeys | undefined> {
    const sbom = await this.storedSbom(repository, digest);
    if (sbom === undefined) return undefined;
    return (await this.thread.run({ kind: 'keys', sbom: owned(sbom), label: `the SBOM of ${repository}@${digest}` })).keys;
  }

  /** The bytes of the CycloneDX SBOM Portcullis made of an image (one a client pushed could say anything); undefined when it has none. */
  private async storedSbom(repository: string, digest: Digest): Promise<Buffer | undefined> {
    const { meta, blobs } = this.deps;
    const sbomDigest = await meta.documents.get(repository, digest, 'cyclonedx-json');
    return sbomDigest === undefined ? undefined : (await new RepositoryContent(meta, blobs, repository).readDocument(sbomDigest))?.bytes;
  }

  /** Every finding of an image's latest result, of every class, as the gates judge them; undefined when its report is gone. */
  async findings(repository: string, result: ScanResultRecord): Promise<GateFinding[] | undefined> {
    const body = await this.formattedReport(repository, result, 'findings');
    return body === undefined ? undefined : (JSON.parse(bufferOf(body).toString('utf8')) as GateFinding[]);
  }

  /**
   * An image's latest report in a report format, made in the report thread. A re-evaluation only
   * updates the summary: when the stored report was made against another DB build, it is made
   * again there from the stored SBOM and the current DB (secrets and configuration carried over),
   * and stored. Undefined when the stored report is gone.
   */
  async formattedReport(repository: string, result: ScanResultRecord, format: ReportFormat | 'findings', decisions: readonly FindingDecision[] = []): Promise<Uint8Array | undefined> {
    const key = `${repository}@${result.digest}@${format}@${JSON.stringify(decisions)}`;
    let pending = this.reportsInFlight.get(key);
    if (pending === undefined) {
      pending = this.formatReport(repository, result, format, decisions).finally(() => this.reportsInFlight.delete(key));
      this.reportsInFlight.set(key, pending);
    }
    return pending;
  }

  private async formatReport(repository: string, result: ScanResultRecord, format: ReportFormat | 'findings', decisions: readonly FindingDecision[]): Promise<Uint8Array | undefined> {
    const { meta, blobs } = this.deps;
    const stored = await new RepositoryContent(meta, blobs, repository).readDocument(result.reportDigest);
    if (stored === undefined) return undefined;
    const sbom = result.dbBuiltAt === null ? undefined : await this.storedSbom(repository, result.digest);
    const o = await this.reports.run({
      kind: 'report',
      stored: owned(stored.bytes),
      ...(sbom !== undefined ? { sbom: owned(sbom) } : {}),
      label: `the SBOM of ${repository}@${result.digest}`,
      dbPath: this.deps.dbPath,
      format,
      toolVersion: this.deps.version,
      now: this.deps.now(),
      ...(decisions.length > 0 ? { decisions } : {}),
    });
    if (o.rebuilt !== undefined) {
      const m = await meta.artifacts.getManifest(repository, result.digest, false);
      const current = await meta.scans.get(repository, result.digest);
      // Stored unless another rebuild (or a new scan) replaced the report meanwhile.
      if (m !== undefined && current?.reportDigest === result.reportDigest) {
        const { report, ...found } = o.rebuilt;
        await this.record(repository, { mediaType: m.mediaType, digest: m.digest, size: m.size }, bufferOf(report), { ...found, warnings: current.warnings }, current);
      }
    }
    return o.body;
  }
}

/** Whether DB build `a` is later than build `b` (their build times). */
function isNewerBuild(a: string, b: string): boolean {
  return Date.parse(a) > Date.parse(b);
}
