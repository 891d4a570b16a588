/** The audit log: appended in a chain of hashes, read in order (see AuditStore). */
import type { AuditEntry, AuditFilter, AuditRecord, AuditStore } from '../audit-store.js';
import type { SqlDb, SqlValue } from './db.js';

interface AuditRow {
  seq: number;
  at: number;
  actor: string | null;
  client: string | null;
  action: string;
  project: string | null;
  resource: string;
  outcome: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}
const COLUMNS = 'seq, at, actor, client, action, project, resource, outcome, detail, prev_hash, hash';
const toRecord = (r: AuditRow): AuditRecord => ({
  seq: Number(r.seq),
  at: Number(r.at),
  actor: r.actor,
  client: r.client,
  action: r.action,
  project: r.project,
  resource: r.resource,
  outcome: r.outcome,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** The hash the first entry carries as its predecessor's, and the one after a cut without a checkpoint. */
export const GENESIS_HASH = '0'.repeat(64);

export class SqlAudit implements AuditStore {
  constructor(private readonly db: SqlDb) {}

  append(entry: AuditEntry, hashOf: (prevHash: string, seq: number) => string): Promise<AuditRecord> {
    return this.db.transaction(async (tx) => {
      // One appender at a time, across replicas: the chain has one end.
      if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(7361627)');
      const last = await tx.get<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      const checkpoint = last === undefined ? await tx.get<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1') : undefined;
      const prev = last ?? checkpoint;
      const seq = prev === undefined ? 1 : Number(prev.seq) + 1;
      const prevHash = prev?.hash ?? GENESIS_HASH;
      const hash = hashOf(prevHash, seq);
      const params: SqlValue[] = [seq, entry.at, entry.actor, entry.client, entry.action, entry.project, entry.resource, entry.outcome, entry.detail === null ? null : JSON.stringify(entry.detail), prevHash, hash];
      await tx.run(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, params);
      return { ...entry, seq, prevHash, hash };
    });
  }

  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.project !== undefined) (where.push('project = ?'), params.push(filter.project));
    if (filter.actor !== undefined) (where.push('actor = ?'), params.push(filter.actor));
    if (filter.action !== undefined) (where.push('action = ?'), params.push(filter.action));
    if (filter.since !== undefined) (where.push('at >= ?'), params.push(filter.since));
    if (filter.after !== undefined) (where.push('seq > ?'), params.push(filter.after));
    const rows = await this.db.all<AuditRow>(`SELECT ${COLUMNS} FROM audit_log${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`, [...params, filter.limit]);
    return rows.map(toRecord);
  }
}
