/**
 * The audit log: every event appended as a link of a hash chain (to be built: see issue 12).
 */
import type { Logger } from '../shared/index.js';
import type { MetadataStore } from '../storage/index.js';
import type { TimedEvent } from './events.js';

export interface AuditLogDeps {
  readonly meta: MetadataStore;
  readonly log: Logger;
  readonly now: () => number;
}

export class AuditLog {
  constructor(private readonly deps: AuditLogDeps) {}

  /** Appends the event to the chain. */
  async record(e: TimedEvent): Promise<void> {
    void this.deps;
    void e;
  }
}
