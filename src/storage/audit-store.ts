/** What the audit log keeps of a change or a decision. */
export interface AuditEntry {
  readonly at: number;
  /** The user or robot who acted; null for Portcullis itself (a scheduled collection, say). */
  readonly actor: string | null;
  /** Their client address. */
  readonly client: string | null;
  /** `login`, `artifact.push`, `promotion`, … (see registry/events.ts). */
  readonly action: string;
  /** The project the resource belongs to, when it belongs to one. */
  readonly project: string | null;
  /** What was acted on: `team/app@sha256:…`, `user alice`, … */
  readonly resource: string;
  /** `succeeded`, `failed`, `refused`, … */
  readonly outcome: string;
  /**
   * Facts of the entry as canonical JSON text (an object; see docs/audit.md), or null. Kept as
   * text, byte for byte as hashed, so that checking the chain parses nothing.
   */
  readonly detail: string | null;
}

/** An entry as a link of the chain, before its own hash is known. */
export interface AuditLink extends AuditEntry {
  readonly seq: number;
  /** The hash of the entry before (the chain); 64 zeros for the first. */
  readonly prevHash: string;
}

export interface AuditRecord extends AuditLink {
  readonly hash: string;
}

/** Where retention cut the chain: the last entry deleted, whose hash the next entry carries. */
export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly createdAt: number;
}

export interface AuditFilter {
  readonly project?: string;
  readonly actor?: string;
  readonly action?: string;
  /** Entries at or after this time (ms). */
  readonly since?: number;
  /** Entries after this sequence number (paging). */
  readonly after?: number;
  readonly limit: number;
}

/**
 * The append-only audit log: no update, no delete, but retention's cut at a checkpoint. The store
 * keeps the links; what a hash is, is the audit log's (it hands the function over).
 */
export interface AuditStore {
  /**
   * Appends the entries, in order, as the next links of the chain, atomically with reading the
   * link before (one appender at a time, across every process sharing the database). `hash` is
   * asked for each entry's hash.
   */
  append(entries: readonly AuditEntry[], hash: (link: AuditLink) => string): Promise<AuditRecord[]>;
  /** Oldest first. */
  list(filter: AuditFilter): Promise<AuditRecord[]>;
  /** The latest checkpoint (where the chain now starts), or undefined when it was never cut. */
  checkpoint(): Promise<AuditCheckpoint | undefined>;
  /**
   * Retention's cut, in one transaction: records the checkpoint `through` (which must be the seq
   * and hash of a stored entry, else nothing happens and it resolves to undefined), deletes every
   * entry up to it, and appends `record` (the cut's own entry) after the last one.
   */
  cut(through: { readonly seq: number; readonly hash: string }, record: AuditEntry, hash: (link: AuditLink) => string, now: number): Promise<{ deleted: number; record: AuditRecord } | undefined>;
}
