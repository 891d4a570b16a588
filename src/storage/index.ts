export type { BlobLister, BlobStore, ByteRange, ChunkSink, CopyableBlob, PutOptions, StagingSweeper, StoredBlob, UploadStore } from './blob-store.js';
export { isBlobLister, isCopyableBlob, isStagingSweeper } from './blob-store.js';
export type { AuditEntry, AuditFilter, AuditRecord, AuditStore } from './audit-store.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export type { GateOutcome, PolicyRecord, PolicyStore, PromotionRecord, PromotionStore, TrustedKeyRecord, TrustedKeyStore, WaiverRecord, WaiverState, WaiverStore } from './gates.js';
export type { WebhookRecord, WebhookStore } from './webhook-store.js';
export { FsBlobStore, FsUploadStore } from './fs/blob-store.js';
export {
  PROJECT_ROLES,
  REPOSITORY_ACTIONS,
  type ArtifactRecord,
  type ArtifactStore,
  type BlobIndex,
  type ClaimOptions,
  type DeleteManifestResult,
  type GcIndex,
  type ImageDocumentStore,
  type JobRecord,
  type JobState,
  type JobStore,
  type ManifestNode,
  type ManifestRecord,
  type MemberRecord,
  type Membership,
  type MetadataStore,
  type Page,
  type ProjectRecord,
  type ProjectRole,
  type ProjectStore,
  type PutManifestInput,
  type PutManifestResult,
  type ReferrerRecord,
  type RepositoryAction,
  type RepositoryRecord,
  type ReserveResult,
  type RobotPermission,
  type RobotRecord,
  type RobotStore,
  type ScanResultRecord,
  type ScanResultStore,
  type ScanEvaluation,
  type ScanEvaluationState,
  type StoredEvaluation,
  type ImageHit,
  type PackageQuery,
  type PackageTerm,
  type PageRequest,
  type SecurityTotals,
  type ScanSummary,
  type SeverityCounts,
  type SettingsStore,
  type SigningKeyRecord,
  type SigningKeyStore,
  type UploadIndex,
  type UserRecord,
  type UserStore,
  type Visibility,
} from './metadata-store.js';
export { openFsBlobStorage, openPostgresMetadataStore, openSqliteMetadataStore, redactUrl } from './open.js';
export { PostgresDb, type PostgresOptions } from './postgres/database.js';
export type { SqlDb, SqlDialect } from './sql/db.js';
export { SqlMetadataStore, migrate } from './sql/metadata-store.js';
export { SqliteDb } from './sqlite/database.js';
