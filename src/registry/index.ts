import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { parseRepositoryName } from '../oci/index.js';
import type { Logger } from '../shared/index.js';
import { StorageError, type BlobStore, type MetadataStore, type UploadStore } from '../storage/index.js';
import { defaultFeeds } from '../vuln/index.js';
import { Authenticator } from './auth/authenticator.js';
import { generatePassword, hashPassword } from './auth/password.js';
import { LoginLimiter } from './auth/rate-limit.js';
import { TokenService } from './auth/tokens.js';
import { AdvisoryDbUpdater } from './advisory-db-update.js';
import { ArtifactWriter } from './artifact-writer.js';
import { AuditLog } from './audit.js';
import { GateService } from './gates.js';
import { PolicyService } from './policies.js';
import { PromotionService } from './promotion.js';
import { EventBus, type RegistryEvent } from './events.js';
import { WebhookService } from './webhooks.js';
import { createDistributionHandler } from './distribution/api.js';
import { releaseHeldJobs } from './job-worker.js';
import { collectGarbage, type GcDeps, type GcOptions, type GcReport } from './gc.js';
import { ApiError, registerManagementApi } from './management/index.js';
import { isContainerImage, SbomService } from './sbom.js';
import { ScanService } from './scan.js';
import { SigningService } from './signing.js';

export { AdvisoryDbUpdater, DB_UPDATE_JOB, displayUrl, type FeedView, type UpdateView, type VulnDbView } from './advisory-db-update.js';
export { ArtifactWriteError, ArtifactWriter, SYSTEM, type ArtifactEvent, type Origin, type WriteGuard } from './artifact-writer.js';
export { AUDIT_ACTIONS, AuditLog, ChainVerifier, ExportVerifier, GENESIS_HASH, auditHash, canonicalJson, type AuditAction, type AuditEntryJson, type ChainBreak, type ChainBreakReason, type ChainVerification, type PruneOutcome } from './audit.js';
export { ANONYMOUS, ROLE_ACTIONS, allowedActions, type Principal } from './auth/access.js';
export { EVENT_ACTIONS, EventBus, type EventAction, type EventOutcome, type EventSink, type RegistryEvent, type TimedEvent } from './events.js';
export { generatePassword, hashPassword, hashSecret, verifyPassword } from './auth/password.js';
export { collectGarbage, unreachableManifests, type GcOptions, type GcReport } from './gc.js';
export { API_ERROR_STATUS, ApiError, type ApiErrorCode } from './management/index.js';
export { SBOM_ARTIFACT_TYPES, SBOM_JOB, SbomService, isContainerImage, storeSbom, type StoredSbomFormat } from './sbom.js';
export { SCAN_JOB, SCAN_REEVALUATE_JOB, SCAN_REPORT_ARTIFACT_TYPE, ScanService, type NewlyAffected, type ReevaluateOutcome, type ScanServiceDeps } from './scan.js';
export { summarize } from './scan-summary.js';

export interface RegistryDeps {
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly uploads: GcDeps['uploads'];
  readonly config: Config;
  readonly log: Logger;
  readonly now: () => number;
  readonly version: string;
  /** The SBOM worker's layer cache; undefined keeps none. */
  readonly cacheDir?: string;
  /** Background SBOM generation after each push (default on). */
  readonly sbom?: boolean;
  /** Background scans after each push, against the advisory DB at config.scan.db (default on). */
  readonly scan?: boolean;
  /** This replica's id in the job queue (see Config.replicaId); stable across restarts. */
  readonly replicaId: string;
}

export interface Registry {
  /** The OCI Distribution API handler for `/v2/...`. */
  readonly distribution: (req: IncomingMessage, res: ServerResponse) => void;
  /** Everything that happens (the audit log and webhooks listen). */
  readonly events: EventBus;
  /** Adds `/api/v1`, `/service/token`, `/healthz` and `/readyz` to a fastify app. */
  registerManagementApi(app: FastifyInstance): void;
  /** Creates user `admin` when there is no user; resolves to the password used, or undefined. */
  bootstrapAdmin(password: string | undefined): Promise<string | undefined>;
  runGc(options: Pick<GcOptions, 'dryRun' | 'deleteUntagged'>, who?: { actor: string | null; client: string | null }): Promise<GcReport>;
  close(): Promise<void>;
}

export async function createRegistry(deps: RegistryDeps): Promise<Registry> {
  const { meta, blobs, uploads, config, log, now } = deps;
  const tokens = await TokenService.create(meta.settings, { issuer: 'portcullis', service: config.auth.service, ttlSeconds: Math.max(1, Math.round(config.auth.tokenTtl / 1000)), now });
  const limiters = {
    // Per (user, client address): a guesser elsewhere cannot lock the real user out (docs/security.md).
    pairs: new LoginLimiter({ maxFailures: config.auth.maxFailedLogins, windowMs: config.auth.failedLoginWindow, now }),
    // An address is locked only after ten accounts' worth of failures: password spraying, not a busy NAT.
    addresses: new LoginLimiter({ maxFailures: config.auth.maxFailedLogins * 10, windowMs: config.auth.failedLoginWindow, now }),
  };
  const events = new EventBus(now, log.child({ component: 'events' }));
  const auth = new Authenticator(meta, tokens, limiters, now, events);

  let running: Promise<GcReport> | undefined;
  const runGc = (o: Pick<GcOptions, 'dryRun' | 'deleteUntagged'>, who: { actor: string | null; client: string | null } = { actor: null, client: null }): Promise<GcReport> => {
    if (running !== undefined) return Promise.reject(new ApiError('CONFLICT', 'a garbage collection is already running; try again when it ends'));
    running = collectGarbage({ meta, blobs, uploads, now, log: log.child({ component: 'gc' }) }, { ...o, graceMs: config.gc.grace, uploadTtlMs: config.gc.uploadTtl }).finally(() => {
      running = undefined;
    });
    // A collection that deletes is an event; a dry run changes nothing.
    if (!o.dryRun) {
      const told = { ...who, action: 'gc' as const, project: null, resource: 'garbage collection' };
      running.then(
        (r) => events.emit({ ...told, outcome: 'succeeded', detail: { deleteUntagged: o.deleteUntagged, blobsDeleted: r.blobsDeleted, manifestsDeleted: r.manifestsDeleted, uploadsDeleted: r.uploadsDeleted, bytesFreed: r.bytesFreed } }),
        (err: unknown) => events.emit({ ...told, outcome: 'failed', detail: { deleteUntagged: o.deleteUntagged, error: err instanceof Error ? err.message : String(err) } }),
      );
    }
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  if (config.gc.interval > 0) {
    timer = setInterval(() => {
      runGc({ dryRun: false, deleteUntagged: config.gc.deleteUntagged }).catch((err: unknown) => {
        if (!(err instanceof ApiError)) log.error({ err }, 'scheduled garbage collection failed');
      });
    }, config.gc.interval);
    timer.unref();
  }

  const audit = new AuditLog({ meta, now, log: log.child({ component: 'audit' }) });
  // Every change and decision; of pulls only the refused ones (an allowed pull changes nothing,
  // and would be most of the log).
  events.add('audit', (e) => (e.action === 'artifact.pull' && e.outcome === 'allowed' ? Promise.resolve() : audit.record(e)));
  let auditTimer: NodeJS.Timeout | undefined;
  if (config.audit.retention > 0) {
    const prune = (): void => void audit.prune(config.audit.retention).catch((err: unknown) => log.error({ err }, 'audit retention failed'));
    prune();
    auditTimer = setInterval(prune, 3_600_000);
    auditTimer.unref();
  }
  const webhooks = new WebhookService({ meta, now, log: log.child({ component: 'webhooks' }), holder: deps.replicaId, allowPrivate: config.webhooks.allowPrivate, ...(config.externalUrl !== undefined ? { registryUrl: config.externalUrl } : {}) });
  events.add('webhooks', (e) => webhooks.handle(e));
  const writer = new ArtifactWriter({ meta, blobs, uploads: uploads as UploadStore, now, log: log.child({ component: 'writer' }) });
  // What clients and promotions store and delete is an event (Portcullis's own documents are not).
  writer.onEvent((e) => {
    if (e.origin.kind === 'system') return;
    const who = { actor: e.origin.actor ?? null, client: e.origin.client ?? null, project: parseRepositoryName(e.repository).project, outcome: 'succeeded' as const };
    const event: RegistryEvent =
      e.kind === 'stored'
        ? { ...who, action: 'artifact.push', resource: `${e.repository}@${e.digest}`, detail: { repository: e.repository, digest: e.digest, tag: e.tag, mediaType: e.manifest.mediaType, via: e.origin.kind } }
        : e.kind === 'deleted'
          ? { ...who, action: 'artifact.delete', resource: `${e.repository}@${e.digest}`, detail: { repository: e.repository, digest: e.digest, tags: e.tags } }
          : e.kind === 'untagged'
            ? { ...who, action: 'tag.delete', resource: `${e.repository}:${e.tag}`, detail: { repository: e.repository, tag: e.tag } }
            : { ...who, action: 'repository.delete', resource: e.repository, detail: { repository: e.repository, tags: e.tags } };
    void events.emit(event);
  });
  // Jobs this replica was running when its process ended run again now, not when their lease lapses.
  await releaseHeldJobs(meta.jobs, deps.replicaId, now(), log);
  const jobs = { writer, holder: deps.replicaId, limits: { maxMemoryBytes: config.jobs.maxMemory, timeoutMs: config.jobs.timeout } };
  const sbom = new SbomService({ meta, blobs, log: log.child({ component: 'sbom' }), now, version: deps.version, cacheDir: deps.cacheDir, ...jobs });
  if (deps.sbom !== false) sbom.start();
  const scan = new ScanService({
    meta,
    blobs,
    log: log.child({ component: 'scan' }),
    now,
    version: deps.version,
    dbPath: config.scan.db,
    maxDbAgeMs: config.scan.maxDbAge,
    cacheDir: deps.cacheDir,
    // Re-evaluation reads the stored CycloneDX SBOM: the scan keeps one when the SBOM worker does not.
    storeSbom: deps.sbom === false,
    events,
    ...jobs,
  });
  if (deps.scan !== false) scan.start();
  // The DB keeps itself current while this replica scans (scan.update.interval 0: the file is the operator's).
  const vulndb = new AdvisoryDbUpdater({
    meta,
    blobs,
    log: log.child({ component: 'vulndb' }),
    now,
    holder: deps.replicaId,
    dbPath: config.scan.db,
    intervalMs: deps.scan !== false ? config.scan.update.interval : 0,
    feeds: () => config.scan.update.feeds ?? defaultFeeds(new Date(now())),
    maxDbAgeMs: config.scan.maxDbAge,
    graceMs: config.gc.grace,
    maxMemoryBytes: config.jobs.maxMemory,
    current: () => scan.dbInfo(),
    installed: () => scan.dbChanged(),
  });
  vulndb.start();
  webhooks.start();
  const signing = new SigningService({ meta, blobs, writer, log: log.child({ component: 'signing' }), now, secretFile: config.signing.secretFile, ...(config.signing.secret !== undefined ? { secret: config.signing.secret } : {}) });
  const policies = new PolicyService({ meta, now, log: log.child({ component: 'policy' }) });
  writer.guardWith(policies);
  const gates = new GateService({ meta, policies, scan, signing, now, log: log.child({ component: 'gates' }) });
  // What the gates remember of an image goes stale with any write in its repository (a
  // signature, a report) and with a change of its project's policy.
  writer.onEvent((e) => gates.invalidateRepository(e.repository));
  policies.onChange(() => gates.invalidate());
  const promotions = new PromotionService({ meta, writer, policies, gates, scan, sbom, signing, events, now, log: log.child({ component: 'promotion' }) });

  const distribution = createDistributionHandler({
    meta,
    blobs,
    uploads: uploads as UploadStore,
    auth,
    now,
    log: log.child({ component: 'distribution' }),
    options: { service: config.auth.service, realm: config.externalUrl === undefined ? undefined : `${config.externalUrl.replace(/\/$/, '')}/service/token`, maxBlobBytes: config.registry.maxBlobSize, touchAfterMs: config.gc.grace / 2, trustProxy: config.auth.trustProxy },
    writer,
    events,
    gates,
  });
  // Every container image a client pushes gets its SBOM and its scan (a promotion carries them, and
  // asks for what it could not). A failure to queue must not fail the push: the image is stored;
  // its SBOM and scan can be asked for later.
  writer.onEvent((e) => {
    if (e.kind !== 'stored' || e.origin.kind !== 'client' || !isContainerImage(e.manifest)) return;
    const { repository, digest } = e;
    if (deps.sbom !== false) sbom.enqueue(repository, digest).catch((err: unknown) => log.error({ err, repository, digest }, 'could not queue the SBOM job'));
    if (deps.scan !== false) scan.enqueue(repository, digest).catch((err: unknown) => log.error({ err, repository, digest }, 'could not queue the scan job'));
  });

  return {
    distribution,
    events,
    registerManagementApi: (app) =>
      registerManagementApi(app, {
        meta,
        blobs,
        uploads: uploads as UploadStore,
        writer,
        events,
        audit,
        webhooks,
        policies,
        gates,
        promotions,
        auth,
        tokens,
        now,
        log: log.child({ component: 'api' }),
        options: {
          service: config.auth.service,
          projectCreation: config.projects.creation,
          trustProxy: config.auth.trustProxy,
          version: deps.version,
          ...(config.externalUrl !== undefined ? { registryHost: new URL(config.externalUrl).host } : {}),
        },
        runGc,
        sbom,
        scan,
        search: scan.search,
        vulndb,
        signing,
      }),
    async bootstrapAdmin(password) {
      if ((await meta.users.count()) > 0) return undefined;
      const chosen = password ?? generatePassword();
      try {
        await meta.users.create({ username: 'admin', email: null, admin: true, passwordHash: await hashPassword(chosen), now: now() });
      } catch (err) {
        // Another replica bootstrapped at the same moment.
        if (err instanceof StorageError && err.code === 'CONFLICT') return undefined;
        throw err;
      }
      log.info({ user: 'admin' }, 'created the first administrator');
      return chosen;
    },
    runGc,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      if (auditTimer !== undefined) clearInterval(auditTimer);
      // Both at once: each stops its job in hand and gives it back to the queue.
      await Promise.all([sbom.stop(), scan.stop(), webhooks.stop(), vulndb.stop()]);
      await running?.catch(() => undefined);
      // Entries in flight are stored before the store closes.
      await audit.flush();
    },
  };
}
