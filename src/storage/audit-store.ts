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
  readonly detail: Readonly<Record<string, unknown>> | null;
}

export interface AuditRecord extends AuditEntry {
  readonly seq: number;
  /** The hash of the entry before (the chain). */
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditFilter {
  readonly project?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly since?: number;
  /** Entries after this sequence number (paging). */
  readonly after?: number;
  readonly limit: number;
}

/** The append-only audit log: no update, no delete, but retention's cut at a checkpoint. */
export interface AuditStore {
  /**
   * Appends an entry as the next link of the chain, atomically with reading the link before:
   * `hashOf(prevHash, seq)` is asked for the entry's hash.
   */
  append(entry: AuditEntry, hashOf: (prevHash: string, seq: number) => string): Promise<AuditRecord>;
  /** Oldest first. */
  list(filter: AuditFilter): Promise<AuditRecord[]>;
}
