/** The SQL metadata store: its migrations and the stores it is made of, over any SqlDb. */
import { StorageError } from '../errors.js';
import type { AuditStore } from '../audit-store.js';
import type { PolicyStore, PromotionStore, TrustedKeyStore, WaiverStore } from '../gates.js';
import type { WebhookStore } from '../webhook-store.js';
import type { ArtifactStore, BlobIndex, GcIndex, ImageDocumentStore, JobStore, MetadataStore, ProjectStore, RobotStore, ScanResultStore, SettingsStore, SigningKeyStore, UploadIndex, UserStore } from '../metadata-store.js';
import { SqlProjects, SqlRobots, SqlUsers } from './accounts.js';
import { SqlArtifacts, SqlBlobs, SqlGc, SqlUploads } from './artifacts.js';
import type { SqlDb } from './db.js';
import { SqlAudit } from './audit.js';
import { SqlImageDocuments } from './documents.js';
import { SqlPolicies, SqlPromotions, SqlTrustedKeys, SqlWaivers } from './gates.js';
import { SqlWebhooks } from './webhooks.js';
import { SqlJobs } from './jobs.js';
import { SqlScans } from './scans.js';
import { SqlSettings, SqlSigningKeys } from './settings.js';
import { MIGRATIONS, migrationSql } from './schema.js';

/** Applies the migrations this build knows; refuses a database migrated by a newer build. */
export async function migrate(db: SqlDb): Promise<void> {
  await db.transaction(async (tx) => {
    // Replicas starting together: one migrates, the others wait here and then find nothing to do.
    if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(7361626)');
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const row = await tx.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const current = row?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new StorageError('SCHEMA_TOO_NEW', `the metadata database is at schema version ${current}, newer than this build (${MIGRATIONS.length}): upgrade Portcullis`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      for (const statement of migrationSql(tx.dialect, v).split(/;\s*\n/)) {
        if (statement.trim() !== '') await tx.run(statement);
      }
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [v + 1, Date.now()]);
    }
  });
}

/** The metadata store over any SqlDb: one implementation, one contract suite, two backends. */
export class SqlMetadataStore implements MetadataStore {
  readonly users: UserStore;
  readonly projects: ProjectStore;
  readonly robots: RobotStore;
  readonly artifacts: ArtifactStore;
  readonly blobs: BlobIndex;
  readonly uploads: UploadIndex;
  readonly gc: GcIndex;
  readonly settings: SettingsStore;
  readonly jobs: JobStore;
  readonly scans: ScanResultStore;
  readonly signingKeys: SigningKeyStore;
  readonly documents: ImageDocumentStore;
  readonly policies: PolicyStore;
  readonly trustedKeys: TrustedKeyStore;
  readonly waivers: WaiverStore;
  readonly promotions: PromotionStore;
  readonly audit: AuditStore;
  readonly webhooks: WebhookStore;

  constructor(private readonly db: SqlDb) {
    this.users = new SqlUsers(db);
    this.projects = new SqlProjects(db);
    this.robots = new SqlRobots(db);
    this.artifacts = new SqlArtifacts(db);
    this.blobs = new SqlBlobs(db);
    this.uploads = new SqlUploads(db);
    this.gc = new SqlGc(db);
    this.settings = new SqlSettings(db);
    this.jobs = new SqlJobs(db);
    this.scans = new SqlScans(db);
    this.signingKeys = new SqlSigningKeys(db);
    this.documents = new SqlImageDocuments(db);
    this.policies = new SqlPolicies(db);
    this.trustedKeys = new SqlTrustedKeys(db);
    this.waivers = new SqlWaivers(db);
    this.promotions = new SqlPromotions(db);
    this.audit = new SqlAudit(db);
    this.webhooks = new SqlWebhooks(db);
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS one');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
