import type { Digest } from '../oci/index.js';
import type { AuditStore } from './audit-store.js';
import type { PolicyStore, PromotionStore, TrustedKeyStore, WaiverStore } from './gates.js';
import type { WebhookStore } from './webhook-store.js';

/** Roles a user holds in a project, weakest last. */
export const PROJECT_ROLES = ['project-admin', 'maintainer', 'developer', 'guest'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/** Actions on repositories, as in Docker token scopes (`repository:team/app:pull,push`). */
export const REPOSITORY_ACTIONS = ['pull', 'push', 'delete'] as const;
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number];

export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly email: string | null;
  readonly admin: boolean;
  /** A member of the security team: may approve or reject waivers (never their own). */
  readonly securityTeam: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ProjectRecord {
  readonly id: number;
  readonly name: string;
  readonly public: boolean;
  readonly createdAt: number;
  readonly repositoryCount: number;
}

export interface MemberRecord {
  readonly username: string;
  readonly role: ProjectRole;
}

export interface Membership {
  readonly project: string;
  readonly role: ProjectRole;
}

export interface RobotPermission {
  readonly project: string;
  readonly actions: readonly RepositoryAction[];
}

export interface RobotRecord {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  readonly permissions: readonly RobotPermission[];
  readonly disabled: boolean;
  readonly createdBy: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export interface RepositoryRecord {
  readonly name: string;
  readonly project: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly artifactCount: number;
}

export interface ManifestRecord {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  /** Absent when the caller asked for metadata only. */
  readonly content?: Buffer;
}

export interface ArtifactRecord {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly subject: Digest | null;
  /** Manifest plus the blobs (or, for an index, the child artifacts) it references. */
  readonly size: number;
  readonly tags: readonly string[];
  readonly pushedAt: number;
  readonly annotations: Readonly<Record<string, string>> | null;
}

export interface ReferrerRecord {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly annotations: Readonly<Record<string, string>> | null;
}

export interface PutManifestInput {
  readonly repository: string;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly content: Uint8Array;
  readonly artifactType: string | null;
  readonly subject: Digest | null;
  readonly annotations: Readonly<Record<string, string>> | null;
  /** Blobs (config, layers) that must be linked to the repository. */
  readonly blobs: readonly Digest[];
  /** Sum of the sizes of the descriptors of `blobs`, for the artifact's total size. */
  readonly blobBytes: number;
  /** Manifests (an index's children) that must already be in the repository. */
  readonly children: readonly Digest[];
  readonly tag: string | null;
  readonly now: number;
}

export type PutManifestResult =
  | { readonly kind: 'stored'; readonly created: boolean }
  | { readonly kind: 'missing'; readonly blobs: readonly Digest[]; readonly manifests: readonly Digest[] };

export type DeleteManifestResult =
  | { readonly kind: 'deleted' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'referenced'; readonly by: readonly Digest[] };

export interface Page {
  readonly limit: number;
  /** Return only items sorting after this one. */
  readonly after?: string | undefined;
}

/** A repository's view on who may see it in listings: admins see all; others public projects and theirs. */
export type Visibility = { readonly kind: 'all' } | { readonly kind: 'projects'; readonly projects: readonly string[]; readonly includePublic: boolean };

export interface UserStore {
  create(user: { username: string; email: string | null; admin: boolean; securityTeam?: boolean; passwordHash: string; now: number }): Promise<UserRecord>;
  get(username: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** The user and their password hash, for login. */
  credentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | undefined>;
  /** CONFLICT when it would demote the last administrator. */
  update(username: string, patch: { email?: string | null; admin?: boolean; securityTeam?: boolean; passwordHash?: string; now: number }): Promise<UserRecord>;
  /** CONFLICT when it would delete the last administrator. */
  delete(username: string): Promise<boolean>;
  count(): Promise<number>;
}

export interface ProjectStore {
  create(project: { name: string; public: boolean; now: number }): Promise<ProjectRecord>;
  get(name: string): Promise<ProjectRecord | undefined>;
  list(visibility: Visibility): Promise<ProjectRecord[]>;
  update(name: string, patch: { public?: boolean }): Promise<ProjectRecord>;
  delete(name: string): Promise<boolean>;
  members(name: string): Promise<MemberRecord[]>;
  /**
   * Adds the member or changes their role. CONFLICT when it would demote the project's last
   * project-admin (atomically: of two concurrent demotions one fails). A project that never had a
   * project-admin (one a system administrator created) takes any change.
   */
  setMember(project: string, username: string, role: ProjectRole): Promise<void>;
  /**
   * False when the user is no member. CONFLICT when they are the project's last project-admin, as
   * for setMember. Deleting the user (UserStore.delete) still removes such a membership: that is an
   * administrator's deliberate act, and a system administrator can appoint a new project-admin.
   */
  removeMember(project: string, username: string): Promise<boolean>;
  membershipsOf(username: string): Promise<Membership[]>;
}

export interface RobotStore {
  create(robot: { name: string; description: string; secretHash: string; permissions: readonly RobotPermission[]; createdBy: string | null; expiresAt: number | null; now: number }): Promise<RobotRecord>;
  get(name: string): Promise<RobotRecord | undefined>;
  credentials(name: string): Promise<{ robot: RobotRecord; secretHash: string } | undefined>;
  list(): Promise<RobotRecord[]>;
  update(name: string, patch: { disabled?: boolean; secretHash?: string; description?: string }): Promise<RobotRecord>;
  delete(name: string): Promise<boolean>;
}

export interface ArtifactStore {
  /** Creates the repository row when absent; undefined when its project does not exist. */
  ensureRepository(name: string, project: string, now: number): Promise<number | undefined>;
  getRepository(name: string): Promise<RepositoryRecord | undefined>;
  listRepositories(project: string | null, visibility: Visibility, page: Page): Promise<RepositoryRecord[]>;
  deleteRepository(name: string): Promise<boolean>;

  putManifest(input: PutManifestInput): Promise<PutManifestResult>;
  /** By tag or digest; `withContent` false skips the body (HEAD). */
  getManifest(repository: string, reference: string, withContent: boolean): Promise<ManifestRecord | undefined>;
  deleteManifest(repository: string, digest: Digest): Promise<DeleteManifestResult>;
  deleteTag(repository: string, tag: string): Promise<boolean>;
  /** Tags in lexical order; undefined when the repository is unknown. */
  listTags(repository: string, page: Page): Promise<string[] | undefined>;
  referrers(repository: string, subject: Digest, artifactType: string | null): Promise<ReferrerRecord[]>;
  /** The indexes of the repository that list `digest` among their manifests, in digest order (at most 100). */
  parents(repository: string, digest: Digest): Promise<Digest[]>;
  listArtifacts(repository: string): Promise<ArtifactRecord[]>;
  getArtifact(repository: string, reference: string): Promise<ArtifactRecord | undefined>;
}

export type ReserveResult = 'reserved' | 'busy';

/**
 * What the registry knows of blobs: which exist, which repositories may serve them, and the
 * states garbage collection moves them through (live → deleting → gone).
 */
export interface BlobIndex {
  /**
   * Marks a blob as live and fresh before its content is placed, so a concurrent collection
   * leaves it alone. 'busy' while a collection is deleting that digest: retry shortly. Never
   * changes what is recorded of an existing blob but its last-use time: the content offered may
   * yet fail verification.
   */
  reserve(digest: Digest, now: number): Promise<ReserveResult>;
  /**
   * Makes a live blob servable from a repository, recording its size, which the caller has
   * verified (stored content hashed to the digest). False when the blob is not live.
   */
  link(repository: string, digest: Digest, size: number, now: number): Promise<boolean>;
  /** Size of a live blob linked to the repository, else undefined. `touchBefore` refreshes stale touch times. */
  linked(repository: string, digest: Digest, touch?: { now: number; before: number }): Promise<number | undefined>;
  unlink(repository: string, digest: Digest): Promise<boolean>;
  /** Links a live blob of `from` into `to`; the blob's size, or undefined when `from` cannot serve it. */
  mount(from: string, to: string, digest: Digest, now: number): Promise<number | undefined>;
  /**
   * Keeps a live blob under `name`, outside any repository (no repository serves it; garbage
   * collection leaves it alone), recording its size, which the caller has verified. The blob the
   * name kept before is kept no longer: resolves to its digest (undefined when there was none),
   * or to false when the blob is not live (a collection is deleting it).
   */
  pin(name: string, digest: Digest, size: number, now: number): Promise<{ readonly previous: Digest | undefined } | false>;
}

export interface UploadIndex {
  create(id: string, repository: string, now: number): Promise<void>;
  get(id: string): Promise<{ repository: string; createdAt: number; updatedAt: number } | undefined>;
  touch(id: string, now: number): Promise<void>;
  delete(id: string): Promise<boolean>;
  stale(before: number): Promise<string[]>;
}

export interface ManifestNode {
  readonly repository: string;
  readonly digest: Digest;
  readonly tagged: boolean;
  readonly subject: Digest | null;
  readonly children: readonly Digest[];
  readonly pushedAt: number;
}

/** The collector's view: candidates, claims and the manifest graph. */
export interface GcIndex {
  /** Live blobs no manifest references and no pin keeps, untouched since `before`. */
  unreferencedBlobs(before: number): Promise<{ digest: Digest; size: number }[]>;
  /** Moves a blob to 'deleting' if it is still unreferenced, unpinned and untouched since `before`. */
  claim(digest: Digest, before: number): Promise<boolean>;
  /** Records a blob found in storage but unknown here as 'deleting'; false when it is known. */
  claimOrphan(digest: Digest, size: number): Promise<boolean>;
  /** Every digest the store knows, in any state (to tell orphaned content in storage). */
  knownBlobs(): Promise<Digest[]>;
  /** Blobs left in 'deleting' (by this or an interrupted run). */
  claimed(): Promise<Digest[]>;
  /** Forgets a claimed blob after its content is gone. */
  forget(digest: Digest): Promise<void>;
  manifestGraph(): Promise<ManifestNode[]>;
  deleteManifests(items: readonly { repository: string; digest: Digest }[]): Promise<number>;
}

export interface SettingsStore {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` unless the key has one; resolves to the value that is stored. */
  putIfAbsent(key: string, value: string): Promise<string>;
  put(key: string, value: string): Promise<void>;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobRecord {
  readonly id: number;
  /** What to do: `sbom`, later `scan`, ... */
  readonly kind: string;
  /** What it is about, unique per kind: `repository@digest`. */
  readonly key: string;
  readonly payload: string;
  readonly state: JobState;
  readonly attempts: number;
  readonly runAfter: number;
  readonly error: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ClaimOptions {
  readonly kinds: readonly string[];
  readonly now: number;
  /** How long the claim holds the job unless renewed. */
  readonly leaseMs: number;
  /** Who claims: the replica's id, so that it can give back what it held after a restart. */
  readonly holder: string;
  /**
   * A job that was claimed this many times and never finished (its process ended each time:
   * killed, out of memory) is failed for good instead of being claimed again.
   */
  readonly maxAttempts: number;
}

/**
 * A durable work queue in the metadata store: jobs survive restarts, any replica may claim one,
 * and a claim is a lease, renewed while the job runs: a worker that dies leaves its job to be
 * claimed again once the lease lapses, or at once when its replica restarts (`release`).
 */
export interface JobStore {
  /** Adds a job unless one of this kind and key exists (in any state); true when added. */
  enqueue(kind: string, key: string, payload: string, now: number): Promise<boolean>;
  /** Takes the oldest ready job of these kinds: queued and due, or running with a lapsed lease. */
  claim(options: ClaimOptions): Promise<JobRecord | undefined>;
  /** Extends the lease `holder` has on a running job to `until`; false when it holds it no longer. */
  renew(id: number, holder: string, until: number, now: number): Promise<boolean>;
  /** Puts the running jobs `holder` held back in the queue, due now (its process restarted); resolves to how many. */
  release(holder: string, now: number): Promise<number>;
  /**
   * Puts one running job back in the queue, due now, its attempt not counted (its replica is
   * shutting down in order); false when `holder` holds it no longer.
   */
  giveBack(id: number, holder: string, now: number): Promise<boolean>;
  /** Marks the job done; false (and nothing changed) when `holder` holds it no longer. */
  complete(id: number, holder: string, now: number): Promise<boolean>;
  /** Records a failure: back to the queue at `retryAt`, or failed for good when it is null. False (and nothing changed) when `holder` holds it no longer. */
  fail(id: number, holder: string, error: string, now: number, retryAt: number | null): Promise<boolean>;
  get(kind: string, key: string): Promise<JobRecord | undefined>;
  /** Puts a done or failed job back in the queue, due now, attempts reset; false when it is not done or failed. */
  requeue(kind: string, key: string, now: number): Promise<boolean>;
  /** Counts per state, for health and tests. */
  counts(kind: string): Promise<Record<JobState, number>>;
}

/** Findings counted by severity. */
export interface SeverityCounts {
  readonly critical: number;
  readonly high: number;
  readonly medium: number;
  readonly low: number;
  readonly unknown: number;
}

/** Findings of an image's scan, counted per class and severity: what listings show without opening the report. */
export interface ScanSummary {
  /** Vulnerabilities by severity, and how many of them have a fixed version. */
  readonly vulnerabilities: SeverityCounts & { readonly fixable: number };
  readonly secrets: SeverityCounts;
  readonly misconfigurations: SeverityCounts;
}

export interface ScanResultRecord {
  readonly repository: string;
  readonly digest: Digest;
  /** The advisory DB the vulnerabilities were evaluated against; null when none was (no DB). */
  readonly dbBuiltAt: string | null;
  readonly scannedAt: number;
  readonly summary: ScanSummary;
  /** The manifest digest of the stored report artifact (a referrer of the image). */
  readonly reportDigest: Digest;
  /** What the scan could not read (a foreign layer the repository does not hold, a file over its limit); at most 50. */
  readonly warnings: readonly string[];
}

/**
 * What a re-evaluation reads and compares, as numbers of the store's term dictionary (`intern`):
 * a few kilobytes an image, read back without parsing.
 */
export interface ScanEvaluationState {
  /** The vulnerability ids found, as term ids, ascending and distinct. */
  readonly vulnerabilities: Uint32Array;
  /** The match keys, `[key term id, packages, key term id, packages, ...]`; undefined keeps those stored. */
  readonly keys?: Uint32Array;
}

/** The latest scan result of each image; a row lives as long as its image. */
export interface ScanResultStore {
  /** Records (replaces) an image's result and its state; false when the image is not (or no longer) stored. */
  put(record: ScanResultRecord, state: ScanEvaluationState): Promise<boolean>;
  get(repository: string, digest: Digest): Promise<ScanResultRecord | undefined>;
  /** The results of a repository's images, by digest. */
  list(repository: string): Promise<ScanResultRecord[]>;
  /** One image's result with its state. */
  evaluation(repository: string, digest: Digest): Promise<StoredEvaluation | undefined>;
  /**
   * Every stored result with its state, one page at a time in a stable order: pass the returned
   * `next` back until it is undefined. What a re-evaluation reads, in a few queries.
   */
  evaluations(cursor: string | undefined, limit: number): Promise<{ items: StoredEvaluation[]; next: string | undefined }>;
  /**
   * Records many re-evaluations in one transaction: the DB build, the vulnerability counts and
   * state (secrets, misconfigurations and the report are left as they are). Results whose image
   * went meanwhile are skipped; resolves to how many were updated.
   */
  updateEvaluations(items: readonly ScanEvaluation[]): Promise<number>;
  /** Manifests of these artifact types (image configs) with no result, one page at a time. */
  unscanned(artifactTypes: readonly string[], cursor: string | undefined, limit: number): Promise<{ items: { repository: string; digest: Digest }[]; next: string | undefined }>;
  /** The term ids of these strings (vulnerability ids, match keys), numbering the new ones; ids never change. */
  intern(terms: readonly string[]): Promise<number[]>;
  /** The strings of these term ids (undefined for an unknown id). */
  terms(ids: readonly number[]): Promise<(string | undefined)[]>;
  /** Records what match-key terms stand for (ecosystem, name, version); terms already described are left. */
  describePackages(items: readonly PackageTerm[]): Promise<void>;
  /** The match-key terms of a package: by name, in one ecosystem, of one version when given; at most `limit`. */
  findPackages(query: PackageQuery, limit: number): Promise<PackageTerm[]>;
  /**
   * The scanned images in `scope` holding any of these match-key terms, a page at a time (by
   * repository, then digest), with the terms each holds; `total` counts them all.
   */
  imagesWithKeys(terms: readonly number[], scope: Visibility, page: PageRequest): Promise<{ total: number; items: ImageHit[] }>;
  /** The scanned images in `scope` whose stored result names this vulnerability term (the last evaluation), as `imagesWithKeys`. */
  imagesWithVulnerability(term: number, scope: Visibility, page: PageRequest): Promise<{ total: number; items: ImageHit[] }>;
  /**
   * Of the images in `scope` (manifests of `imageTypes`): how many there are and are scanned, their
   * findings summed, and each vulnerability term with the number of images it is in.
   */
  securityTotals(scope: Visibility, imageTypes: readonly string[]): Promise<SecurityTotals>;
  /** The images in `scope` with the most critical (then high) vulnerabilities, at most `limit`. */
  mostVulnerable(scope: Visibility, limit: number): Promise<ImageHit[]>;
}

/** What a match-key term stands for: a package version as matching looks it up. */
export interface PackageTerm {
  readonly term: number;
  /** The DB ecosystem (`npm`, `debian:12`). */
  readonly ecosystem: string;
  /** The name looked up (normalized; the source package of an OS package). */
  readonly name: string;
  readonly version: string;
}

export interface PackageQuery {
  /** Spellings of the name (a query may not know how an ecosystem normalizes it). */
  readonly names: readonly string[];
  readonly ecosystem?: string;
  readonly version?: string;
}

export interface PageRequest {
  readonly offset: number;
  readonly limit: number;
}

/** A scanned image a query found, with what it needs to be shown. */
export interface ImageHit {
  readonly project: string;
  readonly repository: string;
  readonly digest: Digest;
  readonly tags: readonly string[];
  readonly pushedAt: number;
  readonly scannedAt: number;
  readonly summary: ScanSummary;
  /** The queried terms this image holds (with `imagesWithKeys`; the number of packages of each in `packages`). */
  readonly terms: readonly number[];
  readonly packages: readonly number[];
}

export interface SecurityTotals {
  /** Image manifests stored (image configs), and how many of them have a scan result. */
  readonly images: number;
  readonly scanned: number;
  /** Findings of every scanned image summed (a vulnerability counted once per image and package). */
  readonly vulnerabilities: SeverityCounts & { readonly fixable: number };
  /** Vulnerability term → how many images hold it. */
  readonly byVulnerability: ReadonlyMap<number, number>;
}

/** A stored result and its state. */
export interface StoredEvaluation {
  readonly record: ScanResultRecord;
  /** The vulnerability ids of its last evaluation, as term ids (empty for a result queued for a fresh scan). */
  readonly vulnerabilities: Uint32Array;
  /** Undefined when none are stored: re-evaluation makes them from the stored SBOM. */
  readonly keys: Uint32Array | undefined;
}

/** A re-evaluation of an image's vulnerabilities against a DB build. */
export interface ScanEvaluation {
  readonly repository: string;
  readonly digest: Digest;
  readonly dbBuiltAt: string | null;
  readonly counts: ScanSummary['vulnerabilities'];
  /** Undefined keeps the stored ones. */
  readonly vulnerabilities?: Uint32Array;
  /** Undefined keeps the stored ones. */
  readonly keys?: Uint32Array;
}

/** A project's server-side signing key: the private key encrypted at rest (Cosign's format, under the server's signing secret). */
export interface SigningKeyRecord {
  readonly project: string;
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM. */
  readonly encryptedKey: string;
  /** PKIX PEM. */
  readonly publicKey: string;
  readonly createdAt: number;
}

export interface SigningKeyStore {
  get(project: string): Promise<SigningKeyRecord | undefined>;
  /** Sets (replaces) the project's key; false when the project does not exist. */
  put(key: SigningKeyRecord): Promise<boolean>;
  delete(project: string): Promise<boolean>;
}

/**
 * The documents Portcullis itself made of an image (its SBOMs), by kind. What the registry reads
 * and serves as an image's own document: never an artifact a client pushed with the same
 * artifact type (anyone with push rights can push one, with any content and any date).
 */
export interface ImageDocumentStore {
  /** Records `document` (an artifact of the same repository) as the image's document of `kind`, replacing the one before; false when either is not stored. */
  put(repository: string, image: Digest, kind: string, document: Digest, now: number): Promise<boolean>;
  /** The image's document of `kind`; undefined when there is none (or it was deleted). */
  get(repository: string, image: Digest, kind: string): Promise<Digest | undefined>;
}

export interface MetadataStore {
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
  /** Answers whether the backend is reachable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
