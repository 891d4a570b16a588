import type { Digest } from '../oci/index.js';

/** A project's policy document (JSON, validated by the registry before it is stored). */
export interface PolicyRecord {
  readonly project: string;
  readonly document: string;
  readonly updatedAt: number;
  readonly updatedBy: string | null;
}

export interface PolicyStore {
  get(project: string): Promise<PolicyRecord | undefined>;
  /** Sets (replaces) the project's policy; false when the project does not exist. */
  put(record: PolicyRecord): Promise<boolean>;
}

/** A public key a project trusts for signatures (CI's own Cosign key, say). */
export interface TrustedKeyRecord {
  readonly project: string;
  readonly name: string;
  /** PKIX PEM. */
  readonly publicKey: string;
  readonly createdAt: number;
  readonly createdBy: string | null;
}

export interface TrustedKeyStore {
  list(project: string): Promise<TrustedKeyRecord[]>;
  /** 'exists' when the project has a key of that name; 'no-project' when the project does not exist. */
  add(record: TrustedKeyRecord): Promise<'added' | 'exists' | 'no-project'>;
  delete(project: string, name: string): Promise<boolean>;
}

export type WaiverState = 'pending' | 'approved' | 'rejected';

/**
 * The security team's approval of findings: ids suppressed in a scope (a project, a repository of
 * it, or one digest of that repository) until `expiresAt`, once approved by someone else than
 * the requester.
 */
export interface WaiverRecord {
  readonly id: number;
  readonly project: string;
  /** The repository (`project/name`), or null for the whole project. */
  readonly repository: string | null;
  /** One image, or null for every image of the scope. */
  readonly digest: Digest | null;
  readonly ids: readonly string[];
  readonly reason: string;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly state: WaiverState;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly comment: string | null;
}

export interface WaiverStore {
  /** Records a pending waiver; undefined when the project does not exist. */
  create(w: Omit<WaiverRecord, 'id' | 'state' | 'decidedBy' | 'decidedAt' | 'comment'>): Promise<WaiverRecord | undefined>;
  get(id: number): Promise<WaiverRecord | undefined>;
  /** Decides a pending waiver, atomically (of two deciders one wins); 'not-pending' when it was decided before, undefined when unknown. */
  decide(id: number, decision: Exclude<WaiverState, 'pending'>, by: string, comment: string | null, now: number): Promise<WaiverRecord | 'not-pending' | undefined>;
  /** Newest first. */
  list(filter: { readonly project?: string; readonly state?: WaiverState; readonly limit: number }): Promise<WaiverRecord[]>;
  /** The approved waivers of a project that have not expired at `now`. */
  active(project: string, now: number): Promise<WaiverRecord[]>;
}

/** A gate a promotion passed or failed. */
export interface GateOutcome {
  readonly gate: string;
  readonly passed: boolean;
  readonly reason: string;
  readonly ids?: readonly string[];
}

export interface PromotionRecord {
  readonly id: number;
  /** `project/repository` the image came from, and its digest. */
  readonly source: string;
  readonly sourceDigest: Digest;
  readonly target: string;
  readonly targetTag: string | null;
  readonly targetProject: string;
  readonly actor: string | null;
  readonly outcome: 'promoted' | 'refused';
  readonly gates: readonly GateOutcome[];
  /** The signature layer the target project's key made, when it signed. */
  readonly signature: Digest | null;
  readonly createdAt: number;
}

export interface PromotionStore {
  record(p: Omit<PromotionRecord, 'id'>): Promise<PromotionRecord>;
  /** Newest first; of promotions into `project`, of the image `digest`, when given. */
  list(filter: { readonly project?: string; readonly digest?: Digest; readonly limit: number }): Promise<PromotionRecord[]>;
}
